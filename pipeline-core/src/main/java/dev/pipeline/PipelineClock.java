package dev.pipeline;

import java.time.Duration;
import java.time.Instant;

/**
 * The pipeline's source of time: wall-clock instants for what it records, a monotonic tick for what
 * it measures, and waiting. Injected on the builder so that tests of timeouts, backoff and rates
 * run on a clock they move themselves (see the test kit's {@code ManualClock}).
 *
 * <p>Implementations are thread-safe.
 */
public interface PipelineClock {

  /** The current instant, for timestamps. */
  Instant now();

  /** A monotonic reading in nanoseconds, for measuring elapsed time; only differences matter. */
  long nanoTime();

  /**
   * Waits for {@code duration} of this clock's time.
   *
   * @throws InterruptedException if interrupted while waiting
   */
  void sleep(Duration duration) throws InterruptedException;

  /** The system clock: {@link Instant#now()}, {@link System#nanoTime()} and a real sleep. */
  static PipelineClock system() {
    return SystemClock.INSTANCE;
  }
}
