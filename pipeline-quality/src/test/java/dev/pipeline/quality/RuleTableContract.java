package dev.pipeline.quality;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Alert;
import dev.pipeline.StageName;
import dev.pipeline.testkit.ManualClock;
import dev.pipeline.testkit.StageTester;
import dev.pipeline.testkit.TestStageContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Rules kept in validation_rules: registered from code, edited by operators, polled, kept. */
abstract class RuleTableContract {
  private final ManualClock clock = ManualClock.create();
  private final Queue<Alert> alerts = new ConcurrentLinkedQueue<>();
  private RuleDatabase db;

  abstract RuleDatabase database();

  private RuleDatabase db() {
    if (db == null) {
      db = database();
    }
    return db;
  }

  @AfterEach
  void dropSchema() {
    if (db != null) {
      db.close();
    }
  }

  private QualityGate<Listing> gate(Rule... rules) {
    QualityGate.Builder<Listing> b =
        QualityGate.of(Listing.class)
            .clock(clock)
            .alerts(alerts::add)
            .pollEvery(Duration.ofSeconds(5))
            .table(db().table(), "listings", StageName.VALIDATION);
    for (Rule r : rules) {
      b.rule(r);
    }
    return b.build();
  }

  private static Rule priceRange() {
    return Rule.range("price-range", "price.amount", "[0, 500000]");
  }

  private static Listing priced(String id, double amount) {
    return Listing.good(id).withPrice(new Listing.Price(amount, "EUR"));
  }

  @Test
  void rulesOfCodeAreRegisteredInTheTableAtBuild() {
    gate(priceRange(), Rule.notNull("title", "title").severity(Severity.WARNING));
    List<List<Object>> rows =
        db().query(
                "SELECT rule_name, rule_type, field_path, validation_expression, severity,"
                    + " action_on_failure, version, changed_by FROM {s}.validation_rules"
                    + " WHERE pipeline = 'listings' AND stage_name = 'validation' ORDER BY rule_id");
    assertThat(rows)
        .containsExactly(
            List.of(
                "price-range",
                "RANGE",
                "price.amount",
                "[0, 500000]",
                "ERROR",
                "DEAD_LETTER",
                1L,
                "code"),
            List.of("title", "NOT_NULL", "title", "", "WARNING", "DEAD_LETTER", 1L, "code"));
    assertThat(
            db().query(
                    "SELECT rule_name, version FROM {s}.validation_rule_history ORDER BY rule_name"))
        .containsExactly(List.of("price-range", 1L), List.of("title", 1L));
  }

  @Test
  void anOperatorsEditTakesEffectAtTheNextPollAndIsKeptInTheHistory() {
    QualityGate<Listing> gate = gate(priceRange());
    var t = StageTester.of(gate).clock(clock);
    assertThat(t.run(priced("a", 300_000)).isPassed()).isTrue();
    db().update(
            "UPDATE {s}.validation_rules SET validation_expression = '[0, 100000]', version = version"
                + " + 1, changed_by = 'ana' WHERE rule_name = 'price-range'");
    assertThat(t.run(priced("b", 300_000)).isPassed()).as("before the poll").isTrue();
    clock.advance(Duration.ofSeconds(5));
    assertThat(t.run(priced("c", 300_000)).isFailed()).as("after the poll").isTrue();
    assertThat(gate.rules()).singleElement().extracting(Rule::expression).isEqualTo("[0, 100000]");
    List<StoredRule> history = db().table().history("listings", "validation", "price-range");
    assertThat(history).extracting(StoredRule::version).containsExactly(1L, 2L);
    assertThat(history).extracting(StoredRule::changedBy).containsExactly("code", "ana");
    assertThat(history.get(1).rule().expression()).isEqualTo("[0, 100000]");
  }

  @Test
  void manyWorkersPollingAtOnceTakeAnEditOnceAndKeepOneHistoryRowPerVersion() throws Exception {
    QualityGate<Listing> gate = gate(priceRange());
    db().update(
            "UPDATE {s}.validation_rules SET validation_expression = '[0, 10]'"
                + " WHERE rule_name = 'price-range'");
    clock.advance(Duration.ofSeconds(5));
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> workers = new ArrayList<>();
    for (int w = 0; w < 8; w++) {
      int worker = w;
      workers.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      start.await();
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                      return;
                    }
                    for (int i = 0; i < 50; i++) {
                      String id = worker + "-" + i;
                      try {
                        gate.process(
                            priced(id, 300),
                            TestStageContext.builder()
                                .stage(StageName.VALIDATION)
                                .recordId(id)
                                .clock(clock)
                                .build());
                      } catch (QualityViolationException expected) {
                        // after the poll the edited range fails the record
                      }
                    }
                  }));
    }
    start.countDown();
    for (Thread t : workers) {
      t.join();
    }
    assertThat(gate.rules()).singleElement().extracting(Rule::expression).isEqualTo("[0, 10]");
    assertThat(gate.counts().deadLettered()).isPositive();
    assertThat(db().query("SELECT version FROM {s}.validation_rules")).containsExactly(List.of(2L));
    assertThat(db().table().history("listings", "validation", "price-range"))
        .extracting(StoredRule::version)
        .containsExactly(1L, 2L);
  }

  @Test
  void anEditThatLeavesTheVersionAloneIsSeenAndGetsAVersion() {
    QualityGate<Listing> gate = gate(priceRange());
    db().update(
            "UPDATE {s}.validation_rules SET validation_expression = '[0, 10]'"
                + " WHERE rule_name = 'price-range'");
    gate.refresh();
    assertThat(StageTester.of(gate).clock(clock).run(priced("a", 300)).isFailed()).isTrue();
    assertThat(db().query("SELECT version FROM {s}.validation_rules")).containsExactly(List.of(2L));
    assertThat(db().table().history("listings", "validation", "price-range"))
        .extracting(StoredRule::version)
        .containsExactly(1L, 2L);
  }

  @Test
  void aHostileEditIsRefusedAndThePreviousVersionKept() {
    QualityGate<Listing> gate = gate(Rule.expression("sane", "quantity > 0"));
    db().update(
            "UPDATE {s}.validation_rules SET validation_expression ="
                + " 'java.lang.Runtime.getRuntime().exec(\"id\") == null', version = version + 1"
                + " WHERE rule_name = 'sane'");
    gate.refresh();
    gate.refresh(); // a refused version is refused once, not at every poll
    assertThat(gate.rules()).singleElement().extracting(Rule::expression).isEqualTo("quantity > 0");
    assertThat(db().query("SELECT version FROM {s}.validation_rules")).containsExactly(List.of(2L));
    var t = StageTester.of(gate).clock(clock);
    assertThat(t.run(Listing.good("a").withQuantity(0)).isFailed()).isTrue();
    assertThat(alerts)
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.kind()).isEqualTo(Alert.Kind.QUALITY_RULE_FAILED);
              assertThat(a.message())
                  .contains("refused the new version of rule 'sane'")
                  .contains("undeclared reference to 'java'");
            });
    db().update(
            "UPDATE {s}.validation_rules SET rule_type = 'EVAL', version = version + 1"
                + " WHERE rule_name = 'sane'");
    gate.refresh();
    assertThat(alerts.stream().toList().getLast().message())
        .contains("rule_type is one of [NOT_NULL, RANGE");
    assertThat(gate.rules()).singleElement().extracting(Rule::type).isEqualTo(RuleType.EXPRESSION);
  }

  @Test
  void anOversizedRowIsRefusedWithoutBeingReadAndThePreviousVersionKept() {
    QualityGate<Listing> gate = gate(priceRange());
    // a table widened by hand: the schema's own column holds at most 4,000 characters
    db().update(
            "ALTER TABLE {s}.validation_rules ALTER COLUMN parameters SET DATA TYPE"
                + " VARCHAR(1000000)");
    db().update(
            "UPDATE {s}.validation_rules SET parameters = ?, version = version + 1"
                + " WHERE rule_name = 'price-range'",
            "note=" + "x".repeat(999_000));
    gate.refresh();
    assertThat(gate.rules())
        .singleElement()
        .extracting(Rule::parameters)
        .isEqualTo(java.util.Map.of());
    assertThat(alerts)
        .singleElement()
        .extracting(Alert::message)
        .asString()
        .contains("rule 'price-range'")
        .contains("parameters takes 999,005 characters, more than 4,000");
    db().update(
            "UPDATE {s}.validation_rules SET parameters = '', validation_expression = ?,"
                + " version = version + 1 WHERE rule_name = 'price-range'",
            "[0, " + "9".repeat(20_000) + "]");
    gate.refresh();
    assertThat(alerts.stream().toList().getLast().message())
        .contains("validation_expression takes 20,005 characters, more than 10,000");
    assertThat(gate.rules()).singleElement().extracting(Rule::expression).isEqualTo("[0, 500000]");
  }

  @Test
  void anOperatorsEditSurvivesARestartUnlessTheCodeChanged() {
    gate(priceRange());
    db().table().save("listings", "validation", priceRange().action(Action.TAG), "ana");
    QualityGate<Listing> restarted = gate(priceRange());
    assertThat(restarted.rules()).singleElement().extracting(Rule::action).isEqualTo(Action.TAG);
    QualityGate<Listing> newCode = gate(priceRange().mostly(0.9));
    assertThat(newCode.rules())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.action()).isEqualTo(Action.DEAD_LETTER);
              assertThat(r.mostly()).isEqualTo(0.9);
            });
    assertThat(db().table().rules("listings", "validation"))
        .singleElement()
        .satisfies(
            s -> {
              assertThat(s.version()).isEqualTo(3);
              assertThat(s.changedBy()).isEqualTo("code");
            });
  }

  @Test
  void rulesAddedRemovedAndDisabledInTheTableAreFollowed() {
    QualityGate<Listing> gate = gate(priceRange());
    db().table().save("listings", "validation", Rule.length("title", "title", "[50, )"), "ana");
    gate.refresh();
    var t = StageTester.of(gate).clock(clock);
    assertThat(t.run(Listing.good("a")).failure().getMessage()).contains("title: title has length");
    db().update(
            "UPDATE {s}.validation_rules SET enabled = FALSE, version = version + 1 WHERE rule_name = 'title'");
    gate.refresh();
    assertThat(t.run(Listing.good("b")).isPassed()).isTrue();
    db().update("DELETE FROM {s}.validation_rules WHERE rule_name = 'price-range'");
    gate.refresh();
    assertThat(gate.rules()).extracting(Rule::name).containsExactly("title");
  }

  @Test
  void aBadRowFailsTheBuildNamingTheRuleAndTheFix() {
    gate(priceRange());
    db().update(
            "UPDATE {s}.validation_rules SET severity = 'LOUD' WHERE rule_name = 'price-range'");
    assertThatThrownBy(() -> gate(priceRange()))
        .isInstanceOf(InvalidRuleException.class)
        .hasMessageContaining("rule 'price-range' (row")
        .hasMessageContaining("severity one of [INFO, WARNING, ERROR]");
  }

  @Test
  void aMissingTableIsAClearError() {
    RuleTable elsewhere = RuleTable.on(db().dataSource).schema("nowhere_at_all").build();
    assertThatThrownBy(() -> elsewhere.rules("listings", "validation"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("does the database hold pipeline-jdbc's schema, version 6 or later?");
    assertThatThrownBy(() -> RuleTable.on(db().dataSource).schema("x; DROP TABLE y"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not a valid identifier");
  }
}
