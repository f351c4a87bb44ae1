package dev.pipeline.quality;

import dev.pipeline.metrics.WindowScorer;
import dev.pipeline.metrics.WindowScores;
import dev.pipeline.quality.score.Dimension;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A gate's verdicts counted by quality {@link Dimension}, for the engine's metrics windows: per
 * record, each dimension its rules checked counts once, and once more as failed if any of the
 * dimension's rules failed. Each window's scores are {@code 100 × (1 − failed / checked)} of the
 * counts since the last window (see {@code QualityScores}); the counts only grow, and a window
 * subtracts the last one's, so a record counted while a window is taken falls in one of the two.
 *
 * <p>Thread-safe.
 */
final class GateScores implements WindowScorer {
  private static final int DIMENSIONS = Dimension.values().length;

  private final LongAdder[] checked = adders();
  private final LongAdder[] failed = adders();
  private final ReentrantLock lock = new ReentrantLock();
  private final long[] checkedBefore = new long[DIMENSIONS]; // guarded by lock
  private final long[] failedBefore = new long[DIMENSIONS]; // guarded by lock

  private static LongAdder[] adders() {
    LongAdder[] adders = new LongAdder[DIMENSIONS];
    for (int i = 0; i < DIMENSIONS; i++) {
      adders[i] = new LongAdder();
    }
    return adders;
  }

  /**
   * The dimension a rule of {@code type} measures (VOLUME rules, judged per window, count none).
   */
  static Dimension dimension(RuleType type) {
    return switch (type) {
      case NOT_NULL -> Dimension.COMPLETENESS;
      case CONSISTENCY -> Dimension.CONSISTENCY;
      case UNIQUE -> Dimension.UNIQUENESS;
      case FRESHNESS -> Dimension.TIMELINESS;
      default -> Dimension.VALIDITY;
    };
  }

  /** The bit of a dimension in the masks {@link #count} takes. */
  static int bit(Dimension d) {
    return 1 << d.ordinal();
  }

  /** Counts one record: the dimensions checked and those failed, as masks of {@link #bit}s. */
  void count(int checkedMask, int failedMask) {
    for (int i = 0; i < DIMENSIONS; i++) {
      if ((checkedMask & (1 << i)) != 0) {
        checked[i].increment();
        if ((failedMask & (1 << i)) != 0) {
          failed[i].increment();
        }
      }
    }
  }

  @Override
  public WindowScores takeWindow() {
    double[] scores = new double[DIMENSIONS];
    lock.lock();
    try {
      for (int i = 0; i < DIMENSIONS; i++) {
        long c = checked[i].sum();
        long f = failed[i].sum();
        long n = c - checkedBefore[i];
        long bad = Math.min(n, Math.max(0, f - failedBefore[i]));
        scores[i] = n <= 0 ? Double.NaN : 100.0 * (1 - (double) bad / n);
        checkedBefore[i] = c;
        failedBefore[i] = f;
      }
    } finally {
      lock.unlock();
    }
    return new WindowScores(
        scores[Dimension.COMPLETENESS.ordinal()],
        scores[Dimension.VALIDITY.ordinal()],
        scores[Dimension.CONSISTENCY.ordinal()],
        scores[Dimension.UNIQUENESS.ordinal()],
        scores[Dimension.TIMELINESS.ordinal()]);
  }
}
