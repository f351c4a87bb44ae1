package dev.pipeline.quality.drift;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;

class DriftTest {

  private static final DriftPolicy POLICY = DriftPolicy.defaults();

  @Test
  void psiOfIdenticalDistributionsIsZero() {
    assertThat(Drift.psi(new double[] {1, 2, 3, 0}, new double[] {10, 20, 30, 0})).isZero();
  }

  @Test
  void psiOfAKnownShiftMatchesTheFormula() {
    // (0.25 − 0.5) ln(0.25 / 0.5) + (0.75 − 0.5) ln(0.75 / 0.5)
    double expected = 0.25 * Math.log(2) + 0.25 * Math.log(1.5);
    assertThat(Drift.psi(new double[] {50, 50}, new double[] {25, 75}))
        .isCloseTo(expected, within(1e-12))
        .isCloseTo(0.2747, within(1e-4));
  }

  @Test
  void psiFloorsEmptyBinsAndRefusesBadInput() {
    // share 1e-4 stands in for the empty bin: (1e-4 − 1) ln(1e-4) + (1 − 1e-4) ln(1 / 1e-4)
    double floored = 2 * (1 - 1e-4) * Math.log(1e4);
    assertThat(Drift.psi(new double[] {1, 0}, new double[] {0, 1}))
        .isCloseTo(floored, within(1e-9));
    assertThat(Drift.psi(new double[] {0, 0}, new double[] {1, 1})).isNaN();
    assertThatThrownBy(() -> Drift.psi(new double[] {1}, new double[] {1, 2}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 bins, actual 2");
    assertThatThrownBy(() -> Drift.psi(new double[] {-1, 2}, new double[] {1, 2}))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void sameNormalDistributionDoesNotDriftAndAShiftedOneAlertsByPsi() {
    SplittableRandom random = new SplittableRandom(42);
    FieldProfile baseline = numbers(20_000, () -> 100 + 15 * gaussian(random));
    FieldProfile same = numbers(20_000, () -> 100 + 15 * gaussian(random));
    FieldProfile shifted = numbers(20_000, () -> 115 + 15 * gaussian(random));

    FieldDrift quiet = Drift.compare(baseline, same, POLICY);
    assertThat(quiet.psi()).as("PSI of two samples of one distribution").isLessThan(0.02);
    assertThat(quiet.level()).isEqualTo(DriftLevel.NONE);
    assertThat(quiet.decidedBy()).isEqualTo("psi");

    // a shift of one standard deviation: the PSI of N(0,1) against N(1,1) over deciles is ~0.9
    FieldDrift moved = Drift.compare(baseline, shifted, POLICY);
    assertThat(moved.psi()).as("PSI after a 1-sigma shift").isBetween(0.6, 1.3);
    assertThat(moved.level()).isEqualTo(DriftLevel.ALERT);
    assertThat(moved.statistic())
        .as("KS distance of a 1-sigma shift is ~0.38")
        .isBetween(0.3, 0.45);
  }

  @Test
  void smallSamplesAreJudgedByKolmogorovSmirnov() {
    SplittableRandom random = new SplittableRandom(3);
    FieldProfile baseline = numbers(200, () -> 10 + gaussian(random));
    FieldProfile same = numbers(100, () -> 10 + gaussian(random));
    FieldProfile shifted = numbers(100, () -> 11.5 + gaussian(random));

    FieldDrift quiet = Drift.compare(baseline, same, POLICY);
    assertThat(quiet.decidedBy()).isEqualTo("kolmogorov-smirnov");
    assertThat(quiet.pValue()).isGreaterThan(0.05);
    assertThat(quiet.level()).isEqualTo(DriftLevel.NONE);

    FieldDrift moved = Drift.compare(baseline, shifted, POLICY);
    assertThat(moved.decidedBy()).isEqualTo("kolmogorov-smirnov");
    assertThat(moved.pValue()).isLessThan(1e-6);
    assertThat(moved.level()).isEqualTo(DriftLevel.ALERT);
  }

  @Test
  void tooFewValuesAreNotJudged() {
    SplittableRandom random = new SplittableRandom(5);
    FieldDrift drift =
        Drift.compare(numbers(1000, random::nextDouble), numbers(10, () -> 99), POLICY);
    assertThat(drift.level()).isEqualTo(DriftLevel.INSUFFICIENT_DATA);
    assertThat(drift.describe()).contains("too few values", "10 in the window");
  }

  @Test
  void categoriesWithTheSameSharesHavePsiZeroAndAKnownShiftItsValue() {
    FieldProfile baseline = categories(List.of("EUR", "USD"), 500, 500);
    FieldProfile same = categories(List.of("EUR", "USD"), 1000, 1000);
    FieldProfile shifted = categories(List.of("EUR", "USD"), 250, 750);

    FieldDrift quiet = Drift.compare(baseline, same, POLICY);
    assertThat(quiet.psi()).isZero();
    assertThat(quiet.level()).isEqualTo(DriftLevel.NONE);

    FieldDrift moved = Drift.compare(baseline, shifted, POLICY);
    assertThat(moved.psi()).isCloseTo(0.25 * Math.log(2) + 0.25 * Math.log(1.5), within(1e-12));
    assertThat(moved.level()).isEqualTo(DriftLevel.ALERT);
  }

  @Test
  void aNewCategoryCountsAsTheRestAndSmallSamplesUseChiSquare() {
    FieldProfile baseline = categories(List.of("EUR", "USD"), 50, 50);
    FieldProfile same = categories(List.of("EUR", "USD"), 48, 52);
    FieldProfile newcomer = categories(List.of("EUR", "USD", "GBP"), 30, 30, 40);

    FieldDrift quiet = Drift.compare(baseline, same, POLICY);
    assertThat(quiet.decidedBy()).isEqualTo("chi-square");
    assertThat(quiet.level()).isEqualTo(DriftLevel.NONE);
    // χ² of [[50, 50], [48, 52]]: expected 49 and 51 in each row, so 2 (1/49 + 1/51); p ≈ 0.777
    assertThat(quiet.statistic()).isCloseTo(2 * (1 / 49.0 + 1 / 51.0), within(1e-12));
    assertThat(quiet.pValue()).isCloseTo(0.7773, within(1e-3));

    FieldDrift moved = Drift.compare(baseline, newcomer, POLICY);
    assertThat(moved.level()).isEqualTo(DriftLevel.ALERT);
    assertThat(moved.pValue()).isLessThan(1e-6);
  }

  @Test
  void aRiseOfTheNullRateIsDrift() {
    SplittableRandom random = new SplittableRandom(9);
    FieldAccumulator.Numbers<Double> base = new FieldAccumulator.Numbers<>("price", x -> x);
    FieldAccumulator.Numbers<Double> win = new FieldAccumulator.Numbers<>("price", x -> x);
    for (int i = 0; i < 2000; i++) {
      base.observe(random.nextDouble());
      double x = random.nextDouble();
      win.observe(i % 3 == 0 ? Double.NaN : x);
    }
    FieldDrift drift = Drift.compare(base.drain(), win.drain(), POLICY);
    assertThat(drift.windowNullRate()).isCloseTo(1 / 3.0, within(1e-3));
    assertThat(drift.baselineNullRate()).isZero();
    assertThat(drift.level()).isEqualTo(DriftLevel.ALERT);
    assertThat(drift.describe()).contains("null rate 0.0% → 33.4%");
  }

  @Test
  void comparingDifferentFieldsIsRefused() {
    FieldProfile a = numbers(10, () -> 1);
    FieldProfile b = categories(List.of("x"), 10);
    assertThatThrownBy(() -> Drift.compare(a, b, POLICY))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("baseline of 'x'");
  }

  static FieldProfile numbers(int n, DoubleSupplier values) {
    FieldAccumulator.Numbers<Double> field = new FieldAccumulator.Numbers<>("x", x -> x);
    for (int i = 0; i < n; i++) {
      field.observe(values.getAsDouble());
    }
    return field.drain();
  }

  static FieldProfile categories(List<String> values, int... counts) {
    FieldAccumulator.Categories<String> field = new FieldAccumulator.Categories<>("x", x -> x, 64);
    List<String> all = new ArrayList<>();
    for (int i = 0; i < values.size(); i++) {
      for (int c = 0; c < counts[i]; c++) {
        all.add(values.get(i));
      }
    }
    java.util.Collections.shuffle(all, new java.util.Random(1));
    all.forEach(field::observe);
    return field.drain();
  }

  private static double gaussian(SplittableRandom random) {
    // Box–Muller: SplittableRandom has no nextGaussian on release 21
    double u = 1 - random.nextDouble();
    double v = random.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
