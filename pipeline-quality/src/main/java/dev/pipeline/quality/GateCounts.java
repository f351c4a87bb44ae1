package dev.pipeline.quality;

import java.util.Map;
import java.util.Objects;

/**
 * What a {@link QualityGate} has seen since it was built: a snapshot, immutable.
 *
 * @param records records checked
 * @param tagged records that went on with violations in their metadata
 * @param filtered records filtered by a rule
 * @param deadLettered records sent to the dead letter queue by a rule
 * @param failuresByRule how many records failed each rule (the schema check as {@value
 *     QualityGate#SCHEMA_RULE}), unmodifiable
 */
public record GateCounts(
    long records, long tagged, long filtered, long deadLettered, Map<String, Long> failuresByRule) {

  /** Checks the components. */
  public GateCounts {
    Objects.requireNonNull(failuresByRule, "failuresByRule cannot be null");
    failuresByRule = Map.copyOf(failuresByRule);
  }
}
