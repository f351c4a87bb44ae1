package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Envelope;
import dev.pipeline.SafeText;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.spi.StageDescriptor;
import dev.pipeline.testkit.LogCapture;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * No line the JDBC store logs, at any level, and no message of its exceptions shows a password or a
 * token: not the URL's, not one a driver puts in its error message.
 */
class SecretsNotLoggedTest {
  private static final String PASSWORD = "hunter2-pw";
  private static final String TOKEN = "t0psecret-tok3n";
  private static final String DRIVER_ERROR =
      "connection to jdbc:postgresql://db/orders?user=app&password="
          + PASSWORD
          + " refused; Authorization: Bearer "
          + TOKEN;
  private static final List<StageDescriptor> STAGES =
      List.of(
          new StageDescriptor("ingestion", 1, "f", null, "none", 0, false, PayloadCodec.string()));

  private static List<String> storeLines(int mark) {
    return LogCapture.since(mark).stream().filter(l -> l.contains("dev.pipeline.jdbc")).toList();
  }

  private static void assertNoSecret(List<String> lines) {
    for (String line : lines) {
      assertThat(line).doesNotContain(PASSWORD).doesNotContain(TOKEN);
    }
  }

  /** Every exception of the chain, as a logger would print it, and the driver's SQLState kept. */
  private static void assertCausesMasked(Throwable thrown) {
    String state = null;
    for (Throwable t = thrown.getCause(); t != null; t = t.getCause()) {
      assertThat(t.toString()).doesNotContain(PASSWORD).doesNotContain(TOKEN);
      if (t instanceof SQLException sql) {
        state = sql.getSQLState();
      }
    }
    assertThat(state).as("the database error's SQLState, kept").isEqualTo("28P01");
    StringWriter printed = new StringWriter();
    thrown.printStackTrace(new PrintWriter(printed));
    assertThat(printed.toString())
        .as("the stack trace a logger prints")
        .contains(SafeText.MASK)
        .doesNotContain(PASSWORD)
        .doesNotContain(TOKEN);
  }

  @Test
  void aStoreExceptionsCauseWithNothingToMaskIsTheDriversOwn() {
    SQLException driver = new SQLNonTransientConnectionException("connection refused", "08001");
    JdbcStoreException e = new JdbcStoreException("claim", "p", "08001", "claim failed", driver);
    assertThat(e.getCause()).isSameAs(driver);
  }

  @Test
  void aStoreExceptionsCauseHoldingASecretIsMaskedInItsWholeChain() {
    SQLException next = new SQLException("entry 2: token=" + TOKEN, "22001");
    SQLException driver = new SQLNonTransientConnectionException(DRIVER_ERROR, "28P01");
    driver.setNextException(next);
    RuntimeException wrapper =
        new IllegalStateException("via jdbc:postgresql://db/x?password=" + PASSWORD, driver);
    JdbcStoreException e = new JdbcStoreException("claim", "p", "28P01", "claim failed", wrapper);

    StringWriter printed = new StringWriter();
    e.printStackTrace(new PrintWriter(printed));
    assertThat(printed.toString())
        .contains("java.lang.IllegalStateException: via jdbc:postgresql://db/x?password=***")
        .doesNotContain(PASSWORD)
        .doesNotContain(TOKEN);
    assertThat(e.getCause().getCause())
        .as("the driver's error keeps its class family and SQLState")
        .isInstanceOf(SQLNonTransientConnectionException.class)
        .extracting(t -> ((SQLException) t).getSQLState())
        .isEqualTo("28P01");
    SQLException maskedNext = ((SQLException) e.getCause().getCause()).getNextException();
    assertThat(maskedNext.getMessage()).isEqualTo("entry 2: token=***");
  }

  @Test
  void aStoreOnAUrlWithAPasswordNeverLogsIt() {
    int mark = LogCapture.mark();
    try (JdbcPipelineStore store =
        JdbcPipelineStore.builder()
            .jdbcUrl("jdbc:h2:mem:secrets_url;DB_CLOSE_DELAY=-1;PASSWORD=" + PASSWORD, "sa", null)
            .build()) {
      store.register("p", STAGES);
      store.ingest("p", List.of(Envelope.of("a", "x")), "ingestion", Instant.now());
      assertThat(store.toString()).doesNotContain(PASSWORD);
    }
    List<String> lines = storeLines(mark);
    assertThat(lines).as("the store said it was ready").anyMatch(l -> l.contains("ready"));
    assertNoSecret(lines);
  }

  @Test
  void aDriversErrorIsMaskedInTheStoresLogLinesAndExceptions() {
    DatabaseFaultTest.FlakyDataSource ds =
        new DatabaseFaultTest.FlakyDataSource("secrets_driver") {
          @Override
          public Connection getConnection() throws SQLException {
            if (down) {
              throw new SQLNonTransientConnectionException(DRIVER_ERROR, "28P01");
            }
            if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
              throw new SQLTransientConnectionException(DRIVER_ERROR, "08001");
            }
            return super.getConnection();
          }
        };
    int mark = LogCapture.mark();
    try (JdbcPipelineStore store = JdbcPipelineStore.builder().dataSource(ds).build()) {
      store.register("p", STAGES);
      ds.failNext.set(2);
      store.ingest("p", List.of(Envelope.of("a", "x")), "ingestion", Instant.now());
      ds.down = true;
      assertThatThrownBy(() -> store.counts("p"))
          .isInstanceOf(JdbcStoreException.class)
          .hasMessageContaining(SafeText.MASK)
          .hasMessageNotContaining(PASSWORD)
          .hasMessageNotContaining(TOKEN)
          .satisfies(SecretsNotLoggedTest::assertCausesMasked);
      ds.down = false;
    }
    List<String> lines = storeLines(mark);
    assertThat(lines)
        .as("the transient failure was logged, masked")
        .anyMatch(l -> l.contains("transient error") && l.contains(SafeText.MASK));
    assertNoSecret(lines);
  }
}
