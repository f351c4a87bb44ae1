package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
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

  @Test
  void operationsOnOneH2DatabaseTakeTurnsAndOnPostgresqlDoNot() throws Exception {
    String url = "jdbc:h2:mem:turns" + System.nanoTime() + ";DB_CLOSE_DELAY=-1";
    assertThat(Database.turnsFor(Dialect.H2, url))
        .isNotNull()
        .isSameAs(Database.turnsFor(Dialect.H2, url))
        .isNotSameAs(Database.turnsFor(Dialect.H2, url + "2"));
    assertThat(Database.turnsFor(Dialect.POSTGRESQL, "jdbc:postgresql://db/x")).isNull();
    assertThat(Database.turnsFor(Dialect.H2, null)).isNull();

    // two stores of one JVM on one H2 database: the second operation starts when the first ends
    Database first =
        new Database(
            Jdbi.create(url), Dialect.H2, Duration.ZERO, Database.turnsFor(Dialect.H2, url));
    Database second =
        new Database(
            Jdbi.create(url), Dialect.H2, Duration.ZERO, Database.turnsFor(Dialect.H2, url));
    CountDownLatch inFirst = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicBoolean firstDone = new AtomicBoolean();
    // threads of their own: the common pool may have one worker on a small machine
    ExecutorService threads = Executors.newFixedThreadPool(2);
    CompletableFuture<Void> a =
        CompletableFuture.runAsync(
            () ->
                first.call(
                    "first",
                    "p",
                    h -> {
                      inFirst.countDown();
                      try {
                        assertThat(release.await(30, TimeUnit.SECONDS)).isTrue();
                      } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                      }
                      firstDone.set(true);
                      return null;
                    }),
            threads);
    assertThat(inFirst.await(30, TimeUnit.SECONDS)).isTrue();
    CompletableFuture<Boolean> b =
        CompletableFuture.supplyAsync(
            () -> second.call("second", "p", h -> firstDone.get()), threads);
    TestDatabase.await(
        Duration.ofSeconds(30),
        "the second operation to wait for its turn",
        () -> ((ReentrantLock) Database.turnsFor(Dialect.H2, url)).hasQueuedThreads());
    assertThat(b).isNotDone();
    release.countDown();
    a.get(30, TimeUnit.SECONDS);
    assertThat(b.get(30, TimeUnit.SECONDS)).as("the first had ended when the second ran").isTrue();
    threads.shutdown();
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
