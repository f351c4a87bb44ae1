package dev.pipeline.quality;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Pipeline;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.jdbc.JsonCodec;
import dev.pipeline.metrics.Report;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.metrics.WindowScores;
import dev.pipeline.quality.report.ExampleRecord;
import dev.pipeline.quality.report.QualityReport;
import dev.pipeline.quality.report.RuleFailure;
import dev.pipeline.quality.score.Dimension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * A gate's scores kept with the metrics history in the store, and a report of a period built in one
 * call from the pipeline and its gate.
 */
abstract class GateReportContract extends DatabaseContract {
  private static final StageName QUALITY = StageName.of("quality");

  /** An offer of the tests: an id and a price, which may be missing. */
  record Offer(String id, @Nullable Double price) {}

  private static List<Offer> offers(String prefix, int good, int negative, int missing) {
    List<Offer> all = new ArrayList<>();
    for (int i = 0; i < good + negative + missing; i++) {
      Double price = null;
      if (i < good) {
        price = 1_000.0 + i;
      } else if (i < good + negative) {
        price = -1.0;
      }
      all.add(new Offer(prefix + i, price));
    }
    return all;
  }

  @Test
  void scoresAreKeptPerWindowInTheStoreAndTheReportSaysWhatFailedWhereAndWhatToDo() {
    QualityGate<Offer> gate =
        QualityGate.of(Offer.class)
            .rule(Rule.notNull("price-present", "price").action(Action.TAG))
            .rule(Rule.range("price-range", "price", "[0, 500000]").action(Action.TAG))
            .rule(Rule.unique("one-id", "id").action(Action.TAG))
            .build();
    Instant from = Instant.now().minusSeconds(60);
    try (Pipeline<Offer, Offer> pipeline =
        Pipeline.builder("listings", Offer.class)
            .store(db().store())
            .inputCodec(JsonCodec.of(Offer.class))
            .stage(QUALITY, gate, gate.options())
            .sink(records -> {})
            .build()) {
      pipeline.run(Source.of("scraper-a", offers("a-", 100, 0, 0).iterator(), Offer::id));
      pipeline.run(Source.of("scraper-b", offers("b-", 0, 30, 20).iterator(), Offer::id));
      Instant to = Instant.now().plusSeconds(60);

      List<WindowScores> scores =
          pipeline.metricsHistory(QUALITY, from, to).stream()
              .map(StageWindow::scores)
              .filter(Objects::nonNull)
              .toList();
      assertThat(scores).as("each run's last window").hasSize(2);
      assertThat(scores.get(0)).isEqualTo(new WindowScores(100, 100, Double.NaN, 100, Double.NaN));
      WindowScores b = scores.get(1);
      assertThat(b.completeness()).as("20 of 50 without a price").isEqualTo(60);
      assertThat(b.validity()).as("30 of 50 priced below 0").isEqualTo(40);
      assertThat(b.uniqueness()).isEqualTo(100);
      assertThat(b.overall()).isEqualTo((60 + 40 + 100) / 3.0);
      assertThat(
              db().query(
                      "SELECT completeness_score, validity_score, quality_score FROM"
                          + " {s}.pipeline_metrics WHERE pipeline = 'listings' AND stage_name ="
                          + " 'quality' AND quality_score IS NOT NULL ORDER BY metric_id"))
          .as("in SQL too")
          .containsExactly(List.of(100.0, 100.0, 100.0), List.of(60.0, 40.0, 200 / 3.0));

      QualityReport report = QualityReports.of(pipeline, from, to, gate);
      assertThat(report.scores())
          .extracting(s -> s.score(Dimension.VALIDITY).orElseThrow())
          .containsExactly(100.0, 40.0);
      RuleFailure range = failure(report, "price-range");
      assertThat(range.stage()).isEqualTo("quality");
      assertThat(range.checked()).isEqualTo(150);
      assertThat(range.failed()).isEqualTo(30);
      assertThat(range.failedBySource()).containsExactly(java.util.Map.entry("scraper-b", 30L));
      assertThat(range.examples()).extracting(ExampleRecord::recordId).startsWith("b-0", "b-1");
      assertThat(range.examples().get(0).text())
          .contains("price '-1.0' is not in [0, 500000]", "record: Offer[id=b-0, price=-1.0]");
      assertThat(failure(report, "price-present").failed()).isEqualTo(20);
      assertThat(failure(report, "one-id").failed()).isZero();
      assertThat(report.insights().get(0))
          .startsWith("Rule price-range failed 20 % of quality's output since")
          .contains("(30 of 150 records); 100 % from source scraper-b")
          .contains("E.g. record b-0: ")
          .contains("Check source scraper-b first");
      assertThat(report.toMarkdown()).contains("price-range", "scraper-b");

      Report asked = pipeline.qualityReport(Duration.ofMinutes(10));
      assertThat(asked)
          .as("the pipeline's own call finds its gate")
          .isInstanceOfSatisfying(
              QualityReport.class,
              r -> {
                assertThat(failure(r, "price-range").failed()).isEqualTo(30);
                assertThat(r.scores())
                    .extracting(s -> s.score(Dimension.VALIDITY).orElseThrow())
                    .containsExactly(100.0, 40.0);
              });
      assertThat(asked.toHtml()).contains("price-range", "scraper-b");
      assertThatThrownBy(() -> pipeline.qualityReport(Duration.ofSeconds(-1)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("zero or positive");

      QualityReport before =
          QualityReports.of(pipeline, from.minus(Duration.ofHours(2)), from, gate);
      assertThat(before.ruleFailures()).allMatch(f -> f.failed() == 0 && f.checked() == 0);
      assertThat(before.scores()).isEmpty();
    }
  }

  private static RuleFailure failure(QualityReport report, String rule) {
    return report.ruleFailures().stream()
        .filter(f -> f.ruleId().equals(rule))
        .findFirst()
        .orElseThrow();
  }
}
