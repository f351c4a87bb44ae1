package dev.pipeline.engine;

import dev.pipeline.Envelope;
import dev.pipeline.StageException;
import dev.pipeline.store.StorableText;
import dev.pipeline.store.spi.MergePart;
import dev.pipeline.store.spi.MergedGroup;
import org.jspecify.annotations.Nullable;

/**
 * The rules of a merge, shared by the engine and the test kit: the merged record's id, where a
 * child stands in its group, and which groups cannot be merged.
 */
public final class Merges {
  private Merges() {}

  /** What a merged record's id adds to its parent's: {@code parentId/merged}. */
  public static final String SUFFIX = MergedGroup.MERGED_SUFFIX;

  /**
   * The reason of a child that arrived at a merge stage after its group was merged without it (it
   * had ended on the way, then was sent back), which ends FILTERED.
   */
  public static final String LATE =
      "its group was merged without it (it had ended before the merge stage, then came back)";

  /** Why a group whose every child ended before the merge stage makes no merged record. */
  public static final String NO_PARTS = "every record of its group ended before the merge stage";

  /** The id of the record a group is merged into: {@code parentId/merged}. */
  public static String mergedId(String parentId) {
    return parentId + SUFFIX;
  }

  /**
   * The part a child makes of its group: its parent from {@link Envelope#PARENT_ID}, its index from
   * its id ({@code parentId/index}, or {@code parentId/index/merged} for the record an inner merge
   * made of the child's own children), the group's size from {@link Envelope#SPLIT_SIZE}.
   *
   * @param stage the merge stage, named in the error
   * @param child the child, as it reaches the merge stage or as it ended on the way
   * @param absent whether it ended on the way: its part is then a mark, without its payload
   * @throws StageException naming the stage, the record and the fix, if the record is not a child
   *     of the split stage the merge stage joins
   */
  public static MergePart part(String stage, Envelope<?> child, boolean absent) {
    String parent = child.metadata().get(Envelope.PARENT_ID);
    String size = child.metadata().get(Envelope.SPLIT_SIZE);
    String id = child.id();
    if (parent != null
        && size != null
        && id.length() > parent.length() + 1
        && id.startsWith(parent)
        && id.charAt(parent.length()) == '/') {
      try {
        int index = Integer.parseInt(withoutMergedSuffixes(id).substring(parent.length() + 1));
        int of = Integer.parseInt(size);
        // a size no split makes (metadata changed outside the engine) would size a group for it
        if (index >= 0 && index < of && of <= Splits.MAX_CHILDREN) {
          return new MergePart(id, parent, index, of, absent ? null : child);
        }
      } catch (NumberFormatException | IndexOutOfBoundsException e) {
        // not a child's id: reported below
      }
    }
    throw new StageException(
        stage,
        id,
        "merge stage '"
            + stage
            + "' cannot place record '"
            + StorableText.escape(id, 200)
            + "' in a group: it is not a child of the split stage the merge joins (metadata '"
            + Envelope.PARENT_ID
            + "' and '"
            + Envelope.SPLIT_SIZE
            + "', id '<parent>/<index>'); merge only the children of the split stage before it,"
            + " and keep their ids and that metadata");
  }

  /**
   * A record's id without the {@link #SUFFIX}es a nested merge added: the child's id {@code
   * parentId/index} for the record {@code parentId/index/merged} an inner merge made of that
   * child's own children (or {@code parentId/index/merged/merged}, a level deeper).
   */
  static String withoutMergedSuffixes(String id) {
    String plain = id;
    while (plain.endsWith(SUFFIX)) {
      plain = plain.substring(0, plain.length() - SUFFIX.length());
    }
    return plain;
  }

  /**
   * The parent of the group a record stands in when an inner merge makes its children's group into
   * one record, or null if it stands in none: the part of its id before {@code /index}, once {@link
   * #withoutMergedSuffixes its merge suffixes} are taken off.
   *
   * @param innerParent the id of the record an inner split split, itself a part of a group
   */
  public static @Nullable String enclosingParent(String innerParent) {
    String plain = withoutMergedSuffixes(innerParent);
    int slash = plain.lastIndexOf('/');
    return slash <= 0 ? null : plain.substring(0, slash);
  }

  /**
   * Why the children of {@code parentId} cannot be merged, or null if they can: the merged record's
   * id would be longer than a store keeps. Reported by the split stage, which dead-letters the
   * parent unretried.
   */
  public static @Nullable StageException problem(String splitStage, String parentId) {
    String merged = mergedId(parentId);
    if (merged.length() <= StorableText.MAX_ID_LENGTH) {
      return null;
    }
    return new StageException(
        splitStage,
        parentId,
        "split stage '"
            + splitStage
            + "' cannot split record '"
            + StorableText.escape(parentId, 200)
            + "' for the merge stage after it: the merged record's id (the parent's id and '"
            + SUFFIX
            + "') would be "
            + merged.length()
            + " characters long, more than "
            + StorableText.MAX_ID_LENGTH
            + "; give the source's records shorter ids");
  }
}
