package dev.pipeline.quality.drift;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NumberBinsTest {

  @Test
  void everyValueFallsInsideItsBinAndBinsFollowValueOrder() {
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < 100_000; i++) {
      double x =
          (random.nextBoolean() ? 1 : -1)
              * Math.scalb(random.nextDouble(), random.nextInt(-30, 50));
      int bin = NumberBins.index(x);
      assertThat(bin).as("bin of %s", x).isBetween(0, NumberBins.COUNT - 1);
      if (bin != NumberBins.ZERO) {
        assertThat(NumberBins.lower(bin)).as("lower of %s", x).isLessThanOrEqualTo(x);
        assertThat(NumberBins.upper(bin)).as("upper of %s", x).isGreaterThan(x);
      }
      double y = x + Math.abs(x) * 0.5;
      assertThat(NumberBins.index(y)).as("%s above %s", y, x).isGreaterThanOrEqualTo(bin);
    }
  }

  @Test
  void boundsOfNeighbouringBinsMeet() {
    for (int bin = 1; bin < NumberBins.COUNT; bin++) {
      assertThat(NumberBins.lower(bin)).as("bin %d", bin).isEqualTo(NumberBins.upper(bin - 1));
      assertThat(NumberBins.lower(bin)).as("bin %d", bin).isGreaterThan(NumberBins.lower(bin - 1));
    }
  }

  @Test
  void extremesGoToTheEndBins() {
    assertThat(NumberBins.index(0.0)).isEqualTo(NumberBins.ZERO);
    assertThat(NumberBins.index(-0.0)).isEqualTo(NumberBins.ZERO);
    assertThat(NumberBins.index(1e-12)).isEqualTo(NumberBins.ZERO);
    assertThat(NumberBins.index(Double.POSITIVE_INFINITY)).isEqualTo(NumberBins.COUNT - 1);
    assertThat(NumberBins.index(-Double.MAX_VALUE)).isZero();
    assertThat(NumberBins.index(Double.MIN_VALUE)).isEqualTo(NumberBins.ZERO);
  }
}
