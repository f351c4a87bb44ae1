package dev.pipeline.quality.drift;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class StatisticsTest {

  @Test
  void logGammaMatchesFactorials() {
    assertThat(Statistics.logGamma(5)).isCloseTo(Math.log(24), within(1e-12));
    assertThat(Statistics.logGamma(0.5)).isCloseTo(Math.log(Math.sqrt(Math.PI)), within(1e-12));
  }

  @Test
  void chiSquareSurvivalMatchesTableValues() {
    // 95th percentiles of the chi-square distribution, from any statistics table
    assertThat(Statistics.chiSquareSurvival(3.841458820694124, 1)).isCloseTo(0.05, within(1e-9));
    assertThat(Statistics.chiSquareSurvival(18.307038053275146, 10)).isCloseTo(0.05, within(1e-9));
    // 99th percentile with 3 degrees of freedom; and the median of 2 degrees: 2 ln 2
    assertThat(Statistics.chiSquareSurvival(11.344866730144373, 3)).isCloseTo(0.01, within(1e-9));
    assertThat(Statistics.chiSquareSurvival(2 * Math.log(2), 2)).isCloseTo(0.5, within(1e-12));
    assertThat(Statistics.chiSquareSurvival(0, 4)).isEqualTo(1.0);
  }

  @Test
  void kolmogorovSurvivalMatchesItsCriticalValues() {
    // the asymptotic critical values of the Kolmogorov distribution: 1.358 at 5 %, 1.628 at 1 %
    assertThat(Statistics.kolmogorovSurvival(1.3581)).isCloseTo(0.05, within(1e-4));
    assertThat(Statistics.kolmogorovSurvival(1.6276)).isCloseTo(0.01, within(1e-4));
    assertThat(Statistics.kolmogorovSurvival(0.1)).isEqualTo(1.0);
    assertThat(Statistics.kolmogorovSurvival(5)).isLessThan(1e-20);
  }
}
