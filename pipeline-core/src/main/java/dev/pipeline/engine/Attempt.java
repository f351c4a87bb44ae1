package dev.pipeline.engine;

import org.jspecify.annotations.Nullable;

/**
 * How one call of a stage ended, as {@link Invoker#call} saw it. A worker may hand the invoker the
 * same attempt for each of its calls ({@link Invoker#call(int, String, CallGuard, Invoker.Call,
 * Invoker.Check, Attempt)}), which then holds the last call's outcome: a call on the hot path
 * allocates nothing for its outcome.
 *
 * <p>Not thread-safe: one per worker, read before its next call.
 *
 * @param <R> what the stage returns
 */
public final class Attempt<R> {

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

  private Kind kind = Kind.CANCELLED;
  private @Nullable R value;
  private @Nullable String filterReason;
  private @Nullable Throwable error;
  private long startNanos;
  private long tookNanos;

  /** An attempt for {@link Invoker#call} to fill; until then it reads as a cancelled call. */
  public Attempt() {}

  /**
   * An attempt that ended as given.
   *
   * @param kind how it ended
   * @param value what the stage returned (for {@link Kind#PASSED})
   * @param filterReason why the stage filtered (for {@link Kind#FILTERED})
   * @param error what failed it, or why it was refused (for {@link Kind#FAILED} and {@link
   *     Kind#REFUSED})
   * @param startNanos when the call began on the clock, after its permits were taken
   * @param tookNanos how long it took
   */
  public Attempt(
      Kind kind,
      @Nullable R value,
      @Nullable String filterReason,
      @Nullable Throwable error,
      long startNanos,
      long tookNanos) {
    set(kind, value, filterReason, error, startNanos, tookNanos);
  }

  Attempt<R> set(
      Kind kind,
      @Nullable R value,
      @Nullable String filterReason,
      @Nullable Throwable error,
      long startNanos,
      long tookNanos) {
    this.kind = kind;
    this.value = value;
    this.filterReason = filterReason;
    this.error = error;
    this.startNanos = startNanos;
    this.tookNanos = tookNanos;
    return this;
  }

  /** How the call ended. */
  public Kind kind() {
    return kind;
  }

  /** What the stage returned (for {@link Kind#PASSED}), else null. */
  public @Nullable R value() {
    return value;
  }

  /** Why the stage filtered (for {@link Kind#FILTERED}), else null. */
  public @Nullable String filterReason() {
    return filterReason;
  }

  /** What failed the call, or why it was refused (for FAILED and REFUSED), else null. */
  public @Nullable Throwable error() {
    return error;
  }

  /** When the call began on the clock, after its permits were taken. */
  public long startNanos() {
    return startNanos;
  }

  /** How long the call took. */
  public long tookNanos() {
    return tookNanos;
  }

  /**
   * The error of a failed or refused call.
   *
   * @throws IllegalStateException if the call neither failed nor was refused
   */
  public Throwable failure() {
    if (error == null) {
      throw new IllegalStateException("a " + kind + " call has no error");
    }
    return error;
  }

  @Override
  public String toString() {
    return "Attempt[" + kind + ", took " + tookNanos + " ns]";
  }
}
