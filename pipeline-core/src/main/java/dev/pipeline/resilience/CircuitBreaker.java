package dev.pipeline.resilience;

import dev.pipeline.PipelineClock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * Stops calling a stage whose recent calls mostly fail, and lets a few trial calls through after a
 * while to see whether it has recovered.
 *
 * <p>The pipeline asks {@link #tryAcquirePermission()} before each call and reports its outcome;
 * while permission is refused, records wait or take the stage's fallback instead of failing. At
 * build time the pipeline calls {@link #bind(PipelineClock)} so that each stage gets a circuit of
 * its own on the pipeline's clock.
 *
 * <p>Implementations are thread-safe.
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

  /**
   * A change of state.
   *
   * @param from the state before
   * @param to the state after
   * @param at when it happened, on the circuit's clock
   * @param reason why, for people: {@code "failure rate 62% of the last 20 calls >= 50%"}, {@code
   *     "open for PT30S"}, {@code "5 trial calls succeeded"}, {@code "trial call failed: ..."}
   */
  record Transition(State from, State to, Instant at, String reason) {

    /**
     * Checks the components.
     *
     * @throws NullPointerException if a component is null
     */
    public Transition {
      Objects.requireNonNull(from, "from cannot be null");
      Objects.requireNonNull(to, "to cannot be null");
      Objects.requireNonNull(at, "at cannot be null");
      Objects.requireNonNull(reason, "reason cannot be null");
    }
  }

  /**
   * Told of every change of state of a circuit, synchronously on the thread that caused it and in
   * the order the changes happened. It should return quickly; an exception it throws is logged and
   * does not reach the pipeline.
   */
  @FunctionalInterface
  interface Listener {

    /** Called after the circuit changed state. */
    void onTransition(Transition transition);
  }

  /**
   * Whether a call may go ahead now; if true, its outcome must be reported with {@link
   * #onSuccess(long)} or {@link #onFailure(long, Throwable)}.
   */
  boolean tryAcquirePermission();

  /** Reports a successful call that took {@code nanos} nanoseconds. */
  void onSuccess(long nanos);

  /** Reports a call that failed with {@code error} after {@code nanos} nanoseconds. */
  void onFailure(long nanos, Throwable error);

  /** The current state; an open circuit whose open time has passed reports {@code HALF_OPEN}. */
  State state();

  /**
   * How long until an open circuit lets trial calls through; {@link Duration#ZERO} if the circuit
   * is not open (or is due to half-open). The default returns zero.
   */
  default Duration remainingOpen() {
    return Duration.ZERO;
  }

  /**
   * Registers a listener for this circuit's changes of state. Copies made afterwards by {@link
   * #bind(PipelineClock)} or by configuration methods keep it. The default does nothing: a circuit
   * that never changes state has nothing to tell.
   *
   * @throws NullPointerException if {@code listener} is null
   */
  default void addListener(Listener listener) {
    Objects.requireNonNull(listener, "listener cannot be null");
  }

  /**
   * Returns a circuit with this one's configuration and listeners, in a fresh state, that reads
   * time from {@code clock}. The pipeline calls it once per stage when it is built, so one
   * configured breaker may serve many stages. The default returns this circuit (right for one that
   * keeps no state).
   *
   * @throws NullPointerException if {@code clock} is null
   */
  default CircuitBreaker bind(PipelineClock clock) {
    Objects.requireNonNull(clock, "clock cannot be null");
    return this;
  }

  /** A circuit that is always closed and keeps no statistics; {@link #bind} returns it. */
  static CircuitBreaker disabled() {
    return DisabledCircuitBreaker.INSTANCE;
  }

  /**
   * A circuit that opens when at least {@code threshold} of the calls in its sliding window failed,
   * once the window holds enough calls. Defaults: at least 20 calls in a window of the last 100
   * calls, open for 30 seconds, then 5 trial calls; on the system clock until bound.
   *
   * @param threshold the failure fraction that opens the circuit, in (0, 1]
   * @throws IllegalArgumentException if {@code threshold} is outside (0, 1]
   */
  static FailureRateCircuitBreaker failureRate(double threshold) {
    return FailureRateCircuitBreaker.create(threshold);
  }
}
