package dev.pipeline;

import dev.pipeline.resilience.CircuitBreaker;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * A stage's circuit breaker refused a call: the stage failed too often lately and is given time to
 * recover. Counted under its own error type; retried like any other error unless the stage has a
 * {@link dev.pipeline.resilience.Fallback}.
 */
public final class CircuitOpenException extends StageException {
  private static final long serialVersionUID = 1L;

  private final CircuitBreaker.State state;
  private final Duration remainingOpen;

  /**
   * A refusal of a call of {@code stage} on a record (the first of a batch).
   *
   * @param stage the stage whose circuit refused
   * @param recordId the record, or the first of a batch; null if none
   * @param state the circuit's state
   * @param remainingOpen how long it stays open, zero if half-open
   */
  public CircuitOpenException(
      String stage, @Nullable String recordId, CircuitBreaker.State state, Duration remainingOpen) {
    super(
        stage,
        recordId,
        "the circuit of stage '"
            + stage
            + "' is "
            + state
            + (remainingOpen.isPositive() ? " for another " + remainingOpen : "")
            + ", so record '"
            + recordId
            + "' was not processed; it is retried, or give the stage a fallback (Fallback.hold()"
            + " parks records until the circuit closes)");
    this.state = state;
    this.remainingOpen = remainingOpen;
  }

  /** The circuit's state when the call was refused. */
  public CircuitBreaker.State state() {
    return state;
  }

  /** How long the circuit was to stay open then; zero if it was half-open. */
  public Duration remainingOpen() {
    return remainingOpen;
  }
}
