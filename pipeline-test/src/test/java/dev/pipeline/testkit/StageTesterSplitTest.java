package dev.pipeline.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.SplitStage;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.StorableText;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class StageTesterSplitTest {
  private static final SplitStage<String, String> FILES =
      (archive, context) -> archive.isEmpty() ? List.of() : Arrays.asList(archive.split(","));

  @Test
  void aSplitStagePassesTheListOfItsChildrenInOrder() {
    StageResult<List<String>> result = StageTester.ofSplit(FILES).run("a.txt,b.txt,c.txt");

    assertThat(result.isPassed()).isTrue();
    assertThat(result.output()).containsExactly("a.txt", "b.txt", "c.txt");
  }

  @Test
  void aSplitIntoNoRecordsFiltersTheRecordAsAPipelineDoes() {
    StageResult<List<String>> result = StageTester.ofSplit(FILES).run("");

    assertThat(result.isFiltered()).isTrue();
    assertThat(result.filterReason()).isEqualTo(SplitStage.NO_RECORDS);
  }

  @Test
  void aNullChildFailsTheAttemptAndIsRetriedOnTheTestersClock() {
    AtomicInteger calls = new AtomicInteger();
    SplitStage<String, String> flaky =
        (String archive, StageContext context) ->
            calls.incrementAndGet() == 1 ? Arrays.asList("a", null) : List.of("a", "b");
    ManualClock clock = ManualClock.create();

    StageResult<List<String>> result =
        StageTester.ofSplit(flaky)
            .retry(RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1)))
            .clock(clock)
            .run("x");

    assertThat(result.isPassed()).isTrue();
    assertThat(result.attempts()).isEqualTo(2);
    assertThat(result.errors())
        .singleElement()
        .satisfies(e -> assertThat(e.getMessage()).contains("null child at index 1 of 2"));
    assertThat(clock.sleeps()).containsExactly(Duration.ofSeconds(1));
  }

  @Test
  void aSplitWhoseChildIdsWouldBeTooLongFailsWithoutARetry() {
    AtomicInteger calls = new AtomicInteger();
    SplitStage<String, String> three =
        (String s, StageContext context) -> {
          calls.incrementAndGet();
          return List.of("a", "b", "c");
        };
    String id = "r".repeat(StorableText.MAX_ID_LENGTH - 1);

    StageResult<List<String>> result =
        StageTester.ofSplit(three)
            .retry(RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1)))
            .run(id, "x");

    assertThat(result.isFailed()).isTrue();
    assertThat(result.failure().getMessage()).contains("1001 characters long, more than 1000");
    assertThat(calls).hasValue(1);
  }

  @Test
  void aSplitStageThatThrowsIsRetriedLikeAnyStage() {
    AtomicInteger calls = new AtomicInteger();
    SplitStage<String, String> busy =
        (String s, StageContext context) -> {
          if (calls.incrementAndGet() < 3) {
            throw new IOException("archive server busy");
          }
          return List.of(s);
        };

    StageResult<List<String>> result =
        StageTester.ofSplit(busy)
            .retry(
                RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1)).maxRetries(5))
            .run("x");

    assertThat(result.output()).containsExactly("x");
    assertThat(result.attempts()).isEqualTo(3);
  }

  @Test
  void aPipelineTesterShowsTheChildrenOfASplitByTheirOwnIds() {
    PipelineTester<String, String> tester =
        PipelineTester.forPipeline(
            "archives",
            String.class,
            pipeline ->
                pipeline
                    .splitStage(StageName.EXTRACTION, FILES)
                    .stage(StageName.PUBLISHING, (String file) -> file.toUpperCase(Locale.ROOT)));

    PipelineTestResult<String> result = tester.run(List.of("a.txt,b.txt", ""));

    assertThat(result.published())
        .containsOnly(Map.entry("record-1/0", "A.TXT"), Map.entry("record-1/1", "B.TXT"));
    assertThat(result.filtered()).containsOnly(Map.entry("record-2", SplitStage.NO_RECORDS));
    assertThat(result.runResult().split()).isOne();
    assertThat(result.runResult().children()).isEqualTo(2);
  }

  @Test
  void aSkipFallbackOnASplitStageIsRefused() {
    StageTester<String, List<String>> tester =
        StageTester.ofSplit(FILES).options(s -> s.fallback(Fallback.skip()));

    assertThatThrownBy(() -> tester.run("a"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("split stage cannot have a skip or function fallback");
  }
}
