package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.store.Claimed;
import dev.pipeline.store.Completion;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.Page;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.StageDescriptor;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

/**
 * What every {@link JdbcPipelineStore} must do, whatever the database: run against H2 and against
 * PostgreSQL by the subclasses.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class StoreContract {
  static final PayloadCodec<String> STRING = PayloadCodec.string();
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  /** ingestion (checkpoint, String out) -> cleaning -> publishing (no codec). */
  static final List<StageDescriptor> STAGES =
      List.of(
          new StageDescriptor("ingestion", 1, "Parse", null, "none", 0, true, STRING),
          new StageDescriptor("cleaning", 2, "Clean", 5L, "exponential(3)", 3, false, STRING),
          new StageDescriptor("publishing", 3, "Publish", null, "none", 0, false, null));

  private TestDatabase database;
  private final List<JdbcPipelineStore> stores = new ArrayList<>();
  String pipeline;

  abstract TestDatabase createDatabase();

  @BeforeAll
  void createSchema() {
    database = createDatabase();
  }

  @AfterAll
  void dropSchema() {
    if (database != null) {
      database.drop();
    }
  }

  TestDatabase db() {
    return database;
  }

  @BeforeEach
  void name(TestInfo info) {
    pipeline = info.getTestMethod().orElseThrow().getName();
  }

  @AfterEach
  void closeStores() {
    stores.forEach(JdbcPipelineStore::close);
  }

  JdbcPipelineStore open(String worker) {
    return open(db().builder().workerId(worker));
  }

  JdbcPipelineStore open(JdbcPipelineStore.Builder builder) {
    JdbcPipelineStore store = builder.build();
    stores.add(store);
    store.register(pipeline, STAGES);
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
                "action_on_failure"),
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
    assertThat(db().count(versions)).isEqualTo(1);
    List<Object> installedAt =
        db().query("SELECT installed_at FROM " + db().table("pipeline_schema_version")).get(0);

    open("w2"); // builds again: nothing to migrate

    assertThat(db().count(versions)).isEqualTo(1);
    assertThat(db().query("SELECT installed_at FROM " + db().table("pipeline_schema_version")))
        .containsExactly(installedAt);
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
  void recordIdsLongerThanTheColumnAreRefusedWithTheReason() {
    JdbcPipelineStore store = open("w1");
    String id = "x".repeat(1001);
    assertThatThrownBy(() -> store.ingest(pipeline, List.of(Envelope.of(id, "p")), "ingestion", T0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("longer than 1000");
  }

  // ---------------------------------------------------------------------------------- leases

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

  // ---------------------------------------------------------------------------------- integrity

  @Test
  void aPayloadFailingItsChecksumGoesToTheDeadLetterQueueAndTheOthersGoOn() {
    JdbcPipelineStore a = open("a");
    JdbcPipelineStore b = open("b");
    a.ingest(pipeline, records(0, 3), "ingestion", T0);
    db().update(
            "UPDATE "
                + db().table("pipeline_status")
                + " SET payload = ? WHERE pipeline = ? AND record_id = 'r1001'",
            "payload 9".getBytes(java.nio.charset.StandardCharsets.UTF_8),
            pipeline);
    db().expireLeases(pipeline);

    List<Claimed> claimed = b.claim(pipeline, 10);

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

  // ---------------------------------------------------------------------------------- retention

  @Test
  void purgeRemovesOldFinishedWorkButKeepsDeadLettersAndRecordsInFlight() {
    JdbcPipelineStore store =
        open(
            db().builder()
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
    String status = db().table("pipeline_status");
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
    JdbcPipelineStore store = open("w1");
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
    db().update("DROP TABLE " + db().table("broken_pipeline_status"));

    assertThatThrownBy(() -> store.counts(pipeline))
        .isInstanceOf(JdbcStoreException.class)
        .hasMessageContaining("counts")
        .hasMessageContaining(pipeline)
        .satisfies(e -> assertThat(((JdbcStoreException) e).operation()).isEqualTo("counts"));
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
    assertThat(result.duplicates()).isEqualTo(n);
    assertThat(result.resumed()).isEqualTo(n);
    assertThat(b.hasUnfinished(pipeline)).isFalse();
    long lost =
        inputs.stream()
            .filter(s -> !s.endsWith("3") && !s.endsWith("7") && !sunk.contains(s))
            .count();
    assertThat(lost).isZero();
    assertThat(a.complete(pipeline, List.of(published("item-1")))).containsExactly("item-1");
  }

  // ---------------------------------------------------------------------------------- concurrency

  @Test
  void concurrentWorkersNeverClaimTheSameRecord() throws Exception {
    JdbcPipelineStore a = open("a");
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

    assertThat(b.claim(pipeline, 10)).isEmpty();

    DeadLetter dead = b.deadLetters(pipeline, DeadLetterQuery.all()).items().get(0);
    assertThat(dead.lastError().errorType()).isEqualTo("PayloadIntegrityException");
    assertThat(dead.lastError().message()).contains("cannot decode", "json:");
    assertThat(b.counts(pipeline).get(RecordStatus.DEAD_LETTER)).isEqualTo(2);
  }
}
