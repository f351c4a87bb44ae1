package dev.pipeline.store.spi;

import java.util.List;
import java.util.Set;

/**
 * What {@link RecordLedger#merge} found.
 *
 * @param complete the groups among those the parts belong to whose every part has arrived or is
 *     absent, each once, whether they completed with this call or before
 * @param late the ids of children that arrived with their payload at a complete group in which they
 *     had been counted absent (they ended on the way, then were sent back): they are not in its
 *     merge
 */
public record MergeOutcome(List<MergedGroup> complete, Set<String> late) {

  /** Nothing complete, nothing late. */
  public static final MergeOutcome NONE = new MergeOutcome(List.of(), Set.of());

  /** Copies the collections. */
  public MergeOutcome {
    complete = List.copyOf(complete);
    late = Set.copyOf(late);
  }
}
