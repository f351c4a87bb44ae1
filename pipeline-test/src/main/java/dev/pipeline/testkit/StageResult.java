package dev.pipeline.testkit;

import dev.pipeline.internal.ErrorText;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a {@link StageTester} made of one record: passed with an output, filtered with a reason, or
 * failed with its errors; how many attempts it took, what the stage logged and what metadata it
 * added.
 *
 * <p>The accessors of one outcome ({@link #output()}, {@link #filterReason()}, {@link #failure()})
 * throw {@link IllegalStateException} on a result of another outcome, with a message telling what
 * did happen, so a test that expects the wrong outcome fails with the reason.
 *
 * <p>Immutable and thread-safe (as far as the output and the errors are).
 *
 * @param <O> the stage's output type
 */
public final class StageResult<O> {

  /** How a record left the stage. */
  public enum Outcome {
    /** The stage returned an output. */
    PASSED,
    /** The stage dropped the record on purpose, with a reason. */
    FILTERED,
    /** The stage failed on every attempt it was allowed; the engine would dead-letter it. */
    FAILED
  }

  private final String recordId;
  private final Outcome outcome;
  private final @Nullable O output;
  private final @Nullable String filterReason;
  private final List<Throwable> errors;
  private final int attempts;
  private final List<LogEntry> logs;
  private final Map<String, String> addedMetadata;

  private StageResult(
      String recordId,
      Outcome outcome,
      @Nullable O output,
      @Nullable String filterReason,
      List<Throwable> errors,
      int attempts,
      List<LogEntry> logs,
      Map<String, String> addedMetadata) {
    this.recordId = recordId;
    this.outcome = outcome;
    this.output = output;
    this.filterReason = filterReason;
    this.errors = List.copyOf(errors);
    this.attempts = attempts;
    this.logs = List.copyOf(logs);
    this.addedMetadata = Map.copyOf(addedMetadata);
  }

  static <O> StageResult<O> passed(
      String recordId,
      O output,
      List<Throwable> errors,
      int attempts,
      List<LogEntry> logs,
      Map<String, String> addedMetadata) {
    return new StageResult<>(
        recordId, Outcome.PASSED, output, null, errors, attempts, logs, addedMetadata);
  }

  static <O> StageResult<O> filtered(
      String recordId, String reason, List<Throwable> errors, int attempts, List<LogEntry> logs) {
    return new StageResult<>(
        recordId, Outcome.FILTERED, null, reason, errors, attempts, logs, Map.of());
  }

  static <O> StageResult<O> failed(
      String recordId, List<Throwable> errors, int attempts, List<LogEntry> logs) {
    return new StageResult<>(
        recordId, Outcome.FAILED, null, null, errors, attempts, logs, Map.of());
  }

  /**
   * Whether the record passed through the stage's skip or function fallback rather than the stage
   * itself (its output is the fallback's; the engine marks it {@link
   * dev.pipeline.resilience.Fallback#DEGRADED}).
   */
  public boolean isDegraded() {
    return outcome == Outcome.PASSED
        && addedMetadata.containsKey(dev.pipeline.resilience.Fallback.DEGRADED);
  }

  /** The id the record had in the test. */
  public String recordId() {
    return recordId;
  }

  /** How the record left the stage. */
  public Outcome outcome() {
    return outcome;
  }

  /** Whether the stage returned an output. */
  public boolean isPassed() {
    return outcome == Outcome.PASSED;
  }

  /** Whether the stage filtered the record. */
  public boolean isFiltered() {
    return outcome == Outcome.FILTERED;
  }

  /** Whether the stage failed on the record for good. */
  public boolean isFailed() {
    return outcome == Outcome.FAILED;
  }

  /**
   * The stage's output.
   *
   * @throws IllegalStateException if the record did not pass; the message says what happened, and
   *     the cause is the final error of a failed record
   */
  public O output() {
    expect(Outcome.PASSED);
    return Objects.requireNonNull(output);
  }

  /**
   * Why the stage filtered the record.
   *
   * @throws IllegalStateException if the record was not filtered
   */
  public String filterReason() {
    expect(Outcome.FILTERED);
    return Objects.requireNonNull(filterReason);
  }

  /**
   * The final error of a failed record (the last of {@link #errors()}).
   *
   * @throws IllegalStateException if the record did not fail
   */
  public Throwable failure() {
    expect(Outcome.FAILED);
    return errors.get(errors.size() - 1);
  }

  /**
   * Every attempt's error, oldest first: empty for a record that passed at once, and holding the
   * failed attempts' errors of a record that passed or was filtered on a retry. Bounded as a store
   * bounds a record's errors: after many retries, the first error and the last 8 ({@link
   * #attempts()} says how many there were).
   */
  public List<Throwable> errors() {
    return errors;
  }

  /** How many times the stage was called with the record, from 1. */
  public int attempts() {
    return attempts;
  }

  /**
   * What the stage logged through its context in the calls that held this record, every attempt
   * included, in order. For a batch stage, that is what it logged for the whole batch.
   */
  public List<LogEntry> logs() {
    return logs;
  }

  /**
   * The metadata the stage added with {@link dev.pipeline.StageContext#putMetadata} in the call
   * that produced the output; empty unless the record passed.
   */
  public Map<String, String> addedMetadata() {
    return addedMetadata;
  }

  private void expect(Outcome expected) {
    if (outcome != expected) {
      IllegalStateException wrong = new IllegalStateException(describe() + ", not " + expected);
      if (outcome == Outcome.FAILED) {
        wrong.initCause(errors.get(errors.size() - 1));
      }
      throw wrong;
    }
  }

  private String describe() {
    String attemptText = attempts + (attempts == 1 ? " attempt" : " attempts");
    return switch (outcome) {
      case PASSED -> "record '" + recordId + "' PASSED after " + attemptText;
      case FILTERED ->
          "record '" + recordId + "' was FILTERED ('" + filterReason + "') after " + attemptText;
      case FAILED ->
          "record '"
              + recordId
              + "' FAILED after "
              + attemptText
              + ": "
              + ErrorText.describeDefault(errors.get(errors.size() - 1));
    };
  }

  @Override
  public String toString() {
    return "StageResult[" + describe() + "]";
  }
}
