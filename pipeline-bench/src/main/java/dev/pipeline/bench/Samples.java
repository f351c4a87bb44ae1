package dev.pipeline.bench;

import java.util.Arrays;
import java.util.Locale;

/**
 * The rounds of one measurement: median and range. The median, not the mean, because one round
 * disturbed by a neighbour's build should not move the figure.
 */
record Samples(double median, double min, double max) {

  static Samples of(double[] values) {
    if (values.length == 0) {
      throw new IllegalArgumentException("no samples");
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    return new Samples(median, sorted[0], sorted[n - 1]);
  }

  /** Student's t for a two-sided 95 % interval, by degrees of freedom (1 to 10; 2.0 beyond). */
  private static final double[] T95 = {
    Double.NaN, 12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23
  };

  /**
   * "1.012 ± 0.018": the mean of the values and the half-width of its 95 % confidence interval
   * (Student's t, the values taken as independent); just the mean for one value.
   */
  static String meanWithError(double[] values, String number) {
    int n = values.length;
    double mean = Arrays.stream(values).average().orElse(Double.NaN);
    if (n < 2) {
      return String.format(Locale.ROOT, number, mean);
    }
    double squares = 0;
    for (double v : values) {
      squares += (v - mean) * (v - mean);
    }
    double error = Math.sqrt(squares / (n - 1) / n) * (n - 1 < T95.length ? T95[n - 1] : 2.0);
    return String.format(Locale.ROOT, number + " ± " + number, mean, error);
  }

  /** "12.3 (11.9–13.0)" with the given format for each number. */
  String format(String number) {
    return String.format(
        Locale.ROOT, number + " (" + number + "–" + number + ")", median, min, max);
  }
}
