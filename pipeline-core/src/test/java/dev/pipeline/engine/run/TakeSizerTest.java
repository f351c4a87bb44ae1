package dev.pipeline.engine.run;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TakeSizerTest {
  private static TakeSizer after(long... perRecordNanos) {
    TakeSizer sizer = new TakeSizer(128);
    for (long nanos : perRecordNanos) {
      sizer.took(10, 10 * nanos);
    }
    return sizer;
  }

  @Test
  void takesAboutAMillisecondsWorthAtTheLastBatchesTimePerRecord() {
    assertThat(after().size()).as("before the first batch").isEqualTo(128);
    assertThat(after().first()).as("before the first batch").isTrue();
    assertThat(after(0).size()).as("a clock that did not move").isEqualTo(128);
    assertThat(after(700).size()).as("0.7 µs a record: CPU-light").isEqualTo(128);
    assertThat(after(20_000).size()).as("20 µs a record").isEqualTo(50);
    assertThat(after(2_000_000).size()).as("a 2 ms remote call").isEqualTo(1);
    assertThat(after(2_000_000).first()).isFalse();
  }

  @Test
  void aBatchSlowedByAPauseDoesNotShrinkTheNext() {
    assertThat(after(700, 700, 5_000_000).size())
        .as("the least of the last batches: one descheduled batch changes nothing")
        .isEqualTo(128);
    assertThat(after(700, 5_000_000, 5_000_000, 5_000_000).size())
        .as("still one fast batch among the last four")
        .isEqualTo(128);
  }

  @Test
  void aStageThatBecameSlowIsFollowedWithinTheWindow() {
    assertThat(after(700, 2_000_000, 2_000_000, 2_000_000, 2_000_000).size())
        .as("four slow batches in a row")
        .isEqualTo(1);
    assertThat(after(2_000_000, 2_000_000, 2_000_000, 2_000_000, 700).size())
        .as("a faster batch counts at once")
        .isEqualTo(128);
  }

  @Test
  void anEmptyBatchIsNotCounted() {
    TakeSizer sizer = new TakeSizer(128);
    sizer.took(0, 5_000_000);
    assertThat(sizer.first()).isTrue();
    assertThat(sizer.size()).isEqualTo(128);
  }
}
