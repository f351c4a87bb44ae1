package dev.pipeline.quality;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Alert;
import dev.pipeline.quality.drift.Baseline;
import dev.pipeline.quality.drift.DriftLevel;
import dev.pipeline.quality.drift.DriftMonitor;
import dev.pipeline.quality.drift.FieldProfiler;
import dev.pipeline.quality.drift.WindowDrift;
import dev.pipeline.quality.drift.WindowProfile;
import dev.pipeline.testkit.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** Drift baselines kept in drift_baselines: pinned by one run, loaded by the next. */
abstract class BaselineTableContract extends DatabaseContract {
  record Item(@Nullable Double price, String currency) {}

  private final ManualClock clock = ManualClock.create();

  private BaselineTable table() {
    return BaselineTable.on(db().dataSource).schema(db().schema).clock(clock).build();
  }

  /** A run's profile of 1,000 items: prices scaled by {@code scale}, mostly euros. */
  private WindowProfile run(double scale, long seed) {
    FieldProfiler<Item> profiler =
        FieldProfiler.<Item>builder("extraction")
            .clock(clock)
            .window(Duration.ofHours(1))
            .number("price", Item::price)
            .category("currency", Item::currency)
            .build();
    Random random = new Random(seed);
    for (int i = 0; i < 1_000; i++) {
      profiler.observe(
          new Item(scale * (10 + random.nextInt(90)), random.nextInt(10) == 0 ? "USD" : "EUR"));
    }
    clock.advance(Duration.ofHours(2));
    return profiler.roll();
  }

  @Test
  void aBaselinePinnedByOneRunIsWhatTheNextRunComparesWith() {
    WindowProfile good = run(1.0, 1);
    table().pin("listings", "june", good, "ana");

    // a new run, a new accessor: only the database remembers
    List<Alert> alerts = new ArrayList<>();
    Baseline stored = table().baseline("listings", "extraction", "june", Baseline.rolling(3));
    assertThat(stored.toString()).startsWith("pinned");
    DriftMonitor monitor =
        DriftMonitor.builder("listings").baseline(stored).alerts(alerts::add).build();

    WindowDrift same = monitor.check(run(1.0, 2));
    assertThat(same.level()).isEqualTo(DriftLevel.NONE);
    WindowDrift tripled = monitor.check(run(3.0, 3));
    assertThat(tripled.level())
        .as("the first window of the run is judged against June, not against nothing")
        .isEqualTo(DriftLevel.ALERT);
    assertThat(alerts).extracting(Alert::kind).containsOnly(Alert.Kind.DATA_DRIFT).isNotEmpty();
  }

  @Test
  void pinningAgainUnderTheSameNameReplacesAndOtherNamesStayApart() {
    table().pin("listings", "june", run(1.0, 1), "ana");
    table().pin("listings", "june", run(2.0, 2), "bo");
    table().pin("listings", "july", run(5.0, 3), "bo");
    table().pin("other", "june", run(7.0, 4), "bo");

    assertThat(db().query("SELECT COUNT(*) FROM {s}.drift_baselines").get(0).get(0))
        .asString()
        .isEqualTo("3");
    WindowProfile june = table().load("listings", "extraction", "june").orElseThrow();
    assertThat(june.fields().get("price").max()).isBetween(2.0 * 90, 2.0 * 100);
    assertThat(
            db().query(
                    "SELECT pinned_by FROM {s}.drift_baselines WHERE pipeline = 'listings'"
                        + " AND baseline_name = 'june'")
                .get(0)
                .get(0))
        .isEqualTo("bo");
    assertThat(table().load("listings", "extraction", "august")).isEmpty();
    assertThat(table().load("listings", "validation", "june")).isEmpty();
    assertThat(table().baseline("listings", "extraction", "august", Baseline.rolling(3)).toString())
        .isEqualTo("rolling over 3 windows");
  }

  @Test
  void theRowHoldsJsonTextAndARowEditedIntoNonsenseIsRefusedByName() {
    table().pin("listings", "june", run(1.0, 1), "ana");
    String text =
        (String)
            db().query("SELECT CAST(profile AS VARCHAR(100)) FROM {s}.drift_baselines")
                .get(0)
                .get(0);
    assertThat(text).startsWith("{\"format\":1,\"stage\":\"extraction\"");

    db().update("UPDATE {s}.drift_baselines SET profile = ?", "{\"format\":1,\"fields\":7}");
    assertThatThrownBy(() -> table().load("listings", "extraction", "june"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("baseline 'june' of stage 'extraction'")
        .hasMessageContaining("'fields' must be a list")
        .hasMessageContaining("pin it again");
  }

  @Test
  void namesAreBoundedAndAMissingTableSaysWhichSchemaVersionItNeeds() {
    WindowProfile profile = run(1.0, 1);
    assertThatThrownBy(() -> table().pin("listings", "x".repeat(201), profile, "ana"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 to 200 characters");
    assertThatThrownBy(() -> table().pin("listings", " ", profile, "ana"))
        .hasMessageContaining("not blank");
    BaselineTable elsewhere = BaselineTable.on(db().dataSource).schema("no_such_schema").build();
    assertThatThrownBy(() -> elsewhere.load("listings", "extraction", "june"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("drift_baselines")
        .hasMessageContaining("version 10 or later");
    assertThatThrownBy(() -> BaselineTable.on(db().dataSource).schema("x; DROP TABLE y"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a valid identifier");
  }
}
