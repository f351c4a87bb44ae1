package dev.pipeline;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Something about a pipeline that a person may need to act on: a record that used up its retries, a
 * circuit that opened or closed. Delivered to the {@link AlertListener}s of the pipeline.
 *
 * @param kind what happened
 * @param pipeline the pipeline's name
 * @param stage the stage concerned (or {@code "sink"})
 * @param recordId the record concerned, or null for stage-wide alerts
 * @param message a sentence for people, naming the stage, the record and what to do
 * @param at when it happened, on the pipeline's clock
 */
public record Alert(
    Kind kind,
    String pipeline,
    String stage,
    @Nullable String recordId,
    String message,
    Instant at) {

  /** What an alert is about. */
  public enum Kind {
    /** A record failed for good and went to the dead letter queue. */
    DEAD_LETTER,
    /**
     * The audit trail dropped lines: its buffer was full (the store wrote slower than stages
     * logged) or a write to the store failed. The stage is {@code "audit"}; the message says how
     * many and what to change.
     */
    AUDIT_DROPPED,
    /** A stage's circuit opened: its calls are refused for a while. */
    CIRCUIT_OPENED,
    /** A stage's circuit lets trial calls through. */
    CIRCUIT_HALF_OPEN,
    /** A stage's circuit closed again: the stage recovered. */
    CIRCUIT_CLOSED,
    /** A field's values in a window moved away from their baseline (data drift). */
    DATA_DRIFT,
    /** A metric (volume, error rate, null rate, latency) left its usual range. */
    ANOMALY,
    /** A data quality rule failed more of a window's records than it allows. */
    QUALITY_RULE_FAILED,
    /** A quality gate closed: records are held until it reopens. */
    QUALITY_GATE_CLOSED,
    /** A quality gate reopened: records pass again. */
    QUALITY_GATE_REOPENED
  }

  /** Checks the components. */
  public Alert {
    Objects.requireNonNull(kind, "kind cannot be null");
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(message, "message cannot be null");
    Objects.requireNonNull(at, "at cannot be null");
  }
}
