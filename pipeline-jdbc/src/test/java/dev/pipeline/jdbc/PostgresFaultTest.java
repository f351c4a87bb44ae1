package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordStatus;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The real PostgreSQL drops the store's connections in the middle of a run. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PostgresFaultTest {
  private TestDatabase db;

  @BeforeAll
  void createSchema() {
    db = TestDatabase.postgres("faults");
  }

  @AfterAll
  void dropSchema() {
    if (db != null) {
      db.drop();
    }
  }

  @Test
  void connectionsKilledMidRunAreRetriedAndNothingIsLost() throws Exception {
    String app = "pipeline_fault_" + Long.toString(System.nanoTime(), 36);
    String url = db.url + (db.url.contains("?") ? "&" : "?") + "ApplicationName=" + app;
    int n = 3_000;
    Set<String> sunk = ConcurrentHashMap.newKeySet();
    AtomicInteger killed = new AtomicInteger();
    try (JdbcPipelineStore store =
        JdbcPipelineStore.builder()
            .jdbcUrl(url, null, null)
            .schema(db.schema)
            .workerId("w")
            .leaseDuration(Duration.ofSeconds(2))
            .build()) {
      Pipeline<String, String> pipeline =
          Pipeline.builder("faults", String.class)
              .store(store)
              .stage(
                  StageName.INGESTION,
                  (String s) -> s.toUpperCase(Locale.ROOT),
                  o -> o.checkpoint().codec(PayloadCodec.string()).batchSize(50))
              .stage(
                  StageName.CLEANING,
                  (String s) -> {
                    TimeUnit.MICROSECONDS.sleep(200);
                    return s;
                  },
                  o -> o.concurrency(4).batchSize(50))
              .stage(StageName.PUBLISHING, (String s) -> s)
              .sink(batch -> batch.stream().map(Envelope::id).forEach(sunk::add))
              .build();
      AtomicBoolean running = new AtomicBoolean(true);
      Thread killer =
          Thread.ofVirtual()
              .start(
                  () -> {
                    while (running.get() && killed.get() < 8) {
                      try {
                        TimeUnit.MILLISECONDS.sleep(150);
                      } catch (InterruptedException e) {
                        return;
                      }
                      killed.addAndGet(
                          (int)
                              db.count(
                                  "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                      + " WHERE application_name = ?",
                                  app));
                    }
                  });
      List<String> inputs = IntStream.range(0, n).mapToObj(i -> "item-" + i).toList();

      RunResult result = pipeline.run(Source.of("src", inputs.iterator(), s -> s));
      running.set(false);
      killer.join();

      assertThat(killed.get()).as("connections killed").isPositive();
      assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
      assertThat(store.counts("faults").get(RecordStatus.PUBLISHED)).isEqualTo(n);
      assertThat(store.hasUnfinished("faults")).isFalse();
      assertThat(sunk).containsExactlyInAnyOrderElementsOf(inputs);
    }
  }
}
