package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A migration script's statements run as they are written, on H2 and on the real PostgreSQL:
 * backslashes, a backslash before a quote, {@code :name} and {@code ?} in text reach the database
 * unchanged (Jdbi's SQL parser, which scripts went through before, read them as escapes and
 * parameters), and a failing statement names its script and its place in it.
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
}
