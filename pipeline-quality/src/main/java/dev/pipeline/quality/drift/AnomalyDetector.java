package dev.pipeline.quality.drift;

import dev.pipeline.Alert;
import dev.pipeline.AlertListener;
import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.StageMetrics;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flags points of metric series (volume, error rate, null rate, latency per stage) that leave their
 * usual range, by two checks on each point after a warm-up:
 *
 * <ul>
 *   <li><b>z-score</b>: {@code |value − mean| / deviation >= zScore} (3 unless set), the mean and
 *       standard deviation taken over the last {@code history} points (60 unless set). The
 *       deviation is floored at 1 % of the mean's magnitude and at 1e-9, so that a flat series does
 *       not flag a rounding change;
 *   <li><b>rate of change</b>: {@code |value − previous| / |previous| >= maxChange} (1, i.e. a
 *       doubling or a fall to zero, unless set); skipped after a previous point of 0.
 * </ul>
 *
 * The first {@code warmUp} points of a series (10 unless set) are only learned from. Every point,
 * flagged or not, joins the history, so that a lasting shift becomes the new normal within {@code
 * history} points. Each anomaly goes to the alert listeners as an {@link Alert.Kind#ANOMALY}.
 *
 * <p>Thread-safe; memory is bounded by {@value #MAX_SERIES} series of {@code history} points.
 */
public final class AnomalyDetector {

  /** The most series a detector tracks; points of further series are ignored (and logged once). */
  public static final int MAX_SERIES = 10_000;

  /** The most points of history a series keeps. */
  public static final int MAX_HISTORY = 10_000;

  private static final Logger LOG = LoggerFactory.getLogger(AnomalyDetector.class);

  private final String pipeline;
  private final double zScore;
  private final double maxChange;
  private final int warmUp;
  private final int history;
  private final List<AlertListener> alerts;
  private final ReentrantLock lock = new ReentrantLock();

  // guarded by lock
  private final Map<String, Series> series = new HashMap<>();
  private final Map<String, StageMetrics> lastMetrics = new HashMap<>();
  private final Deque<Anomaly> found = new ArrayDeque<>();
  private boolean warnedFull;

  private AnomalyDetector(Builder b) {
    this.pipeline = b.pipeline;
    this.zScore = b.zScore;
    this.maxChange = b.maxChange;
    this.warmUp = b.warmUp;
    this.history = b.history;
    this.alerts = List.copyOf(b.alerts);
  }

  /**
   * A builder for the series of {@code pipeline} (the name its alerts carry).
   *
   * @throws NullPointerException if {@code pipeline} is null
   */
  public static Builder builder(String pipeline) {
    return new Builder(pipeline);
  }

  /**
   * Adds a point to the series {@code (stage, metric)} and checks it.
   *
   * @return the anomaly, or null if the point is usual, the series still warming up, or the value
   *     not finite (ignored)
   */
  public @Nullable Anomaly observe(String stage, String metric, Instant at, double value) {
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(metric, "metric cannot be null");
    Objects.requireNonNull(at, "at cannot be null");
    if (!Double.isFinite(value)) {
      return null;
    }
    Anomaly anomaly;
    lock.lock();
    try {
      String key = stage + '\u0000' + metric;
      Series s = series.get(key);
      if (s == null) {
        if (series.size() >= MAX_SERIES) {
          if (!warnedFull) {
            warnedFull = true;
            LOG.warn(
                "anomaly detector of pipeline '{}' tracks {} series already; further series are"
                    + " ignored",
                pipeline,
                MAX_SERIES);
          }
          return null;
        }
        s = new Series(history);
        series.put(key, s);
      }
      anomaly = s.add(stage, metric, at, value);
      if (anomaly != null) {
        found.addLast(anomaly);
        while (found.size() > MAX_HISTORY) {
          found.removeFirst();
        }
      }
    } finally {
      lock.unlock();
    }
    if (anomaly != null) {
      raise(anomaly);
    }
    return anomaly;
  }

  /**
   * Adds the points of a metrics snapshot, per stage, against the previous snapshot given: {@code
   * volume} (records in since then), {@code error-rate} (errors per record in since then) and
   * {@code latency-p95-ms} (the stage's p95 as the snapshot reports it). The first snapshot only
   * sets the reference; a stage with no record in since the previous one adds no error rate. The
   * points are taken at the snapshot's {@link PipelineMetrics#takenAt()}.
   *
   * @return the anomalies found
   */
  public List<Anomaly> observe(PipelineMetrics metrics) {
    Objects.requireNonNull(metrics, "metrics cannot be null");
    Instant at = metrics.takenAt();
    List<double[]> points = new ArrayList<>();
    List<String> stages = new ArrayList<>();
    lock.lock();
    try {
      for (StageMetrics stage : metrics.stages()) {
        StageMetrics before = lastMetrics.put(stage.stage(), stage);
        if (before == null) {
          continue;
        }
        long in = stage.recordsIn() - before.recordsIn();
        long errors = stage.errors() - before.errors();
        stages.add(stage.stage());
        points.add(
            new double[] {
              in, in > 0 ? (double) errors / in : Double.NaN, stage.p95().toNanos() / 1e6
            });
      }
    } finally {
      lock.unlock();
    }
    List<Anomaly> out = new ArrayList<>();
    for (int i = 0; i < stages.size(); i++) {
      double[] p = points.get(i);
      addIfFound(out, observe(stages.get(i), "volume", at, p[0]));
      addIfFound(out, observe(stages.get(i), "error-rate", at, p[1]));
      addIfFound(out, observe(stages.get(i), "latency-p95-ms", at, p[2]));
    }
    return out;
  }

  /**
   * Adds a window's points: {@code volume} (its records) and, per field, {@code <field>.null-rate}.
   *
   * @return the anomalies found
   */
  public List<Anomaly> observe(WindowProfile window) {
    List<Anomaly> out = new ArrayList<>();
    addIfFound(out, observe(window.stage(), "volume", window.end(), window.records()));
    for (FieldProfile field : window.fields().values()) {
      addIfFound(
          out,
          observe(window.stage(), field.name() + ".null-rate", window.end(), field.nullRate()));
    }
    return out;
  }

  private static void addIfFound(List<Anomaly> out, @Nullable Anomaly anomaly) {
    if (anomaly != null) {
      out.add(anomaly);
    }
  }

  /** The anomalies found so far (the last {@value #MAX_HISTORY}), oldest first. */
  public List<Anomaly> anomalies() {
    lock.lock();
    try {
      return List.copyOf(found);
    } finally {
      lock.unlock();
    }
  }

  private void raise(Anomaly anomaly) {
    Alert alert =
        new Alert(
            Alert.Kind.ANOMALY,
            pipeline,
            anomaly.stage(),
            null,
            "anomaly on "
                + anomaly.describe()
                + ", flagged by "
                + (anomaly.check() == Anomaly.Check.Z_SCORE ? "z-score" : "rate of change")
                + ": look at the stage's input and errors around this time",
            anomaly.at());
    Alerts.deliver(alerts, alert);
  }

  /** One series: a ring of its last points. Guarded by the detector's lock. */
  private final class Series {
    private final double[] ring;
    private int size;
    private int next;
    private long seen;

    Series(int history) {
      this.ring = new double[history];
    }

    @Nullable Anomaly add(String stage, String metric, Instant at, double value) {
      Anomaly anomaly = null;
      if (seen >= warmUp && size > 0) {
        double mean = 0;
        for (int i = 0; i < size; i++) {
          mean += ring[i];
        }
        mean /= size;
        double var = 0;
        for (int i = 0; i < size; i++) {
          var += (ring[i] - mean) * (ring[i] - mean);
        }
        double deviation = Math.max(Math.sqrt(var / size), Math.max(1e-9, 0.01 * Math.abs(mean)));
        double z = (value - mean) / deviation;
        double previous = ring[(next - 1 + ring.length) % ring.length];
        double change = previous == 0 ? Double.NaN : (value - previous) / Math.abs(previous);
        if (Math.abs(z) >= zScore) {
          anomaly =
              new Anomaly(
                  stage, metric, at, value, mean, deviation, z, change, Anomaly.Check.Z_SCORE);
        } else if (!Double.isNaN(change) && Math.abs(change) >= maxChange) {
          anomaly =
              new Anomaly(
                  stage,
                  metric,
                  at,
                  value,
                  mean,
                  deviation,
                  z,
                  change,
                  Anomaly.Check.RATE_OF_CHANGE);
        }
      }
      ring[next] = value;
      next = (next + 1) % ring.length;
      size = Math.min(size + 1, ring.length);
      seen++;
      return anomaly;
    }
  }

  /** Configures an {@link AnomalyDetector}. Not thread-safe. */
  public static final class Builder {
    private final String pipeline;
    private final List<AlertListener> alerts = new ArrayList<>();
    private double zScore = 3;
    private double maxChange = 1;
    private int warmUp = 10;
    private int history = 60;

    private Builder(String pipeline) {
      this.pipeline = Objects.requireNonNull(pipeline, "pipeline cannot be null");
    }

    /**
     * The |z| at or above which a point is flagged; 3 unless set.
     *
     * @throws IllegalArgumentException if outside [1, 100]
     */
    public Builder zScore(double threshold) {
      if (!(threshold >= 1 && threshold <= 100)) {
        throw new IllegalArgumentException("zScore must be in [1, 100], got " + threshold);
      }
      this.zScore = threshold;
      return this;
    }

    /**
     * The relative change from the previous point at or above which a point is flagged; 1 (100 %)
     * unless set.
     *
     * @throws IllegalArgumentException if outside [0.01, 1000]
     */
    public Builder maxChange(double change) {
      if (!(change >= 0.01 && change <= 1000)) {
        throw new IllegalArgumentException("maxChange must be in [0.01, 1000], got " + change);
      }
      this.maxChange = change;
      return this;
    }

    /**
     * How many points a series learns from before any is checked; 10 unless set.
     *
     * @throws IllegalArgumentException if outside [2, {@value AnomalyDetector#MAX_HISTORY}]
     */
    public Builder warmUp(int points) {
      if (points < 2 || points > MAX_HISTORY) {
        throw new IllegalArgumentException(
            "warmUp must be in [2, " + MAX_HISTORY + "], got " + points);
      }
      this.warmUp = points;
      return this;
    }

    /**
     * How many of the last points the mean and deviation are taken over; 60 unless set.
     *
     * @throws IllegalArgumentException if outside [2, {@value AnomalyDetector#MAX_HISTORY}]
     */
    public Builder history(int points) {
      if (points < 2 || points > MAX_HISTORY) {
        throw new IllegalArgumentException(
            "history must be in [2, " + MAX_HISTORY + "], got " + points);
      }
      this.history = points;
      return this;
    }

    /** Adds a listener for the anomalies, e.g. the pipeline's. */
    public Builder alerts(AlertListener listener) {
      alerts.add(Objects.requireNonNull(listener, "listener cannot be null"));
      return this;
    }

    /**
     * The detector.
     *
     * @throws IllegalStateException if the warm-up is longer than the history
     */
    public AnomalyDetector build() {
      if (warmUp > history) {
        throw new IllegalStateException(
            "warmUp (" + warmUp + ") cannot exceed history (" + history + ")");
      }
      return new AnomalyDetector(this);
    }
  }
}
