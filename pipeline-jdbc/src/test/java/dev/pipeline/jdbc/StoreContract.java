package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Alert;
import dev.pipeline.Envelope;
import dev.pipeline.LineageLevel;
import dev.pipeline.Pipeline;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.PipelineConfigurationException;
import dev.pipeline.PipelineRun;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.Lineage;
import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.LineageOutcome;
import dev.pipeline.store.Page;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.StatusCounts;
import dev.pipeline.store.StorableText;
import dev.pipeline.store.spi.Claimed;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.Handover;
import dev.pipeline.store.spi.RecordLedger;
import dev.pipeline.store.spi.ScheduledRetry;
import dev.pipeline.store.spi.StageDescriptor;
import dev.pipeline.testkit.StderrCapture;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * What every {@link JdbcPipelineStore} must do, whatever the database: run against H2 and against
 * PostgreSQL by the subclasses.
 */
abstract class StoreContract extends DatabaseContract {
  static final PayloadCodec<String> STRING = PayloadCodec.string();
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  /** ingestion (checkpoint, String out) -> cleaning -> publishing (no codec). */
  static final List<StageDescriptor> STAGES =
      List.of(
          new StageDescriptor("ingestion", 1, "Parse", null, "none", 0, true, STRING),
          new StageDescriptor("cleaning", 2, "Clean", 5L, "exponential(3)", 3, false, STRING),
          new StageDescriptor("publishing", 3, "Publish", null, "none", 0, false, null));

  TestDatabase db() {
    return database;
  }

  JdbcPipelineStore open(String worker) {
    return open(db().builder().workerId(worker));
  }

  /**
   * A store keeping every record's full row from its ingest ({@link
   * JdbcPipelineStoreBuilder#rowsFromIngest}): for tests that read or write the rows of records in
   * flight.
   */
  JdbcPipelineStore openFull(String worker) {
    return open(db().builder().rowsFromIngest(true).workerId(worker));
  }

  JdbcPipelineStore open(JdbcPipelineStoreBuilder builder) {
    JdbcPipelineStore store = build(builder);
    // the store knows the stages and their codecs, but holds the name for no live pipeline: a
    // test may register others, or build a Pipeline, under it
    store.register(pipeline, STAGES);
    store.unregister(pipeline);
    return store;
  }

  static List<Envelope<String>> records(int from, int to) {
    return IntStream.range(from, to)
        .mapToObj(i -> Envelope.of("r" + (1000 + i), "payload " + i, "src"))
        .toList();
  }

  static List<String> ids(List<? extends Envelope<?>> records) {
    return records.stream().map(Envelope::id).toList();
  }

  static Completion published(String id) {
    return new Completion(id, RecordStatus.PUBLISHED, "publishing", null, null, List.of(), 1, T0);
  }

  static Completion deadLetter(Envelope<?> record, String stage, String errorType, Instant at) {
    Exception error =
        errorType.equals("IllegalStateException")
            ? new IllegalStateException("bad " + record.id())
            : new UnsupportedOperationException("no " + record.id());
    return new Completion(
        record.id(),
        RecordStatus.DEAD_LETTER,
        stage,
        null,
        record,
        List.of(
            ErrorInfo.of(stage, new RuntimeException("first try"), 1, at),
            ErrorInfo.of(stage, error, 2, at)),
        2,
        at);
  }

  String status(String id) {
    return (String)
        db().query(
                "SELECT status FROM "
                    + db().table("pipeline_status")
                    + " WHERE pipeline = ? AND record_id = ?",
                pipeline,
                id)
            .get(0)
            .get(0);
  }

  // ---------------------------------------------------------------------------------- schema

  @Test
  void buildCreatesEveryTableAndColumnOfTheSpecificationAndRebuildingIsANoOp() {
    open("w1");
    Map<String, List<String>> spec =
        Map.of(
            "pipeline_stages",
            List.of(
                "stage_id",
                "stage_name",
                "stage_order",
                "input_format",
                "output_format",
                "processing_function",
                "timeout_seconds",
                "retry_policy",
                "max_retries"),
            "pipeline_status",
            List.of(
                "record_id",
                "current_stage",
                "status",
                "started_at",
                "updated_at",
                "attempt_count",
                "last_error"),
            "pipeline_errors",
            List.of(
                "error_id",
                "record_id",
                "stage_id",
                "error_type",
                "error_message",
                "stack_trace",
                "occurred_at",
                "resolved_at"),
            "pipeline_metrics",
            List.of(
                "stage_id",
                "processing_time_ms",
                "records_processed",
                "records_failed",
                "throughput_per_second",
                "cpu_usage",
                "memory_usage"),
            "retry_queue",
            List.of(
                "queue_id",
                "record_id",
                "stage_id",
                "retry_count",
                "max_retries",
                "next_retry_at",
                "backoff_multiplier"),
            "validation_rules",
            List.of(
                "rule_id",
                "stage_id",
                "rule_type",
                "validation_expression",
                "severity",
                "action_on_failure",
                "field_path",
                "parameters",
                "mostly",
                "version",
                "changed_by",
                "changed_at"),
            "validation_rule_history",
            List.of("rule_id", "version", "validation_expression", "changed_by", "changed_at"),
            "processing_logs",
            List.of(
                "log_id",
                "record_id",
                "stage_id",
                "log_level",
                "message",
                "metadata",
                "created_at"));
    for (Map.Entry<String, List<String>> table : spec.entrySet()) {
      List<Object> columns =
          db()
              .query(
                  "SELECT LOWER(column_name) FROM information_schema.columns"
                      + " WHERE LOWER(table_schema) = ? AND LOWER(table_name) = ?",
                  db().schema,
                  table.getKey())
              .stream()
              .map(r -> r.get(0))
              .toList();
      assertThat(columns).as(table.getKey()).containsAll(table.getValue());
    }
    String versions = "SELECT COUNT(*) FROM " + db().table("pipeline_schema_version");
    assertThat(db().count(versions)).isEqualTo(Migrator.MIGRATIONS.size());
    String installed =
        "SELECT version, installed_at FROM "
            + db().table("pipeline_schema_version")
            + " ORDER BY version";
    List<List<Object>> installedAt = db().query(installed);

    open("w2"); // builds again: nothing to migrate

    assertThat(db().count(versions)).isEqualTo(Migrator.MIGRATIONS.size());
    assertThat(db().query(installed)).isEqualTo(installedAt);
    try (JdbcPipelineStore checked = db().builder().migrateSchema(false).build()) {
      assertThat(checked.isDurable()).isTrue();
    }
  }

  @Test
  void registerFillsTheStagesTableAndReplacesItOnTheNextRegistration() {
    JdbcPipelineStore store = open("w1");
    String sql =
        "SELECT stage_name, stage_order, input_format, output_format, timeout_seconds,"
            + " max_retries FROM "
            + db().table("pipeline_stages")
            + " WHERE pipeline = ? ORDER BY stage_order";
    assertThat(db().query(sql, pipeline))
        .extracting(r -> r.get(0) + "/" + r.get(2) + "/" + r.get(3))
        .containsExactly("ingestion/string/string", "cleaning/string/null", "publishing/null/null");

    store.register(pipeline, List.of(STAGES.get(0), STAGES.get(1)));

    assertThat(db().query(sql, pipeline))
        .extracting(r -> r.get(0))
        .containsExactly("ingestion", "cleaning");
  }

  // ---------------------------------------------------------------------------------- ingest

  @Test
  void ingestingAKnownIdAgainIsReportedAsADuplicateNotAnError() {
    JdbcPipelineStore store = open("w1");
    assertThat(store.ingest(pipeline, records(0, 3), "ingestion", T0)).isEmpty();

    Set<String> duplicates = store.ingest(pipeline, records(1, 5), "ingestion", T0);

    assertThat(duplicates).containsExactlyInAnyOrder("r1001", "r1002");
    assertThat(store.counts(pipeline).get(RecordStatus.IN_PROGRESS)).isEqualTo(5);
    // a repeated id within one call is a duplicate of its first occurrence
    List<Envelope<String>> twice =
        List.of(Envelope.of("x1", "a"), Envelope.of("x2", "b"), Envelope.of("x1", "c"));
    assertThat(store.ingest(pipeline, twice, "ingestion", T0)).containsExactly("x1");
  }

  @Test
  void ingestLeasesRecordsToThisWorkerSoNoOtherWorkerClaimsThem() {
    JdbcPipelineStore a = open("a");
    JdbcPipelineStore b = open("b");
    a.ingest(pipeline, records(0, 300), "ingestion", T0);

    assertThat(b.claim(pipeline, 1000)).isEmpty();
    assertThat(a.claim(pipeline, 1000)).isEmpty();
    assertThat(a.hasUnfinished(pipeline)).isTrue();
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM "
                        + db().table("pipeline_status")
                        + " WHERE pipeline = ? AND lease_owner = 'a' AND status = 'IN_PROGRESS'"
                        + " AND lease_expires_at > CURRENT_TIMESTAMP",
                    pipeline))
        .isEqualTo(300);
  }

  @Test
  void recordIdsNoStoreCanKeepAreRefusedWithTheReason() {
    JdbcPipelineStore store = open("w1");
    String id = "x".repeat(1001);
    assertThatThrownBy(() -> store.ingest(pipeline, List.of(Envelope.of(id, "p")), "ingestion", T0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("more than 1000");
    for (String unfit : new String[] {"a\0b", "a\uD800b"}) {
      assertThatThrownBy(
              () ->
                  store.ingest(
                      pipeline,
                      List.of(Envelope.of("fine", "p"), Envelope.of(unfit, "p")),
                      "ingestion",
                      T0))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("cannot be stored");
      assertThat(store.find(pipeline, unfit)).as("never stored under it").isEmpty();
      assertThat(store.reprocess(pipeline, List.of(unfit), T0)).isEmpty();
      assertThat(store.discard(pipeline, List.of(unfit), "x", T0)).isEmpty();
    }
    assertThat(store.find(pipeline, "fine")).as("nothing of the batch was added").isEmpty();
  }

  /** Text PostgreSQL refuses (NUL) or UTF-8 cannot carry (a lone surrogate), on every write. */
  static final String HOSTILE = "nul\0 lone\uD800 pair\uD83D\uDE00 literal\\u0000 end\uDC00";

  @Test
  void textWithNulAndUnpairedSurrogatesIsStoredOnEveryPathAndReadBackExactly() {
    JdbcPipelineStore a = open("a");
    List<Envelope<String>> records =
        records(0, 5).stream().map(r -> r.withMetadata("note" + HOSTILE, HOSTILE)).toList();
    a.ingest(pipeline, records, "ingestion", T0);
    a.checkpoint(
        pipeline,
        records.stream().map(r -> r.withMetadata("cleaned", HOSTILE)).toList(),
        "cleaning",
        T0);
    ErrorInfo hostileError =
        new ErrorInfo(
            "cleaning", "Bad" + HOSTILE, "x.Bad" + HOSTILE, HOSTILE, "at " + HOSTILE, 1, T0);
    Handover handover =
        a.completeAndDeliver(
            pipeline,
            List.of(
                new Completion(
                    "r1000", RecordStatus.FILTERED, "cleaning", HOSTILE, null, List.of(), 1, T0),
                new Completion(
                    "r1001",
                    RecordStatus.DEAD_LETTER,
                    "cleaning",
                    null,
                    records.get(1),
                    List.of(hostileError),
                    1,
                    T0)),
            List.of("r1002"));
    assertThat(handover.fenced()).isEmpty();
    Set<String> fenced =
        a.complete(
            pipeline,
            List.of(
                new Completion(
                    "r1002",
                    RecordStatus.PUBLISHED,
                    "publishing",
                    null,
                    null,
                    List.of(hostileError),
                    1,
                    T0)));
    assertThat(fenced).isEmpty();
    assertThat(
            a.scheduleRetries(
                pipeline,
                List.of(
                    new ScheduledRetry(
                        records.get(3),
                        "cleaning",
                        1,
                        3,
                        Duration.ofHours(1),
                        2.0,
                        List.of(hostileError))),
                T0))
        .isEmpty();

    RecordState filtered = a.find(pipeline, "r1000").orElseThrow();
    assertThat(filtered.status()).isEqualTo(RecordStatus.FILTERED);
    assertThat(filtered.reason()).isEqualTo(HOSTILE);
    DeadLetter dead =
        a.deadLetters(pipeline, DeadLetterQuery.all().errorType("Bad" + HOSTILE)).items().get(0);
    assertThat(dead.recordId()).isEqualTo("r1001");
    assertThat(dead.errors()).containsExactly(hostileError);
    assertThat(dead.record().metadata()).containsEntry("note" + HOSTILE, HOSTILE);
    assertThat(a.find(pipeline, "r1002").orElseThrow().errors()).containsExactly(hostileError);
    RecordState parked = a.find(pipeline, "r1003").orElseThrow();
    assertThat(parked.status()).isEqualTo(RecordStatus.RETRY_WAIT);
    assertThat(parked.errors()).containsExactly(hostileError);
    assertThat(a.discard(pipeline, List.of("r1001"), HOSTILE, T0)).containsExactly("r1001");
    assertThat(a.find(pipeline, "r1001").orElseThrow().reason()).isEqualTo(HOSTILE);

    // the checkpoint, claimed by another worker, keeps its metadata exactly
    db().expireLeases(pipeline);
    List<Claimed> claimed = open("b").claim(pipeline, 10);
    assertThat(claimed).extracting(c -> c.record().id()).containsExactly("r1004");
    assertThat(claimed.get(0).record().metadata())
        .containsEntry("note" + HOSTILE, HOSTILE)
        .containsEntry("cleaned", HOSTILE);
    // what a reader of the tables sees: escapes, reversible
    assertThat(
            db().query(
                    "SELECT reason FROM "
                        + db().table("pipeline_status")
                        + " WHERE pipeline = ? AND record_id = 'r1000'",
                    pipeline)
                .get(0)
                .get(0))
        .isEqualTo(StorableText.escape(HOSTILE))
        .asString()
        .contains("nul\\u0000", "lone\\ud800", "literal\\\\u0000");
  }

  // ---------------------------------------------------------------------------------- leases

  @Test
  void aWorkerDoesNotClaimAgainWhatItStillProcessesWhenItsLeaseRanOut() {
    JdbcPipelineStore a = open("a");
    a.ingest(pipeline, records(0, 3), "ingestion", T0);

    // the heartbeat did not reach these rows in time (e.g. they were locked by a long write)
    db().expireLeases(pipeline);
    List<Claimed> claimed = a.claim(pipeline, 10);

    assertThat(claimed).as("its own records in flight are not handed out twice").isEmpty();
    assertThat(a.complete(pipeline, List.of(published("r1000"), published("r1001"))))
        .as("the copies in flight complete under the new lease")
        .isEmpty();
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM "
                        + db().table("pipeline_status")
                        + " WHERE pipeline = ? AND status = 'PUBLISHED'",
                    pipeline))
        .isEqualTo(2);
    JdbcPipelineStore b = open("b");
    assertThat(b.claim(pipeline, 10)).as("r1002 is leased to a again, alive").isEmpty();
  }

  @Test
  void anExpiredLeaseIsTakenOverFromItsLastCheckpoint() {
    JdbcPipelineStore a = open("a");
    JdbcPipelineStore b = open("b");
    List<Envelope<String>> records = records(0, 3);
    a.ingest(pipeline, records, "ingestion", T0);
    a.checkpoint(
        pipeline,
        List.of(
            records.get(0).withPayload("cleaned 0"),
            records.get(1).withPayload("cleaned 1").withMetadata("lang", "de")),
        "cleaning",
        T0.plusSeconds(1));

    db().expireLeases(pipeline);
    List<Claimed> claimed = b.claim(pipeline, 10);

    assertThat(claimed)
        .extracting(c -> c.record().id() + "@" + c.stage() + "=" + c.record().payload())
        .containsExactlyInAnyOrder(
            "r1000@cleaning=cleaned 0", "r1001@cleaning=cleaned 1", "r1002@ingestion=payload 2");
    Claimed second =
        claimed.stream().filter(c -> c.record().id().equals("r1001")).findFirst().orElseThrow();
    assertThat(second.record().metadata())
        .containsEntry("lang", "de")
        .containsEntry("source", "src");
    assertThat(b.claim(pipeline, 10)).as("now leased to b").isEmpty();
    assertThat(a.claim(pipeline, 10)).isEmpty();
  }

  @Test
  void aStaleWorkerCanNeitherCheckpointNorCompleteOverTheNewOwner() {
    JdbcPipelineStore a = open("a");
    JdbcPipelineStore b = open("b");
    List<Envelope<String>> records = records(0, 4);
    a.ingest(pipeline, records, "ingestion", T0);
    db().expireLeases(pipeline);
    assertThat(b.claim(pipeline, 10)).hasSize(4);

    a.checkpoint(pipeline, List.of(records.get(0).withPayload("stale")), "cleaning", T0);
    Set<String> refused = a.complete(pipeline, List.of(published("r1000"), published("r1001")));

    assertThat(refused).containsExactlyInAnyOrder("r1000", "r1001");
    assertThat(status("r1000")).isEqualTo("IN_PROGRESS");
    assertThat(b.complete(pipeline, ids(records).stream().map(StoreContract::published).toList()))
        .isEmpty();
    assertThat(b.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(4);
    assertThat(
            db().query(
                    "SELECT DISTINCT worker_id FROM "
                        + db().table("pipeline_status")
                        + " WHERE pipeline = ?",
                    pipeline))
        .containsExactly(List.of("b"));
  }

  @Test
  void theHeartbeatRenewsLeasesWhileTheWorkerLives() {
    JdbcPipelineStore a = open(db().builder().workerId("a").leaseDuration(Duration.ofMillis(600)));
    JdbcPipelineStore b = open("b");
    a.ingest(pipeline, records(0, 2), "ingestion", T0);
    String expiry =
        "SELECT MIN(lease_expires_at) FROM "
            + db().table("pipeline_status")
            + " WHERE pipeline = ?";
    Object first = db().query(expiry, pipeline).get(0).get(0);

    // wait until the first lease has expired by the database's clock
    TestDatabase.await(
        Duration.ofSeconds(10),
        "the first lease to run out",
        () ->
            db().count(
                        "SELECT COUNT(*) FROM "
                            + db().table("pipeline_status")
                            + " WHERE pipeline = ? AND CURRENT_TIMESTAMP > ?",
                        pipeline,
                        first)
                == 2);

    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM "
                        + db().table("pipeline_status")
                        + " WHERE pipeline = ? AND lease_expires_at > CURRENT_TIMESTAMP",
                    pipeline))
        .as("renewed")
        .isEqualTo(2);
    assertThat(b.claim(pipeline, 10)).as("a's leases are alive").isEmpty();
  }

  @Test
  void theHeartbeatRenewsAroundARowAnotherTransactionHolds() throws Exception {
    JdbcPipelineStore a = open(db().builder().workerId("a").leaseDuration(Duration.ofMillis(600)));
    JdbcPipelineStore b = open("b");
    a.ingest(pipeline, records(0, 2), "ingestion", T0);
    String status = db().table("pipeline_status");
    String alive =
        "SELECT COUNT(*) FROM "
            + status
            + " WHERE pipeline = ? AND record_id = ? AND lease_expires_at > CURRENT_TIMESTAMP";
    try (Connection held = db().connect()) {
      held.setAutoCommit(false);
      try (PreparedStatement lock =
          held.prepareStatement(
              "SELECT record_id FROM "
                  + status
                  + " WHERE pipeline = ? AND record_id = 'r1000' FOR UPDATE")) {
        lock.setString(1, pipeline);
        lock.executeQuery().close();
      }
      Object first =
          db().query(
                  "SELECT lease_expires_at FROM "
                      + status
                      + " WHERE pipeline = ? AND record_id = 'r1001'",
                  pipeline)
              .get(0)
              .get(0);
      TestDatabase.await(
          Duration.ofSeconds(10),
          "the first lease to run out",
          () ->
              db().count(
                          "SELECT COUNT(*) FROM "
                              + status
                              + " WHERE pipeline = ? AND CURRENT_TIMESTAMP > ?",
                          pipeline,
                          first)
                  == 2);

      assertThat(db().count(alive, pipeline, "r1001")).as("renewed while r1000 is held").isOne();
      assertThat(b.claim(pipeline, 10)).as("nothing free to take").isEmpty();
      held.rollback();
    }
    TestDatabase.await(
        Duration.ofSeconds(10),
        "the held row to be renewed once let go",
        () -> db().count(alive, pipeline, "r1000") == 1);
  }

  @Test
  void releaseAndCloseGiveRecordsBackAtOnce() {
    JdbcPipelineStore a = open("a");
    JdbcPipelineStore b = open("b");
    a.ingest(pipeline, records(0, 3), "ingestion", T0);

    a.release(pipeline);

    assertThat(b.claim(pipeline, 10)).hasSize(3);
    assertThat(a.complete(pipeline, List.of(published("r1000")))).containsExactly("r1000");

    b.close();
    JdbcPipelineStore c = open("c");
    assertThat(c.claim(pipeline, 10)).hasSize(3);
  }

  @Test
  void aCompletionOfATerminalRecordIsIgnored() {
    JdbcPipelineStore store = open("w1");
    store.ingest(pipeline, records(0, 2), "ingestion", T0);
    assertThat(store.complete(pipeline, List.of(published("r1000")))).isEmpty();

    Completion filtered =
        new Completion("r1000", RecordStatus.FILTERED, "cleaning", "late", null, List.of(), 1, T0);
    assertThat(store.complete(pipeline, List.of(filtered, published("r1001")))).isEmpty();

    assertThat(status("r1000")).isEqualTo("PUBLISHED");
    assertThat(store.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(2);
    assertThat(store.hasUnfinished(pipeline)).isFalse();
  }

  @Test
  void eachRecordOfACompletedBatchKeepsItsOwnStageReasonAttemptsErrorsAndTime() {
    JdbcPipelineStore store = openFull("w1");
    store.ingest(pipeline, records(0, 4), "ingestion", T0);
    Instant later = T0.plusMillis(1_234).plusNanos(567_000);
    Completion retriedThenPublished =
        new Completion(
            "r1001",
            RecordStatus.PUBLISHED,
            "publishing",
            null,
            null,
            List.of(ErrorInfo.of("enrichment", new IllegalStateException("timeout r1001"), 1, T0)),
            2,
            later);
    Completion filtered =
        new Completion(
            "r1002", RecordStatus.FILTERED, "cleaning", "too old", null, List.of(), 1, T0);

    assertThat(
            store.complete(
                pipeline,
                List.of(
                    published("r1000"),
                    retriedThenPublished,
                    filtered,
                    deadLetter(records(3, 4).get(0), "cleaning", "IllegalStateException", T0))))
        .isEmpty();

    RecordState plain = store.find(pipeline, "r1000").orElseThrow();
    assertThat(plain.status()).isEqualTo(RecordStatus.PUBLISHED);
    assertThat(plain.stage()).isEqualTo("publishing");
    assertThat(plain.attempts()).isEqualTo(1);
    assertThat(plain.reason()).isNull();
    assertThat(plain.errors()).isEmpty();
    assertThat(plain.updatedAt()).isEqualTo(T0);
    RecordState retried = store.find(pipeline, "r1001").orElseThrow();
    assertThat(retried.status()).isEqualTo(RecordStatus.PUBLISHED);
    assertThat(retried.attempts()).isEqualTo(2);
    assertThat(retried.lastError().message()).isEqualTo("timeout r1001");
    assertThat(retried.updatedAt()).isEqualTo(later);
    RecordState dropped = store.find(pipeline, "r1002").orElseThrow();
    assertThat(dropped.status()).isEqualTo(RecordStatus.FILTERED);
    assertThat(dropped.stage()).isEqualTo("cleaning");
    assertThat(dropped.reason()).isEqualTo("too old");
    assertThat(status("r1003")).isEqualTo("DEAD_LETTER");
    assertThat(
            db().query(
                    "SELECT record_id, error_type, last_error FROM "
                        + db().table("pipeline_status")
                        + " WHERE pipeline = ? AND record_id IN ('r1000', 'r1001') ORDER BY record_id",
                    pipeline))
        .containsExactly(
            java.util.Arrays.asList("r1000", null, null),
            java.util.Arrays.asList(
                "r1001", "IllegalStateException", "IllegalStateException: timeout r1001"));
    assertThat(store.hasUnfinished(pipeline)).isFalse();
  }

  // ---------------------------------------------------------------------------------- integrity

  @Test
  void aPayloadFailingItsChecksumGoesToTheDeadLetterQueueAndTheOthersGoOn() {
    JdbcPipelineStore a = openFull("a");
    JdbcPipelineStore b = open("b");
    a.ingest(pipeline, records(0, 3), "ingestion", T0);
    db().update(
            "UPDATE "
                + db().table("pipeline_records")
                + " SET payload = ? WHERE pipeline = ? AND record_id = 'r1001'",
            "payload 9".getBytes(java.nio.charset.StandardCharsets.UTF_8),
            pipeline);
    db().expireLeases(pipeline);

    List<Claimed> claimed;
    try (StderrCapture log = new StderrCapture()) {
      claimed = b.claim(pipeline, 10);
      assertThat(log.text()).contains("ERROR", "have damaged payloads", "checksum mismatch");
    }

    assertThat(claimed)
        .extracting(c -> c.record().id())
        .containsExactlyInAnyOrder("r1000", "r1002");
    assertThat(status("r1001")).isEqualTo("DEAD_LETTER");
    Page<DeadLetter> page = b.deadLetters(pipeline, DeadLetterQuery.all());
    assertThat(page.items()).hasSize(1);
    DeadLetter dead = page.items().get(0);
    assertThat(dead.recordId()).isEqualTo("r1001");
    assertThat(dead.stage()).isEqualTo("ingestion");
    assertThat(dead.lastError().errorType()).isEqualTo("PayloadIntegrityException");
    assertThat(dead.lastError().message()).contains("checksum mismatch", "r1001");
    assertThat((byte[]) dead.record().payload()).asString().isEqualTo("payload 9");
    assertThat(
            b.deadLetters(pipeline, DeadLetterQuery.all().errorType("PayloadIntegrityException"))
                .items())
        .hasSize(1);
  }

  // ---------------------------------------------------------------------------------- dead letters

  @Test
  void aDeadLetterKeepsItsRecordAndEveryErrorInOrder() {
    JdbcPipelineStore store = open("w1");
    List<Envelope<String>> records = records(0, 2);
    store.ingest(pipeline, records, "ingestion", T0);
    store.checkpoint(pipeline, List.of(records.get(1).withPayload("cleaned")), "cleaning", T0);

    store.complete(
        pipeline,
        List.of(
            deadLetter(
                records.get(0).withPayload("as it entered cleaning"),
                "cleaning",
                "IllegalStateException",
                T0),
            // the sink step has no codec: the record keeps its last checkpoint
            deadLetter(
                records.get(1).withPayload("final output"),
                "sink",
                "IllegalStateException",
                T0.plusSeconds(1))));

    List<DeadLetter> dead = store.deadLetters(pipeline, DeadLetterQuery.all()).items();
    assertThat(dead).extracting(DeadLetter::recordId).containsExactly("r1000", "r1001");
    assertThat(dead.get(0).record().payload()).isEqualTo("as it entered cleaning");
    assertThat(dead.get(0).stage()).isEqualTo("cleaning");
    assertThat(dead.get(0).attempts()).isEqualTo(2);
    assertThat(dead.get(0).errors())
        .extracting(ErrorInfo::message)
        .containsExactly("first try", "bad r1000");
    assertThat(dead.get(0).record().metadata()).containsEntry("source", "src");
    assertThat(dead.get(1).record().payload()).isEqualTo("cleaned");
    assertThat(dead.get(1).stage()).isEqualTo("sink");
    assertThat(dead.get(1).deadLetteredAt()).isEqualTo(T0.plusSeconds(1));

    RecordState state = store.find(pipeline, "r1001").orElseThrow();
    assertThat(state.status()).isEqualTo(RecordStatus.DEAD_LETTER);
    assertThat(state.stage()).isEqualTo("sink");
    assertThat(state.errors()).hasSize(2);
    assertThat(state.lastError().errorType()).isEqualTo("IllegalStateException");
    assertThat(state.startedAt()).isEqualTo(T0);
    assertThat(store.find(pipeline, "nope")).isEmpty();
  }

  @Test
  void deadLettersArePagedByCursorInAStableOrderAndFiltered() {
    JdbcPipelineStore store = open("w1");
    List<Envelope<String>> records = records(0, 25);
    store.ingest(pipeline, records, "ingestion", T0);
    List<Completion> completions = new ArrayList<>();
    for (int i = 0; i < records.size(); i++) {
      // pairs share a time, so the order falls back to the id
      completions.add(
          deadLetter(
              records.get(i),
              i % 2 == 0 ? "ingestion" : "cleaning",
              i % 3 == 0 ? "UnsupportedOperationException" : "IllegalStateException",
              T0.plusSeconds(i / 2)));
    }
    store.complete(pipeline, completions.reversed());

    List<String> seen = new ArrayList<>();
    DeadLetterQuery query = DeadLetterQuery.all().limit(10);
    int pages = 0;
    while (true) {
      Page<DeadLetter> page = store.deadLetters(pipeline, query);
      pages++;
      page.items().forEach(d -> seen.add(d.recordId()));
      if (!page.hasNext()) {
        break;
      }
      query = query.after(page.nextCursor());
    }
    assertThat(pages).isEqualTo(3);
    assertThat(seen).isEqualTo(ids(records));

    assertThat(store.deadLetters(pipeline, DeadLetterQuery.stage("cleaning").limit(100)).items())
        .hasSize(12)
        .allMatch(d -> d.stage().equals("cleaning"));
    assertThat(
            store
                .deadLetters(
                    pipeline, DeadLetterQuery.all().errorType("UnsupportedOperationException"))
                .items())
        .extracting(DeadLetter::recordId)
        .containsExactly(
            "r1000", "r1003", "r1006", "r1009", "r1012", "r1015", "r1018", "r1021", "r1024");
    assertThat(store.deadLetters(pipeline, DeadLetterQuery.all().since(T0.plusSeconds(11))).items())
        .extracting(DeadLetter::recordId)
        .containsExactly("r1022", "r1023", "r1024");
    assertThatThrownBy(() -> store.deadLetters(pipeline, DeadLetterQuery.all().after("garbage")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cursor");
    String nulCursor =
        java.util.Base64.getUrlEncoder().encodeToString("1.0|r\0".getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> store.deadLetters(pipeline, DeadLetterQuery.all().after(nulCursor)))
        .as("a forged cursor with NUL is refused, not sent to the database")
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cursor");
  }

  // ---------------------------------------------------------------------------------- delivery

  @Test
  void beginDeliveryReportsRecordsHandedToTheSinkBefore() {
    JdbcPipelineStore store = open("w1");
    store.ingest(pipeline, records(0, 3), "ingestion", T0);

    assertThat(store.beginDelivery(pipeline, List.of("r1000", "r1001"))).isEmpty();
    assertThat(store.beginDelivery(pipeline, List.of("r1001", "r1002", "unknown")))
        .containsExactly("r1001");

    assertThat(store.find(pipeline, "r1001").orElseThrow().deliveries()).isEqualTo(2);
    assertThat(store.find(pipeline, "r1002").orElseThrow().deliveries()).isEqualTo(1);
  }

  @Test
  void completeAndDeliverWritesTheStatesAndTheDeliveryNoteTogether() {
    JdbcPipelineStore store = open("w1");
    store.ingest(pipeline, records(0, 4), "ingestion", T0);
    store.beginDelivery(pipeline, List.of("r1000", "r1001"));

    Handover first =
        store.completeAndDeliver(
            pipeline, List.of(published("r1000"), published("r1001")), List.of("r1003", "r1002"));
    Handover second =
        store.completeAndDeliver(pipeline, List.of(published("r1002")), List.of("r1003"));

    assertThat(first.fenced()).isEmpty();
    assertThat(first.redelivered()).isEmpty();
    assertThat(first.lost()).isEmpty();
    assertThat(first.tokens())
        .as("first holders of freshly ingested records: fencing token 1")
        .containsOnly(Map.entry("r1003", 1L), Map.entry("r1002", 1L));
    assertThat(second.fenced()).isEmpty();
    assertThat(second.redelivered()).containsExactly("r1003");
    assertThat(store.find(pipeline, "r1000").orElseThrow().status())
        .isEqualTo(RecordStatus.PUBLISHED);
    assertThat(store.find(pipeline, "r1002").orElseThrow().status())
        .isEqualTo(RecordStatus.PUBLISHED);
    assertThat(store.find(pipeline, "r1002").orElseThrow().deliveries()).isEqualTo(1);
    RecordState r1003 = store.find(pipeline, "r1003").orElseThrow();
    assertThat(r1003.status()).isEqualTo(RecordStatus.IN_PROGRESS);
    assertThat(r1003.deliveries()).isEqualTo(2);

    // a worker that does not hold a record cannot complete it, with a delivery note or without
    JdbcPipelineStore other = open("w2");
    Handover fenced = other.completeAndDeliver(pipeline, List.of(published("r1003")), List.of());
    assertThat(fenced.fenced()).containsExactly("r1003");
    assertThat(store.find(pipeline, "r1003").orElseThrow().status())
        .isEqualTo(RecordStatus.IN_PROGRESS);
    assertThat(store.completeAndDeliver(pipeline, List.of(published("r1003")), List.of()))
        .isEqualTo(Handover.NONE);
    assertThat(store.find(pipeline, "r1003").orElseThrow().status())
        .isEqualTo(RecordStatus.PUBLISHED);
  }

  /**
   * A delivery note whose commit went through but whose reply was lost (the connection failed right
   * after) is retried, and the retry finds the call's own events and writes nothing again: each
   * record handed over once counts one delivery, and the note fences nothing.
   */
  @Test
  void aDeliveryNoteWhoseCommitReplyWasLostIsNotWrittenTwice() {
    DatabaseFaultTest.FlakyDataSource real = new DatabaseFaultTest.FlakyDataSource(db().url);
    javax.sql.DataSource lossy =
        (javax.sql.DataSource)
            java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(),
                new Class<?>[] {javax.sql.DataSource.class},
                (proxy, method, args) -> {
                  Object result = invoke(real, method, args);
                  return result instanceof Connection c ? losingCommitReplies(c) : result;
                });
    JdbcPipelineStore store =
        open(JdbcPipelineStore.builder().dataSource(lossy).schema(db().schema).workerId("w1"));
    store.ingest(pipeline, records(0, 3), "ingestion", T0);

    loseReply.set(true);
    Handover handover =
        store.completeAndDeliver(pipeline, List.of(published("r1000")), List.of("r1001", "r1002"));

    assertThat(lostReplies).as("commits whose reply was lost").hasValue(1);
    assertThat(handover.fenced()).isEmpty();
    assertThat(handover.lost()).isEmpty();
    assertThat(store.find(pipeline, "r1000").orElseThrow().status())
        .isEqualTo(RecordStatus.PUBLISHED);
    assertThat(store.find(pipeline, "r1001").orElseThrow().deliveries()).isEqualTo(1);
    assertThat(store.find(pipeline, "r1002").orElseThrow().deliveries()).isEqualTo(1);
    assertThat(store.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(1);
  }

  // for losingCommitReplies: whether the next commit of a transaction that appended batch events
  // loses its reply, and how many did
  private final AtomicBoolean loseReply = new AtomicBoolean();
  private final AtomicInteger lostReplies = new AtomicInteger();

  /** The connection, whose commit after an append to the batch events fails once when asked. */
  private Connection losingCommitReplies(Connection real) {
    AtomicBoolean appended = new AtomicBoolean();
    return (Connection)
        java.lang.reflect.Proxy.newProxyInstance(
            getClass().getClassLoader(),
            new Class<?>[] {Connection.class},
            (proxy, method, args) -> {
              if (method.getName().startsWith("prepare")
                  && args != null
                  && args[0] instanceof String sql
                  && sql.contains("INSERT INTO")
                  && sql.contains("pipeline_batch_events")) {
                appended.set(true);
              }
              Object result = invoke(real, method, args);
              if (method.getName().equals("commit") && appended.getAndSet(false)) {
                if (loseReply.getAndSet(false)) {
                  lostReplies.incrementAndGet();
                  throw new SQLException("the connection was lost after the commit", "08006");
                }
              }
              return result;
            });
  }

  private static Object invoke(Object target, java.lang.reflect.Method method, Object[] args)
      throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (java.lang.reflect.InvocationTargetException e) {
      throw e.getCause();
    }
  }

  // ---------------------------------------------------------------------------------- retention

  @Test
  void purgeRemovesOldFinishedWorkButKeepsDeadLettersAndRecordsInFlight() {
    JdbcPipelineStore store =
        open(
            db().builder()
                .rowsFromIngest(true)
                .workerId("w1")
                .retainPayloads(Duration.ofHours(1))
                .retainCompleted(Duration.ofDays(1))
                .retainLogs(Duration.ofDays(7))
                .purgeBatchSize(3));
    List<Envelope<String>> records = records(0, 12);
    store.ingest(pipeline, records, "ingestion", T0);
    List<Completion> completions = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      completions.add(published(records.get(i).id()));
    }
    completions.add(deadLetter(records.get(10), "cleaning", "IllegalStateException", T0));
    store.complete(pipeline, completions);
    String status = db().table("pipeline_records");
    // r1000..r1003 finished two days ago, r1004..r1006 two hours ago, the rest just now
    db().update(
            "UPDATE "
                + status
                + " SET completed_at = CURRENT_TIMESTAMP - INTERVAL '2' DAY"
                + " WHERE pipeline = ? AND record_id IN ('r1000', 'r1001', 'r1002', 'r1003', 'r1010')",
            pipeline);
    db().update(
            "UPDATE "
                + status
                + " SET completed_at = CURRENT_TIMESTAMP - INTERVAL '2' HOUR"
                + " WHERE pipeline = ? AND record_id IN ('r1004', 'r1005', 'r1006')",
            pipeline);
    db().update(
            "INSERT INTO "
                + db().table("processing_logs")
                + " (pipeline, log_level, message, created_at) VALUES"
                + " (?, 'INFO', 'old', CURRENT_TIMESTAMP - INTERVAL '8' DAY),"
                + " (?, 'INFO', 'new', CURRENT_TIMESTAMP)",
            pipeline,
            pipeline);
    db().update(
            "INSERT INTO "
                + db().table("pipeline_metrics")
                + " (pipeline, stage_name, window_end) VALUES"
                + " (?, 'cleaning', CURRENT_TIMESTAMP - INTERVAL '8' DAY)",
            pipeline);
    long errorsBefore =
        db().count(
                "SELECT COUNT(*) FROM " + db().table("pipeline_errors") + " WHERE pipeline = ?",
                pipeline);

    JdbcPipelineStore.Purged purged = store.purge();

    assertThat(purged.recordsDeleted()).isEqualTo(4);
    assertThat(purged.payloadsCleared()).isEqualTo(3);
    assertThat(purged.logsDeleted()).isGreaterThanOrEqualTo(1);
    assertThat(purged.metricsDeleted()).isGreaterThanOrEqualTo(1);
    assertThat(store.find(pipeline, "r1000")).isEmpty();
    assertThat(status("r1010")).as("dead letters stay").isEqualTo("DEAD_LETTER");
    assertThat(status("r1011")).as("in flight stays").isEqualTo("IN_PROGRESS");
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM "
                        + status
                        + " WHERE pipeline = ? AND payload IS NOT NULL AND status = 'PUBLISHED'",
                    pipeline))
        .as("r1007..r1009 keep theirs for an hour")
        .isEqualTo(3);
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM " + db().table("pipeline_errors") + " WHERE pipeline = ?",
                    pipeline))
        .isEqualTo(errorsBefore);
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM " + db().table("processing_logs") + " WHERE pipeline = ?",
                    pipeline))
        .isEqualTo(1);
    // a purged id may be ingested again
    assertThat(store.ingest(pipeline, List.of(records.get(0)), "ingestion", T0)).isEmpty();
    assertThat(store.purge().recordsDeleted()).isZero();
  }

  @Test
  void completedRecordsDropTheirPayloadUnlessRetained() {
    JdbcPipelineStore store = openFull("w1");
    store.ingest(pipeline, records(0, 2), "ingestion", T0);
    store.complete(pipeline, List.of(published("r1000")));
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM "
                        + db().table("pipeline_status")
                        + " WHERE pipeline = ? AND payload IS NULL",
                    pipeline))
        .isEqualTo(1);
  }

  // ---------------------------------------------------------------------------------- errors

  @Test
  void aNonTransientErrorFailsWithTheOperationNamed() {
    JdbcPipelineStore store = open(db().builder().tablePrefix("broken_").workerId("w1"));
    db().update("DROP VIEW " + db().table("broken_pipeline_status"));
    db().update("DROP TABLE " + db().table("broken_pipeline_records"));

    assertThatThrownBy(() -> store.counts(pipeline))
        .isInstanceOf(JdbcStoreException.class)
        .hasMessageContaining("counts")
        .hasMessageContaining(pipeline)
        .satisfies(e -> assertThat(((JdbcStoreException) e).operation()).isEqualTo("counts"));
  }

  @Test
  void aCountOfOneStatusStopsAtItsLimitAndAgreesWithCounts() {
    JdbcPipelineStore a = open("a");
    List<Envelope<String>> records = records(0, 6);
    a.ingest(pipeline, records, "ingestion", T0);
    List<ScheduledRetry> retries = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      retries.add(
          new ScheduledRetry(
              records.get(i), "cleaning", 1, 3, Duration.ofHours(1), 2.0, List.of()));
    }
    assertThat(a.scheduleRetries(pipeline, retries, T0)).isEmpty();
    assertThat(
            a.complete(
                pipeline,
                List.of(
                    new Completion(
                        "r1004",
                        RecordStatus.DEAD_LETTER,
                        "cleaning",
                        null,
                        records.get(4),
                        List.of(new ErrorInfo("cleaning", "Bad", "x.Bad", "bad", "", 1, T0)),
                        1,
                        T0))))
        .isEmpty();

    assertThat(a.count(pipeline, RecordStatus.RETRY_WAIT, 100)).isEqualTo(4);
    assertThat(a.count(pipeline, RecordStatus.RETRY_WAIT, 3)).isEqualTo(3);
    assertThat(a.count(pipeline, RecordStatus.DEAD_LETTER, 100)).isEqualTo(1);
    assertThat(a.count(pipeline, RecordStatus.IN_PROGRESS, 100))
        .isEqualTo(a.counts(pipeline).get(RecordStatus.IN_PROGRESS))
        .isEqualTo(1);
    assertThat(a.count("another", RecordStatus.RETRY_WAIT, 100)).isZero();
    assertThatThrownBy(() -> a.count(pipeline, RecordStatus.RETRY_WAIT, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least 1");
  }

  // ---------------------------------------------------------------------------------- pipelines

  @Test
  void aPipelineRunLeavesEveryRecordTerminalAndTheSinkGetsEachPublishedId() {
    JdbcPipelineStore store = open("w1");
    int n = 600;
    Set<String> sunk = ConcurrentHashMap.newKeySet();
    AtomicInteger sinkCalls = new AtomicInteger();
    Pipeline<String, String> p = pipeline(store, sunk, sinkCalls);
    List<String> inputs = IntStream.range(0, n).mapToObj(i -> "item-" + i).toList();

    RunResult result = p.run(Source.of("src", inputs.iterator(), s -> s));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    long filtered = inputs.stream().filter(s -> s.endsWith("7")).count();
    long failed = inputs.stream().filter(s -> s.endsWith("3")).count();
    assertThat(result.filtered()).isEqualTo(filtered);
    assertThat(result.deadLettered()).isEqualTo(failed);
    assertThat(result.published()).isEqualTo(n - filtered - failed);
    assertThat(store.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(n - filtered - failed);
    assertThat(store.counts(pipeline).get(RecordStatus.FILTERED)).isEqualTo(filtered);
    assertThat(store.counts(pipeline).get(RecordStatus.DEAD_LETTER)).isEqualTo(failed);
    assertThat(store.hasUnfinished(pipeline)).isFalse();
    Set<String> expected = new HashSet<>();
    inputs.stream().filter(s -> !s.endsWith("7") && !s.endsWith("3")).forEach(expected::add);
    assertThat(sunk).isEqualTo(expected);
    DeadLetter dead = store.deadLetters(pipeline, DeadLetterQuery.all()).items().get(0);
    assertThat(dead.stage()).isEqualTo("cleaning");
    assertThat(dead.record().payload()).asString().startsWith("ITEM-");

    RunResult again = p.run(Source.of("src", inputs.iterator(), s -> s));
    assertThat(again.duplicates()).isEqualTo(n);
    assertThat(again.published()).isZero();
  }

  /**
   * A stage error and a filter reason with NUL, and a record id with NUL among good records: the
   * run completes, the good records are published, the bad id is a dead letter of its own under a
   * derived id, and a rerun completes too.
   */
  @Test
  void nulInErrorsReasonsAndRecordIdsHurtsOnlyItsOwnRecord() {
    JdbcPipelineStore store = open("w1");
    Set<String> sunk = ConcurrentHashMap.newKeySet();
    Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .inputCodec(STRING)
            .alerts(alert -> {})
            .stage(
                StageName.CLEANING,
                (String s) -> {
                  if (s.startsWith("throw")) {
                    throw new IllegalStateException("cannot\0clean\uD800 " + s);
                  }
                  if (s.startsWith("filter")) {
                    throw RecordFilteredException.because("noise\0here");
                  }
                  return s;
                })
            .sink(batch -> batch.forEach(e -> sunk.add(e.id())))
            .build();
    List<String> inputs = List.of("good-1", "throw-2", "bad\0id-3", "filter-4", "good-5");

    RunResult result = p.run(Source.of("src", inputs.iterator(), s -> s));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(sunk).containsExactlyInAnyOrder("good-1", "good-5");
    assertThat(result.published()).isEqualTo(2);
    assertThat(result.filtered()).isOne();
    assertThat(result.deadLettered()).isEqualTo(2);
    assertThat(store.find(pipeline, "filter-4").orElseThrow().reason()).isEqualTo("noise\0here");
    assertThat(store.find(pipeline, "throw-2").orElseThrow().errors())
        .singleElement()
        .satisfies(e -> assertThat(e.message()).isEqualTo("cannot\0clean\uD800 throw-2"));
    String derived = StorableText.storableId("bad\0id-3");
    assertThat(derived).startsWith("bad\\u0000id-3#");
    DeadLetter badId =
        store.deadLetters(pipeline, DeadLetterQuery.all()).items().stream()
            .filter(d -> d.recordId().equals(derived))
            .findFirst()
            .orElseThrow();
    assertThat(badId.record().payload()).isEqualTo("bad\0id-3");
    assertThat(badId.record().metadata()).containsEntry(StorableText.ORIGINAL_ID, "bad\0id-3");
    assertThat(badId.errors())
        .singleElement()
        .satisfies(
            e ->
                assertThat(e.message())
                    .contains(
                        "record id 'bad\\u0000id-3' cannot be stored",
                        "NUL (U+0000) at index 3",
                        derived));
    assertThat(store.hasUnfinished(pipeline)).isFalse();

    RunResult again = p.run(Source.of("src", inputs.iterator(), s -> s));
    assertThat(again.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(again.duplicates()).isEqualTo(inputs.size());
    assertThat(again.deadLettered()).isZero();
  }

  /**
   * A sink outage longer than the waits a worker makes: the batch is parked in the store's retry
   * queue at the sink (its input kept with the last stage's codec), comes back with its attempts,
   * and is published when the sink is back; nothing is dead-lettered.
   */
  @Test
  void aSinkOutageParksTheBatchInTheStoreAndItIsPublishedWhenTheSinkIsBack() {
    JdbcPipelineStore store = open("w1");
    AtomicInteger sinkCalls = new AtomicInteger();
    Set<String> sunk = ConcurrentHashMap.newKeySet();
    Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .retryQueueAfter(Duration.ofMillis(20))
            .stage(StageName.CLEANING, (String s) -> s.trim(), o -> o.codec(STRING))
            .sink(
                batch -> {
                  if (sinkCalls.incrementAndGet() <= 5) {
                    throw new SQLException("the index database is restarting", "08006");
                  }
                  batch.forEach(e -> sunk.add(e.id()));
                },
                s ->
                    s.retry(
                        dev.pipeline.resilience.RetryPolicy.exponential(
                                Duration.ofMillis(10), Duration.ofMillis(100))
                            .maxRetries(6)))
            .build();
    List<String> inputs = IntStream.range(0, 20).mapToObj(i -> "item-" + i).toList();

    RunResult result = p.run(Source.of("src", inputs.iterator(), s -> s));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isEqualTo(20);
    assertThat(result.deadLettered()).isZero();
    assertThat(sunk).hasSize(20);
    assertThat(sinkCalls).hasValue(6);
    assertThat(store.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(20);
    assertThat(store.hasUnfinished(pipeline)).isFalse();
  }

  /**
   * A seekable source that failed partway: the next run seeks it to the position kept with the last
   * records stored and reads only the rest; a run that read it to its end leaves no position, so
   * the run after reads it from the start and skips every record as a duplicate.
   */
  @Test
  void aSeekableSourceResumesWhereAFailedRunStoppedReadingIt(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path file = dir.resolve("lines.txt");
    List<String> lines = IntStream.range(0, 1_000).mapToObj(i -> "line-" + i).toList();
    java.nio.file.Files.write(file, lines);
    JdbcPipelineStore store = open("w1");
    Set<String> sunk = ConcurrentHashMap.newKeySet();
    Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .stage(StageName.CLEANING, (String s) -> s.trim(), o -> o.codec(STRING))
            .sink(batch -> batch.forEach(e -> sunk.add(e.id())))
            .build();

    RunResult broken;
    try (StderrCapture log = new StderrCapture()) {
      broken = p.run(new BreaksAfter(Source.lines("file", file), 600));
      assertThat(log.text()).contains("ERROR", "source 'file' failed after yielding 600 records");
    }

    assertThat(broken.status()).isEqualTo(RunStatus.FAILED);
    assertThat(broken.read()).isEqualTo(600);
    assertThat(store.sourcePosition(pipeline, "file")).isPresent();

    RunResult resumed = p.run(Source.lines("file", file));

    assertThat(resumed.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(resumed.read()).as("only the lines after the kept position").isEqualTo(400);
    assertThat(resumed.duplicates()).isZero();
    assertThat(sunk).hasSize(1_000);
    assertThat(store.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(1_000);
    assertThat(store.sourcePosition(pipeline, "file")).as("read to its end").isEmpty();

    RunResult again = p.run(Source.lines("file", file));

    assertThat(again.read()).isEqualTo(1_000);
    assertThat(again.duplicates()).isEqualTo(1_000);
  }

  /** A position no source of its kind gives fails the source, saying how to read it anew. */
  @Test
  void aSourceThatCannotSeekToItsKeptPositionFailsNamingTheFix(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path file = dir.resolve("lines.txt");
    java.nio.file.Files.write(file, List.of("a", "b"));
    JdbcPipelineStore store = open("w1");
    store.keepSourcePosition(pipeline, "file", "not-a-position\u0007");
    Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .stage(StageName.CLEANING, (String s) -> s.trim(), o -> o.codec(STRING))
            .build();

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      result = p.run(Source.lines("file", file));
      assertThat(log.text()).contains("ERROR", "cannot resume at the position");
    }

    assertThat(result.status()).isEqualTo(RunStatus.FAILED);
    assertThat(result.sourceErrors())
        .singleElement()
        .asString()
        .contains("cannot resume at the position an earlier run kept", "keepSourcePosition");
    assertThat(result.read()).isZero();

    store.keepSourcePosition(pipeline, "file", null);
    assertThat(p.run(Source.lines("file", file)).read()).isEqualTo(2);
    assertThatThrownBy(() -> store.keepSourcePosition(pipeline, "file", "bad\u0000position"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot be stored");
  }

  /** A position no store can keep is the source failing: the run goes on without it. */
  @Test
  void aSourceGivingAnUnstorablePositionFailsAloneNotTheStore(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path file = dir.resolve("lines.txt");
    java.nio.file.Files.write(file, List.of("a", "b"));
    JdbcPipelineStore store = open("w1");
    Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .stage(StageName.CLEANING, (String s) -> s.trim(), o -> o.codec(STRING))
            .build();
    dev.pipeline.SeekableSource<String> lines = Source.lines("file", file);
    dev.pipeline.SeekableSource<String> hostile =
        new BreaksAfter(lines, Integer.MAX_VALUE) {
          @Override
          public String position() {
            return "offset\u0000" + lines.position();
          }
        };

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      result = p.run(hostile);
      assertThat(log.text()).contains("ERROR", "gave a position that contains NUL");
    }

    assertThat(result.status()).isEqualTo(RunStatus.FAILED);
    assertThat(result.sourceErrors())
        .singleElement()
        .asString()
        .contains("source 'file' failed", "gave a position that", "NUL");
    assertThat(result.failure())
        .as("the source's failure, not the store's")
        .hasMessageContaining("did not read all of its input");
    assertThat(store.sourcePosition(pipeline, "file")).isEmpty();
  }

  /** A seekable source whose reading breaks after some records, as a network file might. */
  private static class BreaksAfter implements dev.pipeline.SeekableSource<String> {
    private final dev.pipeline.SeekableSource<String> inner;
    private final int records;
    private int read;

    BreaksAfter(dev.pipeline.SeekableSource<String> inner, int records) {
      this.inner = inner;
      this.records = records;
    }

    @Override
    public String id() {
      return inner.id();
    }

    @Override
    public dev.pipeline.@org.jspecify.annotations.Nullable Envelope<String> next()
        throws Exception {
      if (read == records) {
        throw new java.io.IOException("connection reset while reading " + inner.id());
      }
      read++;
      return inner.next();
    }

    @Override
    public String position() {
      return inner.position();
    }

    @Override
    public void seek(String position) throws Exception {
      inner.seek(position);
    }

    @Override
    public void close() throws Exception {
      inner.close();
    }
  }

  // ------------------------------------------------------------- leases: outages, dead workers

  /**
   * A database outage longer than the lease, in the middle of a single worker's run: the worker's
   * own claimer must not take back the records it still processes (their completions would then
   * carry a stale token and be refused, and the records be delivered again), and nothing may be
   * blamed on another worker.
   */
  @Test
  void aWorkerDoesNotCompeteWithItselfAfterAnOutageLongerThanItsLease() throws Exception {
    DatabaseFaultTest.FlakyDataSource source = new DatabaseFaultTest.FlakyDataSource(db().url);
    JdbcPipelineStore store = openShortLeased(source, "solo");
    int n = 400;
    Map<String, Integer> deliveries = new ConcurrentHashMap<>();
    Set<String> flagged = ConcurrentHashMap.newKeySet();
    AtomicBoolean outage = new AtomicBoolean();
    Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .stage(StageName.INGESTION, (String s) -> s, o -> o.checkpoint().codec(STRING))
            .stage(
                StageName.CLEANING,
                (String s) -> {
                  if (s.equals("item-200") && outage.compareAndSet(false, true)) {
                    source.failFor(Duration.ofMillis(1_500)); // five leases
                  }
                  return s;
                },
                o -> o.batchSize(20))
            .stage(StageName.PUBLISHING, (String s) -> s, o -> o.batchSize(20))
            .sink(
                batch -> {
                  for (Envelope<String> e : batch) {
                    deliveries.merge(e.id(), 1, Integer::sum);
                    if (e.metadata().containsKey(Envelope.REDELIVERED)) {
                      flagged.add(e.id());
                    }
                  }
                })
            .build();
    List<String> inputs = IntStream.range(0, n).mapToObj(i -> "item-" + i).toList();

    RunResult result = p.run(Source.of("src", inputs.iterator(), s -> s));

    assertThat(outage).as("the outage happened").isTrue();
    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isEqualTo(n);
    assertThat(result.takenOver()).as("records lost to itself").isZero();
    assertThat(result.unfinished()).isZero();
    assertThat(deliveries.values()).as("deliveries per record").allMatch(d -> d == 1);
    assertThat(deliveries).hasSize(n);
    assertThat(flagged).as("records flagged as delivered before").isEmpty();
  }

  /** A store on a data source that can fail, with a lease of 300 ms and a long outage tolerance. */
  private JdbcPipelineStore openShortLeased(
      DatabaseFaultTest.FlakyDataSource source, String worker) {
    return open(
        JdbcPipelineStore.builder()
            .dataSource(source)
            .schema(db().schema)
            .workerId(worker)
            .leaseDuration(Duration.ofMillis(300))
            .outageTolerance(Duration.ofMinutes(1)));
  }

  /**
   * A sink call that fails, during whose retry wait another worker takes the records over (this
   * worker was cut off from the database for longer than its lease): the retry looks at the leases
   * again and does not hand the records to the sink under their stale fencing token.
   */
  @Test
  void aSinkRetryAfterTheRecordsWereTakenOverDoesNotHandThemToTheSink() throws Exception {
    DatabaseFaultTest.FlakyDataSource source = new DatabaseFaultTest.FlakyDataSource(db().url);
    JdbcPipelineStore store = openShortLeased(source, "slow");
    JdbcPipelineStore other = open(db().builder().workerId("other"));
    int n = 10;
    Queue<Envelope<String>> handed = new ConcurrentLinkedQueue<>();
    Set<String> takenOver = ConcurrentHashMap.newKeySet();
    AtomicBoolean failed = new AtomicBoolean();
    Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .stage(StageName.INGESTION, (String s) -> s, o -> o.checkpoint().codec(STRING))
            .sink(
                batch -> {
                  handed.addAll(batch);
                  if (failed.compareAndSet(false, true)) {
                    // cut off past the lease: the other worker claims the records meanwhile,
                    // then gives them back
                    source.failFor(Duration.ofSeconds(3));
                    long started = System.nanoTime();
                    long leaseOver = started + TimeUnit.MILLISECONDS.toNanos(300);
                    while (System.nanoTime() - leaseOver < 0) {
                      // the cut-off worker's own clock must see its lease pass, as in a pause
                      LockSupport.parkNanos(leaseOver - System.nanoTime());
                    }
                    long deadline = started + TimeUnit.SECONDS.toNanos(30);
                    while (takenOver.size() < batch.size() && System.nanoTime() - deadline < 0) {
                      db().expireLeases(pipeline); // its heartbeat may have renewed them
                      other.claim(pipeline, n).forEach(c -> takenOver.add(c.record().id()));
                    }
                    other.close();
                    throw new SQLException("the index database is restarting", "08006");
                  }
                },
                s ->
                    s.retry(
                        RetryPolicy.exponential(Duration.ofMillis(10), Duration.ofMillis(20))
                            .maxRetries(3)))
            .build();
    List<String> inputs = IntStream.range(0, n).mapToObj(i -> "item-" + i).toList();

    RunResult result = p.run(Source.of("src", inputs.iterator(), s -> s));

    assertThat(takenOver).as("records the other worker took over").hasSize(n);
    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isEqualTo(n);
    Map<String, Long> firstToken = new ConcurrentHashMap<>();
    List<String> stale = new ArrayList<>();
    for (Envelope<String> e : handed) {
      long token = e.fencingToken().orElseThrow();
      Long first = firstToken.putIfAbsent(e.id(), token);
      if (first != null && token <= first) {
        stale.add(e.id() + "@" + token);
      }
    }
    assertThat(stale).as("records handed to the sink again under their stale token").isEmpty();
  }

  /**
   * A worker whose process on this host is gone: its records are claimed at once, not after its
   * lease (ten minutes here); a live worker's are not.
   */
  @Test
  void aClaimTakesOverAtOnceTheRecordsOfADeadWorkerOfThisHost() throws Exception {
    Process gone = new ProcessBuilder("sleep", "60").start();
    long started = gone.toHandle().info().startInstant().orElseThrow().toEpochMilli();
    gone.destroyForcibly();
    gone.waitFor();
    String deadId = LocalWorkers.id(gone.pid(), started);
    Duration tenMinutes = Duration.ofMinutes(10);
    JdbcPipelineStore dead = open(db().builder().workerId(deadId).leaseDuration(tenMinutes));
    JdbcPipelineStore alive = open(db().builder().leaseDuration(tenMinutes)); // this process
    dead.ingest(pipeline, records(0, 3), "ingestion", T0);
    alive.ingest(pipeline, records(3, 5), "ingestion", T0);

    JdbcPipelineStore rerun = open(db().builder().leaseDuration(tenMinutes));
    List<Claimed> claimed = rerun.claim(pipeline, 10);

    assertThat(claimed.stream().map(c -> c.record().id()))
        .as("the dead worker's records, not the live one's")
        .containsExactlyInAnyOrder("r1000", "r1001", "r1002");
    assertThat(rerun.leasesHeldElsewhere(pipeline))
        .singleElement()
        .satisfies(
            h -> {
              assertThat(h.worker()).isEqualTo(alive.workerId());
              assertThat(h.records()).isEqualTo(2);
              assertThat(h.expiresWithin()).isGreaterThan(Duration.ofMinutes(9));
            });
  }

  /**
   * A run that has nothing left to do but records another worker holds says whose leases it waits
   * for, and for how long at most, and counts what it then resumes as resumed.
   */
  @Test
  void aRunWaitingForAnotherWorkersLeasesSaysSo() throws Exception {
    JdbcPipelineStore other =
        open(db().builder().workerId("other").leaseDuration(Duration.ofMinutes(10)));
    other.ingest(pipeline, records(0, 3), "ingestion", T0);
    JdbcPipelineStore store = open("w1");
    Set<String> sunk = ConcurrentHashMap.newKeySet();
    PipelineRun run =
        pipeline(store, sunk, new AtomicInteger())
            .start(Source.of("src", List.of("r1000", "r1001", "r1002").iterator(), s -> s));

    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (run.progress().waiting().isEmpty()) {
      assertThat(System.nanoTime()).as("the run says what it waits for").isLessThan(deadline);
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
    assertThat(run.progress().waiting())
        .contains("waiting for 3 leases of worker other to expire (at most 5")
        .endsWith("or their records to be finished");
    assertThat(run.progress().line()).contains("waiting for 3 leases of worker other");
    other.release(pipeline);
    RunResult result = run.await(Duration.ofMinutes(1)).orElseThrow();

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.heldUnfinished()).as("read again, held by the other worker").isEqualTo(3);
    assertThat(result.duplicates()).isZero();
    assertThat(result.resumed()).isEqualTo(3);
    assertThat(result.summary()).contains("3 of them held unfinished", "+3 resumed");
  }

  /** Upper-cases (a checkpoint), fails on ...3, filters ...7, then publishes. */
  Pipeline<String, String> pipeline(
      JdbcPipelineStore store, Set<String> sunk, AtomicInteger sinkCalls) {
    return Pipeline.builder(pipeline, String.class)
        .store(store)
        .stage(
            StageName.INGESTION,
            (String s) -> s.toUpperCase(Locale.ROOT),
            o -> o.checkpoint().codec(STRING).batchSize(50))
        .stage(
            StageName.CLEANING,
            (String s) -> {
              if (s.endsWith("3")) {
                throw new IllegalStateException("cannot clean " + s);
              }
              if (s.endsWith("7")) {
                throw RecordFilteredException.because("sevens are noise");
              }
              return s.trim();
            },
            o -> o.concurrency(2))
        .stage(StageName.PUBLISHING, (String s) -> s)
        .sink(
            batch -> {
              sinkCalls.incrementAndGet();
              for (Envelope<String> e : batch) {
                sunk.add(e.id());
              }
            })
        .build();
  }

  /**
   * The final states of a batch the sink took wait for the next batch's delivery note; a run
   * cancelled meanwhile (its threads interrupted) still writes them before it gives its leases
   * back.
   */
  @Test
  void aCancelledRunWritesTheFinalStatesOfTheBatchesTheSinkTook() throws Exception {
    JdbcPipelineStore store = open("w1");
    CountDownLatch inSecondBatch = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    AtomicInteger firstBatch = new AtomicInteger();
    Pipeline<String, String> run =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .inputCodec(STRING)
            // the sink's first batch is the source's first four records: a reader descheduled
            // for the default linger (5 ms) after its first record would have it ingested alone
            .sourceLinger(PipelineBuilder.MAX_SOURCE_LINGER)
            .stage(StageName.INGESTION, (String s) -> s, o -> o.batchSize(4))
            .sink(
                batch -> {
                  int call = calls.incrementAndGet();
                  if (call == 1) {
                    firstBatch.set(batch.size());
                  } else if (call == 2) {
                    inSecondBatch.countDown();
                    new CountDownLatch(1).await(); // until the cancel interrupts it
                  }
                })
            .build();
    PipelineRun running =
        run.start(Source.of("src", IntStream.range(0, 8).mapToObj(i -> "v" + i).iterator()));
    assertThat(inSecondBatch.await(1, TimeUnit.MINUTES)).isTrue();

    running.cancel();
    RunResult result = running.await(Duration.ofMinutes(1)).orElseThrow();

    assertThat(result.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(firstBatch.get()).as("records in the sink's first batch").isEqualTo(4);
    assertThat(result.published()).isEqualTo(4);
    for (int i = 1; i <= 4; i++) {
      assertThat(store.find(pipeline, "src-" + i).orElseThrow().status())
          .as("src-%d, in the batch the sink took", i)
          .isEqualTo(RecordStatus.PUBLISHED);
    }
    // published records are at the last stage, not at the sink's pseudo-stage registered after it
    assertThat(store.find(pipeline, "src-1").orElseThrow().stage()).isEqualTo("ingestion");
    for (int i = 5; i <= 8; i++) {
      assertThat(store.find(pipeline, "src-" + i).orElseThrow().status().isTerminal())
          .as("src-%d, in the batch the cancel interrupted", i)
          .isFalse();
    }
  }

  /**
   * cancel() interrupts the run's threads; one inside the driver closed H2's database (an
   * interrupted write to its file) and broke PostgreSQL's connection, and the store was dead for
   * the rest of the process. Runs cancelled at random points, with every stage, the sink and the
   * claimer calling the store, must leave the same store working: each next run resumes what the
   * cancelled ones left, and in the end every record is terminal.
   */
  @Test
  void cancellingBusyRunsAtRandomPointsLeavesTheStoreWorkingAndLosesNothing() throws Exception {
    // a schema of its own: its thousands of rows would change the plans the planner tests expect
    TestDatabase own = TestDatabase.of(db().url, db().schema + "_cancel");
    try (JdbcPipelineStore store =
        own.builder().workerId("w1").outageTolerance(Duration.ofSeconds(3)).build()) {
      cancelBusyRunsThenFinish(store, pipeline, 20);
    } finally {
      own.drop();
    }
  }

  /**
   * Runs a pipeline of three stages (two checkpointing) on the store {@code rounds} times, each on
   * 150 new records, and cancels each run once a random number of records passed its second stage;
   * then runs it on every round's records again and checks that each record ends published.
   */
  static void cancelBusyRunsThenFinish(JdbcPipelineStore store, String pipeline, int rounds)
      throws InterruptedException {
    int perRound = 150;
    long seed = System.nanoTime();
    java.util.Random random = new java.util.Random(seed);
    AtomicInteger toPass = new AtomicInteger(Integer.MAX_VALUE);
    java.util.concurrent.atomic.AtomicReference<CountDownLatch> passed =
        new java.util.concurrent.atomic.AtomicReference<>(new CountDownLatch(1));
    Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .stage(
                StageName.INGESTION,
                (String s) -> s.toUpperCase(Locale.ROOT),
                o -> o.checkpoint().codec(STRING).concurrency(2).batchSize(8))
            .stage(
                StageName.CLEANING,
                (String s) -> {
                  if (toPass.decrementAndGet() == 0) {
                    passed.get().countDown();
                  }
                  return s.trim();
                },
                o -> o.checkpoint().codec(STRING).concurrency(3).batchSize(8))
            .stage(
                StageName.PUBLISHING,
                (String s) -> s,
                o -> o.codec(STRING).concurrency(2).batchSize(16))
            .sink(batch -> {})
            .build();
    for (int round = 0; round < rounds; round++) {
      CountDownLatch reached = new CountDownLatch(1);
      passed.set(reached);
      int cancelAfter = 1 + random.nextInt(perRound);
      toPass.set(cancelAfter);
      PipelineRun running = p.start(round(round, perRound));
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
      while (!reached.await(10, TimeUnit.MILLISECONDS)
          && !running.status().isDone() // it ended first, with fewer records than that
          && System.nanoTime() < deadline) {
        // waiting for the cancel point
      }
      running.cancel();
      RunResult result = running.await(Duration.ofMinutes(2)).orElseThrow();
      assertThat(result.status())
          .as(
              "round %d, cancelled after %d records passed (seed %d): %s",
              round, cancelAfter, seed, result.failure())
          .isIn(RunStatus.CANCELLED, RunStatus.COMPLETED);
    }
    toPass.set(Integer.MAX_VALUE);
    // the records the cancelled runs left, and those their sources never got to read
    List<Source<String>> all = new ArrayList<>();
    for (int round = 0; round < rounds; round++) {
      all.add(round(round, perRound));
    }
    RunResult last = p.run(all);
    assertThat(last.status())
        .as("the run after the cancels (seed %d): %s", seed, last.failure())
        .isEqualTo(RunStatus.COMPLETED);
    Map<RecordStatus, Long> counts = store.counts(pipeline).counts();
    assertThat(store.hasUnfinished(pipeline)).as("unfinished records: %s", counts).isFalse();
    assertThat(store.counts(pipeline).get(RecordStatus.PUBLISHED))
        .as("every record of every round, published: %s", counts)
        .isEqualTo((long) rounds * perRound);
  }

  private static Source<String> round(int round, int records) {
    return Source.of(
        "round" + round,
        IntStream.range(0, records).mapToObj(i -> "item " + round + "-" + i).iterator());
  }

  /** A record held at a stage the pipeline no longer has goes to the dead letter queue alone. */
  @Test
  void aRecordAtAStageThePipelineNoLongerHasIsDeadLetteredAndTheOthersGoOn() throws Exception {
    JdbcPipelineStore a =
        open(db().builder().rowsFromIngest(true).workerId("a").leaseDuration(Duration.ofDays(1)));
    List<String> inputs = List.of("item-1", "item-2", "item-4");
    a.ingest(
        pipeline, inputs.stream().map(s -> Envelope.of(s, s, "src")).toList(), "ingestion", T0);
    try (Connection c = java.sql.DriverManager.getConnection(db().url);
        PreparedStatement moved =
            c.prepareStatement(
                "UPDATE "
                    + db().table("pipeline_records")
                    + " SET current_stage = 'retired' WHERE pipeline = ? AND record_id = ?")) {
      moved.setString(1, pipeline);
      moved.setString(2, "item-2");
      assertThat(moved.executeUpdate()).isOne();
    }
    db().expireLeases(pipeline);

    JdbcPipelineStore b = open("b");
    Set<String> sunk = ConcurrentHashMap.newKeySet();
    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      result =
          pipeline(b, sunk, new AtomicInteger())
              .run(Source.of("src", List.<String>of().iterator(), s -> s));
      assertThat(log.text()).contains("ERROR", "at stages it does not have", "'retired'");
    }

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.deadLettered()).isOne();
    assertThat(sunk).containsExactlyInAnyOrder("item-1", "item-4");
    RecordState stray = b.find(pipeline, "item-2").orElseThrow();
    assertThat(stray.status()).isEqualTo(RecordStatus.DEAD_LETTER);
    assertThat(stray.errors())
        .singleElement()
        .satisfies(
            e ->
                assertThat(e.message())
                    .contains("'retired'", "does not have", "bring the stage back"));
    assertThat(b.hasUnfinished(pipeline)).isFalse();
  }

  @Test
  void aRunResumesTheRecordsOfADeadWorkerFromTheirCheckpoints() {
    // worker a ingested everything and checkpointed half, then died (its leases expire)
    JdbcPipelineStore a = open(db().builder().workerId("a").leaseDuration(Duration.ofDays(1)));
    int n = 200;
    List<String> inputs = IntStream.range(0, n).mapToObj(i -> "item-" + i).toList();
    List<Envelope<String>> envelopes = inputs.stream().map(s -> Envelope.of(s, s, "src")).toList();
    a.ingest(pipeline, envelopes, "ingestion", T0);
    a.checkpoint(
        pipeline,
        envelopes.subList(0, n / 2).stream()
            .map(e -> e.withPayload(e.payload().toUpperCase(Locale.ROOT)))
            .toList(),
        "cleaning",
        T0);
    db().expireLeases(pipeline);

    JdbcPipelineStore b = open("b");
    Set<String> sunk = ConcurrentHashMap.newKeySet();
    RunResult result =
        pipeline(b, sunk, new AtomicInteger()).run(Source.of("src", inputs.iterator(), s -> s));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    // the dead worker's records, read again, are not duplicates (unless this run had finished
    // one already when it read it again)
    assertThat(result.heldUnfinished()).isPositive();
    assertThat(result.heldUnfinished() + result.duplicates()).isEqualTo(n);
    assertThat(result.resumed()).isEqualTo(n);
    assertThat(b.hasUnfinished(pipeline)).isFalse();
    long lost =
        inputs.stream()
            .filter(s -> !s.endsWith("3") && !s.endsWith("7") && !sunk.contains(s))
            .count();
    assertThat(lost).isZero();
    assertThat(a.complete(pipeline, List.of(published("item-1")))).containsExactly("item-1");
  }

  // ---------------------------------------------------------------------------------- splits

  /** Archive "arc-n" holds n % 4 files: "arc-n#0", "arc-n#1", ... */
  private static List<String> files(String archive) {
    int n = Integer.parseInt(archive.substring(4));
    return IntStream.range(0, n % 4).mapToObj(i -> archive + "#" + i).toList();
  }

  /**
   * File j of archive n: dead-lettered if n % 5 == 3 and j == 2, filtered if n % 3 == 0 and j == 1.
   */
  private static String publish(String file) {
    int n = Integer.parseInt(file.substring(4, file.indexOf('#')));
    int j = Integer.parseInt(file.substring(file.indexOf('#') + 1));
    if (n % 5 == 3 && j == 2) {
      throw new IllegalStateException("unreadable file " + file);
    }
    if (n % 3 == 0 && j == 1) {
      throw RecordFilteredException.because("not a listing");
    }
    return file.toUpperCase(Locale.ROOT);
  }

  private Pipeline<String, String> splitting(RecordLedger store, Queue<String> sunk) {
    return Pipeline.builder(pipeline, String.class)
        .store(store)
        .alerts(alert -> {})
        .stage(StageName.CLEANING, String::strip)
        .splitStage(
            StageName.EXTRACTION,
            (String archive, dev.pipeline.StageContext c) -> files(archive),
            s -> s.codec(STRING).batchSize(16))
        .stage(StageName.PUBLISHING, StoreContract::publish)
        .sink(batch -> batch.forEach(e -> sunk.add(e.id())))
        .build();
  }

  /**
   * A split stage's children are stored (in the batch ledger: a batch per worker batch) and end in
   * states of their own; the parent ends SPLIT, or FILTERED when it has no children; counts, find,
   * the status view and dead letters know parents and children; a rerun makes nothing again.
   */
  @Test
  void aSplitRecordEndsSplitAndEachOfItsChildrenEndsOnItsOwn() {
    JdbcPipelineStore store = open("w1");
    Queue<String> sunk = new ConcurrentLinkedQueue<>();
    Pipeline<String, String> p = splitting(store, sunk);
    List<String> inputs = IntStream.range(0, 60).mapToObj(i -> "arc-" + i).toList();

    RunResult result = p.run(Source.of("src", inputs.iterator(), s -> s));

    List<String> children = new ArrayList<>();
    Set<String> published = new HashSet<>();
    long dead = 0;
    long filtered = 0;
    for (String archive : inputs) {
      List<String> files = files(archive);
      filtered += files.isEmpty() ? 1 : 0;
      for (int j = 0; j < files.size(); j++) {
        String id = archive + "/" + j;
        children.add(id);
        try {
          publish(files.get(j));
          published.add(id);
        } catch (IllegalStateException e) {
          dead++;
        } catch (RecordFilteredException e) {
          filtered++;
        }
      }
    }
    long split = inputs.stream().filter(a -> !files(a).isEmpty()).count();
    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(new ArrayList<>(sunk)).doesNotHaveDuplicates();
    assertThat(new HashSet<>(sunk)).isEqualTo(published);
    assertThat(result.split()).isEqualTo(split);
    assertThat(result.children()).isEqualTo(children.size());
    assertThat(result.published()).isEqualTo(published.size());
    assertThat(result.deadLettered()).isEqualTo(dead);
    assertThat(result.filtered()).isEqualTo(filtered);
    StatusCounts counts = store.counts(pipeline);
    assertThat(counts.get(RecordStatus.SPLIT)).isEqualTo(split);
    assertThat(counts.get(RecordStatus.PUBLISHED)).isEqualTo(published.size());
    assertThat(counts.get(RecordStatus.DEAD_LETTER)).isEqualTo(dead);
    assertThat(counts.get(RecordStatus.FILTERED)).isEqualTo(filtered);
    assertThat(store.hasUnfinished(pipeline)).isFalse();

    RecordState parent = store.find(pipeline, "arc-7").orElseThrow();
    assertThat(parent.status()).isEqualTo(RecordStatus.SPLIT);
    assertThat(parent.reason()).isEqualTo("split into 3 records");
    assertThat(parent.stage()).isEqualTo("extraction");
    assertThat(status("arc-7")).as("the status view").isEqualTo("SPLIT");
    RecordState child = store.find(pipeline, "arc-7/1").orElseThrow();
    assertThat(child.status()).isEqualTo(RecordStatus.PUBLISHED);
    assertThat(child.parentId()).isEqualTo("arc-7");
    assertThat(store.find(pipeline, "arc-6/1").orElseThrow().parentId()).isEqualTo("arc-6");
    assertThat(store.find(pipeline, "arc-7").orElseThrow().parentId()).isNull();
    RecordState empty = store.find(pipeline, "arc-8").orElseThrow();
    assertThat(empty.status()).isEqualTo(RecordStatus.FILTERED);
    assertThat(empty.reason()).isEqualTo(dev.pipeline.SplitStage.NO_RECORDS);
    DeadLetter letter =
        store.deadLetters(pipeline, DeadLetterQuery.all()).items().stream()
            .filter(d -> d.recordId().equals("arc-3/2"))
            .findFirst()
            .orElseThrow();
    assertThat(letter.parentId()).as("a dead letter names its parent").isEqualTo("arc-3");
    assertThat(letter.record().payload()).isEqualTo("arc-3#2");

    RunResult again = p.run(Source.of("src", inputs.iterator(), s -> s));
    assertThat(again.duplicates()).isEqualTo(inputs.size());
    assertThat(again.children()).isZero();
    assertThat(store.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(published.size());
  }

  /**
   * The children of one record are written as one batch of the batch ledger (one ingest), not a
   * write each; the parent's SPLIT state comes after them.
   */
  @Test
  void theChildrenOfASplitAreStoredInOneBulkWrite() {
    JdbcPipelineStore store = open("w1");
    Queue<String> sunk = new ConcurrentLinkedQueue<>();
    int n = 3_000;
    Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .splitStage(
                StageName.EXTRACTION,
                (String s, dev.pipeline.StageContext c) ->
                    IntStream.range(0, n).mapToObj(i -> s + "#" + i).toList(),
                o -> o.codec(STRING))
            .sink(batch -> batch.forEach(e -> sunk.add(e.id())))
            .build();

    RunResult result = p.run(Source.of("src", List.of("big").iterator(), s -> s));

    assertThat(result.children()).isEqualTo(n);
    assertThat(sunk).hasSize(n);
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM "
                        + db().table("pipeline_batches")
                        + " WHERE pipeline = ? AND stage = 'sink'",
                    pipeline))
        .as("batches holding the children")
        .isOne();
    assertThat(store.find(pipeline, "big").orElseThrow().reason())
        .isEqualTo("split into 3000 records");
  }

  /**
   * A worker died after storing a split's children and before writing the parents' SPLIT states:
   * the next run splits the parents again, finds their children stored, makes none again, and
   * finishes them through claims. Nothing is lost and nothing duplicated.
   */
  @Test
  void aWorkerThatDiesBetweenStoringChildrenAndEndingTheirParentLosesAndDuplicatesNothing() {
    JdbcPipelineStore a = open(db().builder().workerId("a").leaseDuration(Duration.ofDays(1)));
    Queue<String> sunkByA = new ConcurrentLinkedQueue<>();
    splitting(a, sunkByA); // registers the pipeline's stages and codecs on a
    List<String> inputs = IntStream.range(0, 40).mapToObj(i -> "arc-" + i).toList();
    // what a's engine did before it died: ingest the parents, split half of them and store their
    // children at the stage after the split (one bulk ingest), and no more
    a.ingest(pipeline, inputs.stream().map(s -> Envelope.of(s, s, "src")).toList(), "cleaning", T0);
    List<Envelope<String>> stored = new ArrayList<>();
    for (String archive : inputs.subList(0, 20)) {
      List<String> files = files(archive);
      for (int j = 0; j < files.size(); j++) {
        stored.add(
            Envelope.of(archive + "/" + j, files.get(j), "src")
                .withMetadata(Envelope.PARENT_ID, archive));
      }
    }
    assertThat(a.ingest(pipeline, stored, "publishing", T0)).isEmpty();
    db().expireLeases(pipeline);

    JdbcPipelineStore b = open("b");
    Queue<String> sunk = new ConcurrentLinkedQueue<>();
    RunResult result = splitting(b, sunk).run(Source.of("src", inputs.iterator(), s -> s));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    List<String> expected = new ArrayList<>();
    long published = 0;
    for (String archive : inputs) {
      List<String> files = files(archive);
      for (int j = 0; j < files.size(); j++) {
        expected.add(archive + "/" + j);
        try {
          publish(files.get(j));
          published++;
        } catch (RuntimeException e) {
          // filtered or dead-lettered
        }
      }
    }
    assertThat(new ArrayList<>(sunk)).as("children published twice").doesNotHaveDuplicates();
    assertThat(sunk).hasSize((int) published);
    assertThat(result.children())
        .as("children this run made: those a had not stored")
        .isEqualTo(expected.size() - stored.size());
    assertThat(result.resumed())
        .as("a's parents and stored children")
        .isEqualTo(40 + stored.size());
    for (String id : expected) {
      RecordState state = b.find(pipeline, id).orElseThrow();
      assertThat(state.status().isTerminal()).as("%s", state).isTrue();
      assertThat(state.parentId()).isEqualTo(id.substring(0, id.indexOf('/')));
    }
    StatusCounts counts = b.counts(pipeline);
    long all = 0;
    for (RecordStatus status : RecordStatus.values()) {
      all += counts.get(status);
    }
    assertThat(all)
        .as("records in the store: parents and children, once")
        .isEqualTo(40 + expected.size());
    assertThat(counts.get(RecordStatus.SPLIT))
        .isEqualTo(inputs.stream().filter(x -> !files(x).isEmpty()).count());
    assertThat(counts.get(RecordStatus.PUBLISHED)).isEqualTo(published);
    assertThat(b.hasUnfinished(pipeline)).isFalse();
  }

  // ---------------------------------------------------------------------------------- concurrency

  @Test
  void concurrentWorkersNeverClaimTheSameRecord() throws Exception {
    JdbcPipelineStore a = openFull("a");
    int n = 3_000;
    a.ingest(pipeline, records(0, n), "ingestion", T0);
    a.release(pipeline);
    List<JdbcPipelineStore> workers = List.of(open("w1"), open("w2"), open("w3"));
    Map<String, String> claimedBy = new ConcurrentHashMap<>();
    AtomicInteger twice = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    for (JdbcPipelineStore worker : workers) {
      for (int t = 0; t < 2; t++) {
        threads.add(
            Thread.ofVirtual()
                .start(
                    () -> {
                      List<Claimed> batch;
                      while (!(batch = worker.claim(pipeline, 64)).isEmpty()) {
                        List<Completion> done = new ArrayList<>();
                        for (Claimed c : batch) {
                          if (claimedBy.putIfAbsent(c.record().id(), worker.workerId()) != null) {
                            twice.incrementAndGet();
                          }
                          done.add(published(c.record().id()));
                        }
                        assertThat(worker.complete(pipeline, done)).isEmpty();
                      }
                    }));
      }
    }
    for (Thread t : threads) {
      t.join();
    }

    assertThat(twice).hasValue(0);
    assertThat(claimedBy).hasSize(n);
    assertThat(new HashSet<>(claimedBy.values())).hasSizeGreaterThan(1);
    assertThat(a.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(n);
  }

  // ---------------------------------------------------------------------------------- batch ledger

  private long rowsOf(String table) {
    String where =
        table.equals("pipeline_batch_events")
            ? " e JOIN "
                + db().table("pipeline_batches")
                + " b ON b.batch_id = e.batch_id WHERE b.pipeline = ?"
            : " WHERE pipeline = ?";
    return db().count("SELECT COUNT(*) FROM " + db().table(table) + where, pipeline);
  }

  private Map<String, Long> viewCounts() {
    Map<String, Long> counts = new java.util.TreeMap<>();
    for (List<Object> row :
        db().query(
                "SELECT status, COUNT(*) FROM "
                    + db().table("pipeline_status")
                    + " WHERE pipeline = ? GROUP BY status",
                pipeline)) {
      counts.put((String) row.get(0), ((Number) row.get(1)).longValue());
    }
    return counts;
  }

  /**
   * The happy path writes per batch: a published batch of 200 records leaves one batch row, 200
   * narrow id rows and two events (its hand-over and its end), and no full row; the view still
   * answers for each record.
   */
  @Test
  void aPublishedBatchIsWrittenPerBatchAndTheViewAnswersForEachRecord() {
    JdbcPipelineStore store = open("w1");
    List<Envelope<String>> records = records(0, 200);
    assertThat(store.ingest(pipeline, records, "ingestion", T0)).isEmpty();
    assertThat(viewCounts()).containsExactly(Map.entry("IN_PROGRESS", 200L));

    Handover noted = store.completeAndDeliver(pipeline, List.of(), ids(records));
    assertThat(noted.redelivered()).isEmpty();
    assertThat(noted.tokens()).hasSize(200).containsValue(1L);
    List<Completion> done = new ArrayList<>();
    for (Envelope<String> r : records) {
      done.add(published(r.id()));
    }
    assertThat(store.complete(pipeline, done)).isEmpty();

    assertThat(rowsOf("pipeline_records")).as("full rows").isZero();
    assertThat(rowsOf("pipeline_batches")).isOne();
    assertThat(rowsOf("pipeline_batch_records")).isEqualTo(200);
    assertThat(rowsOf("pipeline_batch_events")).isEqualTo(2);
    assertThat(viewCounts()).containsExactly(Map.entry("PUBLISHED", 200L));
    assertThat(store.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(200);
    assertThat(store.hasUnfinished(pipeline)).isFalse();
    RecordState one = store.find(pipeline, "r1007").orElseThrow();
    assertThat(one.status()).isEqualTo(RecordStatus.PUBLISHED);
    assertThat(one.deliveries()).isOne();
    // as a full row says of a record published at its first attempt, without a row of its own
    assertThat(one.stage()).isEqualTo("publishing");
    assertThat(one.attempts()).isOne();
    // and to an operator's store, which never registered the pipeline: from the stages table
    JdbcPipelineStore operator = build(db().builder().workerId("operator"));
    assertThat(operator.find(pipeline, "r1007").orElseThrow().stage()).isEqualTo("publishing");
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM "
                        + db().table("pipeline_batches")
                        + " WHERE pipeline = ? AND state = 'DONE' AND payloads IS NULL",
                    pipeline))
        .as("a done batch drops its payloads")
        .isOne();
    // the ids stay: offered again, they are duplicates
    assertThat(store.ingest(pipeline, records(0, 3), "ingestion", T0))
        .containsExactlyInAnyOrder("r1000", "r1001", "r1002");
  }

  /**
   * A record that leaves the happy path gets its full row, with its state and reason; the records
   * of its batch that stay on it do not.
   */
  @Test
  void recordsThatLeaveTheirBatchGetFullRowsAndTheOthersDoNot() {
    JdbcPipelineStore store = open("w1");
    List<Envelope<String>> records = records(0, 6);
    store.ingest(pipeline, records, "ingestion", T0);
    store.scheduleRetries(
        pipeline, List.of(retry(records.get(0), "cleaning", 1, Duration.ofHours(1))), T0);
    Completion filtered =
        new Completion(
            "r1001", RecordStatus.FILTERED, "cleaning", "too old", null, List.of(), 1, T0);
    assertThat(
            store.complete(
                pipeline,
                List.of(
                    filtered,
                    deadLetter(records.get(2), "cleaning", "IllegalStateException", T0),
                    published("r1003"))))
        .isEmpty();

    assertThat(rowsOf("pipeline_records")).as("full rows").isEqualTo(3);
    assertThat(viewCounts())
        .containsExactly(
            Map.entry("DEAD_LETTER", 1L),
            Map.entry("FILTERED", 1L),
            Map.entry("IN_PROGRESS", 2L),
            Map.entry("PUBLISHED", 1L),
            Map.entry("RETRY_WAIT", 1L));
    assertThat(store.find(pipeline, "r1001").orElseThrow().reason()).isEqualTo("too old");
    assertThat(store.deadLetters(pipeline, DeadLetterQuery.all()).items())
        .extracting(d -> d.recordId() + "=" + d.record().payload())
        .containsExactly("r1002=payload 2");
    StatusCounts counts = store.counts(pipeline);
    assertThat(counts.get(RecordStatus.IN_PROGRESS)).isEqualTo(2);
    assertThat(counts.get(RecordStatus.PUBLISHED)).isEqualTo(1);

    // the last two close the batch; one published after a retry gets its row, counted once
    Completion retried =
        new Completion(
            "r1004",
            RecordStatus.PUBLISHED,
            "publishing",
            null,
            null,
            List.of(ErrorInfo.of("cleaning", new IllegalStateException("flaky"), 1, T0)),
            2,
            T0);
    assertThat(store.complete(pipeline, List.of(retried, published("r1005")))).isEmpty();
    assertThat(store.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(3);
    assertThat(viewCounts()).containsEntry("PUBLISHED", 3L);
    RecordState r1004 = store.find(pipeline, "r1004").orElseThrow();
    assertThat(r1004.attempts()).isEqualTo(2);
    assertThat(r1004.errors()).extracting(ErrorInfo::message).containsExactly("flaky");
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM "
                        + db().table("pipeline_batches")
                        + " WHERE pipeline = ? AND state = 'DONE'",
                    pipeline))
        .isOne();
    assertThat(store.hasUnfinished(pipeline)).as("the parked retry").isTrue();
  }

  /**
   * Ten records ingested by {@code a}, the first four handed to the sink, the first two published;
   * then {@code a} is gone: the batch's lease has run out.
   */
  private List<Envelope<String>> diesMidBatch(JdbcPipelineStore a) {
    List<Envelope<String>> records = records(0, 10);
    a.ingest(pipeline, records, "ingestion", T0);
    a.completeAndDeliver(pipeline, List.of(), ids(records.subList(0, 4)));
    a.complete(pipeline, List.of(published("r1000"), published("r1001")));
    db().expireLeases(pipeline);
    return records;
  }

  /**
   * A worker that died mid-batch: its batch is claimed whole by another worker, without the records
   * it published; those it had handed to the sink are flagged redelivered; and its late writes are
   * refused.
   */
  @Test
  void anExpiredBatchIsClaimedWholeWithoutWhatEndedAndItsHandedOverRecordsAreRedelivered() {
    JdbcPipelineStore a = open("a");
    List<Envelope<String>> records = diesMidBatch(a);

    JdbcPipelineStore b = open("b");
    List<Claimed> claimed = b.claim(pipeline, 100);
    assertThat(claimed)
        .extracting(c -> c.record().id() + "=" + c.record().payload())
        .containsExactlyInAnyOrderElementsOf(
            records.subList(2, 10).stream().map(r -> r.id() + "=" + r.payload()).toList());
    assertThat(claimed).allSatisfy(c -> assertThat(c.record().metadata()).containsKey("source"));

    Handover late = a.completeAndDeliver(pipeline, List.of(published("r1002")), List.of("r1003"));
    assertThat(late.fenced()).containsExactly("r1002");
    assertThat(late.lost()).containsExactly("r1003");

    Handover again = b.completeAndDeliver(pipeline, List.of(), ids(records.subList(2, 10)));
    assertThat(again.redelivered()).containsExactlyInAnyOrder("r1002", "r1003");
    assertThat(again.tokens().get("r1004"))
        .as("the fencing token grew with the claim")
        .isEqualTo(2);
    assertThat(
            b.complete(
                pipeline,
                ids(records.subList(2, 10)).stream().map(StoreContract::published).toList()))
        .isEmpty();
    assertThat(b.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(10);
    assertThat(b.hasUnfinished(pipeline)).isFalse();
    assertThat(viewCounts()).containsExactly(Map.entry("PUBLISHED", 10L));
  }

  /** A store with the full ledger: every record's row once it ended. */
  private JdbcPipelineStore openFullLedger(String worker) {
    return open(db().builder().workerId(worker).fullLedger(true));
  }

  /** The rows of {@code pipeline_records}: record id to status and worker. */
  private Map<String, String> fullRows() {
    return db()
        .query(
            "SELECT record_id, status, worker_id FROM "
                + db().table("pipeline_records")
                + " WHERE pipeline = ?",
            pipeline)
        .stream()
        .collect(
            java.util.stream.Collectors.toMap(
                row -> (String) row.get(0),
                row -> row.get(1) + " by " + row.get(2),
                (x, y) -> x,
                java.util.TreeMap::new));
  }

  /**
   * The full ledger on the batch ledger: each record that ends gets its full row in the write that
   * ends it, whatever its end; a record in flight has none, and the view answers for it; the view
   * and the counts count each record once.
   */
  @Test
  void theFullLedgerGivesEveryEndedRecordItsRowAndCountsEachRecordOnce() {
    JdbcPipelineStore a = openFullLedger("a");
    List<Envelope<String>> records = records(0, 6);
    a.ingest(pipeline, records, "ingestion", T0);
    a.completeAndDeliver(pipeline, List.of(), ids(records.subList(0, 5)));
    Handover ended =
        a.completeAndDeliver(
            pipeline,
            List.of(
                published("r1000"),
                new Completion(
                    "r1001", RecordStatus.FILTERED, "cleaning", "too old", null, List.of(), 1, T0),
                deadLetter(records.get(2), "cleaning", "IllegalStateException", T0),
                new Completion(
                    "r1003",
                    RecordStatus.PUBLISHED,
                    "publishing",
                    null,
                    null,
                    List.of(ErrorInfo.of("cleaning", new RuntimeException("once"), 1, T0)),
                    2,
                    T0)),
            List.of());
    assertThat(ended.fenced()).isEmpty();

    assertThat(fullRows())
        .containsExactly(
            Map.entry("r1000", "PUBLISHED by a"),
            Map.entry("r1001", "FILTERED by a"),
            Map.entry("r1002", "DEAD_LETTER by a"),
            Map.entry("r1003", "PUBLISHED by a"));
    assertThat(status("r1004")).isEqualTo("IN_PROGRESS");
    assertThat(status("r1005")).isEqualTo("IN_PROGRESS");
    assertThat(viewCounts())
        .containsExactly(
            Map.entry("DEAD_LETTER", 1L),
            Map.entry("FILTERED", 1L),
            Map.entry("IN_PROGRESS", 2L),
            Map.entry("PUBLISHED", 2L));
    StatusCounts counts = a.counts(pipeline);
    assertThat(counts.get(RecordStatus.PUBLISHED)).isEqualTo(2);
    assertThat(counts.get(RecordStatus.FILTERED)).isEqualTo(1);
    assertThat(counts.get(RecordStatus.DEAD_LETTER)).isEqualTo(1);
    assertThat(counts.get(RecordStatus.IN_PROGRESS)).isEqualTo(2);

    assertThat(a.complete(pipeline, List.of(published("r1004"), published("r1005")))).isEmpty();
    assertThat(fullRows()).hasSize(6).containsEntry("r1005", "PUBLISHED by a");
    assertThat(
            db().query(
                    "SELECT attempt_count, last_error IS NOT NULL FROM "
                        + db().table("pipeline_records")
                        + " WHERE pipeline = ? AND record_id = ?",
                    pipeline,
                    "r1003"))
        .containsExactly(List.of(2, true));
    assertThat(viewCounts())
        .containsExactly(
            Map.entry("DEAD_LETTER", 1L), Map.entry("FILTERED", 1L), Map.entry("PUBLISHED", 4L));
    assertThat(a.hasUnfinished(pipeline)).isFalse();
  }

  /**
   * The full ledger when a worker dies mid-batch: the records it ended keep their rows; the worker
   * that claims the batch ends the others and writes their rows, flagged redelivered where they
   * were handed over; the late writes of the first worker write no row.
   */
  @Test
  void theFullLedgerWritesTheRowsOfAClaimedBatchOnceAndNoneForTheStaleWorker() {
    JdbcPipelineStore a = openFullLedger("a");
    List<Envelope<String>> records = diesMidBatch(a);

    JdbcPipelineStore b = openFullLedger("b");
    assertThat(b.claim(pipeline, 100)).hasSize(8);
    Handover late = a.completeAndDeliver(pipeline, List.of(published("r1002")), List.of("r1003"));
    assertThat(late.fenced()).containsExactly("r1002");
    assertThat(fullRows()).containsOnlyKeys("r1000", "r1001");

    Handover again = b.completeAndDeliver(pipeline, List.of(), ids(records.subList(2, 10)));
    assertThat(again.redelivered()).containsExactlyInAnyOrder("r1002", "r1003");
    assertThat(
            b.complete(
                pipeline,
                ids(records.subList(2, 10)).stream().map(StoreContract::published).toList()))
        .isEmpty();

    Map<String, String> rows = fullRows();
    assertThat(rows).hasSize(10);
    assertThat(rows)
        .containsEntry("r1000", "PUBLISHED by a")
        .containsEntry("r1002", "PUBLISHED by b");
    assertThat(rows.values()).allSatisfy(v -> assertThat(v).startsWith("PUBLISHED"));
    assertThat(
            db().query(
                    "SELECT record_id, deliveries FROM "
                        + db().table("pipeline_records")
                        + " WHERE pipeline = ? AND record_id IN (?, ?, ?, ?) ORDER BY record_id",
                    pipeline,
                    "r1000",
                    "r1002",
                    "r1003",
                    "r1004"))
        .as("hand-overs, a redelivery included, as the view counted them")
        .containsExactly(
            List.of("r1000", 1), List.of("r1002", 2), List.of("r1003", 2), List.of("r1004", 1));
    assertThat(b.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(10);
    assertThat(viewCounts()).containsExactly(Map.entry("PUBLISHED", 10L));
    assertThat(b.hasUnfinished(pipeline)).isFalse();
  }

  /**
   * A worker back from a pause asks the database about the batches it can no longer vouch for, all
   * of them in one statement: a batch another worker claimed meanwhile, and one claimed again under
   * another token (a copy of it this worker has is stale), are no longer its own; the batch it
   * still holds is renewed, and its records are worked on.
   */
  @Test
  void aWorkerBackFromAPauseKeepsOnlyTheBatchesItStillHoldsUnderItsOwnToken() {
    Duration lease = Duration.ofMillis(300);
    JdbcPipelineStore a = open(db().builder().workerId("a").leaseDuration(lease));
    List<Envelope<String>> taken = records(0, 3);
    List<Envelope<String>> claimedAgain = records(3, 6);
    List<Envelope<String>> kept = records(6, 9);
    a.ingest(pipeline, taken, "ingestion", T0);
    a.ingest(pipeline, claimedAgain, "ingestion", T0);
    a.ingest(pipeline, kept, "ingestion", T0);
    long ingested = System.nanoTime();
    String claim =
        "UPDATE "
            + db().table("pipeline_batches")
            + " SET lease_owner = ?, lease_token = ?, claim_count = claim_count + 1"
            + " WHERE batch_id = (SELECT batch_id FROM "
            + db().table("pipeline_batch_records")
            + " WHERE pipeline = ? AND record_id = ?)";
    // as a claim by worker b would leave the first batch, and one by this worker the second
    assertThat(db().update(claim, "b", 42L, pipeline, "r1000")).isOne();
    assertThat(db().update(claim, "a", 43L, pipeline, "r1003")).isOne();
    // this worker's own clock passes the lease, as in a pause: it vouches for none of its leases
    long over = ingested + lease.toNanos();
    while (System.nanoTime() - over < 0) {
      LockSupport.parkNanos(over - System.nanoTime());
    }

    List<String> all = new ArrayList<>(ids(taken));
    all.addAll(ids(claimedAgain));
    all.addAll(ids(kept));
    List<String> stale = new ArrayList<>(ids(taken));
    stale.addAll(ids(claimedAgain));
    assertThat(a.notHeld(pipeline, all)).containsExactlyInAnyOrderElementsOf(stale);
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM "
                        + db().table("pipeline_batches")
                        + " WHERE pipeline = ? AND lease_owner = 'a' AND lease_token <> 43"
                        + " AND lease_expires_at > CURRENT_TIMESTAMP",
                    pipeline))
        .as("the batch still held, renewed")
        .isOne();
  }

  /**
   * Regression (issue 11): a worker that doubted one record of a batch renewed the batch's lease
   * but vouched afterwards for that record alone, so a stage taking one record at a time (batches
   * sized by time) asked the database again for each record of the same batch. The renewal renews
   * every record held in the batch, and they are all vouched for from memory after it: here a
   * take-over behind the worker's back, which only the database knows of, is not seen for the
   * second record, because the database is not asked.
   */
  @Test
  void aRenewalAfterADoubtVouchesForEveryRecordHeldInTheBatch() {
    assertThat(doubtRenewAndAskAfterATakeOver())
        .as("vouched for by the batch's renewal, within its lease")
        .isEmpty();
  }

  /**
   * Ingests r1000-r1002 under a short lease, outlives it, asks of r1000 (renewed after the doubt),
   * lets worker b take over their batch behind this worker's back, then asks of the other two: what
   * this worker no longer holds, as it knows.
   */
  private Set<String> doubtRenewAndAskAfterATakeOver() {
    Duration lease = Duration.ofMillis(1500);
    JdbcPipelineStore a = open(db().builder().workerId("a").leaseDuration(lease));
    a.ingest(pipeline, records(0, 3), "ingestion", T0);
    List<String> ids = List.of("r1000", "r1001", "r1002");
    assertThat(a.inDoubt(pipeline, ids)).as("vouched for from memory since the ingest").isEmpty();
    long over = System.nanoTime() + lease.toNanos();
    while (System.nanoTime() - over < 0) {
      LockSupport.parkNanos(over - System.nanoTime());
    }

    assertThat(a.inDoubt(pipeline, ids)).as("a lease later").containsExactlyElementsOf(ids);
    assertThat(a.notHeld(pipeline, List.of("r1000"))).as("renewed after the doubt").isEmpty();
    assertThat(a.inDoubt(pipeline, ids)).as("vouched for by the batch's renewal").isEmpty();
    String takeOver =
        "UPDATE "
            + db().table("pipeline_batches")
            + " SET lease_owner = 'b', lease_token = 42, claim_count = claim_count + 1"
            + " WHERE pipeline = ?";
    assertThat(db().update(takeOver, pipeline)).isOne();
    return a.notHeld(pipeline, List.of("r1001", "r1002"));
  }

  /**
   * Retention deletes a batch done longer ago than retainCompleted, with its records' ids (which
   * may then be ingested again), and keeps its dead letter's row and any batch still open.
   */
  @Test
  void purgeDeletesDoneBatchesWithTheirIdsAndKeepsDeadLettersAndOpenBatches() {
    JdbcPipelineStore store =
        open(db().builder().workerId("w1").retainCompleted(Duration.ofDays(1)));
    List<Envelope<String>> done = records(0, 3);
    store.ingest(pipeline, done, "ingestion", T0);
    store.complete(
        pipeline,
        List.of(
            published("r1000"),
            published("r1001"),
            deadLetter(done.get(2), "cleaning", "IllegalStateException", T0)));
    store.ingest(pipeline, records(3, 5), "ingestion", T0); // a second batch, still open
    db().update(
            "UPDATE "
                + db().table("pipeline_batches")
                + " SET completed_at = CURRENT_TIMESTAMP - INTERVAL '2' DAY"
                + " WHERE pipeline = ? AND state = 'DONE'",
            pipeline);

    assertThat(store.purge().recordsDeleted()).as("r1000, r1001").isEqualTo(2);

    assertThat(store.find(pipeline, "r1000")).isEmpty();
    assertThat(status("r1002")).as("dead letters stay").isEqualTo("DEAD_LETTER");
    assertThat(store.find(pipeline, "r1003").orElseThrow().status())
        .isEqualTo(RecordStatus.IN_PROGRESS);
    assertThat(rowsOf("pipeline_batches")).isOne();
    assertThat(store.ingest(pipeline, records(0, 3), "ingestion", T0))
        .as("purged ids are new again; the dead letter's is not")
        .containsExactly("r1002");
  }

  /**
   * Large payloads make smaller batches: three records of 7 MiB are packed into two batches (about
   * 16 MiB each at most), and read back whole when claimed.
   */
  @Test
  void largePayloadsAreSplitIntoBatchesByBytesAndReadBackWhole() {
    JdbcPipelineStore a = open("a");
    String big = "x".repeat(7 << 20);
    List<Envelope<String>> records =
        List.of(
            Envelope.of("big-1", big + "1", "src"),
            Envelope.of("big-2", big + "2", "src"),
            Envelope.of("big-3", big + "3", "src"));
    assertThat(a.ingest(pipeline, records, "ingestion", T0)).isEmpty();
    assertThat(rowsOf("pipeline_batches")).isEqualTo(2);
    a.release(pipeline);

    List<Claimed> claimed = new ArrayList<>();
    JdbcPipelineStore b = open("b");
    for (List<Claimed> some; !(some = b.claim(pipeline, 10)).isEmpty(); ) {
      claimed.addAll(some);
    }
    assertThat(claimed)
        .extracting(c -> c.record().id() + "=" + ((String) c.record().payload()).length())
        .containsExactlyInAnyOrder(
            "big-1=" + (big.length() + 1),
            "big-2=" + (big.length() + 1),
            "big-3=" + (big.length() + 1));
  }

  /** A claim never hands out more than its max: the rest of a batch waits for the next claims. */
  @Test
  void aClaimOfABatchLargerThanItsMaxHandsTheRestOutNext() {
    JdbcPipelineStore a = open("a");
    a.ingest(pipeline, records(0, 10), "ingestion", T0);
    a.release(pipeline);
    assertThat(a.counts(pipeline).get(RecordStatus.READY)).isEqualTo(10);

    JdbcPipelineStore b = open("b");
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      List<Claimed> some = b.claim(pipeline, 4);
      assertThat(some).hasSizeLessThanOrEqualTo(4);
      some.forEach(c -> seen.add(c.record().id()));
    }
    assertThat(seen).containsExactlyInAnyOrderElementsOf(ids(records(0, 10)));
    assertThat(open("c").claim(pipeline, 10)).as("b holds the batch").isEmpty();
  }

  // ---------------------------------------------------------------------------------- codecs

  record Listing(String id, String title, int price) {}

  @Test
  void jsonPayloadsAreCheckpointedAndClaimedAsRecords() {
    JsonCodec<Listing> json = JsonCodec.of(Listing.class);
    List<StageDescriptor> stages =
        List.of(
            new StageDescriptor("ingestion", 1, "Parse", null, "none", 0, true, STRING),
            new StageDescriptor("cleaning", 2, "Clean", null, "none", 0, false, json));
    JdbcPipelineStore a = open("a");
    JdbcPipelineStore b = open("b");
    a.register(pipeline, stages);
    b.register(pipeline, stages);
    a.ingest(pipeline, List.of(Envelope.of("l1", "{raw}")), "ingestion", T0);
    a.checkpoint(
        pipeline, List.of(Envelope.of("l1", new Listing("l1", "Crane", 900))), "cleaning", T0);
    db().expireLeases(pipeline);

    List<Claimed> claimed = b.claim(pipeline, 10);

    assertThat(claimed).hasSize(1);
    assertThat(claimed.get(0).stage()).isEqualTo("cleaning");
    assertThat(claimed.get(0).record().payload()).isEqualTo(new Listing("l1", "Crane", 900));
  }

  /** ingestion (String to Listing, with a JSON codec or none) -> cleaning, which fails on ...2. */
  Pipeline<String, Listing> listings(RecordLedger store, boolean codec) {
    return Pipeline.builder(pipeline, String.class)
        .store(store)
        .stage(
            StageName.INGESTION,
            (String s) -> new Listing(s, "crane " + s, 900),
            o -> {
              if (codec) {
                o.codec(JsonCodec.of(Listing.class));
              }
            })
        .stage(
            StageName.CLEANING,
            (Listing l) -> {
              if (l.id().endsWith("2")) {
                throw new IllegalStateException("cannot clean " + l.id());
              }
              return l;
            })
        .alerts(alert -> {}) // quiet: the test reads the dead letter
        .build();
  }

  static DeadLetter onlyDeadLetter(Pipeline<String, Listing> pipeline) {
    RunResult result = pipeline.run(Source.of("src", List.of("l1", "l2").iterator(), s -> s));
    assertThat(result.deadLettered()).isOne();
    return pipeline.deadLetters().find(DeadLetterQuery.all()).items().get(0);
  }

  @Test
  void deadLettersOfOnePipelineHoldTheSameTypeAtTheSameStageInMemoryAndHere() {
    DeadLetter inMemory = onlyDeadLetter(listings(InMemoryPipelineStore.create(), true));
    DeadLetter durable = onlyDeadLetter(listings(open("w1"), true));

    for (DeadLetter dead : List.of(inMemory, durable)) {
      assertThat(dead.stage()).isEqualTo("cleaning");
      assertThat(dead.payloadStage()).isEqualTo("cleaning");
      assertThat(dead.payload(Listing.class)).isEqualTo(new Listing("l2", "crane l2", 900));
    }
    assertThat(durable.record().payload().getClass())
        .isEqualTo(inMemory.record().payload().getClass());
  }

  @Test
  void aDurableDeadLetterWithoutACodecForTheFailingStagesInputSaysWhichStagesInputItHolds() {
    DeadLetter inMemory = onlyDeadLetter(listings(InMemoryPipelineStore.create(), false));
    DeadLetter durable = onlyDeadLetter(listings(open("w1"), false));

    assertThat(inMemory.payloadStage()).isEqualTo("cleaning");
    assertThat(inMemory.payload(Listing.class)).isEqualTo(new Listing("l2", "crane l2", 900));
    assertThat(durable.stage()).isEqualTo("cleaning");
    assertThat(durable.payloadStage()).as("the record as ingested").isEqualTo("ingestion");
    assertThat(durable.payload(String.class)).isEqualTo("l2");
    assertThatThrownBy(() -> durable.payload(Listing.class))
        .isInstanceOf(ClassCastException.class)
        .hasMessage(
            "the dead letter of record 'l2' holds the input of stage 'ingestion', a"
                + " java.lang.String, not a "
                + Listing.class.getName()
                + "; it failed at stage 'cleaning', whose input the durable store could not keep:"
                + " give that input a codec (s.codec(...) on the stage before it) to keep it");
  }

  @Test
  void aPayloadItsCodecCannotReadIsAnIntegrityDeadLetter() {
    JdbcPipelineStore a = open("a");
    a.ingest(pipeline, records(0, 2), "ingestion", T0);
    db().expireLeases(pipeline);
    // the stage's input changed to JSON records while strings were stored there
    JdbcPipelineStore b = open("b");
    b.register(
        pipeline,
        List.of(
            new StageDescriptor(
                "ingestion", 1, "Parse", null, "none", 0, false, JsonCodec.of(Listing.class))));

    try (StderrCapture log = new StderrCapture()) {
      assertThat(b.claim(pipeline, 10)).isEmpty();

      DeadLetter dead = b.deadLetters(pipeline, DeadLetterQuery.all()).items().get(0);
      assertThat(dead.lastError().errorType()).isEqualTo("PayloadIntegrityException");
      assertThat(dead.lastError().message()).contains("cannot decode", "json:");
      assertThat(b.counts(pipeline).get(RecordStatus.DEAD_LETTER)).isEqualTo(2);
      assertThat(log.text()).contains("ERROR", "have damaged payloads", "cannot decode");
    }
  }

  // ---------------------------------------------------------------------------------- error text

  // A record whose exception is hostile (its getMessage() or toString() throws, its causes are
  // 10,000 deep, its message is 10 MB of control characters) is stored as a dead letter with
  // bounded text and the run COMPLETES, and so does every later run; a record's error rows are a
  // bounded history however often it is retried.

  private static final Duration HOSTILE_DEADLINE = Duration.ofMinutes(2);

  static final class MessageThrows extends RuntimeException {
    private static final long serialVersionUID = 1L;

    @Override
    public String getMessage() {
      throw new IllegalStateException("getMessage fails");
    }
  }

  static final class ToStringThrowsItself extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ToStringThrowsItself(String message) {
      super(message);
    }

    @Override
    public String toString() {
      throw new ToStringThrowsItself("toString fails");
    }
  }

  private static final String HUGE =
      "line one\r\nFORGED\u001B[2J\u2028".repeat(10 * 1024 * 1024 / 20);

  private static RuntimeException hostile(String id) {
    if (id.startsWith("message")) {
      return new MessageThrows();
    }
    if (id.startsWith("self")) {
      return new ToStringThrowsItself("cannot " + id);
    }
    if (id.startsWith("deep")) {
      RuntimeException e = new RuntimeException("root");
      for (int i = 1; i <= 10_000; i++) {
        e = new RuntimeException("level " + i, e);
      }
      return e;
    }
    return new IllegalStateException(HUGE);
  }

  @Test
  void aRecordWhoseErrorTextIsHostileIsStoredAndEveryRunCompletes() throws Exception {
    JdbcPipelineStore store = open("w1");
    Queue<Alert> alerts = new ConcurrentLinkedQueue<>();
    Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .stage(
                StageName.CLEANING,
                (String s) -> {
                  if (!s.startsWith("ok")) {
                    throw hostile(s);
                  }
                  return s;
                },
                o -> o.retry(RetryPolicy.none()))
            .alerts(alerts::add)
            .build();

    for (String run : List.of("-1", "-2")) {
      List<String> ids =
          List.of("ok" + run, "message" + run, "self" + run, "deep" + run, "huge" + run);
      RunResult result =
          p.start(Source.of("src", ids.iterator(), s -> s))
              .await(HOSTILE_DEADLINE)
              .orElseThrow(() -> new AssertionError("run " + run + " did not end"));

      assertThat(result.status()).as("run %s", run).isEqualTo(RunStatus.COMPLETED);
      assertThat(result.published()).isOne();
      assertThat(result.deadLettered()).isEqualTo(4);
    }
    Map<String, ErrorInfo> errors =
        store.deadLetters(pipeline, DeadLetterQuery.all()).items().stream()
            .collect(Collectors.toMap(DeadLetter::recordId, DeadLetter::lastError));
    assertThat(errors).hasSize(8);
    assertThat(errors.get("message-2").message())
        .isEqualTo("[getMessage() threw java.lang.IllegalStateException]");
    assertThat(errors.get("self-2").message()).isEqualTo("cannot self-2");
    assertThat(errors.get("deep-2").stackTrace())
        .startsWith("java.lang.RuntimeException: level 10000")
        .contains("… [cut: ");
    ErrorInfo huge = errors.get("huge-2");
    assertThat(huge.message()).hasSizeLessThan(4_200).endsWith(" chars]").contains("… [cut ");
    assertThat(huge.stackTrace())
        .hasSizeLessThan(ErrorInfo.MAX_STACK_TRACE + 200)
        .doesNotContain("\r", "\u001B", "\u2028");
    for (ErrorInfo error : errors.values()) {
      assertThat(error.stackTrace()).hasSizeLessThan(ErrorInfo.MAX_STACK_TRACE + 200);
    }
    assertThat(alerts).hasSize(8).allSatisfy(a -> assertThat(a.message()).doesNotContain("\r"));
  }

  @Test
  void aStagePuttingAHugeMetadataValueFailsItsRecordOnlyAndNothingHugeIsStored() throws Exception {
    JdbcPipelineStore store = open("w1");
    String huge = "x".repeat(1_000_000);
    Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .stage(
                StageName.CLEANING,
                (String s, dev.pipeline.StageContext c) -> {
                  c.putMetadata("note", s.startsWith("huge") ? huge : "small");
                  return s;
                },
                o -> o.retry(RetryPolicy.none()))
            .stage(StageName.PUBLISHING, (String s) -> s)
            .build();

    for (String run : List.of("-1", "-2")) {
      List<String> ids = List.of("ok" + run, "huge" + run, "fine" + run);
      RunResult result =
          p.start(Source.of("src", ids.iterator(), s -> s))
              .await(HOSTILE_DEADLINE)
              .orElseThrow(() -> new AssertionError("run " + run + " did not end"));

      assertThat(result.status()).as("run %s", run).isEqualTo(RunStatus.COMPLETED);
      assertThat(result.published()).as("run %s", run).isEqualTo(2);
      assertThat(result.deadLettered()).as("run %s", run).isOne();
    }
    DeadLetter dead =
        store.deadLetters(pipeline, DeadLetterQuery.all()).items().stream()
            .filter(d -> d.recordId().equals("huge-2"))
            .findFirst()
            .orElseThrow();
    assertThat(dead.stage()).isEqualTo("cleaning");
    assertThat(dead.lastError().message())
        .contains(
            "stage 'cleaning' cannot add metadata key 'note' to record 'huge-2'",
            "more than " + dev.pipeline.StageContext.MAX_METADATA_VALUE_CHARS,
            "keep large data in the payload")
        .hasSizeLessThan(2_000);
    assertThat(dead.record().metadata()).doesNotContainKey("note");
    assertThat(
            database.count(
                "SELECT COUNT(*) FROM "
                    + database.table("pipeline_records")
                    + " WHERE pipeline = ? AND LENGTH(metadata) > ?",
                pipeline,
                10_000))
        .as("rows with huge metadata")
        .isZero();
  }

  @Test
  void theErrorRowsOfARecordRetriedManyTimesAreABoundedHistory() {
    JdbcPipelineStore store = open("w1");
    Envelope<String> record = records(0, 1).get(0);
    store.ingest(pipeline, List.of(record), "ingestion", T0);

    for (int attempt = 1; attempt <= 25; attempt++) {
      assertThat(store.scheduleRetries(pipeline, List.of(retry(record, attempt)), T0)).isEmpty();
      List<Claimed> claimed = claimWhenDue(store, pipeline);
      assertThat(claimed).extracting(c -> c.record().id()).containsExactly(record.id());
    }
    assertThat(errorRows()).as("rows after 25 retries").isEqualTo(10);
    store.complete(
        pipeline,
        List.of(
            new Completion(
                record.id(),
                RecordStatus.DEAD_LETTER,
                "cleaning",
                null,
                record,
                List.of(ErrorInfo.of("cleaning", new IllegalStateException("last"), 26, T0)),
                26,
                T0)));

    assertThat(errorRows()).as("rows after the dead letter").isEqualTo(10);
    List<ErrorInfo> errors = store.find(pipeline, record.id()).orElseThrow().errors();
    assertThat(errors.get(0).message()).isEqualTo("try 1");
    assertThat(errors.get(1).errorType()).isEqualTo("ErrorsDropped");
    assertThat(errors.get(1).attempt()).as("errors dropped").isEqualTo(17);
    List<String> last = new ArrayList<>();
    for (int attempt = 19; attempt <= 25; attempt++) {
      last.add("try " + attempt);
    }
    last.add("last");
    assertThat(errors.subList(2, 10)).extracting(ErrorInfo::message).isEqualTo(last);
  }

  private static ScheduledRetry retry(Envelope<String> record, int attempt) {
    return new ScheduledRetry(
        record,
        "cleaning",
        attempt,
        Integer.MAX_VALUE,
        Duration.ZERO,
        1.0,
        List.of(
            ErrorInfo.of("cleaning", new IllegalStateException("try " + attempt), attempt, T0)));
  }

  private long errorRows() {
    return db().count(
            "SELECT COUNT(*) FROM " + db().table("pipeline_errors") + " WHERE pipeline = ?",
            pipeline);
  }

  // ---------------------------------------------------------------------------------- retries

  static ScheduledRetry retry(Envelope<?> record, String stage, int attempts, Duration delay) {
    return new ScheduledRetry(
        record,
        stage,
        attempts,
        3,
        delay,
        2.0,
        List.of(
            ErrorInfo.of(
                stage,
                new IllegalStateException("try " + attempts + " of " + record.id()),
                attempts,
                T0)));
  }

  List<List<Object>> queued() {
    return db().query(
            "SELECT record_id, stage_name, retry_count, max_retries, backoff_multiplier,"
                + " last_error, stage_id FROM "
                + db().table("retry_queue")
                + " WHERE pipeline = ? ORDER BY record_id",
            pipeline);
  }

  long notYetDue() {
    return db().count(
            "SELECT COUNT(*) FROM "
                + db().table("retry_queue")
                + " WHERE pipeline = ? AND next_retry_at > CURRENT_TIMESTAMP",
            pipeline);
  }

  /** Claims until something is handed over, failing after 10 s. */
  static List<Claimed> claimWhenDue(JdbcPipelineStore store, String pipeline) {
    List<Claimed> claimed = new ArrayList<>();
    TestDatabase.await(
        Duration.ofSeconds(10),
        "a retry to become due",
        () -> {
          claimed.addAll(store.claim(pipeline, 10, Instant.EPOCH)); // the database's clock rules
          return !claimed.isEmpty();
        });
    return claimed;
  }

  @Test
  void aScheduledRetryIsClaimedOnceDueAtItsStageWithItsAttemptsAndPayload() {
    JdbcPipelineStore a = open("a");
    JdbcPipelineStore b = open("b");
    List<Envelope<String>> records = records(0, 3);
    a.ingest(pipeline, records, "ingestion", T0);
    Envelope<String> cleaned = records.get(0).withPayload("cleaned 0").withMetadata("lang", "de");

    Set<String> refused =
        a.scheduleRetries(
            pipeline,
            List.of(
                retry(cleaned, "cleaning", 2, Duration.ofMillis(300)),
                retry(records.get(1), "ingestion", 1, Duration.ofHours(1))),
            T0);

    assertThat(refused).isEmpty();
    assertThat(status("r1000")).isEqualTo("RETRY_WAIT");
    assertThat(a.counts(pipeline).get(RecordStatus.RETRY_WAIT)).isEqualTo(2);
    assertThat(a.hasUnfinished(pipeline)).isTrue();
    RecordState waiting = a.find(pipeline, "r1000").orElseThrow();
    assertThat(waiting.stage()).isEqualTo("cleaning");
    assertThat(waiting.attempts()).isEqualTo(2);
    assertThat(waiting.lastError().message()).isEqualTo("try 2 of r1000");
    assertThat(queued())
        .extracting(r -> r.subList(0, 6).toString())
        .containsExactly(
            "[r1000, cleaning, 2, 3, 2.0, IllegalStateException: try 2 of r1000]",
            "[r1001, ingestion, 1, 3, 2.0, IllegalStateException: try 1 of r1001]");
    assertThat(queued().get(0).get(6)).as("stage id").isNotNull();
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM "
                        + db().table("pipeline_status")
                        + " WHERE pipeline = ? AND status = 'RETRY_WAIT' AND lease_owner IS NULL"
                        + " AND lease_expires_at IS NULL",
                    pipeline))
        .as("the leases are given up")
        .isEqualTo(2);

    List<Claimed> early = b.claim(pipeline, 10, T0.plus(Duration.ofDays(1)));
    if (notYetDue() == 2) { // else this machine was too slow to tell
      assertThat(early).as("nothing due yet").isEmpty();
    }
    List<Claimed> claimed = new ArrayList<>(early);
    if (claimed.isEmpty()) {
      claimed = claimWhenDue(b, pipeline);
    }

    assertThat(claimed).hasSize(1);
    Claimed c = claimed.get(0);
    assertThat(c.record().id()).isEqualTo("r1000");
    assertThat(c.stage()).isEqualTo("cleaning");
    assertThat(c.attempts()).isEqualTo(2);
    assertThat(c.record().payload()).isEqualTo("cleaned 0");
    assertThat(c.record().metadata()).containsEntry("lang", "de").containsEntry("source", "src");
    assertThat(queued()).extracting(r -> r.get(0)).containsExactly("r1001");
    assertThat(status("r1000")).isEqualTo("IN_PROGRESS");
    assertThat(b.claim(pipeline, 10)).as("leased to b now").isEmpty();
    assertThat(a.claim(pipeline, 10)).isEmpty();
    assertThat(status("r1001")).isEqualTo("RETRY_WAIT");

    // it fails again and for good: the dead letter shows every error, the retried one first
    b.complete(
        pipeline,
        List.of(
            new Completion(
                "r1000",
                RecordStatus.DEAD_LETTER,
                "cleaning",
                null,
                cleaned,
                List.of(ErrorInfo.of("cleaning", new IllegalStateException("final"), 3, T0)),
                3,
                T0.plusSeconds(5))));
    DeadLetter dead = b.deadLetters(pipeline, DeadLetterQuery.all()).items().get(0);
    assertThat(dead.errors())
        .extracting(ErrorInfo::message)
        .containsExactly("try 2 of r1000", "final");
    assertThat(dead.attempts()).isEqualTo(3);
    assertThat(dead.record().payload()).isEqualTo("cleaned 0");
  }

  @Test
  void scheduleRetriesIsRefusedForRecordsAnotherWorkerTookOver() {
    JdbcPipelineStore a = open("a");
    JdbcPipelineStore b = open("b");
    List<Envelope<String>> records = records(0, 3);
    a.ingest(pipeline, records, "ingestion", T0);
    db().expireLeases(pipeline);
    assertThat(b.claim(pipeline, 10)).hasSize(3);

    Set<String> refused =
        a.scheduleRetries(
            pipeline,
            List.of(
                retry(records.get(0), "ingestion", 1, Duration.ZERO),
                retry(records.get(1), "cleaning", 1, Duration.ZERO),
                retry(Envelope.of("unknown", "x"), "ingestion", 1, Duration.ZERO)),
            T0);

    assertThat(refused).containsExactlyInAnyOrder("r1000", "r1001", "unknown");
    assertThat(status("r1000")).isEqualTo("IN_PROGRESS");
    assertThat(queued()).isEmpty();
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM " + db().table("pipeline_errors") + " WHERE pipeline = ?",
                    pipeline))
        .isZero();
    // the owner parks it; a second park of the same record is refused, the first stands
    assertThat(
            b.scheduleRetries(
                pipeline, List.of(retry(records.get(0), "cleaning", 1, Duration.ZERO)), T0))
        .isEmpty();
    assertThat(
            b.scheduleRetries(
                pipeline, List.of(retry(records.get(0), "ingestion", 2, Duration.ZERO)), T0))
        .containsExactly("r1000");
    assertThat(queued())
        .extracting(r -> r.get(0) + "@" + r.get(1))
        .containsExactly("r1000@cleaning");
    assertThat(b.complete(pipeline, List.of(published("r1000")))).containsExactly("r1000");
    assertThat(status("r1000")).isEqualTo("RETRY_WAIT");
  }

  @Test
  void aRetryAtAStageWithoutCodecIsRefusedBeforeAnythingIsWritten() {
    JdbcPipelineStore a = open("a");
    List<Envelope<String>> records = records(0, 2);
    a.ingest(pipeline, records, "ingestion", T0);

    assertThatThrownBy(
            () ->
                a.scheduleRetries(
                    pipeline,
                    List.of(
                        retry(records.get(0), "cleaning", 1, Duration.ZERO),
                        retry(records.get(1), "publishing", 1, Duration.ZERO)),
                    T0))
        .isInstanceOf(dev.pipeline.PipelineException.class)
        .hasMessageContaining("publishing")
        .hasMessageContaining("no input codec");
    assertThat(status("r1000")).isEqualTo("IN_PROGRESS");
    assertThat(queued()).isEmpty();
  }

  @Test
  void scheduledRetriesSurviveClosingAndReopeningTheStore() {
    JdbcPipelineStore a = open("a");
    List<Envelope<String>> records = records(0, 3);
    a.ingest(pipeline, records, "ingestion", T0);
    a.scheduleRetries(
        pipeline,
        List.of(
            retry(records.get(0).withPayload("parked 0"), "cleaning", 1, Duration.ofMillis(300)),
            retry(records.get(1), "ingestion", 2, Duration.ofHours(1))),
        T0);
    a.close(); // gives back r1002, which it still held

    JdbcPipelineStore c = open("c");
    List<Claimed> claimed = new ArrayList<>(c.claim(pipeline, 10));
    assertThat(claimed).extracting(x -> x.record().id()).contains("r1002");
    claimed.removeIf(x -> x.record().id().equals("r1002"));
    if (claimed.isEmpty()) {
      claimed = claimWhenDue(c, pipeline);
    }

    assertThat(claimed)
        .extracting(
            x ->
                x.record().id() + "@" + x.stage() + "#" + x.attempts() + "=" + x.record().payload())
        .containsExactly("r1000@cleaning#1=parked 0");
    assertThat(status("r1001")).isEqualTo("RETRY_WAIT");
    assertThat(queued()).extracting(r -> r.get(0)).containsExactly("r1001");
    assertThat(c.hasUnfinished(pipeline)).isTrue();
    // made due by hand, any worker takes it with its attempts
    db().update(
            "UPDATE "
                + db().table("retry_queue")
                + " SET next_retry_at = CURRENT_TIMESTAMP - INTERVAL '1' SECOND WHERE pipeline = ?",
            pipeline);
    assertThat(open("d").claim(pipeline, 10))
        .extracting(x -> x.record().id() + "@" + x.stage() + "#" + x.attempts())
        .containsExactly("r1001@ingestion#2");
    assertThat(queued()).isEmpty();
  }

  @Test
  void aClaimTakesDueRetriesFirstAndNeverMoreThanMax() {
    JdbcPipelineStore a = open("a");
    List<Envelope<String>> records = records(0, 10);
    a.ingest(pipeline, records, "ingestion", T0);
    a.scheduleRetries(
        pipeline,
        records.subList(0, 4).stream().map(r -> retry(r, "ingestion", 1, Duration.ZERO)).toList(),
        T0);
    a.release(pipeline); // r1004..r1009 ready

    JdbcPipelineStore b = open("b");
    List<Claimed> first = b.claim(pipeline, 6);
    List<Claimed> second = b.claim(pipeline, 6);

    assertThat(first).hasSize(6);
    assertThat(first)
        .filteredOn(c -> c.attempts() == 1)
        .extracting(c -> c.record().id())
        .containsExactlyInAnyOrder("r1000", "r1001", "r1002", "r1003");
    assertThat(second).hasSize(4);
    assertThat(b.claim(pipeline, 6)).isEmpty();
    assertThat(queued()).isEmpty();
  }

  // ---------------------------------------------------------------------------------- reprocess

  /** Dead letters r1000.. at cleaning, each with two errors, their payload "as it entered ...". */
  List<Envelope<String>> deadLetters(JdbcPipelineStore store, int n) {
    List<Envelope<String>> records = records(0, n);
    store.ingest(pipeline, records, "ingestion", T0);
    List<Completion> completions = new ArrayList<>();
    for (Envelope<String> r : records) {
      completions.add(
          deadLetter(
              r.withPayload("as it entered cleaning " + r.id()),
              "cleaning",
              "IllegalStateException",
              T0));
    }
    for (int from = 0; from < n; from += 500) {
      store.complete(pipeline, completions.subList(from, Math.min(n, from + 500)));
    }
    return records;
  }

  @Test
  void reprocessWithPayloadReplacesTheKeptInputAndSendsItBackOnce() {
    JdbcPipelineStore a = open("a");
    deadLetters(a, 2);
    a.ingest(pipeline, records(2, 3), "ingestion", T0);
    // publishing has no codec: the dead letter keeps the record as ingested
    a.complete(
        pipeline,
        List.of(
            deadLetter(
                Envelope.of("r1002", "late output"), "publishing", "IllegalStateException", T0)));

    assertThatThrownBy(() -> a.reprocessWithPayload(pipeline, "r1000", 42, T0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot encode the new payload of dead letter 'r1000'")
        .hasMessageContaining("stage 'cleaning'");
    assertThat(a.find(pipeline, "r1000").orElseThrow().status())
        .as("left a dead letter")
        .isEqualTo(RecordStatus.DEAD_LETTER);
    assertThat(a.reprocessWithPayload(pipeline, "r1000", "fixed r1000", T0)).isTrue();
    assertThat(a.reprocessWithPayload(pipeline, "r1000", "again", T0)).as("once").isFalse();
    assertThat(a.reprocessWithPayload(pipeline, "r1002", "fixed r1002", T0)).isTrue();
    assertThat(a.reprocessWithPayload(pipeline, "unknown", "x", T0)).isFalse();
    assertThat(a.deadLetters(pipeline, DeadLetterQuery.all()).items())
        .extracting(DeadLetter::recordId)
        .containsExactly("r1001");

    List<Claimed> claimed = open("b").claim(pipeline, 10);

    assertThat(claimed)
        .extracting(c -> c.record().id() + "@" + c.stage() + "=" + c.record().payload())
        .containsExactlyInAnyOrder("r1000@cleaning=fixed r1000", "r1002@ingestion=fixed r1002");
    assertThat(claimed.get(0).record().metadata()).containsEntry("source", "src");
  }

  @Test
  void reprocessSendsDeadLettersBackOnceAtTheirFailingStageWithTheirPayload() {
    JdbcPipelineStore a = open("a");
    List<Envelope<String>> records = deadLetters(a, 3);
    a.ingest(pipeline, records(3, 5), "ingestion", T0);
    a.complete(pipeline, List.of(published("r1003")));
    // publishing has no codec: the dead letter keeps the record as ingested
    a.complete(
        pipeline,
        List.of(
            deadLetter(
                Envelope.of("r1004", "late output"), "publishing", "IllegalStateException", T0)));

    Set<String> sent =
        a.reprocess(pipeline, List.of("r1000", "r1001", "r1003", "r1004", "unknown"), T0);

    assertThat(sent).containsExactlyInAnyOrder("r1000", "r1001", "r1004");
    assertThat(a.reprocess(pipeline, List.of("r1000", "r1001"), T0)).as("once").isEmpty();
    assertThat(a.counts(pipeline).get(RecordStatus.READY)).isEqualTo(3);
    assertThat(a.counts(pipeline).get(RecordStatus.DEAD_LETTER)).isEqualTo(1);
    assertThat(a.deadLetters(pipeline, DeadLetterQuery.all()).items())
        .extracting(DeadLetter::recordId)
        .containsExactly("r1002");
    assertThat(a.hasUnfinished(pipeline)).isTrue();
    RecordState ready = a.find(pipeline, "r1000").orElseThrow();
    assertThat(ready.status()).isEqualTo(RecordStatus.READY);
    assertThat(ready.stage()).isEqualTo("cleaning");
    assertThat(ready.attempts()).isZero();
    assertThat(ready.errors()).hasSize(2);
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM "
                        + db().table("pipeline_status")
                        + " WHERE pipeline = ? AND status = 'READY' AND dead_lettered_at IS NULL"
                        + " AND completed_at IS NULL AND lease_owner IS NULL",
                    pipeline))
        .isEqualTo(3);

    JdbcPipelineStore b = open("b");
    List<Claimed> claimed = b.claim(pipeline, 10);

    assertThat(claimed)
        .extracting(
            c ->
                c.record().id() + "@" + c.stage() + "#" + c.attempts() + "=" + c.record().payload())
        .containsExactlyInAnyOrder(
            "r1000@cleaning#0=as it entered cleaning r1000",
            "r1001@cleaning#0=as it entered cleaning r1001",
            "r1004@ingestion#0=payload 4");
    assertThat(claimed.get(0).record().metadata()).containsEntry("source", "src");

    // r1000 fails again: its dead letter shows the errors of both rounds
    b.complete(
        pipeline,
        List.of(
            deadLetter(
                Envelope.of("r1000", "second round"),
                "cleaning",
                "UnsupportedOperationException",
                T0.plusSeconds(60)),
            published("r1001")));
    DeadLetter again =
        b.deadLetters(pipeline, DeadLetterQuery.all().errorType("UnsupportedOperationException"))
            .items()
            .get(0);
    assertThat(again.recordId()).isEqualTo("r1000");
    assertThat(again.errors())
        .extracting(ErrorInfo::message)
        .containsExactly("first try", "bad r1000", "first try", "no r1000");
    assertThat(again.record().payload()).isEqualTo("second round");
    assertThat(again.deadLetteredAt()).isEqualTo(T0.plusSeconds(60));
    assertThat(b.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(2);
  }

  @Test
  void aSinkDeadLetterIsReprocessedAtTheSinkWhenTheSinkInputHasACodec() {
    // a pipeline that registers the sink's input codec as the pseudo-stage "sink"
    List<StageDescriptor> withSink = new ArrayList<>(STAGES);
    withSink.add(new StageDescriptor("sink", 4, "Sink", null, "none", 0, false, STRING));
    JdbcPipelineStore a = open("a");
    a.register(pipeline, withSink);
    List<Envelope<String>> records = records(0, 2);
    a.ingest(pipeline, records, "ingestion", T0);
    a.checkpoint(pipeline, List.of(records.get(1).withPayload("cleaned")), "cleaning", T0);
    a.complete(
        pipeline,
        List.of(
            deadLetter(
                records.get(0).withPayload("sink input"), "sink", "IllegalStateException", T0)));
    DeadLetter dead = a.deadLetters(pipeline, DeadLetterQuery.all()).items().get(0);
    assertThat(dead.stage()).isEqualTo("sink");
    assertThat(dead.record().payload()).isEqualTo("sink input");

    assertThat(a.reprocess(pipeline, List.of("r1000"), T0)).containsExactly("r1000");
    db().expireLeases(pipeline);
    JdbcPipelineStore b = open("b");
    b.register(pipeline, withSink);

    assertThat(b.claim(pipeline, 10))
        .extracting(c -> c.record().id() + "@" + c.stage() + "=" + c.record().payload())
        .containsExactlyInAnyOrder("r1000@sink=sink input", "r1001@cleaning=cleaned");
  }

  @Test
  void aSinkDeadLetterWithoutSinkCodecIsReprocessedFromItsLastCheckpoint() {
    JdbcPipelineStore a = open("a");
    List<Envelope<String>> records = records(0, 1);
    a.ingest(pipeline, records, "ingestion", T0);
    a.checkpoint(pipeline, List.of(records.get(0).withPayload("cleaned")), "cleaning", T0);
    a.complete(
        pipeline,
        List.of(
            deadLetter(
                records.get(0).withPayload("final output"), "sink", "IllegalStateException", T0)));

    assertThat(a.reprocess(pipeline, List.of("r1000"), T0)).containsExactly("r1000");

    assertThat(open("b").claim(pipeline, 10))
        .extracting(c -> c.record().id() + "@" + c.stage() + "=" + c.record().payload())
        .containsExactly("r1000@cleaning=cleaned");
  }

  // ---------------------------------------------------------------------------------- discard

  @Test
  void discardTakesDeadLettersOutOfTheQueueForGoodWithTheReason() {
    JdbcPipelineStore a =
        open(db().builder().rowsFromIngest(true).workerId("a").retainCompleted(Duration.ofDays(1)));
    deadLetters(a, 3);
    a.ingest(pipeline, records(3, 4), "ingestion", T0);

    Set<String> discarded =
        a.discard(pipeline, List.of("r1000", "r1001", "r1003", "unknown"), "bad supplier data", T0);

    assertThat(discarded).containsExactlyInAnyOrder("r1000", "r1001");
    assertThat(a.discard(pipeline, List.of("r1000"), "again", T0)).isEmpty();
    assertThat(a.reprocess(pipeline, List.of("r1000"), T0)).as("no longer a dead letter").isEmpty();
    assertThat(a.deadLetters(pipeline, DeadLetterQuery.all()).items())
        .extracting(DeadLetter::recordId)
        .containsExactly("r1002");
    assertThat(a.counts(pipeline).get(RecordStatus.DISCARDED)).isEqualTo(2);
    assertThat(a.counts(pipeline).get(RecordStatus.DEAD_LETTER)).isEqualTo(1);
    RecordState state = a.find(pipeline, "r1000").orElseThrow();
    assertThat(state.status()).isEqualTo(RecordStatus.DISCARDED);
    assertThat(state.reason()).isEqualTo("bad supplier data");
    assertThat(state.stage()).isEqualTo("cleaning");
    assertThat(state.errors()).hasSize(2);
    assertThat(status("r1003")).isEqualTo("IN_PROGRESS");
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM "
                        + db().table("pipeline_status")
                        + " WHERE pipeline = ? AND status = 'DISCARDED' AND payload IS NULL",
                    pipeline))
        .as("payloads dropped")
        .isEqualTo(2);
    a.complete(pipeline, List.of(published("r1003")));
    assertThat(a.hasUnfinished(pipeline)).as("discarded is terminal").isFalse();

    // retention purges discarded records as it purges published ones
    db().update(
            "UPDATE "
                + db().table("pipeline_records")
                + " SET completed_at = CURRENT_TIMESTAMP - INTERVAL '2' DAY"
                + " WHERE pipeline = ? AND record_id IN ('r1000', 'r1002')",
            pipeline);
    assertThat(a.purge().recordsDeleted()).isEqualTo(1);
    assertThat(a.find(pipeline, "r1000")).isEmpty();
    assertThat(status("r1002")).as("dead letters stay").isEqualTo("DEAD_LETTER");
    assertThat(a.counts(pipeline).get(RecordStatus.DISCARDED)).isEqualTo(1);
  }

  @Test
  void concurrentReprocessAndDiscardMoveEachDeadLetterOnce() throws Exception {
    JdbcPipelineStore a = open("a");
    int n = 1_500; // two statements' worth of ids per call
    List<String> ids = ids(deadLetters(a, n));
    JdbcPipelineStore x = open("x");
    JdbcPipelineStore y = open("y");

    List<Set<String>> reprocessed =
        race(() -> x.reprocess(pipeline, ids, T0), () -> y.reprocess(pipeline, ids.reversed(), T0));

    assertUnionIsAllAndDisjoint(ids, reprocessed.get(0), reprocessed.get(1));
    assertThat(a.counts(pipeline).get(RecordStatus.READY)).isEqualTo(n);

    // back to dead letters, then sent back and discarded at once
    assertThat(a.claim(pipeline, n)).hasSize(n);
    List<Completion> again = new ArrayList<>();
    for (String id : ids) {
      again.add(deadLetter(Envelope.of(id, "p " + id), "cleaning", "IllegalStateException", T0));
    }
    a.complete(pipeline, again);
    List<Set<String>> moved =
        race(() -> x.reprocess(pipeline, ids, T0), () -> y.discard(pipeline, ids, "no", T0));

    assertUnionIsAllAndDisjoint(ids, moved.get(0), moved.get(1));
    assertThat(a.counts(pipeline).get(RecordStatus.READY)).isEqualTo(moved.get(0).size());
    assertThat(a.counts(pipeline).get(RecordStatus.DISCARDED)).isEqualTo(moved.get(1).size());
    assertThat(a.counts(pipeline).get(RecordStatus.DEAD_LETTER)).isZero();
  }

  /** Runs two calls at once, as far as threads allow, and returns their results. */
  static List<Set<String>> race(Callable<Set<String>> first, Callable<Set<String>> second)
      throws Exception {
    CyclicBarrier start = new CyclicBarrier(2);
    try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
      List<Future<Set<String>>> futures = new ArrayList<>();
      for (Callable<Set<String>> call : List.of(first, second)) {
        futures.add(
            pool.submit(
                () -> {
                  start.await();
                  return call.call();
                }));
      }
      return List.of(futures.get(0).get(), futures.get(1).get());
    }
  }

  static void assertUnionIsAllAndDisjoint(
      Collection<String> all, Set<String> first, Set<String> second) {
    Set<String> union = new HashSet<>(first);
    union.addAll(second);
    Set<String> both = new HashSet<>(first);
    both.retainAll(second);
    assertThat(union).isEqualTo(new HashSet<>(all));
    assertThat(both).as("moved twice").isEmpty();
  }

  // ---------------------------------------------------------------------------------- register

  @Test
  void severalWorkersRegisteringOnePipelineAtOnceAllSucceed() throws Exception {
    List<JdbcPipelineStore> workers = List.of(open("w1"), open("w2"), open("w3"));
    String stages = db().table("pipeline_stages");
    for (int round = 0; round < 15; round++) {
      String name = pipeline + "-" + round;
      CyclicBarrier start = new CyclicBarrier(workers.size());
      try (ExecutorService pool = Executors.newFixedThreadPool(workers.size())) {
        List<Future<?>> futures = new ArrayList<>();
        for (JdbcPipelineStore w : workers) {
          futures.add(
              pool.submit(
                  () -> {
                    start.await();
                    w.register(name, STAGES);
                    return null;
                  }));
        }
        for (Future<?> f : futures) {
          f.get(); // throws if a registration failed
        }
      }
      assertThat(
              db().query(
                      "SELECT stage_name FROM "
                          + stages
                          + " WHERE pipeline = ? ORDER BY stage_order",
                      name))
          .extracting(r -> r.get(0))
          .containsExactly("ingestion", "cleaning", "publishing");
    }
    // and each can use what it registered
    workers.get(2).ingest(pipeline + "-0", records(0, 1), "ingestion", T0);
  }

  /** ingestion (checkpoint) -> analysis: not {@link #pipeline}'s stages. */
  Pipeline<String, String> otherStages(JdbcPipelineStore store) {
    return Pipeline.builder(pipeline, String.class)
        .store(store)
        .stage(StageName.INGESTION, (String s) -> s, o -> o.checkpoint().codec(STRING))
        .stage(StageName.ANALYSIS, (String s) -> s)
        .build();
  }

  @Test
  void aSecondLivePipelineOfTheSameNameWithOtherStagesIsRefusedAtBuildAndTheFirstGoesOn() {
    JdbcPipelineStore store = open("w1");
    Set<String> sunk = ConcurrentHashMap.newKeySet();
    Pipeline<String, String> first = pipeline(store, sunk, new AtomicInteger());
    Pipeline<String, String> copy = pipeline(store, sunk, new AtomicInteger()); // same stages

    assertThatThrownBy(() -> otherStages(store))
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("pipeline '" + pipeline + "' is already built on JdbcPipelineStore")
        .hasMessageContaining(
            "with stages [ingestion (input codec string), cleaning (input codec string),"
                + " publishing (input codec none), sink (input codec none)]; this one has"
                + " [ingestion (input codec string), analysis (input codec string), sink (input"
                + " codec none)] (stage #2 is 'cleaning' there, 'analysis' here)")
        .hasMessageContaining(
            "give this pipeline another name, or close the other one first (Pipeline.close()"
                + " gives its name back)");
    RunResult result = first.run(Source.of("src", List.of("a1", "a2").iterator(), s -> s));
    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isEqualTo(2);
    assertThat(sunk).containsExactlyInAnyOrder("a1", "a2");
  }

  @Test
  void oncePipelinesOfANameAreClosedOtherStagesReplaceTheirDefinition() {
    JdbcPipelineStore store = open("w1");
    Pipeline<String, String> first = pipeline(store, new HashSet<>(), new AtomicInteger());
    Pipeline<String, String> copy = pipeline(store, new HashSet<>(), new AtomicInteger());
    first.close();
    assertThatThrownBy(() -> otherStages(store))
        .as("while the copy still holds the name")
        .isInstanceOf(PipelineConfigurationException.class);
    copy.close();

    Pipeline<String, String> migrated = otherStages(store);

    assertThat(
            db().query(
                    "SELECT stage_name FROM "
                        + db().table("pipeline_stages")
                        + " WHERE pipeline = ? ORDER BY stage_order",
                    pipeline))
        .extracting(r -> r.get(0))
        .containsExactly("ingestion", "analysis", "sink");
    assertThat(migrated.run(Source.of("src", List.of("b1").iterator(), s -> s)).published())
        .isOne();
    assertThatThrownBy(() -> first.run(Source.of("src", List.of("b2").iterator(), s -> s)))
        .as("the closed first pipeline, whose name is taken now")
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("stage #2 is 'analysis' there, 'cleaning' here");
  }

  @Test
  void anotherStoreObjectMayRegisterOtherStagesUnderTheNameAsANewDeployDoes() {
    JdbcPipelineStore oldDeploy = open("old");
    pipeline(oldDeploy, new HashSet<>(), new AtomicInteger());

    Pipeline<String, String> newDeploy = otherStages(open("new"));

    assertThat(newDeploy.stages()).containsExactly(StageName.INGESTION, StageName.ANALYSIS);
  }

  // ---------------------------------------------------------------------------------- upgrade

  @Test
  void aVersion1SchemaIsUpgradedInPlaceKeepingItsRecords() throws SQLException {
    Names names = new Names(db().schema, "old_");
    Dialect dialect = db().postgres ? Dialect.POSTGRESQL : Dialect.H2;
    Migrator.Migration v1 = Migrator.MIGRATIONS.get(0);
    String script = Migrator.script(dialect, v1);
    String status = names.statusView(); // version 1's table, a view since version 3
    byte[] payload = "payload 0".getBytes(StandardCharsets.UTF_8);
    try (Connection c = db().connect();
        Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA IF NOT EXISTS " + db().schema);
      for (String statement : Migrator.statements(names.fill(script))) {
        s.execute(statement);
      }
      try (PreparedStatement version =
          c.prepareStatement(
              "INSERT INTO "
                  + names.schemaVersion()
                  + " (version, description, script, checksum, installed_by, execution_ms)"
                  + " VALUES (1, 'create tables', 'V1__create_tables.sql', ?, 'dba', 0)")) {
        version.setLong(1, Checksums.crc32c(script.getBytes(StandardCharsets.UTF_8)));
        version.executeUpdate();
      }
      try (PreparedStatement row =
          c.prepareStatement(
              "INSERT INTO "
                  + status
                  + " (pipeline, record_id, current_stage, failed_stage, status, started_at,"
                  + " updated_at, payload, payload_format, payload_checksum, error_type,"
                  + " dead_lettered_at) VALUES (?, ?, 'ingestion', ?, ?, CURRENT_TIMESTAMP,"
                  + " CURRENT_TIMESTAMP, ?, 'string', ?, ?, ?)")) {
        for (String id : List.of("ready", "dead")) {
          boolean dead = id.equals("dead");
          row.setString(1, pipeline);
          row.setString(2, id);
          row.setString(3, dead ? "ingestion" : null);
          row.setString(4, dead ? "DEAD_LETTER" : "READY");
          row.setBytes(5, payload);
          row.setLong(6, Checksums.payload(payload, new byte[0]));
          row.setString(7, dead ? "IllegalStateException" : null);
          row.setObject(
              8,
              dead ? java.time.OffsetDateTime.parse("2026-01-01T00:00:00Z") : null,
              java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
          row.executeUpdate();
        }
      }
      assertThatThrownBy(
              () ->
                  s.executeUpdate(
                      "UPDATE " + status + " SET status = 'DISCARDED' WHERE record_id = 'dead'"))
          .as("version 1 knows no DISCARDED")
          .isInstanceOf(SQLException.class);
    }

    JdbcPipelineStore store = open(db().builder().tablePrefix("old_").workerId("w1"));

    assertThat(
            db().query(
                    "SELECT version, description FROM "
                        + names.schemaVersion()
                        + " ORDER BY version"))
        .extracting(Object::toString)
        .containsExactly(
            "[1, create tables]",
            "[2, discarded status]",
            "[3, batch ledger]",
            "[4, source positions]",
            "[5, split records]",
            "[6, rule versions]",
            "[7, audit trail and metrics history]",
            "[8, record lineage]",
            "[9, merge groups]",
            "[10, quality baselines and scores]",
            "[11, batch source spans]",
            "[12, record traces]",
            "[13, batch record ids]",
            "[14, lineage packing]",
            "[15, identity caches]",
            "[16, lineage without key]",
            "[17, lineage per batch]");
    assertThat(store.counts(pipeline).get(RecordStatus.READY)).isEqualTo(1);
    assertThat(store.deadLetters(pipeline, DeadLetterQuery.all()).items())
        .extracting(d -> d.recordId() + "=" + d.record().payload())
        .containsExactly("dead=payload 0");
    assertThat(store.claim(pipeline, 10))
        .extracting(c -> c.record().id() + "=" + c.record().payload())
        .containsExactly("ready=payload 0");
    assertThat(store.discard(pipeline, List.of("dead"), "upgraded", T0)).containsExactly("dead");
    assertThat(store.counts(pipeline).get(RecordStatus.DISCARDED)).isEqualTo(1);
    // opening again finds it up to date
    open(db().builder().tablePrefix("old_").workerId("w2"));
    assertThat(db().count("SELECT COUNT(*) FROM " + names.schemaVersion()))
        .as("a row per migration (their versions need not follow each other)")
        .isEqualTo(Migrator.MIGRATIONS.size());
  }

  /**
   * Lineage on the durable store: the events of a run are written to {@code record_traces} in bulk,
   * read back by record in order, with hostile text escaped, and queryable in SQL.
   */
  @Test
  void lineageIsWrittenInBulkAndReadBackByRecord() {
    JdbcPipelineStore store = open("w1");
    Pipeline<String, String> p = withLineage(store);

    RunResult result = p.run(Source.of("src", List.of("a", "throw-2", "c").iterator(), s -> s));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    Lineage a = p.lineage("a");
    assertThat(a.events()).extracting(LineageEvent::stage).containsExactly("cleaning", "sink");
    assertThat(a.events())
        .extracting(LineageEvent::outcome)
        .containsExactly(LineageOutcome.PASSED, LineageOutcome.PASSED);
    assertThat(a.events().get(0).outputHash()).isEqualTo(a.events().get(1).inputHash());
    assertThat(a.events().get(0).sourceId()).isEqualTo("src");
    LineageEvent failed = p.lineage("throw-2").events().getFirst();
    assertThat(failed.outcome()).isEqualTo(LineageOutcome.DEAD_LETTER);
    assertThat(failed.outputHash()).isNull();
    assertThat(failed.detail())
        .startsWith("IllegalStateException: cannot")
        .endsWith("clean throw-2")
        .doesNotContain("\0");
    assertThat(
            db().count(
                    "SELECT SUM(event_count) FROM "
                        + db().table("record_traces")
                        + " WHERE pipeline = '"
                        + pipeline
                        + "'"))
        .as("a and c at cleaning and the sink, throw-2 at cleaning")
        .isEqualTo(5);
    assertThat(store.lineage("other-pipeline", "a")).isEmpty();
  }

  /** A pipeline keeping all lineage: cleaning upper-cases, and dead-letters what starts "throw". */
  private Pipeline<String, String> withLineage(JdbcPipelineStore store) {
    return Pipeline.builder(pipeline, String.class)
        .store(store)
        .inputCodec(STRING)
        .alerts(alert -> {})
        .lineage(LineageLevel.ALL)
        .stage(
            StageName.CLEANING,
            (String s) -> {
              if (s.startsWith("throw")) {
                throw new IllegalStateException("cannot\0clean " + s);
              }
              return s.toUpperCase(java.util.Locale.ROOT);
            },
            o -> o.codec(STRING))
        .sink(batch -> {})
        .build();
  }

  /**
   * Lineage goes with its records' retention: once a record is no longer stored and its last event
   * is older than retainCompleted, its events are purged; a dead letter's stay. The records a batch
   * handed to the sink share the batch's rows (schema version 17), which go once their last event
   * is as old and none of the batch's records is in flight.
   */
  @Test
  void lineageIsPurgedWithTheRecordsRetention() {
    JdbcPipelineStore store =
        open(db().builder().workerId("w1").retainCompleted(Duration.ofDays(1)).purgeBatchSize(2));
    Pipeline<String, String> p = withLineage(store);
    p.run(Source.of("src", List.of("a", "b", "throw-1").iterator(), s -> s));
    p.run(Source.of("src", List.of("c").iterator(), s -> s));
    String lineage = db().table("record_traces");
    String status = db().table("pipeline_records");
    // a and b finished (and left their stages) two days ago, in one batch; c just now, in another
    db().update(
            "UPDATE "
                + lineage
                + " SET last_at = CURRENT_TIMESTAMP - INTERVAL '2' DAY WHERE pipeline = ?"
                + " AND (record_id = 'throw-1' OR batch_id = (SELECT m.batch_id FROM "
                + db().table("pipeline_batch_records")
                + " m WHERE m.pipeline = ? AND m.record_id = 'a'))",
            pipeline,
            pipeline);
    db().update(
            "UPDATE "
                + status
                + " SET completed_at = CURRENT_TIMESTAMP - INTERVAL '2' DAY WHERE pipeline = ?"
                + " AND record_id = 'throw-1'",
            pipeline);
    assertThat(
            db().count(
                    "SELECT COUNT(*) FROM "
                        + lineage
                        + " WHERE pipeline = ? AND record_id IS NOT NULL",
                    pipeline))
        .as("only the dead letter has a row of its own")
        .isEqualTo(1);

    JdbcPipelineStore.Purged purged = store.purge();

    assertThat(purged.lineageDeleted())
        .as("the rows of a and b's batch: one per append that held their events")
        .isBetween(1L, 2L);
    assertThat(p.lineage("a").events()).isEmpty();
    assertThat(p.lineage("b").events()).isEmpty();
    assertThat(p.lineage("c").events()).as("too recent").hasSize(2);
    assertThat(p.lineage("throw-1").events())
        .as("a dead letter is kept, and so is its lineage")
        .extracting(LineageEvent::outcome)
        .containsExactly(LineageOutcome.DEAD_LETTER);
    assertThat(store.purge().lineageDeleted()).isZero();

    // c's batch row, as old, while its batch still has a record in flight (as after a crash)
    String batchOfC =
        "(SELECT m.batch_id FROM "
            + db().table("pipeline_batch_records")
            + " m WHERE m.pipeline = ? AND m.record_id = 'c')";
    db().update(
            "UPDATE "
                + lineage
                + " SET last_at = CURRENT_TIMESTAMP - INTERVAL '2' DAY WHERE batch_id = "
                + batchOfC,
            pipeline);
    db().update(
            "UPDATE "
                + db().table("pipeline_batches")
                + " SET ended = size - 1 WHERE batch_id = "
                + batchOfC,
            pipeline);
    assertThat(store.purge().lineageDeleted()).as("a batch in flight keeps its rows").isZero();
    assertThat(p.lineage("c").events()).hasSize(2);
    db().update(
            "UPDATE "
                + db().table("pipeline_batches")
                + " SET ended = size WHERE batch_id = "
                + batchOfC,
            pipeline);
    assertThat(store.purge().lineageDeleted()).as("its records all ended").isPositive();
    assertThat(p.lineage("c").events()).isEmpty();
  }
}
