package dev.pipeline.quality;

import dev.pipeline.PipelineClock;
import dev.pipeline.resilience.CircuitBreaker;
import java.time.Duration;
import java.util.Objects;

/**
 * A gate seen by the engine as its stage's circuit breaker: while the gate is closed the circuit is
 * open, so the engine holds the stage's records (with {@code Fallback.hold()}, in the store's retry
 * queue, no retries used) instead of calling the gate; once the gate is on trial the circuit is
 * half-open and lets records through. The gate's own rule windows decide the state: the outcomes of
 * calls reported here do not. Thread-safe.
 */
final class GateCircuit implements CircuitBreaker {
  private final QualityGate<?> gate;

  GateCircuit(QualityGate<?> gate) {
    this.gate = gate;
  }

  @Override
  public boolean tryAcquirePermission() {
    return gate.state() != QualityGate.State.CLOSED;
  }

  @Override
  public void onSuccess(long nanos) {}

  @Override
  public void onFailure(long nanos, Throwable error) {}

  @Override
  public State state() {
    return switch (gate.state()) {
      case OPEN -> State.CLOSED;
      case CLOSED -> State.OPEN;
      case TRIAL -> State.HALF_OPEN;
    };
  }

  @Override
  public Duration remainingOpen() {
    return gate.remainingClosed();
  }

  @Override
  public CircuitBreaker bind(PipelineClock clock) {
    Objects.requireNonNull(clock, "clock cannot be null");
    gate.bindClock(clock);
    return this;
  }

  @Override
  public String toString() {
    return "QualityGate circuit (" + gate.state() + ")";
  }
}
