package dev.pipeline.quality.drift;

import java.time.Instant;
import java.util.Locale;
import java.util.Objects;

/**
 * A point of a metric series that left its usual range.
 *
 * @param stage the stage the series is about
 * @param metric the metric, e.g. {@code volume}, {@code error-rate}, {@code price.null-rate}
 * @param at when the point was taken
 * @param value the point's value
 * @param mean the mean of the series' history before the point
 * @param deviation its standard deviation (floored, see {@link AnomalyDetector})
 * @param zScore {@code (value − mean) / deviation}
 * @param change the change from the previous point, relative to it; NaN if that was 0
 * @param check which check flagged it
 */
public record Anomaly(
    String stage,
    String metric,
    Instant at,
    double value,
    double mean,
    double deviation,
    double zScore,
    double change,
    Check check) {

  /** The check that flagged a point. */
  public enum Check {
    /** {@code |z| >= } the z-score threshold. */
    Z_SCORE,
    /** {@code |change| >= } the rate-of-change threshold. */
    RATE_OF_CHANGE
  }

  /** Checks the components. */
  public Anomaly {
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(metric, "metric cannot be null");
    Objects.requireNonNull(at, "at cannot be null");
    Objects.requireNonNull(check, "check cannot be null");
  }

  /** One sentence for people. */
  public String describe() {
    return String.format(
        Locale.ROOT,
        "stage '%s', %s = %.4g against a usual %.4g ± %.3g (z %.1f, change %s)",
        stage,
        metric,
        value,
        mean,
        deviation,
        zScore,
        Double.isNaN(change) ? "from 0" : String.format(Locale.ROOT, "%+.0f%%", 100 * change));
  }
}
