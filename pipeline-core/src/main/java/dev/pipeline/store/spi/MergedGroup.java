package dev.pipeline.store.spi;

import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A group of a merge stage whose every part has arrived or is absent: ready to be merged.
 *
 * @param parentId the id of the record the group's children were split from
 * @param size how many records it was split into
 * @param payloads the payloads of the parts that arrived, in the order of the split (absent parts
 *     left out), decoded with the merge stage's input codec
 */
public record MergedGroup(String parentId, int size, List<Object> payloads) {
  /** What the id of a group's merged record adds to its parent's: {@code parentId/merged}. */
  public static final String MERGED_SUFFIX = "/merged";

  /**
   * The parent whose group a merged record was made of: its id less {@link #MERGED_SUFFIX}, or null
   * if the id is not a merged record's. A store keeps a merged record as long as it keeps the
   * record's group: a part sent back late merges the group again, and the merged record's ingest
   * must then find it stored rather than publish it a second time.
   *
   * @param recordId any record's id
   * @return the parent's id, or null
   */
  public static @Nullable String parentOfMerged(String recordId) {
    return recordId.endsWith(MERGED_SUFFIX)
        ? recordId.substring(0, recordId.length() - MERGED_SUFFIX.length())
        : null;
  }

  /** Copies the list. */
  public MergedGroup {
    Objects.requireNonNull(parentId, "parentId cannot be null");
    payloads = List.copyOf(payloads);
  }
}
