package dev.pipeline.resilience;

import dev.pipeline.PipelineClock;
import java.util.Objects;

/**
 * Limits the rate at which records enter a stage or leave a source: each record takes a token, and
 * tokens come back at a steady rate up to a burst capacity.
 *
 * <p>At build time the pipeline calls {@link #bind(PipelineClock)} so that each stage gets a bucket
 * of its own on the pipeline's clock; it then reports each call's outcome to {@link #onResult(long,
 * boolean)} and the opening of the stage's circuit to {@link #onCircuitOpen()}, which an adaptive
 * bucket uses to slow down.
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
   * Takes {@code permits} tokens if they are available now; never waits.
   *
   * @return whether the tokens were taken
   * @throws IllegalArgumentException if {@code permits} is not positive
   */
  boolean tryAcquire(int permits);

  /**
   * The current refill rate in tokens per second; {@code Double.POSITIVE_INFINITY} if unlimited.
   */
  double ratePerSecond();

  /**
   * The most tokens the bucket holds, which can be taken at once when it is full; {@link
   * Integer#MAX_VALUE} for the default (unlimited).
   */
  default int capacity() {
    return Integer.MAX_VALUE;
  }

  /**
   * Reports the outcome of one call made with a token: it took {@code latencyNanos} nanoseconds and
   * {@code failed} or not. An adaptive bucket slows down when calls fail or are slow; the default
   * ignores it.
   */
  default void onResult(long latencyNanos, boolean failed) {}

  /**
   * Reports that the circuit of the stage this bucket limits opened; an adaptive bucket cuts its
   * rate. The default ignores it.
   */
  default void onCircuitOpen() {}

  /**
   * Returns a bucket with this one's configuration, in a fresh state (full, at the configured
   * rate), that reads time from {@code clock}. The pipeline calls it once per stage when it is
   * built, so one configured bucket may serve many stages. The default returns this bucket (right
   * for one that keeps no state).
   *
   * @throws NullPointerException if {@code clock} is null
   */
  default TokenBucket bind(PipelineClock clock) {
    Objects.requireNonNull(clock, "clock cannot be null");
    return this;
  }

  /** A bucket that never runs dry; {@link #bind} returns it. */
  static TokenBucket unlimited() {
    return UnlimitedTokenBucket.INSTANCE;
  }

  /**
   * A bucket refilled at {@code rate} tokens per second of clock time, holding at most {@code
   * max(1, ceil(rate))} tokens (one second's worth) unless {@link RefillingTokenBucket#burst(int)}
   * says otherwise; it starts full, on the system clock until bound.
   *
   * @param rate tokens per second, in (0, 1e9]
   * @throws IllegalArgumentException if {@code rate} is outside (0, 1e9]
   */
  static RefillingTokenBucket perSecond(double rate) {
    return RefillingTokenBucket.create(rate);
  }
}
