package dev.pipeline.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pipeline.SafeText;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.jdbc.JdbcPipelineStoreBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * A fresh database for one measured run: an H2 file database in a temporary directory, or a new
 * schema on PostgreSQL; {@link #close()} deletes it (the directory, or {@code DROP SCHEMA ...
 * CASCADE}). Its pool is made like the one {@link JdbcPipelineStore} makes for itself (10
 * connections, autocommit, plus one for the store's heartbeat), and its connections are counted
 * unless it was made {@link #uncounted}.
 *
 * <p>Not thread-safe.
 */
final class BenchDatabase implements AutoCloseable {
  /** PostgreSQL of the targets: PIPELINE_PG_URL, as in the tests, else the local one. */
  static final String PG_URL = pgUrl();

  static final String PIPELINE_TABLE = "pipeline_status";

  /**
   * The table of full record rows (schema version 3; {@link #PIPELINE_TABLE} is a view over it and
   * the batch ledger), which the raw JDBC loop writes as rows from ingest would.
   */
  static final String RECORDS_TABLE = "pipeline_records";

  /** Which database. */
  enum Kind {
    H2,
    POSTGRES;

    String label() {
      return this == H2 ? "H2 file" : "PostgreSQL";
    }
  }

  final Kind kind;
  private final String url;
  private final @Nullable String schema;
  private final @Nullable Path directory;
  private final HikariDataSource pool;
  final CountingDataSource counter = new CountingDataSource();

  /**
   * Whether the store's and {@link #dataSource()}'s round trips go through {@link #counter}: a
   * proxy per connection and statement, which costs every JDBC call a few microseconds (reflection,
   * two clock reads), so a system making more calls pays more of it. Scenarios that report no round
   * trips leave it out.
   */
  private boolean counted = true;

  private BenchDatabase(Kind kind, String url, @Nullable String schema, @Nullable Path directory) {
    this.kind = kind;
    this.url = url;
    this.schema = schema;
    this.directory = directory;
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setMaximumPoolSize(11);
    config.setMinimumIdle(2);
    config.setAutoCommit(true);
    config.setPoolName("bench-" + kind.name().toLowerCase(Locale.ROOT));
    // no session settings, as the store's own pools (see JdbcPipelineStoreBuilder.dataSource)
    this.pool = new HikariDataSource(config);
  }

  /** A fresh database of the given kind. */
  static BenchDatabase create(Kind kind) throws IOException {
    if (kind == Kind.H2) {
      Path dir = Files.createTempDirectory("pipeline-bench-h2");
      // as JdbcPipelineStoreBuilder.h2File makes it
      return new BenchDatabase(
          kind, "jdbc:h2:file:" + dir.resolve("bench") + ";WRITE_DELAY=0", null, dir);
    }
    String schema = freshSchema();
    return new BenchDatabase(kind, tagged(schema), schema, null);
  }

  /**
   * A fresh database of the given kind whose round trips are not counted (see {@link #counted}).
   */
  static BenchDatabase uncounted(Kind kind) throws IOException {
    BenchDatabase db = create(kind);
    db.counted = false;
    return db;
  }

  /**
   * The PostgreSQL URL with the connections named {@code name} (their {@code application_name}), so
   * that {@link #backends} finds the server processes serving them.
   */
  static String tagged(String name) {
    return PG_URL + (PG_URL.contains("?") ? "&" : "?") + "ApplicationName=" + name;
  }

  /**
   * The ids of the PostgreSQL server processes serving connections named {@code name} (see {@link
   * #tagged}); none if the server cannot be asked.
   */
  static List<Long> backends(String name) {
    try (Connection c = DriverManager.getConnection(PG_URL);
        PreparedStatement s =
            c.prepareStatement("SELECT pid FROM pg_stat_activity WHERE application_name = ?")) {
      s.setString(1, name);
      List<Long> pids = new ArrayList<>();
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          pids.add(rs.getLong(1));
        }
      }
      return pids;
    } catch (SQLException e) {
      return List.of();
    }
  }

  /**
   * The processes besides this JVM that work for a run on this database: the PostgreSQL backends of
   * its connections; none for H2, which runs in this JVM.
   */
  CpuMeter.Helpers helpers() {
    String name = schema;
    return name == null ? CpuMeter.Helpers.NONE : () -> backends(name);
  }

  /**
   * Checks that a PostgreSQL schema's store holds each record in exactly one terminal state, as
   * many in each as reported.
   *
   * @param outcome the records reported published, filtered and dead-lettered
   * @param reported what reported them, for the message
   * @throws IllegalStateException if the store holds other counts
   */
  static void checkEnded(@Nullable String schema, long[] outcome, String reported)
      throws SQLException {
    Map<String, Long> counts = new HashMap<>();
    try (Connection c = DriverManager.getConnection(PG_URL);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT status, COUNT(*) FROM "
                    + schema
                    + "."
                    + PIPELINE_TABLE
                    + " GROUP BY status")) {
      while (rs.next()) {
        counts.put(rs.getString(1), rs.getLong(2));
      }
    }
    Map<String, Long> expected = new HashMap<>();
    expected.put("PUBLISHED", outcome[0]);
    expected.put("FILTERED", outcome[1]);
    expected.put("DEAD_LETTER", outcome[2]);
    expected.values().removeIf(v -> v == 0);
    if (!counts.equals(expected)) {
      throw new IllegalStateException(
          reported + " (" + expected + "), but the store holds " + counts);
    }
  }

  /** A new schema name, unlikely to clash with a neighbour's. */
  static String freshSchema() {
    return "bench_" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
  }

  /** A store on this database, its round trips counted unless the database is uncounted. */
  JdbcPipelineStore store() {
    return store(false);
  }

  /** A store on this database, with the full ledger (a row per ended record) if asked. */
  JdbcPipelineStore store(boolean fullLedger) {
    return store(fullLedger, false);
  }

  /**
   * A store on this database, with the full ledger if asked, kept as rows from ingest (a row per
   * record, written row by row) if asked.
   */
  JdbcPipelineStore store(boolean fullLedger, boolean rowsFromIngest) {
    JdbcPipelineStoreBuilder builder =
        JdbcPipelineStore.builder()
            .dataSource(counted ? counter.wrap(pool) : pool)
            .fullLedger(fullLedger)
            .rowsFromIngest(rowsFromIngest);
    if (schema != null) {
      builder.schema(schema);
    }
    return builder.build();
  }

  /** A data source on this database (counted, unless {@link #uncounted}), for raw JDBC. */
  javax.sql.DataSource dataSource() {
    return counted ? counter.wrap(pool) : pool;
  }

  /** The table of full record rows, qualified. */
  String statusTable() {
    return schema == null ? RECORDS_TABLE : schema + "." + RECORDS_TABLE;
  }

  @Nullable String schema() {
    return schema;
  }

  String url() {
    return url;
  }

  /** A connection of this database's pool, not counted. */
  Connection connection() throws SQLException {
    return pool.getConnection();
  }

  /**
   * Closes the pool's idle connections (PostgreSQL backends report their statistics as they go).
   */
  void evictIdle() {
    pool.getHikariPoolMXBean().softEvictConnections();
  }

  @Override
  public void close() throws Exception {
    try {
      if (schema != null) {
        try (Connection c = pool.getConnection();
            Statement s = c.createStatement()) {
          s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
      }
    } finally {
      pool.close();
      if (directory != null) {
        try (Stream<Path> files = Files.walk(directory)) {
          for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(p);
          }
        }
      }
    }
  }

  /**
   * Whether PostgreSQL answers; if not, a message, or a failure with
   * PIPELINE_REQUIRE_POSTGRES=true.
   *
   * @throws IllegalStateException if it does not answer and PIPELINE_REQUIRE_POSTGRES=true
   */
  static boolean postgresReachable(java.io.PrintStream log) {
    DriverManager.setLoginTimeout(5);
    try (Connection c = DriverManager.getConnection(PG_URL)) {
      return c.isValid(5);
    } catch (SQLException e) {
      String message =
          "PostgreSQL is not reachable at "
              + SafeText.loggable(PG_URL)
              + " ("
              + SafeText.describe(e)
              + ")";
      if ("true".equalsIgnoreCase(System.getenv("PIPELINE_REQUIRE_POSTGRES"))) {
        throw new IllegalStateException(message + "; PIPELINE_REQUIRE_POSTGRES=true", e);
      }
      log.println(
          message
              + ": its targets are skipped; set PIPELINE_PG_URL, or"
              + " PIPELINE_REQUIRE_POSTGRES=true to fail instead");
      return false;
    }
  }

  private static String pgUrl() {
    String url = System.getenv("PIPELINE_PG_URL");
    return url == null || url.isBlank()
        ? "jdbc:postgresql://127.0.0.1:5432/test?user=postgres"
        : url;
  }
}
