package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.LineageOutcome;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.TemplateEngine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A version 13 database holding lineage (packing 1 rows of {@code record_traces} and a version 8
 * row of {@code record_lineage}), upgraded to version 15 and given a packing 2 row there, opened by
 * the current store, is upgraded in place (version 16: no key, the writer's {@code trace_id}): the
 * old events read back as they were written, with the new ones after them, through {@code
 * lineage(recordId)} and (PostgreSQL) the view {@code record_lineage_events}; retention purges the
 * old rows. The old rows are written by plain SQL in their version's shape, as a store of that
 * version wrote them (their {@code trace_id} from the identity column), not by the current store.
 * On H2 and on the real PostgreSQL.
 */
class Version13LineageUpgradeTest {
  private static final String PIPELINE = "listings";
  private static final String PREFIX = "v13_";
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00.000001Z");

  private TestDatabase db;
  private Names names;
  private final List<JdbcPipelineStore> opened = new ArrayList<>();

  @AfterEach
  void closeAndDrop() {
    opened.forEach(JdbcPipelineStore::close);
    if (db != null) {
      db.drop();
    }
  }

  /** The events of "r1" a version 13 store wrote: one row of record_lineage, one packed row. */
  private static List<LineageEvent> oldEvents() {
    return List.of(
        new LineageEvent(
            "r1",
            "legacy",
            LineageOutcome.PASSED,
            T0,
            T0,
            1,
            7L,
            8L,
            "feed",
            null,
            0,
            null,
            null,
            null),
        new LineageEvent(
            "r1",
            "parsing",
            LineageOutcome.PASSED,
            T0.plusSeconds(1),
            T0.plusSeconds(2),
            1,
            -42L,
            Long.MIN_VALUE,
            "feed",
            null,
            0,
            "branch.x=a\tb",
            null,
            null,
            "lines:0:1"),
        new LineageEvent(
            "r1",
            "sink",
            LineageOutcome.DEAD_LETTER,
            T0.plusSeconds(3),
            T0.plusSeconds(4),
            3,
            Long.MIN_VALUE,
            null,
            "feed",
            null,
            0,
            null,
            "",
            "Boom: a | b\nc",
            null));
  }

  /** The events of "r1" a version 15 store wrote after those above: one row, packing 2. */
  private static List<LineageEvent> version15Events() {
    Instant at = T0.plusSeconds(5);
    return List.of(
        new LineageEvent(
            "r1",
            "tidy",
            LineageOutcome.PASSED,
            at,
            at.plusNanos(7_000),
            1,
            42L,
            43L,
            "feed",
            null,
            0,
            null,
            null,
            null,
            null),
        new LineageEvent(
            "r1",
            "enrich",
            LineageOutcome.PASSED,
            at.plusSeconds(1),
            at.plusSeconds(1).plusNanos(3_000),
            1,
            43L,
            null,
            "feed",
            null,
            0,
            null,
            null,
            null,
            null));
  }

  /** Every event written before the upgrade, in order. */
  private static List<LineageEvent> beforeUpgrade() {
    List<LineageEvent> all = new ArrayList<>(oldEvents());
    all.addAll(version15Events());
    return all;
  }

  /** The events appended after the upgrade: packed the new way, after the old ones. */
  private static List<LineageEvent> newEvents(Instant at) {
    return List.of(
        new LineageEvent(
            "r1",
            "again",
            LineageOutcome.SPLIT,
            at,
            at.plusMillis(2),
            2,
            Long.MIN_VALUE,
            -1L,
            "feed",
            null,
            2,
            null,
            "rule=x|y",
            null,
            ""),
        new LineageEvent(
            "r1",
            "sink",
            LineageOutcome.DEGRADED,
            at.plusMillis(3),
            at.plusMillis(3),
            1,
            -1L,
            0L,
            "feed",
            null,
            0,
            null,
            null,
            null,
            null));
  }

  private static long micros(Instant t) {
    return ChronoUnit.MICROS.between(Instant.EPOCH, t);
  }

  private void createVersion13(TestDatabase database) {
    db = database;
    names = new Names(db.schema, PREFIX);
    Jdbi jdbi = Jdbi.create(db.url);
    jdbi.setTemplateEngine(TemplateEngine.NOP);
    try (Handle h = jdbi.open()) {
      Migrator.migrate(h, db.postgres ? Dialect.POSTGRESQL : Dialect.H2, names, "v13", true, 13);
    }
    db.update(
        "INSERT INTO "
            + names.lineage()
            + " (pipeline, record_id, stage_name, outcome, entered_at, left_at, attempts,"
            + " input_hash, output_hash, source_id, parent_id, children)"
            + " VALUES (?, 'r1', 'legacy', 'PASSED', ?, ?, 1, 7, 8, 'feed', NULL, 0)",
        PIPELINE,
        Timestamp.from(T0),
        Timestamp.from(T0));
    String packed =
        String.join(
                "\t",
                "parsing",
                "PASSED",
                Long.toString(micros(T0.plusSeconds(1))),
                Long.toString(micros(T0.plusSeconds(2))),
                "1",
                "-42",
                Long.toString(Long.MIN_VALUE),
                "0",
                "branch.x=a\\tb",
                "\\N",
                "\\N",
                "lines:0:1")
            + "\n"
            + String.join(
                "\t",
                "sink",
                "DEAD_LETTER",
                Long.toString(micros(T0.plusSeconds(3))),
                Long.toString(micros(T0.plusSeconds(4))),
                "3",
                Long.toString(Long.MIN_VALUE),
                "\\N",
                "0",
                "\\N",
                "",
                "Boom: a | b\\nc",
                "\\N");
    String insertTrace =
        "INSERT INTO "
            + names.traces()
            + " (pipeline, record_id, source_id, parent_id, first_at, last_at, event_count, events)"
            + " VALUES (?, ?, 'feed', NULL, ?, ?, ?, ?)";
    db.update(
        insertTrace,
        PIPELINE,
        "r1",
        Timestamp.from(T0.plusSeconds(1)),
        Timestamp.from(T0.plusSeconds(4)),
        2,
        packed);
    try (Handle h = jdbi.open()) {
      Migrator.migrate(h, db.postgres ? Dialect.POSTGRESQL : Dialect.H2, names, "v15", true, 15);
    }
    db.update(
        "INSERT INTO "
            + names.traces()
            + " (pipeline, record_id, source_id, parent_id, first_at, last_at, event_count,"
            + " packing, events) VALUES (?, 'r1', 'feed', NULL, ?, ?, 2, 2, ?)",
        PIPELINE,
        Timestamp.from(T0.plusSeconds(5)),
        Timestamp.from(T0.plusSeconds(6).plusNanos(3_000)),
        "tidy|P|0|7||2a|2b\nenrich|P|1000000|1000003");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void lineageWrittenAtVersion13IsReadWithTheNewPackingsAfterTheUpgradeAndPurged(String kind) {
    createVersion13(kind.equals("h2") ? TestDatabase.h2("upgrade") : TestDatabase.postgres("up"));
    JdbcPipelineStore store =
        db.builder()
            .tablePrefix(PREFIX)
            .workerId("current")
            .retainCompleted(Duration.ofDays(1))
            .build();
    opened.add(store);
    assertThat(db.count("SELECT MAX(version) FROM " + names.schemaVersion()))
        .isEqualTo(Migrator.latest());

    assertThat(store.lineage(PIPELINE, "r1"))
        .as("the version 13 and 15 events, read as they were written")
        .containsExactlyElementsOf(beforeUpgrade());
    assertThat(
            db.count(
                "SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS WHERE"
                    + " LOWER(TABLE_SCHEMA) = ? AND LOWER(TABLE_NAME) = ?"
                    + " AND CONSTRAINT_TYPE = 'PRIMARY KEY'",
                db.schema.toLowerCase(Locale.ROOT),
                PREFIX + "record_traces"))
        .as("record_traces has no primary key since version 16")
        .isZero();
    assertThat(
            db.count(
                "SELECT COUNT(*) FROM INFORMATION_SCHEMA.COLUMNS WHERE LOWER(TABLE_SCHEMA) = ?"
                    + " AND LOWER(TABLE_NAME) = ? AND LOWER(COLUMN_NAME) = 'trace_id'"
                    + " AND IS_IDENTITY = 'NO' AND IS_NULLABLE = 'NO'",
                db.schema.toLowerCase(Locale.ROOT),
                PREFIX + "record_traces"))
        .as("trace_id is set by the writer, never empty")
        .isEqualTo(1);

    Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
    store.appendLineage(PIPELINE, newEvents(now));
    List<LineageEvent> all = new ArrayList<>(beforeUpgrade());
    all.addAll(newEvents(now));
    assertThat(store.lineage(PIPELINE, "r1")).containsExactlyElementsOf(all);
    assertThat(
            db.query(
                "SELECT packing, event_count FROM "
                    + names.traces()
                    + " WHERE pipeline = ? ORDER BY trace_id",
                PIPELINE))
        .extracting(r -> ((Number) r.get(0)).intValue() + ":" + ((Number) r.get(1)).intValue())
        .as("the old rows keep their packing and order; the new one comes after them")
        .containsExactly("1:2", "2:2", "2:2");

    if (db.postgres) {
      assertThat(
              db.query(
                  "SELECT stage_name, outcome, entered_at, left_at, attempts, input_hash,"
                      + " output_hash, source_id, children, branch, verdicts, detail, position"
                      + " FROM "
                      + names.table("record_lineage_events")
                      + " WHERE pipeline = ? AND record_id = 'r1' ORDER BY trace_id, event_no",
                  PIPELINE))
          .as("the view: one row per event of every packing, text as packed")
          .extracting(
              r -> {
                List<Object> values = new ArrayList<>(r);
                values.set(2, ((Timestamp) r.get(2)).toInstant());
                values.set(3, ((Timestamp) r.get(3)).toInstant());
                return values.toString();
              })
          .containsExactly(
              "[legacy, PASSED, " + T0 + ", " + T0 + ", 1, 7, 8, feed, 0, null, null, null, null]",
              "[parsing, PASSED, "
                  + T0.plusSeconds(1)
                  + ", "
                  + T0.plusSeconds(2)
                  + ", 1, -42, "
                  + Long.MIN_VALUE
                  + ", feed, 0, branch.x=a\\tb, null, null, lines:0:1]",
              "[sink, DEAD_LETTER, "
                  + T0.plusSeconds(3)
                  + ", "
                  + T0.plusSeconds(4)
                  + ", 3, "
                  + Long.MIN_VALUE
                  + ", null, feed, 0, null, , Boom: a | b\\nc, null]",
              "[tidy, PASSED, "
                  + T0.plusSeconds(5)
                  + ", "
                  + T0.plusSeconds(5).plusNanos(7_000)
                  + ", 1, 42, 43, feed, 0, null, null, null, null]",
              "[enrich, PASSED, "
                  + T0.plusSeconds(6)
                  + ", "
                  + T0.plusSeconds(6).plusNanos(3_000)
                  + ", 1, 43, null, feed, 0, null, null, null, null]",
              "[again, SPLIT, "
                  + now
                  + ", "
                  + now.plusMillis(2)
                  + ", 2, "
                  + Long.MIN_VALUE
                  + ", -1, feed, 2, null, rule=x\\py, null, ]",
              "[sink, DEGRADED, "
                  + now.plusMillis(3)
                  + ", "
                  + now.plusMillis(3)
                  + ", 1, -1, 0, feed, 0, null, null, null, null]");
    }

    store.purge();
    assertThat(store.lineage(PIPELINE, "r1"))
        .as("the version 13 rows are past their retention, the new ones not")
        .containsExactlyElementsOf(newEvents(now));
  }
}
