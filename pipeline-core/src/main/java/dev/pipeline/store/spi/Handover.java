package dev.pipeline.store.spi;

import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What {@link RecordLedger#completeAndDeliver} reports.
 *
 * @param fenced the ids whose completion was refused: this worker no longer holds their lease
 * @param redelivered the ids about to be handed to the sink that had been handed to it before
 * @param lost the ids about to be handed to the sink that this worker no longer holds (its lease
 *     ran out and another worker took them over): they must not be handed to the sink by this
 *     worker, whose copies are stale; their new holder delivers them
 * @param tokens each record's fencing token, for the ids about to be handed to the sink that were
 *     not lost: a number that grows with every new holder of the record, so that a sink which keeps
 *     the highest token it stored per id can refuse a stale write. Empty if the store gives none
 */
public record Handover(
    Set<String> fenced, Set<String> redelivered, Set<String> lost, Map<String, Long> tokens) {
  /** Nothing fenced, nothing handed over before. */
  public static final Handover NONE = new Handover(Set.of(), Set.of());

  /** Copies the sets and the map. */
  public Handover {
    fenced = Set.copyOf(Objects.requireNonNull(fenced, "fenced cannot be null"));
    redelivered = Set.copyOf(Objects.requireNonNull(redelivered, "redelivered cannot be null"));
    lost = Set.copyOf(Objects.requireNonNull(lost, "lost cannot be null"));
    tokens = Map.copyOf(Objects.requireNonNull(tokens, "tokens cannot be null"));
  }

  /** A hand-over with nothing lost and no fencing tokens. */
  public Handover(Set<String> fenced, Set<String> redelivered) {
    this(fenced, redelivered, Set.of(), Map.of());
  }
}
