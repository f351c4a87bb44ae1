package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Envelope;
import dev.pipeline.SafeText;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.spi.StageDescriptor;
import dev.pipeline.testkit.LogCapture;
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
          .hasMessageNotContaining(TOKEN);
      ds.down = false;
    }
    List<String> lines = storeLines(mark);
    assertThat(lines)
        .as("the transient failure was logged, masked")
        .anyMatch(l -> l.contains("transient error") && l.contains(SafeText.MASK));
    assertNoSecret(lines);
  }
}
