package dev.pipeline.store;

import java.util.Objects;
import java.util.Set;

/**
 * What {@link PipelineStore#completeAndDeliver} reports.
 *
 * @param fenced the ids whose completion was refused: another worker took them over
 * @param redelivered the ids about to be handed to the sink that had been handed to it before
 */
public record Handover(Set<String> fenced, Set<String> redelivered) {
  /** Nothing fenced, nothing handed over before. */
  public static final Handover NONE = new Handover(Set.of(), Set.of());

  public Handover {
    fenced = Set.copyOf(Objects.requireNonNull(fenced, "fenced cannot be null"));
    redelivered = Set.copyOf(Objects.requireNonNull(redelivered, "redelivered cannot be null"));
  }
}
