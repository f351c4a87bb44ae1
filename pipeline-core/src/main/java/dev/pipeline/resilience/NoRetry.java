package dev.pipeline.resilience;

import java.time.Duration;
import java.util.random.RandomGenerator;

/** The policy that never retries. */
enum NoRetry implements RetryPolicy {
  INSTANCE;

  @Override
  public int maxRetries() {
    return 0;
  }

  @Override
  public boolean isRetryable(Throwable error) {
    return false;
  }

  @Override
  public Duration delay(int retry, RandomGenerator random) {
    if (retry < 1) {
      throw new IllegalArgumentException("retry counts from 1, was " + retry);
    }
    return Duration.ZERO;
  }

  @Override
  public String toString() {
    return "RetryPolicy.none()";
  }
}
