package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Statement;
import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A migration script's statements run as they are written, on H2 and on the real PostgreSQL:
 * backslashes, a backslash before a quote, {@code :name} and {@code ?} in text reach the database
 * unchanged (Jdbi's SQL parser, which scripts went through before, read them as escapes and
 * parameters), and a failing statement names its script and its place in it. On H2, whose DDL
 * commits at once, a script a crash left part way is resumed, not run again from its start.
 */
class MigratorTest {
  private static final Migrator.Migration TEST = new Migrator.Migration(99, "test", "V99__t.sql");

  private TestDatabase db;

  @AfterEach
  void drop() {
    if (db != null) {
      db.drop();
    }
  }

  private TestDatabase open(String kind) {
    db = kind.equals("h2") ? TestDatabase.h2("migrator") : TestDatabase.postgres("migrator");
    return db;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void statementsReachTheDatabaseAsWritten(String kind) {
    TestDatabase d = open(kind);
    String table = d.table("m_text");
    String script =
        """
        -- a comment line, dropped
        CREATE SCHEMA IF NOT EXISTS %s;
        CREATE TABLE %s (n INT, v VARCHAR(100));
        INSERT INTO %s (n, v) VALUES (1, 'x\\\\y'), (2, 'p\\'), (3, ':name ? {fn now()}');
        """
            .formatted(d.schema, table, table);
    try (Handle h = Jdbi.create(d.url).open()) {
      h.useTransaction(
          t -> Migrator.run(t, new Names(d.schema, ""), TEST, Migrator.statements(script)));
    }

    assertThat(d.query("SELECT v FROM " + table + " ORDER BY n"))
        .containsExactly(List.of("x\\\\y"), List.of("p\\"), List.of(":name ? {fn now()}"));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void aFailingStatementNamesItsScriptAndPlace(String kind) {
    TestDatabase d = open(kind);
    List<String> statements =
        List.of(
            "CREATE SCHEMA IF NOT EXISTS " + d.schema,
            "CREATE TABLE " + d.table("m_bad") + " (n INT)",
            "INSERT INTO " + d.table("m_bad") + " (missing) VALUES (1)");
    try (Handle h = Jdbi.create(d.url).open()) {
      assertThatThrownBy(
              () ->
                  h.useTransaction(t -> Migrator.run(t, new Names(d.schema, ""), TEST, statements)))
          .isInstanceOf(JdbcStoreException.class)
          .hasMessageContaining("migration V99 (V99__t.sql)")
          .hasMessageContaining("failed at its statement 3 of 3")
          .hasMessageContaining("the next start runs the script again")
          .satisfies(e -> assertThat(((JdbcStoreException) e).sqlState()).isNotBlank());
    }
  }

  // V3 renames pipeline_status to pipeline_records in its first statement: run again from its start
  // after a crash that ran it, it fails
  private static final Migrator.Migration V3 = Migrator.MIGRATIONS.get(2);

  private static final String THREE_TABLES =
      """
      CREATE TABLE ${schema}.${prefix}m_a (n INT);
      CREATE TABLE ${schema}.${prefix}m_b (n INT);
      CREATE TABLE ${schema}.${prefix}m_c (n INT);
      """;

  // the names of the H2 database h2At made
  private Names names;

  /** A fresh H2 database migrated to {@code version}, and a handle on it the caller closes. */
  private Handle h2At(int version) {
    TestDatabase d = open("h2");
    names = new Names(d.schema, "");
    Handle h = Jdbi.create(d.url).open();
    Migrator.migrate(h, Dialect.H2, names, "w", true, version);
    return h;
  }

  private void migrateToTheLatest(Handle h) {
    Migrator.migrate(h, Dialect.H2, names, "w", true);
  }

  /** Runs statements on the handle's connection as written, as a crash left their work. */
  private static void execute(Handle h, String... sql) throws Exception {
    try (Statement s = h.getConnection().createStatement()) {
      s.setEscapeProcessing(false);
      for (String statement : sql) {
        s.execute(statement);
      }
    }
  }

  private long count(String from) {
    return db.count("SELECT COUNT(*) FROM " + from);
  }

  private void assertAtTheLatest() {
    assertThat(count(names.schemaVersion())).isEqualTo(Migrator.MIGRATIONS.size());
  }

  @Test
  void aScriptACrashLeftPartWayOnH2ResumesAfterItsLastNotedStatement() throws Exception {
    try (Handle h = h2At(2)) {
      // the crash came once statement 3 was noted and statement 4 had run, before its note
      ranAndNoted(h, names, 3, Migrator.script(Dialect.H2, V3), 4, 3);
      migrateToTheLatest(h);
    }
    assertAtTheLatest();
    assertThat(count(names.schemaProgress())).isZero();
    assertThat(count(names.table("pipeline_records"))).isZero();
  }

  @Test
  void theStatementAfterTheLastNoteCountsAsDoneWhenWhatItMakesIsThere() throws Exception {
    try (Handle h = h2At(1)) {
      // the crash came once m_a was noted and m_b made, before its note
      ranAndNoted(h, names, 99, THREE_TABLES, 2, 1);
      Migrator.applyResumably(h, names, "w", TEST, THREE_TABLES, 1L);
    }
    assertThat(count(names.table("m_c"))).isZero();
    assertThat(count(names.schemaVersion() + " WHERE version = 99")).isEqualTo(1);
  }

  @Test
  void onlyTheStatementAfterTheLastNoteIsTakenAsHavingRun() throws Exception {
    try (Handle h = h2At(1)) {
      // two statements ran and none was noted: no crash leaves that, so the second one's failure
      // is the script's own, and stops it
      ranAndNoted(h, names, 99, THREE_TABLES, 2, 0);
      assertThatThrownBy(() -> Migrator.applyResumably(h, names, "w", TEST, THREE_TABLES, 1L))
          .isInstanceOf(JdbcStoreException.class)
          .hasMessageContaining("failed at its statement 2 of 3");
    }
  }

  @Test
  void aTableACrashLeftAsH2sRebuiltCopyIsPutBackWithItsRows() throws Exception {
    try (Handle h = h2At(6)) {
      // V7 adds columns to pipeline_metrics; H2 copies the table to rebuild it, and a crash after
      // it dropped the table and before it renamed the copy leaves only the copy, with the rows
      execute(
          h,
          "INSERT INTO "
              + names.table("pipeline_metrics")
              + " (pipeline, stage_name, window_start, window_end) VALUES ('p', 's',"
              + " TIMESTAMP WITH TIME ZONE '2026-01-01 00:00:00Z',"
              + " TIMESTAMP WITH TIME ZONE '2026-01-01 00:01:00Z')",
          "ALTER TABLE "
              + names.table("pipeline_metrics")
              + " RENAME TO "
              + names.prefix()
              + "pipeline_metrics_COPY_3_8");
      migrateToTheLatest(h);
    }
    assertThat(count(names.table("pipeline_metrics"))).isEqualTo(1);
    assertAtTheLatest();
  }

  @Test
  void anUnfinishedCopyBesideItsWholeTableIsDropped() throws Exception {
    try (Handle h = h2At(6)) {
      // the crash came while H2 filled the copy, before it dropped the table
      execute(
          h,
          "CREATE TABLE "
              + names.table("pipeline_metrics")
              + "_COPY_3_8 AS SELECT * FROM "
              + names.table("pipeline_metrics"));
      migrateToTheLatest(h);
    }
    assertAtTheLatest();
    assertThat(count("INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME LIKE '%\\_COPY\\_%' ESCAPE '\\'"))
        .isZero();
  }

  @Test
  void copiesOfTablesNotTheStoresAreLeftAlone() throws Exception {
    try (Handle h = h2At(6)) {
      // the application's own tables in the same schema, one a backup named like H2's copies
      execute(
          h,
          "CREATE TABLE " + names.table("orders") + " (n INT)",
          "CREATE TABLE " + names.table("orders_COPY_1_2") + " (n INT)",
          "CREATE TABLE " + names.table("invoices_COPY_1_2") + " (n INT)");
      migrateToTheLatest(h);
    }
    assertThat(count(names.table("orders_COPY_1_2"))).isZero();
    assertThat(count(names.table("invoices_COPY_1_2"))).isZero();
  }

  /**
   * Runs a script's first {@code ran} statements and notes {@code noted} of them done for its
   * version, as a crash left it.
   */
  private static void ranAndNoted(
      Handle h, Names names, int version, String script, int ran, int noted) throws Exception {
    List<String> statements = Migrator.statements(names.fill(script));
    execute(
        h,
        "CREATE TABLE IF NOT EXISTS "
            + names.schemaProgress()
            + " (version INT PRIMARY KEY, statements_done INT NOT NULL)");
    execute(h, statements.subList(0, ran).toArray(String[]::new));
    if (noted > 0) {
      execute(
          h, "INSERT INTO " + names.schemaProgress() + " VALUES (" + version + ", " + noted + ")");
    }
  }
}
