package dev.pipeline.it;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Assumptions;

/** The databases the tests run on: an H2 file, and the PostgreSQL server CI provides. */
record Databases(String name, String url, String user, String schema) {

  static final String PG_URL =
      System.getenv()
          .getOrDefault("PIPELINE_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
  static final boolean PG_REQUIRED =
      Boolean.parseBoolean(System.getenv().getOrDefault("PIPELINE_REQUIRE_POSTGRES", "false"));

  static Databases h2(Path dir) {
    // WRITE_DELAY=0: a SIGKILL must not lose commits. H2's default (500 ms) loses them, and the
    // file it leaves can hold rows that stay locked after recovery, so a restarted worker hangs
    return new Databases(
        "h2",
        "jdbc:h2:file:" + dir.resolve("crash").toAbsolutePath() + ";WRITE_DELAY=0",
        "sa",
        "crash");
  }

  /** A fresh schema on PostgreSQL; skips (or fails in CI) if the server cannot be reached. */
  static Databases postgres() {
    try (Connection c = DriverManager.getConnection(PG_URL)) {
      c.isValid(2);
    } catch (SQLException e) {
      if (PG_REQUIRED) {
        throw new AssertionError(
            "PostgreSQL is required (PIPELINE_REQUIRE_POSTGRES=true) but "
                + PG_URL
                + " is not"
                + " reachable: "
                + e.getMessage(),
            e);
      }
      Assumptions.abort(
          "PostgreSQL not reachable at "
              + PG_URL
              + " ("
              + e.getMessage()
              + "); set"
              + " PIPELINE_PG_URL to run these tests");
    }
    String schema =
        "it_"
            + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36)
                .toLowerCase(Locale.ROOT);
    return new Databases("postgresql", PG_URL, "postgres", schema);
  }

  void dropSchema() throws SQLException {
    if (!name.equals("postgresql")) {
      return;
    }
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      // the schema name is generated above from [a-z0-9_] only
      s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    }
  }
}
