package dev.pipeline.store.spi;

import java.util.List;
import java.util.Objects;

/**
 * A group of a merge stage whose every part has arrived or is absent: ready to be merged.
 *
 * @param parentId the id of the record the group's children were split from
 * @param size how many records it was split into
 * @param payloads the payloads of the parts that arrived, in the order of the split (absent parts
 *     left out), decoded with the merge stage's input codec
 */
public record MergedGroup(String parentId, int size, List<Object> payloads) {

  /** Copies the list. */
  public MergedGroup {
    Objects.requireNonNull(parentId, "parentId cannot be null");
    payloads = List.copyOf(payloads);
  }
}
