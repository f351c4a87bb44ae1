package dev.pipeline.engine.run;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

  @Test
  void emptyHistogramReportsZero() {
    LatencyHistogram h = new LatencyHistogram();
    assertThat(h.getValueAtPercentile(50)).isZero();
    assertThat(h.getMaxValue()).isZero();
  }

  @Test
  void smallValuesAreExact() {
    LatencyHistogram h = new LatencyHistogram();
    for (long v = 1; v <= 100; v++) {
      h.recordValue(v);
    }
    assertThat(h.getValueAtPercentile(50)).isEqualTo(50);
    assertThat(h.getValueAtPercentile(99)).isEqualTo(99);
    assertThat(h.getMaxValue()).isEqualTo(100);
  }

  @Test
  void largeValuesAreKeptToTwoSignificantDigitsAndReportedAsTheirBucketsHighestValue() {
    for (long v :
        new long[] {256, 1_000, 5_000_000, 10_000_000, 3_600_000_000_000L, Long.MAX_VALUE}) {
      LatencyHistogram h = new LatencyHistogram();
      h.recordValue(v);
      assertThat(h.getMaxValue())
          .as("max of %s", v)
          .isBetween(v, v + Math.min(v / 100, Long.MAX_VALUE - v));
      assertThat(h.getValueAtPercentile(50)).isEqualTo(h.getMaxValue());
    }
  }

  @Test
  void percentilesWalkTheCountsInOrderAndACopyIsIndependent() {
    LatencyHistogram h = new LatencyHistogram();
    for (int i = 0; i < 90; i++) {
      h.recordValue(1_000_000);
    }
    for (int i = 0; i < 10; i++) {
      h.recordValue(50_000_000);
    }
    LatencyHistogram copy = h.copy();
    h.recordValue(900_000_000);

    assertThat(copy.getValueAtPercentile(50)).isBetween(1_000_000L, 1_010_000L);
    assertThat(copy.getValueAtPercentile(95)).isBetween(50_000_000L, 50_500_000L);
    assertThat(copy.getMaxValue()).isEqualTo(copy.getValueAtPercentile(100));
    assertThat(h.getMaxValue()).isBetween(900_000_000L, 909_000_000L);
    assertThat(h.getValueAtPercentile(-1)).isBetween(1_000_000L, 1_010_000L);
  }
}
