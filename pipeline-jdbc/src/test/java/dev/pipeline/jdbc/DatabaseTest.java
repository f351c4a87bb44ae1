package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

class DatabaseTest {

  @Test
  void aDeadlockVictimOnH2LeavesNoRowLocked() throws Exception {
    String url = "jdbc:h2:mem:victim" + System.nanoTime() + ";DB_CLOSE_DELAY=-1;LOCK_TIMEOUT=5000";
    try (Connection setup = DriverManager.getConnection(url);
        Statement s = setup.createStatement()) {
      s.execute("CREATE TABLE t(id VARCHAR(10) PRIMARY KEY, v INT)");
      s.execute("INSERT INTO t VALUES ('a', 0), ('b', 0)");
    }
    Database db = new Database(Jdbi.create(url), Dialect.H2, Duration.ZERO);
    CompletableFuture<List<String>> merge;
    try (Connection other = DriverManager.getConnection(url)) {
      other.setAutoCommit(false);
      other.createStatement().executeUpdate("UPDATE t SET v = 1 WHERE id = 'a'");
      // a data-change query, as the store's ingest and delivery run: locks 'b', then waits for 'a'
      merge =
          CompletableFuture.supplyAsync(
              () ->
                  db.call(
                      "deliver",
                      "p",
                      h ->
                          h.createQuery(
                                  "SELECT id FROM FINAL TABLE (MERGE INTO t USING (SELECT x FROM"
                                      + " UNNEST(CAST(:ids AS VARCHAR ARRAY)) u(x)) s ON t.id = s.x"
                                      + " WHEN MATCHED THEN UPDATE SET v = v + 10)")
                              .bind("ids", Args.texts(List.of("b", "a")))
                              .mapTo(String.class)
                              .list()));
      TestDatabase.await(
          Duration.ofSeconds(10), "the query to wait for row 'a'", () -> blockedSessions(url) == 1);
      try {
        other.createStatement().executeUpdate("UPDATE t SET v = 2 WHERE id = 'b'"); // a cycle
        other.commit();
      } catch (SQLException e) {
        other.rollback(); // this side was chosen as the victim
      }
    }
    try {
      merge.get(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(JdbcStoreException.class); // the victim
    }

    try (Connection after = DriverManager.getConnection(url);
        Statement s = after.createStatement()) {
      s.execute("SET LOCK_TIMEOUT 1000");
      assertThat(s.executeUpdate("UPDATE t SET v = v + 100")).as("rows free again").isEqualTo(2);
    }
  }

  private static long blockedSessions(String url) {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        var rs =
            s.executeQuery(
                "SELECT COUNT(*) FROM INFORMATION_SCHEMA.SESSIONS WHERE SESSION_STATE = 'BLOCKED'")) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
