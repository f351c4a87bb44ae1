package dev.pipeline.engine;

import dev.pipeline.CircuitOpenException;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.TokenBucket;
import org.jspecify.annotations.Nullable;

/**
 * One policy's part of a call, before it and after it; an {@link Invoker} runs them in order around
 * the call (the shape of Failsafe's policy executors). A policy that is off has no executor.
 */
abstract class PolicyExecutor {

  /**
   * Before the call of {@code permits} records, the first {@code firstRecordId}.
   *
   * @return null to let the call go ahead, or why this policy refuses it
   */
  abstract @Nullable Throwable before(String stage, int permits, @Nullable String firstRecordId)
      throws InterruptedException;

  /** After the call, with its time and its error (null if it passed or filtered). */
  abstract void after(long tookNanos, @Nullable Throwable error);

  /**
   * The call will not be counted (the run was cancelled, or a later policy was interrupted): frees
   * what {@link #before} took.
   */
  void abort() {}

  /** The circuit breaker: asks for permission, and tells it each call's outcome. */
  static final class Breaker extends PolicyExecutor {
    final CircuitBreaker breaker;

    Breaker(CircuitBreaker breaker) {
      this.breaker = breaker;
    }

    @Override
    @Nullable Throwable before(String stage, int permits, @Nullable String firstRecordId) {
      if (breaker.tryAcquirePermission()) {
        return null;
      }
      return new CircuitOpenException(
          stage, firstRecordId, breaker.state(), breaker.remainingOpen());
    }

    @Override
    void after(long tookNanos, @Nullable Throwable error) {
      if (error == null) {
        breaker.onSuccess(tookNanos);
      } else {
        breaker.onFailure(tookNanos, error);
      }
    }

    @Override
    void abort() {
      // frees a half-open circuit's trial permit without judging the service
      breaker.onFailure(0, new InterruptedException("run cancelled"));
    }
  }

  /** The rate limit: a token per record before the call, and each call's outcome after it. */
  static final class RateLimit extends PolicyExecutor {
    final TokenBucket bucket;

    RateLimit(TokenBucket bucket) {
      this.bucket = bucket;
    }

    @Override
    @Nullable Throwable before(String stage, int permits, @Nullable String firstRecordId)
        throws InterruptedException {
      bucket.acquire(permits); // only calls that may go ahead take tokens
      return null;
    }

    @Override
    void after(long tookNanos, @Nullable Throwable error) {
      bucket.onResult(tookNanos, error != null);
    }
  }
}
