package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
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
 * Schema version 18 hands out H2's identity values in blocks of 10,000 (each new block wrote the
 * whole store to the file): a version 13 database with error rows, opened by the current store,
 * goes on numbering after its rows, so a record's errors still read back in the order written. On
 * H2 and on the real PostgreSQL, whose sequences the script leaves as they were.
 */
class IdentityCacheUpgradeTest {
  private static final String PREFIX = "v13_";
  private static final String PIPELINE = "listings";

  /** The identity columns the script changes, by table. */
  private static final List<String[]> COLUMNS =
      List.of(
          new String[] {"pipeline_errors", "error_id"},
          new String[] {"processing_logs", "log_id"},
          new String[] {"record_traces", "trace_id"},
          new String[] {"retry_queue", "queue_id"},
          new String[] {"pipeline_metrics", "metric_id"});

  private TestDatabase db;
  private JdbcPipelineStore store;

  @AfterEach
  void closeAndDrop() {
    if (store != null) {
      store.close();
    }
    if (db != null) {
      db.drop();
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void errorsWrittenAcrossTheUpgradeKeepTheirOrder(String kind) {
    db = kind.equals("h2") ? TestDatabase.h2("identity") : TestDatabase.postgres("identity");
    Names names = new Names(db.schema, PREFIX);
    Jdbi jdbi = Jdbi.create(db.url);
    jdbi.setTemplateEngine(TemplateEngine.NOP);
    try (Handle h = jdbi.open()) {
      Migrator.migrate(
          h, db.postgres ? Dialect.POSTGRESQL : Dialect.H2, names, "v13-worker", true, 13);
    }
    for (int attempt = 1; attempt <= 3; attempt++) {
      error(names, attempt);
    }

    store = db.builder().tablePrefix(PREFIX).build();
    assertThat(db.count("SELECT MAX(version) FROM " + names.schemaVersion()))
        .isEqualTo(Migrator.latest());
    for (int attempt = 4; attempt <= 6; attempt++) {
      error(names, attempt);
    }

    List<Object> attempts = new ArrayList<>();
    for (List<Object> row :
        db.query(
            "SELECT attempt FROM " + names.errors() + " WHERE record_id = ? ORDER BY error_id",
            "r-1")) {
      attempts.add(((Number) row.get(0)).intValue());
    }
    assertThat(attempts)
        .as("ids given after the upgrade follow those given before it")
        .containsExactly(1, 2, 3, 4, 5, 6);

    for (String[] column : COLUMNS) {
      long cache =
          db.postgres
              ? db.count(
                  "SELECT cache_size FROM pg_sequences WHERE schemaname = ? AND sequencename ="
                      + " ?",
                  db.schema,
                  PREFIX + column[0] + "_" + column[1] + "_seq")
              : db.count(
                  "SELECT identity_cache FROM information_schema.columns WHERE table_schema = ?"
                      + " AND table_name = ? AND column_name = ?",
                  db.schema.toUpperCase(Locale.ROOT),
                  (PREFIX + column[0]).toUpperCase(Locale.ROOT),
                  column[1].toUpperCase(Locale.ROOT));
      assertThat(cache)
          .as("cache of %s.%s", column[0], column[1])
          .isEqualTo(db.postgres ? 1 : 10_000);
    }
  }

  private void error(Names names, int attempt) {
    db.update(
        "INSERT INTO "
            + names.errors()
            + " (pipeline, record_id, stage_name, error_type, exception_class, error_message,"
            + " stack_trace, attempt, occurred_at) VALUES (?, ?, 'cleaning', 'IllegalStateException',"
            + " 'java.lang.IllegalStateException', 'no price', 'java.lang.IllegalStateException:"
            + " no price', ?, ?)",
        PIPELINE,
        "r-1",
        attempt,
        OffsetDateTime.ofInstant(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC)
            .plusSeconds(attempt));
  }
}
