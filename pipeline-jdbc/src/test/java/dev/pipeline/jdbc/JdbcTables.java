package dev.pipeline.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Locale;

/**
 * The tables of a {@link JdbcSource} or {@link JdbcSink} test: a schema of their own in a {@link
 * TestDatabase}, a pool on it, and a few ways to fill and read tables.
 */
final class JdbcTables implements AutoCloseable {
  final TestDatabase db;
  final HikariDataSource pool;

  JdbcTables(TestDatabase db) {
    this.db = db;
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(db.url);
    config.setMaximumPoolSize(8);
    config.setPoolName("jdbcio-" + db.schema);
    this.pool = new HikariDataSource(config);
    execute("CREATE SCHEMA IF NOT EXISTS " + db.schema);
  }

  boolean postgres() {
    return db.postgres;
  }

  /** A table's name qualified by the test's schema. */
  String table(String name) {
    return db.schema + "." + name;
  }

  /** A name as the database folds it when unquoted, as its catalog holds it. */
  String folded(String name) {
    return db.postgres ? name.toLowerCase(Locale.ROOT) : name.toUpperCase(Locale.ROOT);
  }

  void execute(String sql) {
    try (Connection c = pool.getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  /** Inserts rows as one JDBC batch. */
  void insert(String sql, List<List<Object>> rows) {
    try (Connection c = pool.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (List<Object> row : rows) {
        for (int i = 0; i < row.size(); i++) {
          ps.setObject(i + 1, row.get(i));
        }
        ps.addBatch();
      }
      ps.executeBatch();
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }

  List<List<Object>> query(String sql, Object... args) {
    return db.query(sql, args);
  }

  @Override
  public void close() {
    pool.close();
    db.drop();
  }
}
