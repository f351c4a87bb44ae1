package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.RecordStatus;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** The store contract on H2, in memory. */
class H2StoreTest extends StoreContract {
  @Override
  TestDatabase createDatabase() {
    return TestDatabase.h2("contract");
  }

  /**
   * H2 ingests in two steps (which ids are stored, then a batch of inserts): a row of one of the
   * ids written in between by a writer the store does not know of fails the batch; the store backs
   * off, runs both steps again once that row is committed, and reports its id as a duplicate.
   */
  @Test
  void anIdInsertedByAnotherWriterBetweenLookupAndInsertIsADuplicate() throws Exception {
    JdbcPipelineStore store = openFull("w1");
    AtomicReference<Thread> ingesting = new AtomicReference<>();
    ExecutorService thread =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "ingesting");
              ingesting.set(t);
              return t;
            });
    try (Connection other = DriverManager.getConnection(db().url)) {
      other.setAutoCommit(false);
      try (PreparedStatement insert =
          other.prepareStatement(
              "INSERT INTO "
                  + db().table("pipeline_records")
                  + " (pipeline, record_id, current_stage, status, started_at, updated_at)"
                  + " VALUES (?, 'r1001', 'ingestion', 'READY', CURRENT_TIMESTAMP,"
                  + " CURRENT_TIMESTAMP)")) {
        insert.setString(1, pipeline);
        insert.executeUpdate(); // not committed: the store's lookup does not see it
      }
      CompletableFuture<Set<String>> ingest =
          CompletableFuture.supplyAsync(
              () -> store.ingest(pipeline, records(0, 3), "ingestion", T0), thread);
      // the insert cannot pass the uncommitted row; the store backs off and tries again
      TestDatabase.await(
          Duration.ofSeconds(60),
          "the store to back off after its insert failed",
          () -> backingOff(ingesting.get()));
      other.commit();

      assertThat(ingest.get(30, TimeUnit.SECONDS)).containsExactly("r1001");
    } finally {
      thread.shutdown();
    }
    assertThat(store.counts(pipeline).get(RecordStatus.IN_PROGRESS)).isEqualTo(2);
    assertThat(store.find(pipeline, "r1001").orElseThrow().status()).isEqualTo(RecordStatus.READY);
  }

  private static boolean backingOff(@Nullable Thread thread) {
    if (thread == null) {
      return false;
    }
    for (StackTraceElement frame : thread.getStackTrace()) {
      if (frame.getClassName().equals(Database.class.getName())
          && frame.getMethodName().equals("backoff")) {
        return true;
      }
    }
    return false;
  }
}
