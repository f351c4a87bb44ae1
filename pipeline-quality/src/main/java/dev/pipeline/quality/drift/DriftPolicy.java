package dev.pipeline.quality.drift;

/**
 * When a field counts as drifted. With enough values on both sides ({@link Builder#psiMinValues}),
 * the Population Stability Index decides: warn at 0.10, alert at 0.25 (the usual credit-scoring
 * thresholds). PSI is noisy on small samples, so below that a test of fit decides —
 * Kolmogorov–Smirnov for numbers, chi-square for categories — warn when its p-value is under 0.05,
 * alert under 0.01. Below {@link Builder#minValues} on either side nothing is judged.
 *
 * <p>Immutable and thread-safe.
 */
public final class DriftPolicy {

  private static final DriftPolicy DEFAULTS = builder().build();

  final double psiWarn;
  final double psiAlert;
  final double pWarn;
  final double pAlert;
  final long minValues;
  final long psiMinValues;
  final int psiBins;

  private DriftPolicy(Builder b) {
    this.psiWarn = b.psiWarn;
    this.psiAlert = b.psiAlert;
    this.pWarn = b.pWarn;
    this.pAlert = b.pAlert;
    this.minValues = b.minValues;
    this.psiMinValues = b.psiMinValues;
    this.psiBins = b.psiBins;
  }

  /** PSI warn 0.10 and alert 0.25; p-value warn 0.05 and alert 0.01; 30 and 500 values; 10 bins. */
  public static DriftPolicy defaults() {
    return DEFAULTS;
  }

  /** A builder starting from the {@link #defaults()}. */
  public static Builder builder() {
    return new Builder();
  }

  /** The PSI at or above which a field warns. */
  public double psiWarn() {
    return psiWarn;
  }

  /** The PSI at or above which a field alerts. */
  public double psiAlert() {
    return psiAlert;
  }

  /** Configures a {@link DriftPolicy}. Not thread-safe. */
  public static final class Builder {
    private double psiWarn = 0.10;
    private double psiAlert = 0.25;
    private double pWarn = 0.05;
    private double pAlert = 0.01;
    private long minValues = 30;
    private long psiMinValues = 500;
    private int psiBins = 10;

    private Builder() {}

    /**
     * The PSI thresholds.
     *
     * @throws IllegalArgumentException unless 0 &lt; warn &lt;= alert &lt;= 10
     */
    public Builder psi(double warn, double alert) {
      if (!(warn > 0 && warn <= alert && alert <= 10)) {
        throw new IllegalArgumentException(
            "PSI thresholds need 0 < warn <= alert <= 10, got warn " + warn + ", alert " + alert);
      }
      this.psiWarn = warn;
      this.psiAlert = alert;
      return this;
    }

    /**
     * The p-value thresholds of the small-sample tests.
     *
     * @throws IllegalArgumentException unless 0 &lt; alert &lt;= warn &lt; 1
     */
    public Builder pValues(double warn, double alert) {
      if (!(alert > 0 && alert <= warn && warn < 1)) {
        throw new IllegalArgumentException(
            "p-value thresholds need 0 < alert <= warn < 1, got warn " + warn + ", alert " + alert);
      }
      this.pWarn = warn;
      this.pAlert = alert;
      return this;
    }

    /**
     * The fewest values on each side to judge at all; 30 unless set.
     *
     * @throws IllegalArgumentException if outside [5, 1,000,000]
     */
    public Builder minValues(long values) {
      if (values < 5 || values > 1_000_000) {
        throw new IllegalArgumentException("minValues must be in [5, 1000000], got " + values);
      }
      this.minValues = values;
      return this;
    }

    /**
     * The fewest values on each side for PSI to decide rather than the test; 500 unless set.
     *
     * @throws IllegalArgumentException if outside [5, 100,000,000]
     */
    public Builder psiMinValues(long values) {
      if (values < 5 || values > 100_000_000) {
        throw new IllegalArgumentException("psiMinValues must be in [5, 100000000], got " + values);
      }
      this.psiMinValues = values;
      return this;
    }

    /**
     * How many bins of equal baseline mass a number field's PSI uses; 10 (deciles) unless set.
     *
     * @throws IllegalArgumentException if outside [2, 100]
     */
    public Builder psiBins(int bins) {
      if (bins < 2 || bins > 100) {
        throw new IllegalArgumentException("psiBins must be in [2, 100], got " + bins);
      }
      this.psiBins = bins;
      return this;
    }

    /**
     * The policy.
     *
     * @throws IllegalStateException if minValues is above psiMinValues
     */
    public DriftPolicy build() {
      if (minValues > psiMinValues) {
        throw new IllegalStateException(
            "minValues ("
                + minValues
                + ") cannot exceed psiMinValues ("
                + psiMinValues
                + "): lower minValues or raise psiMinValues");
      }
      return new DriftPolicy(this);
    }
  }
}
