package dev.pipeline.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.net.InetAddress;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/** Where a store's connections come from: URLs checked, pools made, the heartbeat's connection. */
final class Connections {
  /**
   * H2 URL settings that run code or scripts when a connection opens (INIT=RUNSCRIPT FROM ...,
   * CREATE ALIAS through INIT, listener and serializer classes), or print every statement with its
   * values.
   */
  private static final Map<String, String> FORBIDDEN_H2_SETTINGS =
      Map.of(
          "INIT", "runs SQL (and through it Java code) on every connection",
          "DATABASE_EVENT_LISTENER", "instantiates a class named in the URL",
          "JAVA_OBJECT_SERIALIZER", "instantiates a class named in the URL",
          "AUTHENTICATOR", "instantiates a class named in the URL",
          "AUTHREALM", "selects an authentication class",
          "TRACE_LEVEL_SYSTEM_OUT", "prints every statement and its values to standard output");

  private Connections() {}

  /**
   * Rejects an H2 URL that carries a script-running or code-loading setting.
   *
   * @throws IllegalArgumentException naming the setting and why
   */
  static void checkUrl(String url) {
    if (!url.regionMatches(true, 0, "jdbc:h2:", 0, 8)) {
      return;
    }
    String upper = url.toUpperCase(Locale.ROOT);
    if (upper.contains("RUNSCRIPT")) {
      throw new IllegalArgumentException(
          "H2 URL rejected: it contains RUNSCRIPT, which runs a script when a connection opens;"
              + " pipeline-jdbc creates its schema itself. URL: "
              + Names.quote(url));
    }
    int semicolon = url.indexOf(';');
    if (semicolon < 0) {
      return;
    }
    for (String setting : url.substring(semicolon + 1).split(";")) {
      int eq = setting.indexOf('=');
      String key = (eq < 0 ? setting : setting.substring(0, eq)).strip().toUpperCase(Locale.ROOT);
      String why = FORBIDDEN_H2_SETTINGS.get(key);
      if (why != null) {
        throw new IllegalArgumentException(
            "H2 URL rejected: setting "
                + key
                + " "
                + why
                + "; remove it (pipeline-jdbc creates and migrates its schema itself). URL: "
                + Names.quote(url));
      }
    }
  }

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

  /** A pool the store owns. */
  static HikariDataSource pool(
      String url, @Nullable String user, @Nullable String password, int size, String name) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    if (user != null) {
      config.setUsername(user);
    }
    if (password != null) {
      config.setPassword(password);
    }
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(Math.min(size, 2));
    config.setPoolName(name);
    config.setAutoCommit(true);
    // fail fast at build() on a wrong URL, but let a pool wait out a short outage later
    config.setInitializationFailTimeout(10_000);
    config.setConnectionTimeout(10_000);
    if (url.startsWith("jdbc:postgresql:")) {
      // plan every statement with its values: a generic plan made while the tables were small
      // (a record-id lookup as a scan of the pipeline's rows) would stay as they grow
      config.setConnectionInitSql("SET plan_cache_mode = force_custom_plan");
    }
    return new HikariDataSource(config);
  }

  /** A default worker id: host, process id and a random part, e.g. "web-3-41877-9f2c1a". */
  static String defaultWorkerId() {
    String host = System.getenv("HOSTNAME");
    if (host == null || host.isBlank()) {
      try {
        host = InetAddress.getLocalHost().getHostName();
      } catch (Exception e) {
        host = "host";
      }
    }
    if (host.length() > 60) {
      host = host.substring(0, 60);
    }
    byte[] random = new byte[3];
    ThreadLocalRandom.current().nextBytes(random);
    return host + "-" + ProcessHandle.current().pid() + "-" + HexFormat.of().formatHex(random);
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
