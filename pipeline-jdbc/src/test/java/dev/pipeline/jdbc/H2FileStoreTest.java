package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.store.RecordStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class H2FileStoreTest {
  @TempDir Path dir;

  /**
   * H2 closes a file database when a thread writing to it is interrupted: a cancel() of a busy run
   * left every later operation failing with "database closed" (retried as transient for the whole
   * outage tolerance). See {@link StoreContract#cancelBusyRunsThenFinish}.
   */
  @Test
  void cancellingBusyRunsAtRandomPointsLeavesTheH2FileWorkingAndLosesNothing() throws Exception {
    try (JdbcPipelineStore store =
        JdbcPipelineStore.builder()
            .h2File(dir.resolve("cancelled"))
            .workerId("w1")
            .outageTolerance(Duration.ofSeconds(3))
            .build()) {
      StoreContract.cancelBusyRunsThenFinish(store, "cancelled", 20);
    }
  }

  /**
   * The heartbeat renewed every lease of a pipeline in one transaction; on H2 the record path's
   * writes waited for its row locks until they timed out (HYT00, retried after a backoff), 17 times
   * in a run with a 6 s lease. Over a run with thousands of records in flight that spans over ten
   * heartbeats (one every 500 ms; a lock timeout of 50 ms, so that any wait shows), no operation
   * may meet a lock timeout.
   */
  @Test
  void theLeaseHeartbeatNeverMakesTheRecordPathWaitForALock() throws Exception {
    int n = 3_000;
    Path file = dir.resolve("heartbeat");
    try (Connection c = DriverManager.getConnection(Connections.h2FileUrl(file));
        Statement s = c.createStatement()) {
      s.execute("SET DEFAULT_LOCK_TIMEOUT 50"); // kept in the file, for every later session
    }
    try (JdbcPipelineStore store =
        JdbcPipelineStore.builder()
            .h2File(file)
            .workerId("w1")
            .leaseDuration(Duration.ofMillis(1500))
            .build()) {
      AtomicInteger batches = new AtomicInteger();
      // the source is read at once (one queue holds every record), and the second stage's batches
      // wait for a heartbeat every two: the heartbeat renews thousands of leases, again and again,
      // while the stages write
      Pipeline<String, String> p =
          Pipeline.builder("heartbeat", String.class)
              .store(store)
              .queueCapacity(n)
              .stage(
                  StageName.INGESTION,
                  (String s) -> s.toUpperCase(Locale.ROOT),
                  o -> o.codec(StoreContract.STRING).concurrency(2).batchSize(500))
              .batchStage(
                  StageName.CLEANING,
                  (List<String> batch, StageContext context) -> {
                    int beats = batches.incrementAndGet() / 2;
                    TestDatabase.await(
                        Duration.ofMinutes(1),
                        beats + " heartbeats",
                        () -> store.heartbeats() >= beats);
                    return batch.stream().map(String::trim).toList();
                  },
                  o -> o.codec(StoreContract.STRING).concurrency(2).batchSize(100))
              .sink(batch -> {})
              .build();

      RunResult result =
          p.run(Source.of("src", IntStream.range(0, n).mapToObj(i -> "item " + i).iterator()));

      assertThat(result.status()).as("%s", result.failure()).isEqualTo(RunStatus.COMPLETED);
      assertThat(result.published()).isEqualTo(n);
      assertThat(store.heartbeats()).as("heartbeats that renewed leases").isGreaterThan(10);
      assertThat(store.retriedErrors("HYT00"))
          .as("operations retried after an H2 lock timeout, in %s", result.duration())
          .isZero();
    }
  }

  @Test
  void anH2FileKeepsRecordsAcrossStoresAndWritesEveryCommit() throws Exception {
    Path file = dir.resolve("pipeline");
    try (JdbcPipelineStore a = JdbcPipelineStore.builder().h2File(file).workerId("a").build()) {
      a.register("p", StoreContract.STAGES);
      a.ingest("p", StoreContract.records(0, 10), "ingestion", StoreContract.T0);
      a.complete(
          "p",
          List.of(
              StoreContract.published("r1000"),
              StoreContract.published("r1001"),
              StoreContract.published("r1002")));
    } // closing gives the 7 unfinished records back
    assertThat(Files.exists(dir.resolve("pipeline.mv.db"))).isTrue();

    JdbcDataSource ds = new JdbcDataSource();
    ds.setURL(Connections.h2FileUrl(file));
    try (JdbcPipelineStore b = JdbcPipelineStore.builder().dataSource(ds).workerId("b").build()) {
      b.register("p", StoreContract.STAGES);
      assertThat(b.counts("p").get(RecordStatus.PUBLISHED)).isEqualTo(3);
      assertThat(b.counts("p").get(RecordStatus.READY)).isEqualTo(7);
      assertThat(b.claim("p", 100)).hasSize(7);
      try (Connection c = ds.getConnection();
          ResultSet rs =
              c.createStatement()
                  .executeQuery(
                      "SELECT SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS"
                          + " WHERE SETTING_NAME = 'WRITE_DELAY'")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo("0");
      }
    }
  }
}
