package dev.pipeline.engine.run;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AdaptiveBatchSizeTest {

  /** A remote call: 20 ms per call, 0.1 ms per record, and a growing penalty past 64 records. */
  private static long nanos(int size) {
    double millis = 20 + 0.1 * size + (size > 64 ? 0.02 * (size - 64) * (size - 64) : 0);
    return (long) (millis * 1_000_000);
  }

  @Test
  void climbsTowardsTheBestSizeAndStaysNearIt() {
    AdaptiveBatchSize sizes = new AdaptiveBatchSize(1, 1024, 2);
    int[] seen = new int[400];
    for (int i = 0; i < 400 * AdaptiveBatchSize.WINDOW; i++) {
      int size = sizes.size();
      sizes.record(size, size, nanos(size));
      seen[i / AdaptiveBatchSize.WINDOW] = sizes.size();
    }
    // throughput peaks near 64 (about 1.7 records/ms); one step either side is 43 or 96
    for (int i = 100; i < 400; i++) {
      assertThat(seen[i]).as("window %d", i).isBetween(28, 144);
    }
  }

  @Test
  void staysWithinItsBoundsAndIgnoresUnderfilledBatches() {
    AdaptiveBatchSize sizes = new AdaptiveBatchSize(8, 32, 100);
    assertThat(sizes.size()).as("start clamped").isEqualTo(32);
    for (int i = 0; i < 50 * AdaptiveBatchSize.WINDOW; i++) {
      int size = sizes.size();
      sizes.record(size, size, 1_000_000); // flat cost: bigger is always better
      assertThat(sizes.size()).isBetween(8, 32);
    }
    int before = sizes.size();
    for (int i = 0; i < 10 * AdaptiveBatchSize.WINDOW; i++) {
      sizes.record(before, before / 2, 1); // the queue ran dry: says nothing about the size
    }
    assertThat(sizes.size()).isEqualTo(before);
  }
}
