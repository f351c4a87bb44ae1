package dev.pipeline.quality.drift;

import java.util.Objects;

/**
 * How one field of a window compares with its baseline.
 *
 * @param field the field's name
 * @param kind numbers or categories
 * @param baselineValues values in the baseline
 * @param windowValues values in the window
 * @param psi the Population Stability Index, Σ (a − e) ln(a / e) over the bins (deciles of the
 *     baseline for numbers, the baseline's top values and the rest for categories, a bin for nulls
 *     when either side has some); NaN when either side is empty
 * @param lengthPsi for categories, the PSI of the value lengths; NaN for numbers
 * @param test the test of fit, {@code "kolmogorov-smirnov"} or {@code "chi-square"}
 * @param statistic the test's statistic: D for Kolmogorov–Smirnov, χ² for chi-square
 * @param pValue the test's p-value
 * @param baselineNullRate the baseline's null rate
 * @param windowNullRate the window's null rate
 * @param decidedBy {@code "psi"} or the test that set the level, or {@code "none"}
 * @param level the verdict
 */
public record FieldDrift(
    String field,
    FieldProfile.Kind kind,
    long baselineValues,
    long windowValues,
    double psi,
    double lengthPsi,
    String test,
    double statistic,
    double pValue,
    double baselineNullRate,
    double windowNullRate,
    String decidedBy,
    DriftLevel level) {

  /** Checks the components. */
  public FieldDrift {
    Objects.requireNonNull(field, "field cannot be null");
    Objects.requireNonNull(kind, "kind cannot be null");
    Objects.requireNonNull(test, "test cannot be null");
    Objects.requireNonNull(decidedBy, "decidedBy cannot be null");
    Objects.requireNonNull(level, "level cannot be null");
  }

  /** One sentence for people, e.g. {@code price: PSI 0.31 (alert), null rate 0.0% → 2.5%}. */
  public String describe() {
    StringBuilder s = new StringBuilder(field).append(": ");
    if (level == DriftLevel.INSUFFICIENT_DATA) {
      return s.append("too few values to judge (")
          .append(baselineValues)
          .append(" in the baseline, ")
          .append(windowValues)
          .append(" in the window)")
          .toString();
    }
    s.append(String.format(java.util.Locale.ROOT, "PSI %.3f", psi));
    if (!Double.isNaN(lengthPsi)) {
      s.append(String.format(java.util.Locale.ROOT, ", length PSI %.3f", lengthPsi));
    }
    s.append(String.format(java.util.Locale.ROOT, ", %s p=%.3g", test, pValue));
    s.append(
        String.format(
            java.util.Locale.ROOT,
            ", null rate %.1f%% → %.1f%%",
            100 * baselineNullRate,
            100 * windowNullRate));
    return s.append(" (")
        .append(level.name().toLowerCase(java.util.Locale.ROOT))
        .append(", by ")
        .append(decidedBy)
        .append(')')
        .toString();
  }
}
