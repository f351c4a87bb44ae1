package dev.pipeline.store.spi;

import dev.pipeline.Envelope;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A child of a split as a merge stage counts it: arrived at the merge stage with its payload, or
 * absent (it ended on the way, filtered or dead-lettered, and will never arrive).
 *
 * @param recordId the child's id
 * @param parentId the id of the record it was split from: its group
 * @param index its place in the split, from 0
 * @param size how many records its parent was split into: the group's size
 * @param record the child as it reached the merge stage, whose payload the store keeps; null if
 *     absent
 */
public record MergePart(
    String recordId, String parentId, int index, int size, @Nullable Envelope<?> record) {

  /** Checks the components. */
  public MergePart {
    Objects.requireNonNull(recordId, "recordId cannot be null");
    Objects.requireNonNull(parentId, "parentId cannot be null");
    if (size < 1 || index < 0 || index >= size) {
      throw new IllegalArgumentException(
          "part "
              + index
              + " of a group of "
              + size
              + " is out of range (record '"
              + recordId
              + "')");
    }
  }

  /** Whether the child is absent: it ended before the merge stage. */
  public boolean absent() {
    return record == null;
  }
}
