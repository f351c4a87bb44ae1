package dev.pipeline.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.ResilienceMetrics;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.store.spi.HeldLeases;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class HealthTest {
  private static final Instant T0 = Instant.parse("2026-12-06T07:00:00Z");

  static StageMetrics stage(
      String name,
      long in,
      long failed,
      double utilization,
      int queue,
      CircuitBreaker.@Nullable State circuit,
      long held) {
    return new StageMetrics(
        name,
        2,
        in,
        in - failed,
        0,
        failed,
        0,
        Map.of(),
        Duration.ofMillis(1),
        Duration.ofMillis(2),
        Duration.ofMillis(3),
        Duration.ofMillis(4),
        100,
        0,
        0,
        queue,
        utilization,
        new ResilienceMetrics(circuit, Double.POSITIVE_INFINITY, 128, 0, held, held, 0, Map.of()));
  }

  private static StagePoint point(long in, long failed) {
    Duration d = Duration.ofMillis(1);
    return new StagePoint(
        T0, Duration.ofSeconds(5), in, in - failed, failed, failed, d, d, d, 0, 0.5);
  }

  @Test
  void aStageIsRedAmberOrGreenByItsCircuitErrorsAndLoad() {
    assertThat(Health.stage(stage("a", 100, 0, 0.2, 0, CircuitBreaker.State.OPEN, 0), null).level())
        .isEqualTo(Health.Level.RED);
    assertThat(Health.stage(stage("a", 100, 10, 0.2, 0, null, 0), null).level())
        .isEqualTo(Health.Level.RED);
    assertThat(Health.stage(stage("a", 100, 2, 0.2, 0, null, 0), null).level())
        .isEqualTo(Health.Level.AMBER);
    assertThat(Health.stage(stage("a", 100, 0, 0.2, 0, CircuitBreaker.State.HALF_OPEN, 0), null))
        .isEqualTo(new Health.Verdict(Health.Level.AMBER, "circuit half-open"));
    assertThat(Health.stage(stage("a", 100, 0, 0.95, 40, null, 0), null))
        .isEqualTo(new Health.Verdict(Health.Level.AMBER, "saturated: 40 waiting"));
    assertThat(Health.stage(stage("a", 100, 0, 0.95, 0, null, 0), null).level())
        .as("busy but keeping up")
        .isEqualTo(Health.Level.GREEN);
  }

  @Test
  void theLastWindowOutweighsTheCountsSinceBuilt() {
    StageMetrics failedLongAgo = stage("a", 100, 50, 0.2, 0, null, 0);
    assertThat(Health.stage(failedLongAgo, point(100, 0)).level()).isEqualTo(Health.Level.GREEN);
    assertThat(Health.stage(stage("a", 10_000, 0, 0.2, 0, null, 0), point(100, 20)).level())
        .isEqualTo(Health.Level.RED);
  }

  private static List<MetricsSampler.Totals> totals(long... done) {
    List<MetricsSampler.Totals> out = new ArrayList<>();
    for (int i = 0; i < done.length; i++) {
      out.add(new MetricsSampler.Totals(T0.plusSeconds(10L * i), 1_000, done[i], 0, done[i] / 10));
    }
    return out;
  }

  @Test
  void aPipelineIsStalledOnlyWhenNothingFinishedForTheWholeWindow() {
    Duration window = Duration.ofSeconds(30);
    assertThat(Health.state(0, totals(5, 5, 5, 5, 5), window)).isEqualTo("idle");
    assertThat(Health.state(10, totals(5, 5), window))
        .as("not watched long enough")
        .isEqualTo("running");
    assertThat(Health.state(10, totals(1, 2, 3, 5, 5), window)).isEqualTo("running");
    assertThat(Health.state(10, totals(5, 5, 5, 5, 5), window)).isEqualTo("stalled");
    assertThat(Health.state(10, totals(1, 5, 5, 5, 5), window)).isEqualTo("stalled");
  }

  @Test
  void deadLetterGrowthCountsOnlyTheWindow() {
    // dead letters are a tenth of done here: 0, 10, 20, 30, 40 at 0..40 s
    assertThat(Health.deadLetterGrowth(totals(0, 100, 200, 300, 400), Duration.ofSeconds(20)))
        .isEqualTo(20);
    assertThat(Health.deadLetterGrowth(totals(400, 400), Duration.ofSeconds(20))).isZero();
  }

  @Test
  void attentionListsTheWorstFirstWithWhereToLook() {
    PipelineMetrics metrics =
        new PipelineMetrics(
            "orders",
            T0,
            List.of(
                stage("cleaning", 10, 0, 0.1, 0, CircuitBreaker.State.HALF_OPEN, 0),
                stage("validation", 10, 0, 0.1, 0, CircuitBreaker.State.OPEN, 7)),
            100,
            0,
            50,
            0,
            5);
    List<Health.Attention> items =
        Health.attention(
            metrics,
            "stalled",
            3,
            Duration.ofSeconds(60),
            List.of(
                new HeldLeases("worker-b", 12, Duration.ZERO),
                new HeldLeases("worker-c", 4, Duration.ofSeconds(20))),
            T0.minusSeconds(600),
            T0,
            "");
    assertThat(items)
        .extracting(Health.Attention::text)
        .containsExactly(
            "pipeline orders is stalled: 45 records in flight, none finished lately",
            "stage validation: circuit open, 7 records held",
            "worker worker-b holds 12 records on expired leases: it stopped heartbeating; a running"
                + " worker takes them over",
            "stage cleaning: circuit half-open",
            "dead letters growing: 3 new in the last 60 s (5 this run)",
            "retries overdue since 2026-12-06T06:50:00Z: no run of orders is taking them (run it or"
                + " call resume())");
    assertThat(items.get(1).href()).isEqualTo("/stage?pipeline=orders&stage=validation");
  }

  @Test
  void theCircuitsOfTheSinkAndOfABranchSinkNeedAttentionAsAStagesDo() {
    PipelineMetrics metrics =
        new PipelineMetrics(
            "orders",
            T0,
            List.of(stage("cleaning", 10, 0, 0.1, 0, null, 0)),
            10,
            0,
            0,
            0,
            0,
            List.of(),
            List.of(),
            stage("sink", 5, 0, 0.1, 0, CircuitBreaker.State.HALF_OPEN, 0),
            stage("store", 10, 0, 0.1, 0, null, 0),
            0,
            List.of(stage("by-kind/words/sink", 5, 0, 0.9, 0, CircuitBreaker.State.OPEN, 3)));
    assertThat(
            Health.attention(
                metrics, "running", 0, Duration.ofSeconds(60), List.of(), null, T0, ""))
        .extracting(Health.Attention::text, Health.Attention::href)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                "branch sink by-kind/words/sink: circuit open, 3 records held",
                "/stage?pipeline=orders&stage=by-kind%2Fwords%2Fsink"),
            org.assertj.core.groups.Tuple.tuple(
                "the sink: circuit half-open", "/stage?pipeline=orders&stage=sink"));
  }

  @Test
  void closedGatesAreRedGatesOnTrialAmberAndOnlyTheNewestDriftAlertsAreListed() {
    List<QualitySource.Finding> findings = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      findings.add(
          new QualitySource.Finding(
              T0.plusSeconds(i), "extraction", QualitySource.Severity.ALERT, "alert " + i));
    }
    findings.add(
        new QualitySource.Finding(
            T0.plusSeconds(9), "extraction", QualitySource.Severity.WARN, "only a warning"));
    QualitySource.Snapshot snapshot =
        new QualitySource.Snapshot(
            List.of(
                gate("validation", QualitySource.GateState.CLOSED),
                gate("indexing", QualitySource.GateState.TRIAL),
                gate("cleaning", QualitySource.GateState.OPEN)),
            List.of(),
            findings);

    List<Health.Attention> out = Health.quality("orders", snapshot, "");

    assertThat(out)
        .extracting(Health.Attention::level)
        .containsExactly(
            Health.Level.RED,
            Health.Level.AMBER,
            Health.Level.AMBER,
            Health.Level.AMBER,
            Health.Level.AMBER,
            Health.Level.AMBER);
    assertThat(out)
        .extracting(Health.Attention::text)
        .containsExactly(
            "quality gate at stage validation is closed: it holds records until it reopens or an"
                + " operator reopens it",
            "quality gate at stage indexing is on trial after being closed",
            "drift at stage extraction: alert 4",
            "drift at stage extraction: alert 3",
            "drift at stage extraction: alert 2",
            "2 more drift or anomaly alerts");
    assertThat(out).allSatisfy(a -> assertThat(a.href()).isEqualTo("/quality?pipeline=orders"));
    assertThat(Health.quality("orders", QualitySource.Snapshot.EMPTY, "")).isEmpty();
  }

  private static QualitySource.Gate gate(String stage, QualitySource.GateState state) {
    return new QualitySource.Gate(stage, state, 10, 0, 0, 0, Map.of(), true);
  }
}
