package dev.pipeline.engine.run;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Tunes a stage's batch size by hill climbing on measured throughput: every few full batches it
 * compares records per second with the previous window and keeps moving the size the same way (by a
 * factor) while throughput improves, turning around when it drops. Between a minimum and a maximum.
 * Batches smaller than the size asked for (the queue ran dry) say nothing about the size and are
 * ignored.
 *
 * <p>Thread-safe; the workers of a stage share one.
 */
final class AdaptiveBatchSize {
  /** Full batches measured before each decision. */
  static final int WINDOW = 6;

  /** The factor a size grows or shrinks by. */
  static final double STEP = 1.5;

  /** Throughput must drop by more than this fraction to turn around (measurements are noisy). */
  static final double TOLERANCE = 0.03;

  private final int min;
  private final int max;
  private volatile int size;
  private final ReentrantLock lock = new ReentrantLock();
  // guarded by lock
  private long windowRecords;
  private long windowNanos;
  private int windowBatches;
  private double lastRate = -1;
  private int direction = 1;

  AdaptiveBatchSize(int min, int max, int start) {
    this.min = min;
    this.max = max;
    this.size = Math.clamp(start, min, max);
  }

  /** The batch size to take now. */
  int size() {
    return size;
  }

  /** Reports a batch of {@code records} (taken at size {@code asked}) that took {@code nanos}. */
  void record(int asked, int records, long nanos) {
    if (records < asked || nanos <= 0) {
      return;
    }
    lock.lock();
    try {
      if (asked != size) {
        return; // taken before the last change
      }
      windowRecords += records;
      windowNanos += nanos;
      if (++windowBatches < WINDOW) {
        return;
      }
      double rate = (double) windowRecords / windowNanos;
      if (lastRate >= 0 && rate < lastRate * (1 - TOLERANCE)) {
        direction = -direction;
      }
      lastRate = rate;
      int next = direction > 0 ? (int) Math.ceil(size * STEP) : (int) Math.floor(size / STEP);
      next = Math.clamp(next, min, max);
      if (next == size) {
        direction = -direction; // at a bound: probe the other way next time
      }
      size = next;
      windowRecords = 0;
      windowNanos = 0;
      windowBatches = 0;
    } finally {
      lock.unlock();
    }
  }
}
