package dev.pipeline.resilience;

/** The circuit that never opens. */
enum DisabledCircuitBreaker implements CircuitBreaker {
  INSTANCE;

  @Override
  public boolean tryAcquirePermission() {
    return true;
  }

  @Override
  public void onSuccess(long nanos) {}

  @Override
  public void onFailure(long nanos, Throwable error) {}

  @Override
  public State state() {
    return State.CLOSED;
  }

  @Override
  public String toString() {
    return "CircuitBreaker.disabled()";
  }
}
