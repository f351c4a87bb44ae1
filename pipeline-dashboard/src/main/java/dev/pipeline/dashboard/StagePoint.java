package dev.pipeline.dashboard;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * One stage over one window of time, as a chart plots it.
 *
 * @param at the end of the window
 * @param window its length
 * @param recordsIn records that entered the stage in the window
 * @param passed records it passed on in the window
 * @param failed records it sent to the dead letter queue in the window
 * @param errors errors it met in the window, retried ones included
 * @param p50 median call time per record
 * @param p95 95th percentile
 * @param p99 99th percentile
 * @param queueDepth records waiting in front of the stage at the end of the window
 * @param utilization the fraction of its workers' time spent in calls, 0 to 1
 */
public record StagePoint(
    Instant at,
    Duration window,
    long recordsIn,
    long passed,
    long failed,
    long errors,
    Duration p50,
    Duration p95,
    Duration p99,
    int queueDepth,
    double utilization) {

  /**
   * Checks the components.
   *
   * @throws NullPointerException if a time is null
   * @throws IllegalArgumentException if the window is not positive
   */
  public StagePoint {
    Objects.requireNonNull(at, "at cannot be null");
    Objects.requireNonNull(window, "window cannot be null");
    Objects.requireNonNull(p50, "p50 cannot be null");
    Objects.requireNonNull(p95, "p95 cannot be null");
    Objects.requireNonNull(p99, "p99 cannot be null");
    if (window.isNegative() || window.isZero()) {
      throw new IllegalArgumentException("window must be positive, was " + window);
    }
  }

  /** Records passed per second over the window. */
  public double recordsPerSecond() {
    return passed / seconds();
  }

  /** Errors per second over the window. */
  public double errorsPerSecond() {
    return errors / seconds();
  }

  /** Records failed for good, of those that entered, in the window; 0 if none entered. */
  public double errorRate() {
    return recordsIn == 0 ? 0 : Math.min(1, (double) failed / recordsIn);
  }

  private double seconds() {
    return window.toNanos() / 1e9;
  }
}
