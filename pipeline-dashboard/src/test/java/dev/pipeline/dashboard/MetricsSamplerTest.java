package dev.pipeline.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.metrics.PipelineMetrics;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class MetricsSamplerTest {
  private static final Instant T0 = Instant.parse("2026-12-06T07:00:00Z");

  private static PipelineMetrics snapshot(long in, long failed) {
    return new PipelineMetrics(
        "orders",
        T0,
        List.of(HealthTest.stage("validation", in, failed, 0.5, 3, null, 0)),
        in,
        0,
        in - failed,
        0,
        failed);
  }

  @Test
  void aPointIsTheDifferenceOfTwoSnapshots() {
    MetricsSampler sampler = new MetricsSampler(List.of(), dev.pipeline.PipelineClock.system(), 10);
    sampler.record(snapshot(100, 1), T0);
    assertThat(sampler.stageHistory("orders", "validation", Instant.MIN)).isEmpty();
    sampler.record(snapshot(600, 11), T0.plusSeconds(5));
    StagePoint point = sampler.stageHistory("orders", "validation", Instant.MIN).get(0);
    assertThat(point.window()).isEqualTo(Duration.ofSeconds(5));
    assertThat(point.recordsIn()).isEqualTo(500);
    assertThat(point.failed()).isEqualTo(10);
    assertThat(point.recordsPerSecond()).isEqualTo(98.0);
    assertThat(point.errorRate()).isEqualTo(0.02);
    assertThat(point.queueDepth()).isEqualTo(3);
  }

  @Test
  void aNewRunsCountersStartAgain() {
    MetricsSampler sampler = new MetricsSampler(List.of(), dev.pipeline.PipelineClock.system(), 10);
    sampler.record(snapshot(1_000, 0), T0);
    sampler.record(snapshot(40, 0), T0.plusSeconds(1));
    assertThat(sampler.stageHistory("orders", "validation", Instant.MIN).get(0).recordsIn())
        .isEqualTo(40);
  }

  @Test
  void theRingKeepsTheNewestPointsAndAnswersSince() {
    MetricsSampler sampler = new MetricsSampler(List.of(), dev.pipeline.PipelineClock.system(), 10);
    for (int i = 0; i <= 25; i++) {
      sampler.record(snapshot(100L * i, 0), T0.plusSeconds(i));
    }
    List<StagePoint> all = sampler.stageHistory("orders", "validation", Instant.MIN);
    assertThat(all).hasSize(10);
    assertThat(all.get(0).at()).isEqualTo(T0.plusSeconds(16));
    assertThat(all.get(9).at()).isEqualTo(T0.plusSeconds(25));
    assertThat(sampler.stageHistory("orders", "validation", T0.plusSeconds(23))).hasSize(3);
    assertThat(sampler.totals("orders")).hasSize(10);
    assertThat(sampler.stageHistory("orders", "nope", Instant.MIN)).isEmpty();
  }
}
