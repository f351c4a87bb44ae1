package dev.pipeline.engine;

import org.jspecify.annotations.Nullable;

/**
 * How one call of a stage ended, as {@link Invoker#call} saw it.
 *
 * @param kind how it ended
 * @param value what the stage returned (for {@link Kind#PASSED})
 * @param filterReason why the stage filtered (for {@link Kind#FILTERED})
 * @param error what failed it, or why it was refused (for {@link Kind#FAILED} and {@link
 *     Kind#REFUSED})
 * @param startNanos when the call began on the clock, after its permits were taken
 * @param tookNanos how long it took
 * @param <R> what the stage returns
 */
public record Attempt<R>(
    Kind kind,
    @Nullable R value,
    @Nullable String filterReason,
    @Nullable Throwable error,
    long startNanos,
    long tookNanos) {

  /** How a call ended. */
  public enum Kind {
    /** The stage returned a value that passed the shape's check. */
    PASSED,
    /** The stage threw {@code RecordFilteredException}. */
    FILTERED,
    /** The stage threw, timed out, or returned what the shape's check rejects. */
    FAILED,
    /** A policy refused the call before it was made (an open circuit). */
    REFUSED,
    /** The run was cancelled during the call: its result does not count. */
    CANCELLED
  }

  static final Attempt<?> CANCELLED = new Attempt<>(Kind.CANCELLED, null, null, null, 0, 0);

  /** The error of a failed or refused call. */
  public Throwable failure() {
    if (error == null) {
      throw new IllegalStateException("a " + kind + " call has no error");
    }
    return error;
  }
}
