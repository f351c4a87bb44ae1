package dev.pipeline.resilience;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Decides whether a failed attempt at a stage is tried again, and after how long.
 *
 * <p>Implementations are immutable and thread-safe; one policy may serve many stages.
 */
public interface RetryPolicy {

  /** How many times a record is retried at a stage after its first attempt fails. */
  int maxRetries();

  /**
   * Whether this error may succeed on another attempt. Errors that are not retryable send the
   * record to the dead letter queue at once.
   */
  boolean isRetryable(Throwable error);

  /**
   * The wait before retry number {@code retry} (1 for the first retry). The engine treats a
   * negative wait as none and a wait longer than {@link ExponentialRetryPolicy#MAX_DELAY} as that
   * long, so that a policy's arithmetic can never stop a worker.
   *
   * @param random the source of jitter; the pipeline's, so tests can fix it
   * @throws IllegalArgumentException if {@code retry} is less than 1
   */
  Duration delay(int retry, RandomGenerator random);

  /**
   * How much each wait grows over the previous one, for people reading the store's retry queue; 1
   * unless the policy backs off exponentially.
   */
  default double backoffMultiplier() {
    return 1.0;
  }

  /** A policy that never retries: the first failure is final. */
  static RetryPolicy none() {
    return NoRetry.INSTANCE;
  }

  /**
   * An exponential backoff policy: the first retry waits {@code initialDelay}, each next one twice
   * as long, never more than {@code maxDelay}; 3 retries, no jitter, retrying any {@link Exception}
   * until told otherwise.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if a delay is negative or longer than {@link
   *     ExponentialRetryPolicy#MAX_DELAY} (365 days), or {@code maxDelay < initialDelay}
   */
  static ExponentialRetryPolicy exponential(Duration initialDelay, Duration maxDelay) {
    return ExponentialRetryPolicy.create(initialDelay, maxDelay);
  }
}
