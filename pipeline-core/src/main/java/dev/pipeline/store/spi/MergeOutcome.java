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
 * @param refused the ids of parts that do not fit the group they name (an index past its size: a
 *     row edited by hand, or a split that is not deterministic), each with why; they are not
 *     counted, and the engine dead-letters each alone, so one bad part fails neither its group nor
 *     the others given with it
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
   * says in {@link #refused}.
   */
  public static @Nullable String misfit(MergePart part, int groupSize) {
    if (part.index() < groupSize) {
      return null;
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
        + " parts (its metadata '"
        + Envelope.SPLIT_SIZE
        + "' or id was changed, or the split before the merge stage is not deterministic)";
  }
}
