package dev.pipeline;

import static dev.pipeline.StageName.ANALYSIS;
import static dev.pipeline.StageName.CLEANING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.resilience.RetryPolicy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MetricsTest {
  private static final int RECORDS = 40;

  private final FakeClock clock = new FakeClock();
  private final CountDownLatch go = new CountDownLatch(1);

  @AfterEach
  void releaseTheSlowStage() {
    go.countDown();
  }

  private static Source<Integer> numbers(int n) {
    return Source.of("src", IntStream.rangeClosed(1, n).boxed().iterator(), i -> "r" + i);
  }

  @Test
  void metricsCountOutcomesAndErrorsByType() {
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("counts", Integer.class)
            .stage(
                CLEANING,
                (Integer i) -> {
                  if (i % 10 == 0) {
                    throw RecordFilteredException.because("round");
                  }
                  if (i % 7 == 0) {
                    throw new IllegalStateException("seven");
                  }
                  if (i % 9 == 0) {
                    throw new IOException("nine");
                  }
                  return i;
                },
                o -> o.batchSize(8))
            .stage(ANALYSIS, (Integer i) -> i)
            .build();

    RunResult result = pipeline.run(numbers(100));

    PipelineMetrics metrics = pipeline.metrics();
    StageMetrics cleaning = metrics.stage("cleaning");
    assertThat(cleaning.recordsIn()).isEqualTo(100);
    assertThat(cleaning.filtered()).isEqualTo(10);
    assertThat(cleaning.failed()).isEqualTo(13 + 9);
    assertThat(cleaning.passed()).isEqualTo(68);
    assertThat(cleaning.errorsByType())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("IllegalStateException", 13L, "IOException", 9L));
    assertThat(cleaning.errors()).isEqualTo(22);
    assertThat(cleaning.concurrency()).isOne();
    assertThat(metrics.stage("analysis").recordsIn()).isEqualTo(68);
    assertThat(metrics.stage("analysis").errorsByType()).isEmpty();
    assertThat(metrics.ingested()).isEqualTo(100);
    assertThat(metrics.published()).isEqualTo(68).isEqualTo(result.published());
    assertThat(metrics.filtered()).isEqualTo(10);
    assertThat(metrics.deadLettered()).isEqualTo(22);
    assertThat(metrics.inFlight()).isZero();
    assertThat(metrics.table()).contains("cleaning").contains("analysis");
  }

  @Test
  void retriedErrorsAreCountedByTypeAsWellAsRetries() {
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("retries", Integer.class)
            .stage(
                CLEANING,
                (Integer i, StageContext context) -> {
                  if (context.attempt() < 3) {
                    throw new IOException("flaky");
                  }
                  return i;
                },
                o -> o.retry(RetryPolicy.exponential(Duration.ZERO, Duration.ZERO)))
            .clock(clock)
            .build();

    pipeline.run(numbers(5));

    StageMetrics cleaning = pipeline.metrics().stage("cleaning");
    assertThat(cleaning.retries()).isEqualTo(10);
    assertThat(cleaning.errorsByType()).containsExactly(Map.entry("IOException", 10L));
    assertThat(cleaning.passed()).isEqualTo(5);
    assertThat(cleaning.failed()).isZero();
  }

  @Test
  void metricsBeforeAnyRunAreEmpty() {
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("idle", Integer.class).stage(CLEANING, (Integer i) -> i).build();

    assertThat(pipeline.metrics().stages()).isEmpty();
    assertThat(pipeline.metrics().bottleneck()).isEmpty();
  }

  /**
   * Cleaning is fast; analysis waits until cleaning has passed on every record, then "takes" 1 to
   * 10 ms of the fake clock per record. Nothing overlaps, so every figure is exact.
   */
  private Pipeline<Integer, Integer> fastThenSlow() {
    return Pipeline.builder("bottleneck", Integer.class)
        .stage(CLEANING, (Integer i) -> i, o -> o.batchSize(4))
        .stage(
            ANALYSIS,
            (Integer i) -> {
              go.await();
              clock.advance(Duration.ofMillis(i % 10 + 1));
              return i;
            },
            o -> o.batchSize(1))
        .clock(clock)
        .build();
  }

  @Test
  void queueDepthShowsRecordsWaitingInFrontOfABlockedStage() throws Exception {
    Pipeline<Integer, Integer> pipeline = fastThenSlow();
    PipelineRun run = pipeline.start(numbers(RECORDS));

    Await.until(
        "cleaning has handed everything to analysis",
        () -> pipeline.metrics().stage("analysis").queueDepth() == RECORDS - 1);

    PipelineMetrics during = pipeline.metrics();
    assertThat(during.stage("cleaning").passed()).isEqualTo(RECORDS);
    assertThat(during.stage("analysis").recordsIn()).isOne();
    assertThat(during.inFlight()).isEqualTo(RECORDS);
    go.countDown();
    assertThat(Await.result(run).metrics().stage("analysis").queueDepth()).isZero();
  }

  @Test
  void bottleneckIsTheSlowStageWithOrderedPercentilesAndThroughput() throws Exception {
    Pipeline<Integer, Integer> pipeline = fastThenSlow();
    PipelineRun run = pipeline.start(numbers(RECORDS));
    Await.until(
        "cleaning has handed everything to analysis",
        () -> run.progress().stages().get(1).queueDepth() == RECORDS - 1);
    go.countDown();

    RunResult result = Await.result(run);

    StageMetrics slow = result.metrics().stage("analysis");
    StageMetrics fast = result.metrics().stage("cleaning");
    assertThat(result.metrics().bottleneck()).map(StageMetrics::stage).hasValue("analysis");
    assertThat(slow.utilization()).isCloseTo(1.0, within(0.01));
    assertThat(fast.utilization()).isZero();
    assertThat(slow.p50()).isLessThanOrEqualTo(slow.p95());
    assertThat(slow.p95()).isLessThanOrEqualTo(slow.p99());
    assertThat(slow.p50()).isBetween(Duration.ofMillis(5), Duration.ofMillis(6).plusNanos(60_000));
    assertThat(slow.p99())
        .isBetween(Duration.ofMillis(10), Duration.ofMillis(10).plusNanos(100_000));
    assertThat(slow.max()).isEqualTo(slow.p99());
    long totalMillis = RECORDS / 10 * 55; // each ten records take 1 + 2 + ... + 10 ms
    assertThat(slow.recordsPerSecond()).isCloseTo(RECORDS * 1000.0 / totalMillis, within(0.01));
    assertThat(result.duration()).isEqualTo(Duration.ofMillis(totalMillis));
    assertThat(result.recordsPerSecond()).isPositive();
    assertThat(result.summary()).contains("bottleneck: analysis");
  }

  @Test
  void bytesArePassedOnAsThePayloadSizeEstimatorCountsThem() {
    Pipeline<String, Sized> pipeline =
        Pipeline.builder("bytes", String.class)
            .stage(CLEANING, (String s) -> s + s)
            .stage(ANALYSIS, (String s) -> s.getBytes(StandardCharsets.UTF_8))
            .stage(StageName.of("wrap"), (byte[] b) -> (Sized) () -> 1_000)
            .build();

    pipeline.run(Source.of("src", List.of("ab", "cde").iterator()));

    assertThat(pipeline.metrics().stage("cleaning").bytesOut()).isEqualTo(10);
    assertThat(pipeline.metrics().stage("analysis").bytesOut()).isEqualTo(10);
    assertThat(pipeline.metrics().stage("wrap").bytesOut()).isEqualTo(2_000);
  }
}
