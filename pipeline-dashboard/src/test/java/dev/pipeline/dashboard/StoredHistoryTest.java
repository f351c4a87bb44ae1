package dev.pipeline.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineClock;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class StoredHistoryTest {
  private static final StagePoint SAMPLED =
      new StagePoint(
          Instant.parse("2026-12-06T07:00:00Z"),
          Duration.ofSeconds(5),
          1,
          1,
          0,
          0,
          Duration.ZERO,
          Duration.ZERO,
          Duration.ZERO,
          0,
          0);
  private static final MetricsHistorySource SAMPLER = (pipeline, stage, since) -> List.of(SAMPLED);
  private static final MetricsHistorySource NOT_SAMPLED = (pipeline, stage, since) -> List.of();

  private static Pipeline<String, String> pipeline(String name, boolean keepHistory) {
    return Pipeline.builder(name, String.class)
        .stage(StageName.CLEANING, (String s) -> s.trim())
        .sink(records -> {})
        .metricsHistory(keepHistory)
        .build();
  }

  @Test
  void chartsAStagesStoredWindows() {
    try (Pipeline<String, String> p = pipeline("stored-history", true)) {
      p.run(Source.of("src", List.of(" a", "b ", " c ").iterator()));
      StoredHistory history = new StoredHistory(List.of(p), NOT_SAMPLED, PipelineClock.system());

      List<StagePoint> points = history.stageHistory("stored-history", "cleaning", Instant.EPOCH);

      assertThat(points).isNotEmpty();
      assertThat(points.stream().mapToLong(StagePoint::passed).sum()).isEqualTo(3);
      assertThat(points.stream().mapToLong(StagePoint::recordsIn).sum()).isEqualTo(3);
    }
  }

  @Test
  void chartsStoredWindowsUntilTheSamplersFirstPointThenTheSamplers() {
    try (Pipeline<String, String> p = pipeline("both-histories", true)) {
      p.run(Source.of("src", List.of("a", "b").iterator()));
      Instant later = Instant.now().plusSeconds(60);
      StagePoint live =
          new StagePoint(
              later,
              Duration.ofSeconds(5),
              7,
              7,
              0,
              0,
              Duration.ZERO,
              Duration.ZERO,
              Duration.ZERO,
              0,
              0);
      StoredHistory history =
          new StoredHistory(
              List.of(p), (pipeline, stage, since) -> List.of(live), PipelineClock.system());

      List<StagePoint> points = history.stageHistory("both-histories", "cleaning", Instant.EPOCH);

      assertThat(points).last().isEqualTo(live);
      assertThat(points.subList(0, points.size() - 1))
          .isNotEmpty()
          .allSatisfy(point -> assertThat(point.at()).isBefore(later));
      assertThat(points.subList(0, points.size() - 1).stream().mapToLong(StagePoint::passed).sum())
          .isEqualTo(2);
    }
  }

  @Test
  void chartsTheSamplersPointsWhereTheStoreKeepsNone() {
    try (Pipeline<String, String> p = pipeline("sampled-history", false)) {
      p.run(Source.of("src", List.of("a").iterator()));
      StoredHistory history = new StoredHistory(List.of(p), SAMPLER, PipelineClock.system());

      assertThat(history.stageHistory("sampled-history", "cleaning", Instant.EPOCH))
          .containsExactly(SAMPLED);
      assertThat(history.stageHistory("no-such-pipeline", "cleaning", Instant.EPOCH)).isEmpty();
    }
  }
}
