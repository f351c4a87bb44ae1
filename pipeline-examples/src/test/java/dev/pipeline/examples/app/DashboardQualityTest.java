package dev.pipeline.examples.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineClock;
import dev.pipeline.dashboard.QualitySource;
import dev.pipeline.examples.listings.ListingGenerator;
import dev.pipeline.examples.listings.ListingIndex;
import dev.pipeline.examples.listings.TranslatedListing;
import dev.pipeline.quality.QualityGate;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class DashboardQualityTest {

  @Test
  void theQualityPageGetsTheValidationGatesCountsAndTheWatchsScores() {
    QualityWatch watch = new QualityWatch(PipelineClock.system(), Duration.ofSeconds(1), a -> {});
    QualityGate<TranslatedListing> rules = ListingRules.gate();
    DashboardQuality quality = new DashboardQuality("equipment", "validation", rules, watch);
    try (Pipeline<ScrapedLine, ?> pipeline =
        EquipmentPipeline.stages(
                Pipeline.builder("equipment", ScrapedLine.class), new ListingIndex(), watch, rules)
            .build()) {
      pipeline.run(
          ListingLines.stream(ListingGenerator.BUNDLED_SOURCE_ID, ListingGenerator::openBundled));
    }
    watch.report(); // closes the last window, as the end of a run with --report does

    QualitySource.Snapshot snapshot = quality.quality("equipment");
    assertThat(snapshot.gates())
        .singleElement()
        .satisfies(
            gate -> {
              assertThat(gate.stage()).isEqualTo("validation");
              assertThat(gate.state()).isEqualTo(QualitySource.GateState.OPEN);
              assertThat(gate.records()).isEqualTo(rules.counts().records()).isPositive();
              assertThat(gate.failuresByRule())
                  .isEqualTo(rules.counts().failuresByRule())
                  .isNotEmpty();
            });
    assertThat(snapshot.scores())
        .isNotEmpty()
        .allSatisfy(s -> assertThat(s.byDimension()).isNotEmpty());
    assertThat(quality.quality("another")).isEqualTo(QualitySource.Snapshot.EMPTY);
    assertThat(quality.reopen("equipment", "cleaning", "ops")).isFalse();
    assertThat(quality.reopen("equipment", "validation", "ops")).isTrue();
    assertThat(rules.state()).isEqualTo(QualityGate.State.OPEN);
  }
}
