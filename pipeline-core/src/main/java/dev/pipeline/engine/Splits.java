package dev.pipeline.engine;

import dev.pipeline.StageException;
import dev.pipeline.store.StorableText;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The rules of a split, shared by the engine and the test kit: what a split stage's call returns,
 * how its children are named, and which splits cannot be stored.
 */
public final class Splits {
  private Splits() {}

  /**
   * The most children one record may split into. A split's children are stored and queued at once,
   * so this bounds what one record can make a worker hold.
   */
  public static final int MAX_CHILDREN = 100_000;

  /** What a split stage's call returns: the children's payloads, checked. */
  public record Children(List<Object> payloads) {
    /** Copies the list. */
    public Children {
      payloads = List.copyOf(payloads);
    }
  }

  /**
   * Checks a splitter's list and wraps it.
   *
   * @return null if the list is null (the call's check then reports the null output)
   * @throws StageException if an element is null
   */
  public static @Nullable Children children(
      String stage, String recordId, @Nullable List<?> outputs) {
    if (outputs == null) {
      return null;
    }
    for (int i = 0; i < outputs.size(); i++) {
      if (outputs.get(i) == null) {
        throw new StageException(
            stage,
            recordId,
            "split stage '"
                + stage
                + "' returned a null child at index "
                + i
                + " of "
                + outputs.size()
                + " for record '"
                + StorableText.escape(recordId, 200)
                + "'; return only the children's payloads");
      }
    }
    @SuppressWarnings("unchecked")
    List<Object> all = (List<Object>) outputs;
    return new Children(all);
  }

  /** The id of a record's child at an index of its split: {@code parentId/index}. */
  public static String childId(String parentId, int index) {
    return parentId + "/" + index;
  }

  /**
   * Why a record cannot be split into {@code count} children, or null if it can: too many children,
   * or ids longer than a store keeps. The error names the stage, the record and the fix; it is not
   * worth retrying, since the same split gives the same children.
   */
  public static @Nullable StageException problem(String stage, String parentId, int count) {
    if (count > MAX_CHILDREN) {
      return new StageException(
          stage,
          parentId,
          "split stage '"
              + stage
              + "' split record '"
              + StorableText.escape(parentId, 200)
              + "' into "
              + count
              + " records, more than "
              + MAX_CHILDREN
              + "; split it in several steps (into groups first) or read it as a source");
    }
    if (count == 0) {
      return null;
    }
    String longest = childId(parentId, count - 1);
    if (longest.length() > StorableText.MAX_ID_LENGTH) {
      return new StageException(
          stage,
          parentId,
          "split stage '"
              + stage
              + "' cannot split record '"
              + StorableText.escape(parentId, 200)
              + "': its children's ids (the parent's id, '/' and the child's index) would be "
              + longest.length()
              + " characters long, more than "
              + StorableText.MAX_ID_LENGTH
              + "; give the source's records shorter ids");
    }
    return null;
  }
}
