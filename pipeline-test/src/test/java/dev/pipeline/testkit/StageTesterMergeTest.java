package dev.pipeline.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.MergeFunction;
import dev.pipeline.StageContext;
import dev.pipeline.engine.Merges;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class StageTesterMergeTest {
  private static final MergeFunction<String, String> JOIN =
      (parts, context) -> context.recordId() + "=" + String.join("+", parts);

  @Test
  void aMergerJoinsTheGroupsPartsInTheOrderGiven() {
    StageResult<String> result = StageTester.ofMerge(JOIN).run("zip-1/merged", List.of("a", "b"));

    assertThat(result.isPassed()).isTrue();
    assertThat(result.output()).isEqualTo("zip-1/merged=a+b");
  }

  @Test
  void anEmptyGroupMakesNoRecordAsInAPipeline() {
    AtomicInteger calls = new AtomicInteger();
    StageResult<String> result =
        StageTester.ofMerge(
                (List<String> parts, StageContext c) -> {
                  calls.incrementAndGet();
                  return "x";
                })
            .run(List.of());

    assertThat(result.isFiltered()).isTrue();
    assertThat(result.filterReason()).isEqualTo(Merges.NO_PARTS);
    assertThat(calls).hasValue(0);
  }

  @Test
  void aFailingMergeIsRetriedByItsPolicyOnTheTestersClock() {
    AtomicInteger calls = new AtomicInteger();
    ManualClock clock = ManualClock.create();
    StageResult<String> result =
        StageTester.ofMerge(
                (List<String> parts, StageContext c) -> {
                  if (calls.incrementAndGet() == 1) {
                    throw new IllegalStateException("index busy");
                  }
                  return String.join("", parts);
                })
            .retry(RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1)))
            .clock(clock)
            .run(List.of("a", "b"));

    assertThat(result.isPassed()).isTrue();
    assertThat(result.output()).isEqualTo("ab");
    assertThat(result.attempts()).isEqualTo(2);
    assertThat(clock.sleeps()).containsExactly(Duration.ofSeconds(1));
  }

  @Test
  void aFallbackIsRefusedAsAPipelinesBuildRefusesIt() {
    StageTester<List<String>, String> tester =
        StageTester.ofMerge(JOIN).options(o -> o.fallback(Fallback.skip()));

    assertThatThrownBy(() -> tester.run(List.of("a")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("a merge stage cannot have a fallback");
  }
}
