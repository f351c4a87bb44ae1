package dev.pipeline.quality.drift;

/**
 * The distribution functions the drift tests need: the chi-square survival function (through the
 * regularized incomplete gamma function) and the Kolmogorov distribution's. Textbook numerics:
 * Lanczos log-gamma, the gamma series below {@code a + 1} and Lentz's continued fraction above.
 */
final class Statistics {

  private static final double EPSILON = 1e-15;
  private static final int MAX_ITERATIONS = 10_000;
  private static final double TINY = 1e-300;
  private static final double[] LANCZOS = {
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7
  };

  private Statistics() {}

  /** ln Γ(x) for x > 0. */
  static double logGamma(double x) {
    if (x < 0.5) {
      return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
    }
    double z = x - 1;
    double sum = LANCZOS[0];
    double t = z + 7.5;
    for (int i = 1; i < LANCZOS.length; i++) {
      sum += LANCZOS[i] / (z + i);
    }
    return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
  }

  /** Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function; a > 0, x ≥ 0. */
  static double upperGamma(double a, double x) {
    if (x <= 0) {
      return 1;
    }
    if (x < a + 1) {
      return Math.max(0, 1 - lowerSeries(a, x));
    }
    return continuedFraction(a, x);
  }

  private static double lowerSeries(double a, double x) {
    double term = 1 / a;
    double sum = term;
    for (int n = 1; n < MAX_ITERATIONS; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPSILON) {
        break;
      }
    }
    return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
  }

  private static double continuedFraction(double a, double x) {
    double b = x + 1 - a;
    double c = 1 / TINY;
    double d = 1 / b;
    double h = d;
    for (int i = 1; i < MAX_ITERATIONS; i++) {
      double an = -i * (i - a);
      b += 2;
      d = an * d + b;
      if (Math.abs(d) < TINY) {
        d = TINY;
      }
      c = b + an / c;
      if (Math.abs(c) < TINY) {
        c = TINY;
      }
      d = 1 / d;
      double delta = d * c;
      h *= delta;
      if (Math.abs(delta - 1) < EPSILON) {
        break;
      }
    }
    return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
  }

  /** P(X ≥ statistic) for X chi-square distributed with {@code df} degrees of freedom. */
  static double chiSquareSurvival(double statistic, int df) {
    if (df <= 0) {
      return 1;
    }
    return upperGamma(df / 2.0, statistic / 2.0);
  }

  /**
   * The asymptotic p-value of a two-sample Kolmogorov–Smirnov statistic {@code d} for samples of
   * {@code n} and {@code m}, with Stephens' small-sample correction of the effective size.
   */
  static double kolmogorovSmirnovPValue(double d, long n, long m) {
    if (n == 0 || m == 0) {
      return 1;
    }
    double en = Math.sqrt((double) n * m / (n + m));
    double lambda = (en + 0.12 + 0.11 / en) * d;
    return kolmogorovSurvival(lambda);
  }

  /** Q_KS(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2 j² λ²}. */
  static double kolmogorovSurvival(double lambda) {
    if (lambda < 0.2) {
      return 1; // the series converges badly here; the value is 1 to 15 digits
    }
    double sum = 0;
    double sign = 1;
    for (int j = 1; j <= 100; j++) {
      double term = sign * Math.exp(-2.0 * j * j * lambda * lambda);
      sum += term;
      if (Math.abs(term) < 1e-12 * Math.abs(sum)) {
        break;
      }
      sign = -sign;
    }
    return Math.min(1, Math.max(0, 2 * sum));
  }
}
