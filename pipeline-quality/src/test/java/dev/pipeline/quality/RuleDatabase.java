package dev.pipeline.quality;

import static org.junit.jupiter.api.Assertions.fail;

import dev.pipeline.jdbc.JdbcPipelineStore;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Assumptions;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A database holding pipeline-jdbc's schema, in a schema of its own: H2 in memory, or the real
 * PostgreSQL (PIPELINE_PG_URL; skipped when unreachable unless PIPELINE_REQUIRE_POSTGRES=true).
 */
final class RuleDatabase implements AutoCloseable {
  final DataSource dataSource;
  final String schema;
  private final JdbcPipelineStore store;

  private RuleDatabase(DataSource dataSource, String schema) {
    this.dataSource = dataSource;
    this.schema = schema;
    // the store's migrations create validation_rules and its history
    this.store = JdbcPipelineStore.builder().dataSource(dataSource).schema(schema).build();
  }

  static RuleDatabase h2() {
    String name = "q" + suffix();
    JdbcDataSource ds = new JdbcDataSource();
    ds.setURL("jdbc:h2:mem:" + name + ";DB_CLOSE_DELAY=-1");
    return new RuleDatabase(ds, "s_" + name);
  }

  static RuleDatabase postgres() {
    String url = System.getenv("PIPELINE_PG_URL");
    if (url == null || url.isBlank()) {
      url = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
    }
    DriverManager.setLoginTimeout(5);
    try (Connection c = DriverManager.getConnection(url)) {
      c.isValid(5);
    } catch (SQLException e) {
      String message = "PostgreSQL is not reachable at " + url + " (" + e.getMessage() + ")";
      if ("true".equalsIgnoreCase(System.getenv("PIPELINE_REQUIRE_POSTGRES"))) {
        fail(message + " -- PIPELINE_REQUIRE_POSTGRES=true, so this fails instead of skipping");
      }
      Assumptions.abort(message + " -- skipped; set PIPELINE_REQUIRE_POSTGRES=true to fail");
    }
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setURL(url);
    return new RuleDatabase(ds, "q_" + suffix());
  }

  private static String suffix() {
    return Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
  }

  /** The store whose migrations made the schema, for pipelines of the tests. */
  JdbcPipelineStore store() {
    return store;
  }

  RuleTable table() {
    return RuleTable.on(dataSource).schema(schema).build();
  }

  int update(String sql, Object... args) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql.replace("{s}", schema))) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      return ps.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  List<List<Object>> query(String sql, Object... args) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql.replace("{s}", schema))) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      List<List<Object>> rows = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          List<Object> row = new ArrayList<>();
          for (int i = 1; i <= n; i++) {
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

  @Override
  public void close() {
    store.close();
    update("DROP SCHEMA " + schema + " CASCADE");
  }
}
