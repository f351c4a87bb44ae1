package dev.pipeline.quality.score;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.pipeline.quality.drift.FieldProfiler;
import dev.pipeline.quality.drift.WindowProfile;
import dev.pipeline.testkit.ManualClock;
import java.time.Instant;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class QualityScoresTest {

  private static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");
  private static final Instant T1 = T0.plusSeconds(300);

  record Row(@Nullable Object price, @Nullable String name) {}

  @Test
  void eachDimensionIsTheShareOfCheckedRecordsThatPassed() {
    QualityCounts counts =
        QualityCounts.of("extraction", T0, T1)
            .with(Dimension.VALIDITY, 200, 24)
            .with(Dimension.VALIDITY, 200, 26) // a second batch adds up
            .with(Dimension.UNIQUENESS, 400, 0)
            .with(Dimension.TIMELINESS, 400, 400);
    QualityScores scores = QualityScores.of(counts, null);
    assertThat(scores.score(Dimension.VALIDITY)).hasValue(87.5);
    assertThat(scores.score(Dimension.UNIQUENESS)).hasValue(100.0);
    assertThat(scores.score(Dimension.TIMELINESS)).hasValue(0.0);
    assertThat(scores.score(Dimension.COMPLETENESS)).as("not measured, not 100").isEmpty();
    assertThat(scores.overall().getAsDouble()).isCloseTo((87.5 + 100 + 0) / 3, within(1e-12));
  }

  @Test
  void profilesGiveCellCompletenessAndNumberValidityAndTheLowerScoreWins() {
    FieldProfiler<Row> profiler =
        FieldProfiler.<Row>builder("extraction")
            .clock(ManualClock.create())
            .number("price", Row::price)
            .category("name", Row::name)
            .build();
    profiler.observe(new Row(1.0, "a"));
    profiler.observe(new Row(null, "b"));
    profiler.observe(new Row("ten", null));
    profiler.observe(new Row(2.0, "d"));
    WindowProfile window = profiler.roll();

    QualityScores fromProfile = QualityScores.of(QualityCounts.of("extraction", T0, T1), window);
    // 8 cells, 2 null: 75; 3 non-null prices, 1 not a number: 66.7
    assertThat(fromProfile.score(Dimension.COMPLETENESS)).hasValue(75.0);
    assertThat(fromProfile.score(Dimension.VALIDITY).getAsDouble())
        .isCloseTo(200 / 3.0, within(1e-9));

    QualityCounts rules =
        QualityCounts.of("extraction", T0, T1)
            .with(Dimension.COMPLETENESS, 4, 0)
            .with(Dimension.VALIDITY, 4, 3);
    QualityScores both = QualityScores.of(rules, window);
    assertThat(both.score(Dimension.COMPLETENESS)).hasValue(75.0);
    assertThat(both.score(Dimension.VALIDITY)).hasValue(25.0);
  }

  @Test
  void nothingMeasuredHasNoOverallScoreAndBadCountsAreRefused() {
    assertThat(QualityScores.of(QualityCounts.of("s", T0, T1), null).overall()).isEmpty();
    assertThatThrownBy(() -> QualityCounts.of("s", T0, T1).with(Dimension.VALIDITY, 1, 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0 <= failed <= checked");
  }
}
