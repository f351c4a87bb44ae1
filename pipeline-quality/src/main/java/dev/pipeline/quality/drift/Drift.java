package dev.pipeline.quality.drift;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Compares a field's profile in a window with its baseline profile: the Population Stability Index,
 * a test of fit and a verdict by a {@link DriftPolicy}.
 *
 * <p>Stateless and thread-safe.
 */
public final class Drift {

  /** The floor of a bin's share in PSI, so that an empty bin does not make it infinite. */
  public static final double PSI_FLOOR = 1e-4;

  private Drift() {}

  /**
   * The Population Stability Index of two distributions over the same bins: Σ (a<sub>i</sub> −
   * e<sub>i</sub>) ln(a<sub>i</sub> / e<sub>i</sub>), each share floored at {@value #PSI_FLOOR}.
   * The arrays hold counts or shares; each is normalized by its sum. 0 for identical shares.
   *
   * @return the index, or NaN if either side sums to 0
   * @throws IllegalArgumentException if the arrays differ in length or hold a negative or
   *     non-finite number
   */
  public static double psi(double[] expected, double[] actual) {
    if (expected.length != actual.length) {
      throw new IllegalArgumentException(
          "expected has " + expected.length + " bins, actual " + actual.length);
    }
    double e = total(expected);
    double a = total(actual);
    if (e == 0 || a == 0) {
      return Double.NaN;
    }
    double psi = 0;
    for (int i = 0; i < expected.length; i++) {
      double pe = Math.max(expected[i] / e, PSI_FLOOR);
      double pa = Math.max(actual[i] / a, PSI_FLOOR);
      psi += (pa - pe) * Math.log(pa / pe);
    }
    return psi;
  }

  private static double total(double[] counts) {
    double sum = 0;
    for (double c : counts) {
      if (!(c >= 0) || Double.isInfinite(c)) {
        throw new IllegalArgumentException("bin counts must be finite and >= 0, got " + c);
      }
      sum += c;
    }
    return sum;
  }

  /**
   * How {@code window} compares with {@code baseline}, the two profiles of one field.
   *
   * @throws IllegalArgumentException if the profiles are of different fields or kinds
   */
  public static FieldDrift compare(FieldProfile baseline, FieldProfile window, DriftPolicy policy) {
    Objects.requireNonNull(policy, "policy cannot be null");
    if (!baseline.name().equals(window.name()) || baseline.kind() != window.kind()) {
      throw new IllegalArgumentException(
          "cannot compare field '"
              + window.name()
              + "' with the baseline of '"
              + baseline.name()
              + "'");
    }
    return baseline.kind() == FieldProfile.Kind.NUMBER
        ? numbers(baseline, window, policy)
        : categories(baseline, window, policy);
  }

  private static FieldDrift numbers(FieldProfile base, FieldProfile win, DriftPolicy policy) {
    int[] cuts = cuts(base, policy.psiBins);
    int groups = cuts.length + 1;
    double[][] counts = withNulls(base, win, groups);
    add(counts[0], base, cuts);
    add(counts[1], win, cuts);
    double psi = psi(counts[0], counts[1]);
    double d = ksStatistic(base, win);
    double ksP = Statistics.kolmogorovSmirnovPValue(d, base.values(), win.values());
    String test = "kolmogorov-smirnov";
    String decided = test;
    double p = ksP;
    if (base.nulls() + win.nulls() > 0) {
      double[] b = {base.values(), base.nulls()};
      double[] w = {win.values(), win.nulls()};
      double nullP = chiSquare(b, w)[1];
      if (nullP < p) {
        p = nullP;
        decided = "chi-square of the null rate";
      }
    }
    return verdict(base, win, psi, Double.NaN, test, d, p, decided, policy);
  }

  private static FieldDrift categories(FieldProfile base, FieldProfile win, DriftPolicy policy) {
    List<ValueCount> labels = base.topValues();
    Map<String, Integer> index = HashMap.newHashMap(labels.size());
    for (int i = 0; i < labels.size(); i++) {
      index.put(labels.get(i).value(), i);
    }
    int groups = labels.size() + 1; // the labels and the rest
    double[][] counts = withNulls(base, win, groups);
    addGuaranteed(counts[0], base, index);
    addGuaranteed(counts[1], win, index);
    double psi = psi(counts[0], counts[1]);
    double lengthPsi = psi(toDouble(base.lengths()), toDouble(win.lengths()));
    double[] chi = chiSquare(counts[0], counts[1]);
    return verdict(base, win, psi, lengthPsi, "chi-square", chi[0], chi[1], "chi-square", policy);
  }

  private static FieldDrift verdict(
      FieldProfile base,
      FieldProfile win,
      double psi,
      double lengthPsi,
      String test,
      double statistic,
      double p,
      String decidedByTest,
      DriftPolicy policy) {
    long nb = base.values() + base.nulls();
    long nw = win.values() + win.nulls();
    DriftLevel level;
    String decided;
    if (nb < policy.minValues || nw < policy.minValues) {
      level = DriftLevel.INSUFFICIENT_DATA;
      decided = "none";
    } else if (Math.min(nb, nw) >= policy.psiMinValues) {
      double worst = Double.isNaN(lengthPsi) ? psi : Math.max(psi, lengthPsi);
      level =
          worst >= policy.psiAlert
              ? DriftLevel.ALERT
              : worst >= policy.psiWarn ? DriftLevel.WARN : DriftLevel.NONE;
      decided = "psi";
    } else {
      level =
          p < policy.pAlert
              ? DriftLevel.ALERT
              : p < policy.pWarn ? DriftLevel.WARN : DriftLevel.NONE;
      decided = decidedByTest;
    }
    return new FieldDrift(
        base.name(),
        base.kind(),
        nb,
        nw,
        psi,
        lengthPsi,
        test,
        statistic,
        p,
        base.nullRate(),
        win.nullRate(),
        decided,
        level);
  }

  /** Two count arrays of {@code groups} bins, plus a null bin if either side has nulls. */
  private static double[][] withNulls(FieldProfile base, FieldProfile win, int groups) {
    boolean nulls = base.nulls() + win.nulls() > 0;
    double[][] counts = new double[2][groups + (nulls ? 1 : 0)];
    if (nulls) {
      counts[0][groups] = base.nulls();
      counts[1][groups] = win.nulls();
    }
    return counts;
  }

  /**
   * The fine bins after which each PSI group ends, chosen so that each group holds about {@code 1 /
   * groups} of the baseline's values (fewer groups when one fine bin holds more).
   */
  static int[] cuts(FieldProfile base, int groups) {
    int[] bins = base.bins();
    long[] counts = base.binCounts();
    long n = base.values();
    List<Integer> cuts = new ArrayList<>();
    long seen = 0;
    int next = 1;
    for (int i = 0; i < bins.length - 1; i++) {
      seen += counts[i];
      if (next < groups && seen * (double) groups >= (double) next * n) {
        cuts.add(bins[i]);
        while (next < groups && seen * (double) groups >= (double) next * n) {
          next++;
        }
      }
    }
    return cuts.stream().mapToInt(Integer::intValue).toArray();
  }

  private static void add(double[] into, FieldProfile profile, int[] cuts) {
    int[] bins = profile.bins();
    long[] counts = profile.binCounts();
    for (int i = 0; i < bins.length; i++) {
      int at = Arrays.binarySearch(cuts, bins[i]);
      into[at >= 0 ? at : -at - 1] += counts[i];
    }
  }

  /** Each label's guaranteed count (count − error) in its bin, the rest in the last value bin. */
  private static void addGuaranteed(
      double[] into, FieldProfile profile, Map<String, Integer> index) {
    int rest = index.size();
    long placed = 0;
    for (ValueCount v : profile.topValues()) {
      Integer at = index.get(v.value());
      if (at != null) {
        into[at] += v.count() - v.error();
        placed += v.count() - v.error();
      }
    }
    into[rest] += Math.max(0, profile.values() - placed);
  }

  /** The largest gap between the two distribution functions, at the fine bins' edges. */
  static double ksStatistic(FieldProfile base, FieldProfile win) {
    if (base.values() == 0 || win.values() == 0) {
      return 0;
    }
    int[] bb = base.bins();
    long[] bc = base.binCounts();
    int[] wb = win.bins();
    long[] wc = win.binCounts();
    double nb = base.values();
    double nw = win.values();
    long cb = 0;
    long cw = 0;
    double d = 0;
    int i = 0;
    int j = 0;
    while (i < bb.length || j < wb.length) {
      int next =
          Math.min(
              i < bb.length ? bb[i] : Integer.MAX_VALUE, j < wb.length ? wb[j] : Integer.MAX_VALUE);
      if (i < bb.length && bb[i] == next) {
        cb += bc[i++];
      }
      if (j < wb.length && wb[j] == next) {
        cw += wc[j++];
      }
      d = Math.max(d, Math.abs(cb / nb - cw / nw));
    }
    return d;
  }

  /**
   * The chi-square test of homogeneity of two count vectors over the same bins (bins empty on both
   * sides dropped): {χ², p-value}; {0, 1} when there is less than two bins or an empty side.
   */
  static double[] chiSquare(double[] a, double[] b) {
    double na = 0;
    double nb = 0;
    int used = 0;
    for (int i = 0; i < a.length; i++) {
      na += a[i];
      nb += b[i];
      if (a[i] + b[i] > 0) {
        used++;
      }
    }
    if (na == 0 || nb == 0 || used < 2) {
      return new double[] {0, 1};
    }
    double n = na + nb;
    double chi = 0;
    for (int i = 0; i < a.length; i++) {
      double col = a[i] + b[i];
      if (col == 0) {
        continue;
      }
      double ea = na * col / n;
      double eb = nb * col / n;
      chi += (a[i] - ea) * (a[i] - ea) / ea + (b[i] - eb) * (b[i] - eb) / eb;
    }
    return new double[] {chi, Statistics.chiSquareSurvival(chi, used - 1)};
  }

  private static double[] toDouble(long[] counts) {
    double[] out = new double[counts.length];
    for (int i = 0; i < counts.length; i++) {
      out[i] = counts[i];
    }
    return out;
  }
}
