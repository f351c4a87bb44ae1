package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Envelope;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.StageDescriptor;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/** Transient database faults, made by a data source that fails on demand. */
class DatabaseFaultTest {
  private static final List<StageDescriptor> STAGES =
      List.of(
          new StageDescriptor("ingestion", 1, "f", null, "none", 0, false, PayloadCodec.string()));

  /** Hands out H2 connections, except while told to fail. */
  static class FlakyDataSource implements DataSource {
    final String url;
    final AtomicInteger failNext = new AtomicInteger();
    volatile boolean down;
    private volatile long downUntil = System.nanoTime();

    /** The database of a JDBC URL, or else an in-memory H2 database of this name. */
    FlakyDataSource(String urlOrName) {
      this.url =
          urlOrName.startsWith("jdbc:")
              ? urlOrName
              : "jdbc:h2:mem:" + urlOrName + ";DB_CLOSE_DELAY=-1";
    }

    /** Fails every connection for this long from now: an outage. */
    void failFor(Duration outage) {
      downUntil = System.nanoTime() + outage.toNanos();
    }

    @Override
    public Connection getConnection() throws SQLException {
      if (down
          || System.nanoTime() - downUntil < 0
          || failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new SQLTransientConnectionException("database restarting", "08001");
      }
      return DriverManager.getConnection(url);
    }

    @Override
    public Connection getConnection(String user, String password) throws SQLException {
      return getConnection();
    }

    @Override
    public PrintWriter getLogWriter() {
      return null;
    }

    @Override
    public void setLogWriter(PrintWriter out) {}

    @Override
    public void setLoginTimeout(int seconds) {}

    @Override
    public int getLoginTimeout() {
      return 0;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
      throw new SQLFeatureNotSupportedException();
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
      throw new SQLException("not a wrapper");
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) {
      return false;
    }
  }

  @Test
  void transientFailuresAreRetriedAndTheOperationCompletes() {
    FlakyDataSource ds = new FlakyDataSource("flaky_retry");
    try (JdbcPipelineStore store = JdbcPipelineStore.builder().dataSource(ds).build()) {
      store.register("p", STAGES);
      ds.failNext.set(4);

      assertThat(store.ingest("p", List.of(Envelope.of("a", "x")), "ingestion", Instant.now()))
          .isEmpty();

      assertThat(ds.failNext).hasValue(0);
      assertThat(store.counts("p").get(RecordStatus.IN_PROGRESS)).isEqualTo(1);
    }
  }

  @Test
  void anOutageLongerThanTheToleranceFailsNamingTheOperation() {
    FlakyDataSource ds = new FlakyDataSource("flaky_down");
    try (JdbcPipelineStore store =
        JdbcPipelineStore.builder()
            .dataSource(ds)
            .outageTolerance(Duration.ofMillis(300))
            .build()) {
      store.register("p", STAGES);
      ds.down = true;

      assertThatThrownBy(() -> store.hasUnfinished("p"))
          .isInstanceOf(JdbcStoreException.class)
          .hasMessageContaining("hasUnfinished")
          .hasMessageContaining("outage tolerance")
          .satisfies(e -> assertThat(((JdbcStoreException) e).sqlState()).isEqualTo("08001"));
      ds.down = false;
    }
  }

  @Test
  void aNonTransientFailureIsNotRetried() {
    FlakyDataSource ds =
        new FlakyDataSource("flaky_fatal") {
          @Override
          public Connection getConnection() throws SQLException {
            if (down) {
              throw new SQLNonTransientConnectionException("bad password", "28P01");
            }
            return super.getConnection();
          }
        };
    try (JdbcPipelineStore store = JdbcPipelineStore.builder().dataSource(ds).build()) {
      store.register("p", STAGES);
      ds.down = true;
      long start = System.nanoTime();

      assertThatThrownBy(() -> store.counts("p"))
          .isInstanceOf(JdbcStoreException.class)
          .hasMessageContaining("counts on pipeline 'p' failed (SQLState 28P01)");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
      ds.down = false;
    }
  }
}
