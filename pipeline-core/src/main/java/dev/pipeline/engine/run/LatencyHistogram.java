package dev.pipeline.engine.run;

import java.util.Arrays;

/**
 * Call latencies in nanoseconds, kept to two significant digits (each bucket is under 0.8 % wide),
 * as HdrHistogram keeps them: values below 256 exactly, larger ones in 128 buckets per power of
 * two. Percentiles and the maximum are reported as the highest value of their bucket.
 *
 * <p>Kept here rather than taken from HdrHistogram, whose jar has no module name: a named module
 * that requires it depends on a name derived from the jar's file name.
 *
 * <p>Not thread-safe: {@code Run} guards each stage's histogram with a lock.
 */
final class LatencyHistogram {
  private static final int EXACT = 256; // values below are counted one by one
  private static final int HALF = EXACT / 2; // buckets per power of two above
  private static final int SHIFT = Integer.numberOfTrailingZeros(HALF); // 7

  private long[] counts = new long[EXACT];
  private long total;
  private long max;

  void recordValue(long value) {
    long v = Math.max(0, value);
    int index = indexOf(v);
    if (index >= counts.length) {
      counts = Arrays.copyOf(counts, Math.max(index + 1, counts.length + HALF));
    }
    counts[index]++;
    total++;
    max = Math.max(max, v);
  }

  LatencyHistogram copy() {
    LatencyHistogram copy = new LatencyHistogram();
    copy.counts = counts.clone();
    copy.total = total;
    copy.max = max;
    return copy;
  }

  /**
   * The values recorded here and not in {@code earlier}, a copy of this histogram taken before: the
   * latencies of one window. Its maximum is this one's if any value was added.
   */
  LatencyHistogram minus(LatencyHistogram earlier) {
    LatencyHistogram window = new LatencyHistogram();
    window.counts = counts.clone();
    for (int i = 0; i < earlier.counts.length && i < window.counts.length; i++) {
      window.counts[i] = Math.max(0, window.counts[i] - earlier.counts[i]);
    }
    window.total = Math.max(0, total - earlier.total);
    for (int i = window.counts.length - 1; i >= 0; i--) {
      if (window.counts[i] > 0) {
        window.max = highestOf(i);
        break;
      }
    }
    return window;
  }

  /** The highest value of the bucket that holds the given percentile (0..100); 0 if empty. */
  long getValueAtPercentile(double percentile) {
    if (total == 0) {
      return 0;
    }
    long rank = Math.max(1, (long) (percentile / 100.0 * total + 0.5));
    long seen = 0;
    for (int i = 0; i < counts.length; i++) {
      seen += counts[i];
      if (seen >= rank) {
        return highestOf(i);
      }
    }
    return highestOf(indexOf(max));
  }

  /** The highest value of the bucket that holds the largest value recorded; 0 if empty. */
  long getMaxValue() {
    return total == 0 ? 0 : highestOf(indexOf(max));
  }

  private static int indexOf(long v) {
    if (v < EXACT) {
      return (int) v;
    }
    int shift = 63 - Long.numberOfLeadingZeros(v) - SHIFT; // v >>> shift is in [HALF, EXACT)
    return EXACT + (shift - 1) * HALF + (int) ((v >>> shift) - HALF);
  }

  private static long highestOf(int index) {
    if (index < EXACT) {
      return index;
    }
    int shift = (index - EXACT) / HALF + 1;
    long lowest = (long) (HALF + (index - EXACT) % HALF) << shift;
    long width = 1L << shift;
    return lowest > Long.MAX_VALUE - width ? Long.MAX_VALUE : lowest + width - 1;
  }
}
