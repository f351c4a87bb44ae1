package dev.pipeline.resilience;

/**
 * Limits the rate at which records enter a stage or leave a source: each record takes a token, and
 * tokens come back at a steady rate up to a burst capacity.
 *
 * <p>Implementations are thread-safe. Blocking in {@link #acquire(int)} is cheap on the pipeline's
 * virtual threads.
 */
public interface TokenBucket {

  /**
   * Takes {@code permits} tokens, waiting until they are available.
   *
   * @throws InterruptedException if interrupted while waiting
   * @throws IllegalArgumentException if {@code permits} is not positive
   */
  void acquire(int permits) throws InterruptedException;

  /**
   * Takes {@code permits} tokens if they are available now.
   *
   * @return whether the tokens were taken
   * @throws IllegalArgumentException if {@code permits} is not positive
   */
  boolean tryAcquire(int permits);

  /**
   * The current refill rate in tokens per second; {@code Double.POSITIVE_INFINITY} if unlimited.
   */
  double ratePerSecond();

  /** A bucket that never runs dry. */
  static TokenBucket unlimited() {
    return UnlimitedTokenBucket.INSTANCE;
  }
}
