package dev.pipeline;

import dev.pipeline.resilience.CircuitBreaker;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A branch's circuit breaker for one call of the fan-out. A call cut short because another branch
 * gave up (or the worker was interrupted) says nothing of this branch's service, but the call path
 * reports it as failed (a cancelled call's permission must be given back): that is passed on only
 * to a half-open circuit, whose trial permit it frees, so that one branch failing does not open the
 * others' circuits. A closed circuit holds nothing for a call.
 */
final class ParallelCircuit implements CircuitBreaker {
  private final CircuitBreaker breaker;
  private final AtomicBoolean cancelled;

  ParallelCircuit(CircuitBreaker breaker, AtomicBoolean cancelled) {
    this.breaker = breaker;
    this.cancelled = cancelled;
  }

  @Override
  public boolean tryAcquirePermission() {
    return breaker.tryAcquirePermission();
  }

  @Override
  public void onSuccess(long nanos) {
    breaker.onSuccess(nanos);
  }

  @Override
  public void onFailure(long nanos, Throwable error) {
    if (!cancelled.get() || breaker.state() == State.HALF_OPEN) {
      breaker.onFailure(nanos, error);
    }
  }

  @Override
  public State state() {
    return breaker.state();
  }

  @Override
  public Duration remainingOpen() {
    return breaker.remainingOpen();
  }
}
