package dev.pipeline;

import dev.pipeline.internal.ErrorText;

/**
 * A branch of a {@link Parallel} fan-out or of a {@link Route} gave up on a record (for a route,
 * also: the predicate of a branch threw): its retries were used up (or its error was not retryable)
 * and it had no skip or function fallback, or its fallback failed. The record fails at the fan-out
 * stage with it, and the fan-out stage's own retry policy, fallback or the dead letter queue take
 * over. The cause is the branch's last error (its fallback's, if that failed).
 *
 * <p>Immutable once thrown.
 */
public final class BranchFailedException extends StageException {
  private static final long serialVersionUID = 1L;

  private final String branch;
  private final int attempts;

  BranchFailedException(
      String stage,
      String branch,
      String recordId,
      int attempts,
      Throwable cause,
      boolean fallbackFailed) {
    super(
        stage,
        recordId,
        gaveUp(
            "branch '" + branch + "' of stage '" + stage + "'",
            "; the other branches were interrupted",
            recordId,
            attempts,
            cause,
            fallbackFailed),
        cause);
    this.branch = branch;
    this.attempts = attempts;
  }

  /**
   * The message of a branch ({@code who}) that gave up on a record: its last error, what else
   * happened ({@code then}), and what to do.
   */
  static String gaveUp(
      String who,
      String then,
      String recordId,
      int attempts,
      Throwable cause,
      boolean fallbackFailed) {
    return who
        + " gave up on record '"
        + recordId
        + "' after "
        + attempts
        + (attempts == 1 ? " attempt" : " attempts")
        + (fallbackFailed ? " and its fallback failed: " : ": ")
        + ErrorText.describeDefault(cause)
        + then
        + (fallbackFailed
            ? " (make its fallback return a value)"
            : " (let it retry with retry(...), or pass records on degraded with"
                + " fallback(Fallback.skip()) or fallback(Fallback.to(...)) in its options)");
  }

  /** A branch of a {@link Route} failed a record: {@code message} says how and what to do. */
  BranchFailedException(
      String stage, String branch, String recordId, int attempts, Throwable cause, String message) {
    super(stage, recordId, message, cause);
    this.branch = branch;
    this.attempts = attempts;
  }

  /** The name of the branch that gave up. */
  public String branch() {
    return branch;
  }

  /** How many calls the branch made on the record, counting from 1. */
  public int attempts() {
    return attempts;
  }
}
