package dev.pipeline.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * The measured rounds of one figure, kept apart by whether other processes disturbed them (see
 * {@link CpuMeter.Usage#disturbed()}). Rounds go on until {@code wanted} undisturbed ones are in or
 * three times that many were tried (just {@code wanted} when disturbed rounds are not repeated);
 * the figures are taken from the undisturbed rounds, and only if there are none from the disturbed
 * ones, which the table then says.
 *
 * <p>Not thread-safe.
 */
final class Rounds {
  private final int wanted;
  private final int maxAttempts;
  private final List<double[]> clean = new ArrayList<>();
  private final List<double[]> disturbed = new ArrayList<>();

  Rounds(int wanted, boolean repeatDisturbed) {
    this.wanted = wanted;
    this.maxAttempts = repeatDisturbed ? 3 * wanted : wanted;
  }

  /** Whether another round is needed. */
  boolean more() {
    return clean.size() < wanted && attempts() < maxAttempts;
  }

  /** Rounds tried so far; its parity decides which of baseline and pipeline goes first. */
  int attempts() {
    return clean.size() + disturbed.size();
  }

  /** "3/5" for the round about to be logged, counting undisturbed rounds. */
  String label() {
    return (clean.size() + 1) + "/" + wanted;
  }

  /** Adds a round's values; returns the note to log with it. */
  String add(boolean wasDisturbed, double... values) {
    (wasDisturbed ? disturbed : clean).add(values.clone());
    return wasDisturbed ? "; disturbed by other processes, left out" : "";
  }

  /** The i-th value of every round the figures are taken from. */
  Samples samples(int i) {
    return Samples.of(values(i));
  }

  /** The i-th values themselves, in the order of the rounds. */
  double[] values(int i) {
    List<double[]> used = clean.isEmpty() ? disturbed : clean;
    double[] values = new double[used.size()];
    for (int r = 0; r < values.length; r++) {
      values[r] = used.get(r)[i];
    }
    return values;
  }

  /** What the table should say about disturbed rounds, or "". */
  String note() {
    if (disturbed.isEmpty()) {
      return "";
    }
    if (clean.isEmpty()) {
      return "; every round disturbed by other processes: figures unreliable";
    }
    return "; "
        + clean.size()
        + " undisturbed round"
        + (clean.size() == 1 ? "" : "s")
        + " ("
        + disturbed.size()
        + " disturbed left out)";
  }
}
