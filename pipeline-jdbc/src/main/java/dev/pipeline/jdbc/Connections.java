package dev.pipeline.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import dev.pipeline.internal.ErrorText;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Properties;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/** Where a store's connections come from: URLs checked, pools made, the heartbeat's connection. */
final class Connections {
  private Connections() {}

  /**
   * The URL of an H2 file database. WRITE_DELAY=0 writes each commit to the file before the commit
   * returns (the default, 500 ms, loses the last half second of commits when the JVM is killed).
   *
   * @throws IllegalArgumentException if the path holds a character H2 would read as a setting
   */
  static String h2FileUrl(Path file) {
    String path = file.toAbsolutePath().normalize().toString();
    if (path.endsWith(".mv.db")) {
      path = path.substring(0, path.length() - ".mv.db".length());
    }
    if (path.contains(";")) {
      throw new IllegalArgumentException(
          "H2 file path cannot contain ';' (H2 reads what follows as settings): "
              + Names.quote(path));
    }
    return "jdbc:h2:file:" + path + ";WRITE_DELAY=0";
  }

  /**
   * A pool the store owns. HikariCP gets a data source, never the URL: it would log the URL at
   * DEBUG with only {@code password=} masked.
   *
   * @throws JdbcStoreException if no connection could be made within 10 seconds
   */
  static HikariDataSource pool(
      JdbcUrl url, @Nullable String user, @Nullable String password, int size, String name) {
    HikariConfig config = new HikariConfig();
    config.setDataSource(new UrlDataSource(url, user, password));
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(Math.min(size, 2));
    config.setPoolName(name);
    config.setAutoCommit(true);
    // fail fast at build() on a wrong URL, but let a pool wait out a short outage later
    config.setInitializationFailTimeout(10_000);
    config.setConnectionTimeout(10_000);
    // no session settings: PostgreSQL's default plan_cache_mode (auto) lets the hot path's
    // statements reuse generic plans, which are written to keep their key lookups (see
    // Dialect.byIds); the few whose plan depends on a value run in Database.planned
    try {
      return new HikariDataSource(config);
    } catch (HikariPool.PoolInitializationException e) {
      SQLException sql = e.getCause() instanceof SQLException s ? s : null;
      throw new JdbcStoreException(
          "connect",
          null,
          sql == null ? null : sql.getSQLState(),
          "pipeline-jdbc: cannot connect to "
              + Names.quote(url.toString())
              + ": "
              + ErrorText.redacted(
                  url.scrub(sql != null ? sql.getMessage() : e.getMessage()),
                  ErrorText.DEFAULT_MESSAGE_CHARS),
          sql != null ? url.scrub(sql) : e);
    }
  }

  /**
   * Connections straight from the driver, for HikariCP: the secrets go as connection properties,
   * not in the URL (so that no driver log or error echoes them), and an error that still carries
   * them is masked.
   */
  private static final class UrlDataSource implements DataSource {
    private final JdbcUrl url;
    private final Properties properties = new Properties();
    private volatile int loginTimeoutSeconds;
    private volatile @Nullable Driver driver;

    UrlDataSource(JdbcUrl url, @Nullable String user, @Nullable String password) {
      this.url = url;
      if (user != null) {
        properties.setProperty("user", user);
      }
      if (password != null) {
        properties.setProperty("password", password);
      }
      properties.putAll(url.secretProperties());
    }

    @Override
    public Connection getConnection() throws SQLException {
      Properties p = new Properties();
      p.putAll(properties);
      int timeout = loginTimeoutSeconds;
      if (url.kind == JdbcUrl.Kind.POSTGRESQL && timeout > 0) {
        // what HikariCP's own data source does through DriverManager, for the whole JVM
        p.setProperty("loginTimeout", Integer.toString(timeout));
      }
      try {
        Driver d = driver;
        if (d == null) {
          d = DriverManager.getDriver(url.driverUrl());
          driver = d;
        }
        Connection c = d.connect(url.driverUrl(), p);
        if (c == null) {
          throw new SQLException(
              "the driver " + d.getClass().getName() + " does not accept " + url, "08001");
        }
        return c;
      } catch (SQLException e) {
        throw url.scrub(e);
      }
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
      throw new SQLFeatureNotSupportedException("the user and password are set on the store");
    }

    @Override
    public @Nullable PrintWriter getLogWriter() {
      return null;
    }

    @Override
    public void setLogWriter(PrintWriter out) {
      // the drivers log through their own loggers
    }

    @Override
    public void setLoginTimeout(int seconds) {
      loginTimeoutSeconds = seconds;
    }

    @Override
    public int getLoginTimeout() {
      return loginTimeoutSeconds;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
      throw new SQLFeatureNotSupportedException("no parent logger");
    }

    @Override
    public <T> T unwrap(Class<T> type) throws SQLException {
      if (type.isInstance(this)) {
        return type.cast(this);
      }
      throw new SQLException("not a wrapper of " + type.getName());
    }

    @Override
    public boolean isWrapperFor(Class<?> type) {
      return type.isInstance(this);
    }

    @Override
    public String toString() {
      return "pipeline-jdbc connections to " + url;
    }
  }

  /**
   * A default worker id: host, process id, process start time, PID namespace and a random part (see
   * {@link LocalWorkers}), e.g. "web-3-41877-tmj2k1x8w-n4026531836-9f2c1a".
   */
  static String defaultWorkerId() {
    return LocalWorkers.newId();
  }

  /**
   * The heartbeat's connection, apart from the pool the pipeline uses, so that leases are renewed
   * even while every pooled connection is busy.
   */
  interface HeartbeatSource extends AutoCloseable {
    Connection get() throws SQLException;

    /** Gives the connection back; a broken one is discarded. */
    void done(Connection connection, boolean broken);

    @Override
    void close();
  }

  /** For stores that own their pool: a second pool of one connection. */
  static HeartbeatSource ownPool(HikariDataSource pool) {
    return new HeartbeatSource() {
      @Override
      public Connection get() throws SQLException {
        return pool.getConnection();
      }

      @Override
      public void done(Connection connection, boolean broken) {
        try {
          if (broken) {
            pool.evictConnection(connection);
          } else {
            connection.close();
          }
        } catch (SQLException e) {
          // it is gone either way
        }
      }

      @Override
      public void close() {
        pool.close();
      }
    };
  }

  /**
   * For a caller's data source: one connection taken from it and kept for the store's life (taken
   * again if it breaks).
   */
  static HeartbeatSource reserved(DataSource dataSource) {
    return new HeartbeatSource() {
      private final ReentrantLock lock = new ReentrantLock();
      // guarded by lock
      private @Nullable Connection kept;

      @Override
      public Connection get() throws SQLException {
        lock.lock();
        try {
          Connection c = kept;
          if (c == null) {
            c = dataSource.getConnection();
            c.setAutoCommit(true);
            kept = c;
          }
          return c;
        } finally {
          lock.unlock();
        }
      }

      @Override
      public void done(Connection connection, boolean broken) {
        if (!broken) {
          return;
        }
        lock.lock();
        try {
          if (kept == connection) {
            kept = null;
          }
        } finally {
          lock.unlock();
        }
        try {
          connection.close();
        } catch (SQLException e) {
          // it is gone either way
        }
      }

      @Override
      public void close() {
        lock.lock();
        try {
          if (kept != null) {
            try {
              kept.close();
            } catch (SQLException e) {
              // closing anyway
            }
            kept = null;
          }
        } finally {
          lock.unlock();
        }
      }
    };
  }
}
