package dev.pipeline.quality;

import java.time.Instant;
import java.util.Objects;

/**
 * A rule as {@code validation_rules} (or its history) keeps it. Immutable.
 *
 * @param id the row's {@code rule_id}
 * @param pipeline the pipeline
 * @param stage the stage whose gate checks it
 * @param rule the rule
 * @param version its version, raised by every change
 * @param changedBy who made this version ({@code "code"} for rules registered from code)
 * @param changedAt when
 */
public record StoredRule(
    long id,
    String pipeline,
    String stage,
    Rule rule,
    long version,
    String changedBy,
    Instant changedAt) {

  /** Checks the components. */
  public StoredRule {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(rule, "rule cannot be null");
    Objects.requireNonNull(changedBy, "changedBy cannot be null");
    Objects.requireNonNull(changedAt, "changedAt cannot be null");
  }
}
