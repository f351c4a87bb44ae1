package dev.pipeline.jdbc;

import static org.junit.jupiter.api.Assertions.fail;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Assumptions;

/**
 * A database for tests: H2 in memory, or the real PostgreSQL (PIPELINE_PG_URL, by default
 * jdbc:postgresql://127.0.0.1:5432/test?user=postgres), each test class in a fresh schema of its
 * own, dropped afterwards. Without PostgreSQL its tests are skipped with a message, unless
 * PIPELINE_REQUIRE_POSTGRES=true, which makes them fail.
 */
final class TestDatabase {
  static final String DEFAULT_PG_URL = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";

  final String url;
  final String schema;
  final boolean postgres;

  private TestDatabase(String url, String schema, boolean postgres) {
    this.url = url;
    this.schema = schema;
    this.postgres = postgres;
  }

  static TestDatabase h2(String name) {
    String unique = name.toLowerCase(Locale.ROOT) + "_" + suffix();
    return new TestDatabase("jdbc:h2:mem:" + unique + ";DB_CLOSE_DELAY=-1", "s_" + unique, false);
  }

  /** A database at a given URL, its schema given. */
  static TestDatabase of(String url, String schema) {
    return new TestDatabase(url, schema, url.startsWith("jdbc:postgresql:"));
  }

  static TestDatabase postgres(String name) {
    String url = pgUrl();
    requirePostgres(url);
    return new TestDatabase(url, "t_" + name.toLowerCase(Locale.ROOT) + "_" + suffix(), true);
  }

  static String pgUrl() {
    String url = System.getenv("PIPELINE_PG_URL");
    return url == null || url.isBlank() ? DEFAULT_PG_URL : url;
  }

  /** Skips (or fails, if PIPELINE_REQUIRE_POSTGRES=true) when PostgreSQL cannot be reached. */
  static void requirePostgres(String url) {
    DriverManager.setLoginTimeout(5);
    try (Connection c = DriverManager.getConnection(url)) {
      c.isValid(5);
    } catch (SQLException e) {
      String message =
          "PostgreSQL is not reachable at "
              + url
              + " ("
              + e.getMessage()
              + "); start it (pg_ctlcluster <version> main start) or set PIPELINE_PG_URL";
      if ("true".equalsIgnoreCase(System.getenv("PIPELINE_REQUIRE_POSTGRES"))) {
        fail(message + " -- PIPELINE_REQUIRE_POSTGRES=true, so this fails instead of skipping");
      }
      Assumptions.abort(message + " -- skipped; set PIPELINE_REQUIRE_POSTGRES=true to fail");
    }
  }

  private static String suffix() {
    return Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
  }

  JdbcPipelineStoreBuilder builder() {
    return JdbcPipelineStore.builder().jdbcUrl(url, null, null).schema(schema);
  }

  String table(String base) {
    return schema + "." + base;
  }

  Connection connect() throws SQLException {
    return DriverManager.getConnection(url);
  }

  int update(String sql, Object... args) {
    try (Connection c = connect();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      return ps.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  List<List<Object>> query(String sql, Object... args) {
    try (Connection c = connect();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      List<List<Object>> rows = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        int columns = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          List<Object> row = new ArrayList<>();
          for (int i = 1; i <= columns; i++) {
            row.add(rs.getObject(i));
          }
          rows.add(row);
        }
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  long count(String sql, Object... args) {
    return ((Number) query(sql, args).get(0).get(0)).longValue();
  }

  /** Ends every lease of the pipeline's records in flight, in rows and in batches. */
  int expireLeases(String pipeline) {
    return update(
            "UPDATE "
                + table("pipeline_records")
                + " SET lease_expires_at = CURRENT_TIMESTAMP - INTERVAL '1' HOUR"
                + " WHERE pipeline = ? AND status = 'IN_PROGRESS'",
            pipeline)
        + update(
            "UPDATE "
                + table("pipeline_batches")
                + " SET lease_expires_at = CURRENT_TIMESTAMP - INTERVAL '1' HOUR"
                + " WHERE pipeline = ? AND state = 'OPEN'",
            pipeline);
  }

  void drop() {
    try (Connection c = connect();
        Statement s = c.createStatement()) {
      s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    } catch (SQLException e) {
      throw new IllegalStateException("could not drop schema " + schema, e);
    }
  }

  /** Polls until the condition holds, failing after the deadline. */
  static void await(Duration deadline, String what, BooleanSupplier condition) {
    long end = System.nanoTime() + deadline.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        fail("timed out after " + deadline + " waiting for " + what);
      }
      try {
        TimeUnit.MILLISECONDS.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail("interrupted waiting for " + what);
      }
    }
  }
}
