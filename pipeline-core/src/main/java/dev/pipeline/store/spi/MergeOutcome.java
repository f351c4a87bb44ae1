package dev.pipeline.store.spi;

import dev.pipeline.Envelope;
import dev.pipeline.store.StorableText;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What {@link RecordLedger#merge} found.
 *
 * @param complete the groups among those the parts belong to whose every part has arrived or is
 *     absent, each once, whether they completed with this call or before
 * @param late the ids of children that arrived with their payload at a complete group in which they
 *     had been counted absent (they ended on the way, then were sent back): they are not in its
 *     merge
 * @param refused the ids of parts that do not fit the group they name (a size other than the one
 *     the group's first part gave: a row edited by hand, or a split that is not deterministic),
 *     each with why; they are not counted, and the engine dead-letters each alone, so one bad part
 *     fails neither its group nor the others given with it
 */
public record MergeOutcome(
    List<MergedGroup> complete, Set<String> late, Map<String, String> refused) {

  /** Nothing complete, nothing late, nothing refused. */
  public static final MergeOutcome NONE = new MergeOutcome(List.of(), Set.of(), Map.of());

  /** Copies the collections. */
  public MergeOutcome {
    complete = List.copyOf(complete);
    late = Set.copyOf(late);
    refused = Map.copyOf(refused);
  }

  /** An outcome that refused nothing. */
  public MergeOutcome(List<MergedGroup> complete, Set<String> late) {
    this(complete, late, Map.of());
  }

  /**
   * Why a part does not fit a group of {@code groupSize} parts, or null if it does: what a store
   * says in {@link #refused}. A part fits only a group of the size it gives: every child of one
   * split gives the same, so a part that gives another (its metadata edited, or a split that is not
   * deterministic) neither grows nor shrinks the group the first part sized, nor completes it
   * early: it fails alone, and the others are counted against the size they agree on.
   */
  public static @Nullable String misfit(MergePart part, int groupSize) {
    if (part.size() == groupSize) {
      return null; // and so part.index() < groupSize, as MergePart checks
    }
    return "record '"
        + StorableText.escape(part.recordId(), 200)
        + "' is part "
        + part.index()
        + " of "
        + part.size()
        + " of merge group '"
        + StorableText.escape(part.parentId(), 200)
        + "', which has "
        + groupSize
        + " parts, the size its first part gave (its metadata '"
        + Envelope.SPLIT_SIZE
        + "' or id was changed, or the split before the merge stage is not deterministic); send"
        + " it back once its row is fixed, or discard it";
  }
}
