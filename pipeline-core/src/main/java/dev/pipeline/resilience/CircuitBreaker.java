package dev.pipeline.resilience;

/**
 * Stops calling a stage whose recent calls mostly fail, and lets a few trial calls through after a
 * while to see whether it has recovered.
 *
 * <p>The pipeline asks {@link #tryAcquirePermission()} before each call and reports its outcome;
 * while permission is refused, records wait or take the stage's fallback instead of failing.
 * Implementations are thread-safe.
 */
public interface CircuitBreaker {

  /** The states of a circuit. */
  enum State {
    /** Calls pass. */
    CLOSED,
    /** Calls are refused. */
    OPEN,
    /** A limited number of trial calls pass. */
    HALF_OPEN
  }

  /** Whether a call may go ahead now; if true, its outcome must be reported. */
  boolean tryAcquirePermission();

  /** Reports a successful call that took {@code nanos}. */
  void onSuccess(long nanos);

  /** Reports a failed call that took {@code nanos}. */
  void onFailure(long nanos, Throwable error);

  /** The current state. */
  State state();

  /** A circuit that is always closed and keeps no statistics. */
  static CircuitBreaker disabled() {
    return DisabledCircuitBreaker.INSTANCE;
  }
}
