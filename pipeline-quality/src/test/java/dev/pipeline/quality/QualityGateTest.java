package dev.pipeline.quality;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Alert;
import dev.pipeline.Envelope;
import dev.pipeline.OutputShapeException;
import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.testkit.ManualClock;
import dev.pipeline.testkit.StageResult;
import dev.pipeline.testkit.StageTester;
import dev.pipeline.testkit.TestStageContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class QualityGateTest {
  private final ManualClock clock = ManualClock.create();
  private final Queue<Alert> alerts = new ConcurrentLinkedQueue<>();

  private QualityGate.Builder<Listing> gate() {
    return QualityGate.of(Listing.class).clock(clock).alerts(alerts::add);
  }

  @Test
  void aRecordFailingSeveralRulesIsDeadLetteredWithEveryViolation() {
    QualityGate<Listing> gate =
        gate()
            .rule(Rule.length("title", "title", "[3, )"))
            .rule(Rule.format("email", "email", "email"))
            .rule(Rule.range("price", "price.amount", "[0, 10]").action(Action.TAG))
            .build();
    StageResult<Listing> result =
        StageTester.of(gate)
            .clock(clock)
            .run("r1", Listing.good("a").withTitle("x").withEmail("x"));
    assertThat(result.isFailed()).isTrue();
    QualityViolationException error = (QualityViolationException) result.failure();
    assertThat(error.violations())
        .extracting(Violation::rule)
        .containsExactly("title", "email", "price");
    assertThat(error.getMessage())
        .startsWith("record 'r1' failed 3 rules at stage 'stage-under-test'")
        .contains("title: title has length 1");
    assertThat(result.attempts()).as("not retried").isEqualTo(1);
    assertThat(gate.counts().deadLettered()).isEqualTo(1);
    assertThat(gate.counts().failuresByRule())
        .containsEntry("title", 1L)
        .containsEntry("price", 1L);
  }

  @Test
  void aFilterRuleFiltersWithTheReason() {
    QualityGate<Listing> gate =
        gate().rule(Rule.length("title", "title", "[3, )").action(Action.FILTER)).build();
    StageResult<Listing> result =
        StageTester.of(gate).clock(clock).run(Listing.good("a").withTitle("x"));
    assertThat(result.isFiltered()).isTrue();
    assertThat(result.filterReason()).startsWith("quality: title: title has length 1");
    assertThat(gate.counts().filtered()).isEqualTo(1);
  }

  @Test
  void aTagRuleLetsTheRecordGoOnWithItsViolationsInTheMetadata() {
    QualityGate<Listing> gate =
        gate()
            .rule(Rule.length("title", "title", "[3, )").action(Action.TAG).severity(Severity.INFO))
            .build();
    StageResult<Listing> result =
        StageTester.of(gate).clock(clock).run(Listing.good("a").withTitle("x"));
    assertThat(result.isPassed()).isTrue();
    assertThat(result.addedMetadata())
        .containsEntry(QualityGate.VIOLATIONS_KEY, "title: title has length 1, not in [3, )");
    assertThat(gate.counts().tagged()).isEqualTo(1);
    StageResult<Listing> good = StageTester.of(gate).clock(clock).run(Listing.good("b"));
    assertThat(good.addedMetadata()).doesNotContainKey(QualityGate.VIOLATIONS_KEY);
  }

  @Test
  void aNullInARequiredRecordComponentFailsTheSchemaCheck() {
    QualityGate<Listing> gate = gate().build();
    var t = StageTester.of(gate).clock(clock);
    assertThat(t.run(Listing.good("a").withPrice(null)).isPassed())
        .as("price is @Nullable")
        .isTrue();
    StageResult<Listing> result = t.run(Listing.good("b").withTitle(null));
    assertThat(result.isFailed()).isTrue();
    assertThat(result.failure().getMessage()).contains("schema: required title null");
    assertThat(
            t.run(Listing.good("c").withPrice(new Listing.Price(1, null))).failure().getMessage())
        .contains("required price.currency null");
    QualityGate<Listing> off = gate().schemaCheck(false).build();
    assertThat(StageTester.of(off).options(off.options()).run(Listing.good("d").withTitle(null)))
        .as("the gate's options turn the stage's own shape check off too")
        .returns(true, StageResult::isPassed);
    assertThat(StageTester.of(off).run(Listing.good("d").withTitle(null)).failure())
        .as("without them the stage's shape check still refuses the null")
        .isInstanceOf(OutputShapeException.class);
  }

  @Test
  void mapPayloadsNeedTheirRequiredKeys() {
    @SuppressWarnings({"unchecked", "rawtypes"})
    Class<Map<String, Object>> type = (Class) Map.class;
    QualityGate<Map<String, Object>> gate =
        QualityGate.of(type).requiredKeys("id", "price").build();
    var t = StageTester.of(gate);
    assertThat(t.run(Map.of("id", "1", "price", 3)).isPassed()).isTrue();
    assertThat(t.run(Map.of("id", "1")).failure().getMessage()).contains("required price null");
  }

  @Test
  void aWindowFailingAWarningRuleAlertsOnceWithAnExample() {
    QualityGate<Listing> gate =
        gate()
            .window(Duration.ofMinutes(1), 10)
            .minRecords(10)
            .rule(
                Rule.length("title", "title", "[3, )")
                    .action(Action.TAG)
                    .severity(Severity.WARNING)
                    .mostly(0.9))
            .build();
    var t = StageTester.of(gate).clock(clock);
    for (int i = 0; i < 10; i++) {
      t.run(Listing.good("g" + i).withTitle(i < 8 ? "good title" : "x"));
    }
    assertThat(alerts).as("the window has not ended").isEmpty();
    t.run(Listing.good("next"));
    // 2 of 10 failed: 80 % passed, under the 90 % the rule asks
    assertThat(alerts)
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.kind()).isEqualTo(Alert.Kind.QUALITY_RULE_FAILED);
              assertThat(a.message())
                  .contains("rule 'title' failed 20.0 % of 10 records at stage 'stage-under-test'")
                  .contains("severity WARNING")
                  .contains("e.g. title has length 1");
            });
    assertThat(gate.state())
        .as("a TAG rule does not close the gate")
        .isEqualTo(QualityGate.State.OPEN);
  }

  @Test
  void aCloseGateRuleClosesTheGateHoldsRecordsAndReopensAfterATrialWindow() {
    QualityGate<Listing> gate =
        gate()
            .window(Duration.ofMinutes(1), 10)
            .minRecords(10)
            .reopenAfter(Duration.ofMinutes(5))
            .rule(
                Rule.range("price", "price.amount", "[0, 200000]")
                    .action(Action.CLOSE_GATE)
                    .mostly(0.8))
            .build();
    CircuitBreaker circuit = gate.circuit().bind(clock);
    var t = StageTester.of(gate).clock(clock);
    // 3 of 10 fail: 70 % pass, under mostly 0.8
    for (int i = 0; i < 10; i++) {
      Listing l = Listing.good("c" + i);
      StageResult<Listing> r = t.run(i < 3 ? l.withPrice(new Listing.Price(1e9, "EUR")) : l);
      assertThat(r.isPassed()).as("a CLOSE_GATE rule tags the record itself").isTrue();
    }
    assertThat(gate.state()).isEqualTo(QualityGate.State.OPEN);
    t.run(Listing.good("c10")); // starts the next window, judging the full one
    assertThat(gate.state()).isEqualTo(QualityGate.State.CLOSED);
    assertThat(circuit.tryAcquirePermission()).as("records are held").isFalse();
    assertThat(circuit.state()).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(circuit.remainingOpen())
        .as("a held record comes back after holdFor (5 s) to see whether the gate reopened")
        .isEqualTo(Duration.ofSeconds(5));
    clock.advance(Duration.ofMinutes(4).plusSeconds(58));
    assertThat(circuit.remainingOpen()).as("the trial is nearer").isEqualTo(Duration.ofSeconds(2));
    assertThat(alerts)
        .extracting(Alert::kind)
        .containsExactly(Alert.Kind.QUALITY_RULE_FAILED, Alert.Kind.QUALITY_GATE_CLOSED);
    assertThat(alerts.stream().toList().get(1).message())
        .contains("rule 'price' failed 30.0 % of 10 records")
        .contains("mostly 0.800 allows 20.0 %")
        .contains("price.amount '1.0E9' is not in [0, 200000]");

    clock.advance(Duration.ofSeconds(2));
    assertThat(gate.state()).isEqualTo(QualityGate.State.TRIAL);
    assertThat(circuit.tryAcquirePermission()).isTrue();
    assertThat(circuit.state()).isEqualTo(CircuitBreaker.State.HALF_OPEN);
    for (int i = 0; i < 10; i++) {
      t.run(Listing.good("t" + i));
    }
    t.run(Listing.good("after-trial"));
    assertThat(gate.state()).isEqualTo(QualityGate.State.OPEN);
    assertThat(alerts).extracting(Alert::kind).endsWith(Alert.Kind.QUALITY_GATE_REOPENED);
  }

  @Test
  void aFailedTrialClosesTheGateAgainAndAnOperatorReopensIt() {
    QualityGate<Listing> gate =
        gate()
            .window(Duration.ofMinutes(1), 10)
            .minRecords(10)
            .reopenAfter(Duration.ofMinutes(5))
            .rule(Rule.length("title", "title", "[3, )").action(Action.CLOSE_GATE))
            .build();
    var t = StageTester.of(gate).clock(clock);
    for (int i = 0; i < 11; i++) {
      t.run(Listing.good("c" + i).withTitle("x"));
    }
    assertThat(gate.state()).isEqualTo(QualityGate.State.CLOSED);
    clock.advance(Duration.ofMinutes(5));
    assertThat(gate.state()).isEqualTo(QualityGate.State.TRIAL);
    for (int i = 0; i < 11; i++) {
      t.run(Listing.good("t" + i).withTitle("x"));
    }
    assertThat(gate.state()).as("the trial window failed").isEqualTo(QualityGate.State.CLOSED);
    gate.reopen("ana");
    assertThat(gate.state()).isEqualTo(QualityGate.State.OPEN);
    assertThat(alerts.stream().toList().getLast().message()).contains("was reopened by ana");
  }

  @Test
  void aWindowEndsByTimeToo() {
    QualityGate<Listing> gate =
        gate()
            .window(Duration.ofSeconds(30), 1_000)
            .minRecords(5)
            .rule(Rule.length("title", "title", "[3, )").action(Action.CLOSE_GATE).mostly(0.5))
            .build();
    var t = StageTester.of(gate).clock(clock);
    for (int i = 0; i < 6; i++) {
      t.run(Listing.good("c" + i).withTitle("x"));
    }
    assertThat(gate.state()).isEqualTo(QualityGate.State.OPEN);
    clock.advance(Duration.ofSeconds(30));
    t.run(Listing.good("late"));
    assertThat(gate.state()).isEqualTo(QualityGate.State.CLOSED);
  }

  @Test
  void anInfoRuleNeverAlerts() {
    QualityGate<Listing> gate =
        gate()
            .window(Duration.ofMinutes(1), 10)
            .minRecords(10)
            .rule(Rule.length("title", "title", "[3, )").action(Action.TAG).severity(Severity.INFO))
            .build();
    var t = StageTester.of(gate).clock(clock);
    for (int i = 0; i < 25; i++) {
      t.run(Listing.good("c" + i).withTitle("x"));
    }
    assertThat(alerts).isEmpty();
    assertThat(gate.counts().failuresByRule()).containsEntry("title", 25L);
  }

  @Test
  void aVolumeRuleJudgesEachWindowsCount() {
    QualityGate<Listing> gate =
        gate().rule(Rule.volume("volume", "[5, 100]", "PT1M").severity(Severity.ERROR)).build();
    var t = StageTester.of(gate).clock(clock);
    for (int i = 0; i < 3; i++) {
      assertThat(t.run(Listing.good("v" + i)).isPassed()).isTrue();
    }
    clock.advance(Duration.ofMinutes(1));
    t.run(Listing.good("next-window"));
    assertThat(alerts).extracting(Alert::kind).containsExactly(Alert.Kind.QUALITY_RULE_FAILED);
    assertThat(alerts.peek().message())
        .contains("3 records reached stage")
        .contains("not in [5, 100]");
    for (int i = 0; i < 9; i++) {
      t.run(Listing.good("w" + i));
    }
    clock.advance(Duration.ofMinutes(1));
    t.run(Listing.good("third-window"));
    assertThat(alerts).hasSize(1);
  }

  @Test
  void manyWorkersCountEveryRecordOnce() throws Exception {
    QualityGate<Listing> gate =
        gate()
            .window(Duration.ofMinutes(1), 1_000)
            .rule(Rule.length("title", "title", "[3, )").action(Action.TAG).severity(Severity.INFO))
            .rule(Rule.unique("id", "id"))
            .build();
    int threads = 16;
    int each = 2_000;
    CountDownLatch start = new CountDownLatch(1);
    AtomicInteger deadLettered = new AtomicInteger();
    List<Thread> all = new ArrayList<>();
    for (int w = 0; w < threads; w++) {
      int worker = w;
      all.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      start.await();
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                      return;
                    }
                    for (int i = 0; i < each; i++) {
                      String id = worker + "-" + i;
                      Listing l = Listing.good(i % 100 == 0 ? "dup" : id);
                      try {
                        gate.process(
                            i % 2 == 0 ? l.withTitle("x") : l,
                            TestStageContext.builder()
                                .stage(StageName.VALIDATION)
                                .recordId(id)
                                .clock(clock)
                                .build());
                      } catch (QualityViolationException e) {
                        deadLettered.incrementAndGet();
                      }
                    }
                  }));
    }
    start.countDown();
    for (Thread t : all) {
      t.join();
    }
    GateCounts counts = gate.counts();
    assertThat(counts.records()).isEqualTo((long) threads * each);
    // 20 records per worker carry the id "dup": one of the 320 passes, the others are duplicates
    assertThat(deadLettered.get()).isEqualTo(threads * 20 - 1);
    assertThat(counts.deadLettered()).isEqualTo(threads * 20 - 1);
    assertThat(counts.failuresByRule()).containsEntry("title", (long) threads * each / 2);
  }

  @Test
  void inAPipelineAClosedGateHoldsRecordsUntilAnOperatorReopensIt() throws Exception {
    QualityGate<Listing> gate =
        QualityGate.of(Listing.class)
            .alerts(alerts::add)
            .window(Duration.ofDays(1), 10)
            .minRecords(10)
            .reopenAfter(Duration.ofDays(1))
            .holdFor(Duration.ofMillis(100))
            .rule(
                Rule.length("title", "title", "[3, )")
                    .action(Action.CLOSE_GATE)
                    .severity(Severity.ERROR)
                    .mostly(0.5))
            .build();
    List<Listing> input = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      input.add(i < 10 ? Listing.good("bad" + i).withTitle("x") : Listing.good("good" + i));
    }
    Queue<Envelope<Listing>> published = new ConcurrentLinkedQueue<>();
    try (Pipeline<Listing, Listing> pipeline =
        Pipeline.builder("held", Listing.class)
            .stage(StageName.of("quality"), gate, gate.options())
            .sink(published::addAll)
            .build()) {
      var run = pipeline.start(Source.of("listings", input.iterator()));
      long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
      while (pipeline.metrics().stage("quality").resilience().held() == 0) {
        assertThat(System.nanoTime()).as("records held within a minute").isLessThan(deadline);
        java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
      }
      assertThat(gate.state()).isEqualTo(QualityGate.State.CLOSED);
      assertThat(run.status()).as("held records keep the run going").isEqualTo(RunStatus.RUNNING);
      gate.reopen("ops");
      RunResult result = run.await();
      assertThat(result.published()).isEqualTo(40);
      assertThat(result.deadLettered()).isZero();
      assertThat(
              published.stream().filter(e -> e.metadata().containsKey(QualityGate.VIOLATIONS_KEY)))
          .hasSize(10);
      assertThat(alerts)
          .extracting(Alert::kind)
          .containsSubsequence(
              Alert.Kind.QUALITY_RULE_FAILED,
              Alert.Kind.QUALITY_GATE_CLOSED,
              Alert.Kind.QUALITY_GATE_REOPENED);
    }
  }

  @Test
  void inAPipelineTheGateDeadLettersFiltersAndTags() {
    QualityGate<Listing> gate =
        QualityGate.of(Listing.class)
            .rule(Rule.range("price", "price.amount", "[0, 1000000]"))
            .rule(Rule.inSet("currency", "price.currency", "EUR", "USD").action(Action.FILTER))
            .rule(Rule.length("title", "title", "[5, )").action(Action.TAG).severity(Severity.INFO))
            .build();
    Queue<Envelope<Listing>> published = new ConcurrentLinkedQueue<>();
    List<Listing> input =
        List.of(
            Listing.good("ok"),
            Listing.good("expensive").withPrice(new Listing.Price(5e6, "EUR")),
            Listing.good("yen").withPrice(new Listing.Price(5, "JPY")),
            Listing.good("short").withTitle("abc"));
    try (Pipeline<Listing, Listing> pipeline =
        Pipeline.builder("gated", Listing.class)
            .stage(StageName.VALIDATION, (Listing l) -> l)
            .stage(StageName.of("quality"), gate, gate.options())
            .sink(published::addAll)
            .build()) {
      RunResult result = pipeline.run(Source.of("listings", input.iterator()));
      assertThat(result.published()).isEqualTo(2);
      assertThat(result.filtered()).isEqualTo(1);
      assertThat(result.deadLettered()).isEqualTo(1);
      Envelope<Listing> tagged =
          published.stream()
              .filter(e -> e.payload().id().equals("short"))
              .findFirst()
              .orElseThrow();
      assertThat(tagged.metadata().get(QualityGate.VIOLATIONS_KEY)).contains("title has length 3");
      assertThat(pipeline.deadLetters().find(DeadLetterQuery.stage("quality")).items())
          .singleElement()
          .satisfies(
              d -> assertThat(d.lastError().message()).contains("price: price.amount '5000000.0'"));
    }
  }

  @Test
  void theQualityReportFindsAGateInsideARouteBranch() {
    // issue 13: the pipeline's own report looked only at its stages, so a gate in a route's branch
    // (where a gate checks the records of one kind) was missing from it
    QualityGate<Listing> gate =
        QualityGate.of(Listing.class)
            .rule(Rule.range("euro-price", "price.amount", "[0, 1000000]").action(Action.TAG))
            .build();
    dev.pipeline.Route<Listing, Listing> byCurrency =
        dev.pipeline.Route.builder(Listing.class, Listing.class)
            .when(
                l -> l.price().currency().equals("EUR"),
                dev.pipeline.Route.<Listing>branch(StageName.of("euro"))
                    .stage(StageName.of("euro-quality"), gate)
                    .join(Listing.class))
            .otherwise(
                dev.pipeline.Route.<Listing>branch(StageName.of("other")).join(Listing.class))
            .build();
    try (Pipeline<Listing, Listing> pipeline =
        Pipeline.builder("routed-gate", Listing.class)
            .stage(StageName.of("route"), byCurrency)
            .sink(records -> {})
            .build()) {
      pipeline.run(
          Source.of(
              "listings",
              List.of(
                      Listing.good("ok"),
                      Listing.good("expensive").withPrice(new Listing.Price(5e6, "EUR")),
                      Listing.good("yen").withPrice(new Listing.Price(5e6, "JPY")))
                  .iterator()));

      dev.pipeline.metrics.Report report = pipeline.qualityReport(Duration.ofHours(1));

      assertThat(report)
          .isInstanceOfSatisfying(
              dev.pipeline.quality.report.QualityReport.class,
              r ->
                  assertThat(r.ruleFailures())
                      .singleElement()
                      .satisfies(
                          f -> {
                            assertThat(f.ruleId()).isEqualTo("euro-price");
                            assertThat(f.checked()).as("the euro branch's records").isEqualTo(2);
                            assertThat(f.failed()).isEqualTo(1);
                          }));
    }
  }
}
