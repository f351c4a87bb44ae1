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

  /** "12.3 (11.9–13.0)" with the given format for each number. */
  String format(String number) {
    return String.format(
        Locale.ROOT, number + " (" + number + "–" + number + ")", median, min, max);
  }
}
