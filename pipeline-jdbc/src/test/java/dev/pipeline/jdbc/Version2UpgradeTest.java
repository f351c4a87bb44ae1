package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.TemplateEngine;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A populated version 2 database, opened by the current store, is upgraded in place: every record
 * it held (in every state, with its reason, errors, payload and parked retry) is still reported by
 * the store and by SQL, the unfinished ones are finished, its dead letters can be reprocessed, and
 * the ids it holds stay known. On H2 and on the real PostgreSQL.
 *
 * <p>The version 2 database is made the way a version 2 store left it: the schema by the version 1
 * and 2 scripts (and their version rows), the records by plain SQL in version 2's shape, with the
 * payload, metadata and checksum bytes a version 2 store wrote. The store's own writes are not
 * used, since they change with the schema. Exact counts per status make a migration that loses or
 * moves a record fail.
 */
class Version2UpgradeTest {
  /** A payload of the pipeline: stored as JSON by {@link JsonCodec}. */
  record Listing(String id, String title, int price) {}

  private static final String PIPELINE = "listings";
  private static final String OTHER = "other_listings";
  private static final String PREFIX = "v2_";
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final String FORMAT = "json:" + Listing.class.getName();
  private static final String METADATA = "{\"source\":\"feed\"}";
  private static final String V2_WORKER = "v2-worker";
  private static final String CRASHED = "crashed-worker";

  /** The unfinished records: a run resumes these. */
  private static final Set<String> UNFINISHED =
      Set.of("ready-1", "ready-2", "crashed-1", "crashed-2", "retry-1");

  /** The records in a terminal state: a source offering them again offers duplicates. */
  private static final Set<String> TERMINAL =
      Set.of(
          "published-1",
          "published-2",
          "published-3",
          "filtered-1",
          "filtered-2",
          "dead-1",
          "dead-2",
          "discarded-1");

  private TestDatabase db;
  private Names names;
  private final List<AutoCloseable> opened = new ArrayList<>();
  private final Map<String, Envelope<Listing>> sunk = new ConcurrentHashMap<>();
  private final Map<String, Integer> sinkCalls = new ConcurrentHashMap<>();
  private final Set<String> processed = ConcurrentHashMap.newKeySet();
  private final Map<String, Long> stageIds = new HashMap<>();

  @AfterEach
  void closeAndDrop() throws Exception {
    for (AutoCloseable c : opened.reversed()) {
      c.close();
    }
    if (db != null) {
      db.drop();
    }
  }

  // ------------------------------------------------------------------------------------ tests

  /** A fresh database of the kind named: H2 in memory, or a new schema on the real PostgreSQL. */
  private static TestDatabase database(String kind) {
    return kind.equals("h2") ? TestDatabase.h2("upgrade") : TestDatabase.postgres("upgrade");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void everyRecordIsReportedAfterTheUpgrade(String kind) throws SQLException {
    createVersion2(database(kind));

    JdbcPipelineStore store = openStore();
    Pipeline<Listing, Listing> pipeline = pipeline(store); // registers the codecs

    assertThat(
            db.query(
                "SELECT version, installed_by FROM " + names.schemaVersion() + " ORDER BY version"))
        .as("the version rows: the old ones kept, one per newer script")
        .extracting(r -> ((Number) r.get(0)).intValue())
        .containsExactlyElementsOf(
            Migrator.MIGRATIONS.stream().map(Migrator.Migration::version).toList());
    assertThat(
            db.count(
                "SELECT MAX(version) FROM " + names.schemaVersion() + " WHERE installed_by = ?",
                V2_WORKER))
        .isEqualTo(2);
    assertThat(db.count("SELECT MAX(version) FROM " + names.schemaVersion()))
        .isEqualTo(Migrator.latest());

    assertThat(store.counts(PIPELINE).counts()).isEqualTo(counts(2, 2, 1, 3, 2, 2, 1));
    assertThat(store.counts(OTHER).counts()).isEqualTo(counts(1, 0, 0, 0, 0, 0, 0));

    List<String> found = new ArrayList<>();
    for (String id : allIds()) {
      found.add(describe(store.find(PIPELINE, id).orElseThrow(() -> new AssertionError(id))));
    }
    assertThat(found)
        .containsExactly(
            "crashed-1 IN_PROGRESS at ingestion, 0 attempts, reason null, errors [], updated"
                + " 2026-01-01T00:00:50Z",
            "crashed-2 IN_PROGRESS at cleaning, 0 attempts, reason null, errors [], updated"
                + " 2026-01-01T00:00:51Z",
            "dead-1 DEAD_LETTER at cleaning, 2 attempts, reason null, errors [cleaning#1"
                + " SocketTimeoutException: read timed out, cleaning#2 IllegalStateException: no"
                + " price for dead-1], updated 2026-01-01T00:00:20Z",
            "dead-2 DEAD_LETTER at ingestion, 1 attempts, reason null, errors [ingestion#1"
                + " UnsupportedOperationException: unknown currency], updated"
                + " 2026-01-01T00:00:30Z",
            "discarded-1 DISCARDED at cleaning, 1 attempts, reason duplicate listing, removed"
                + " by ops, errors [cleaning#1 IllegalStateException: duplicate of published-1],"
                + " updated 2026-01-01T00:00:40Z",
            "filtered-1 FILTERED at cleaning, 1 attempts, reason price below 100, errors [],"
                + " updated 2026-01-01T00:00:11Z",
            "filtered-2 FILTERED at cleaning, 1 attempts, reason not equipment, errors [],"
                + " updated 2026-01-01T00:00:12Z",
            "published-1 PUBLISHED at cleaning, 1 attempts, reason null, errors [], updated"
                + " 2026-01-01T00:00:10Z",
            "published-2 PUBLISHED at cleaning, 1 attempts, reason null, errors [], updated"
                + " 2026-01-01T00:00:10Z",
            "published-3 PUBLISHED at cleaning, 1 attempts, reason null, errors [], updated"
                + " 2026-01-01T00:00:10Z",
            "ready-1 READY at ingestion, 0 attempts, reason null, errors [], updated"
                + " 2026-01-01T00:00:00Z",
            "ready-2 READY at cleaning, 0 attempts, reason null, errors [], updated"
                + " 2026-01-01T00:00:05Z",
            "retry-1 RETRY_WAIT at cleaning, 2 attempts, reason null, errors [cleaning#1"
                + " IllegalStateException: price service down, cleaning#2 IllegalStateException:"
                + " price service down], updated 2026-01-01T00:00:45Z");
    assertThat(store.find(PIPELINE, "published-1").orElseThrow().deliveries()).isOne();
    assertThat(store.find(OTHER, "other-1").orElseThrow().status()).isEqualTo(RecordStatus.READY);

    assertThat(store.deadLetters(PIPELINE, DeadLetterQuery.all()).items())
        .extracting(
            d ->
                d.recordId()
                    + " failed at "
                    + d.stage()
                    + " holding the input of "
                    + d.payloadStage()
                    + ": "
                    + d.payload(Listing.class)
                    + " "
                    + d.record().metadata()
                    + ", "
                    + d.attempts()
                    + " attempts, last "
                    + d.lastError().message()
                    + ", at "
                    + d.deadLetteredAt())
        .containsExactly(
            "dead-1 failed at cleaning holding the input of cleaning: Listing[id=dead-1,"
                + " title=crane ingested, price=900] {source=feed}, 2 attempts, last no price for"
                + " dead-1, at 2026-01-01T00:00:20Z",
            "dead-2 failed at ingestion holding the input of ingestion: Listing[id=dead-2,"
                + " title=tractor, price=700] {source=feed}, 1 attempts, last unknown currency, at"
                + " 2026-01-01T00:00:30Z");
    assertThat(pipeline.deadLetters().find(DeadLetterQuery.all()).items())
        .extracting(d -> d.recordId())
        .containsExactly("dead-1", "dead-2");

    assertThat(
            db.query(
                "SELECT record_id, status, reason, last_error FROM "
                    + names.statusView()
                    + " WHERE pipeline = ? ORDER BY record_id",
                PIPELINE))
        .extracting(Object::toString)
        .containsExactly(
            "[crashed-1, IN_PROGRESS, null, null]",
            "[crashed-2, IN_PROGRESS, null, null]",
            "[dead-1, DEAD_LETTER, null, IllegalStateException: no price for dead-1]",
            "[dead-2, DEAD_LETTER, null, UnsupportedOperationException: unknown currency]",
            "[discarded-1, DISCARDED, duplicate listing, removed by ops, IllegalStateException:"
                + " duplicate of published-1]",
            "[filtered-1, FILTERED, price below 100, null]",
            "[filtered-2, FILTERED, not equipment, null]",
            "[published-1, PUBLISHED, null, null]",
            "[published-2, PUBLISHED, null, null]",
            "[published-3, PUBLISHED, null, null]",
            "[ready-1, READY, null, null]",
            "[ready-2, READY, null, null]",
            "[retry-1, RETRY_WAIT, null, IllegalStateException: price service down]");

    // opening it again finds nothing to do
    openStore();
    assertThat(db.count("SELECT COUNT(*) FROM " + names.schemaVersion()))
        .isEqualTo(Migrator.MIGRATIONS.size());
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void unfinishedRecordsAreFinishedAndDeadLettersReprocessedAfterTheUpgrade(String kind)
      throws SQLException {
    createVersion2(database(kind));
    JdbcPipelineStore store = openStore();
    Pipeline<Listing, Listing> pipeline = pipeline(store);

    RunResult result = pipeline.run(Source.of("feed", List.<Listing>of().iterator(), Listing::id));

    assertThat(result.status()).as("%s", result.failure()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.resumed()).isEqualTo(UNFINISHED.size());
    assertThat(result.published()).isEqualTo(UNFINISHED.size());
    assertThat(result.duplicates() + result.deadLettered() + result.filtered()).isZero();
    assertThat(titles())
        .as("each resumed at the stage it was stored at, with its stored payload")
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "ready-1", "excavator ingested cleaned",
                "ready-2", "loader ingested cleaned",
                "crashed-1", "bulldozer ingested cleaned",
                "crashed-2", "grader ingested cleaned",
                "retry-1", "forklift ingested cleaned"));
    assertThat(sunk.values())
        .allSatisfy(e -> assertThat(e.metadata()).containsEntry("source", "feed"));
    assertThat(sinkCalls).allSatisfy((id, calls) -> assertThat(calls).as(id).isOne());
    assertThat(processed).doesNotContainAnyElementsOf(TERMINAL);
    assertThat(store.counts(PIPELINE).counts()).isEqualTo(counts(0, 0, 0, 8, 2, 2, 1));
    assertThat(store.hasUnfinished(PIPELINE)).isFalse();

    assertThat(pipeline.deadLetters().reprocess(List.of("dead-1"))).containsExactly("dead-1");
    assertThat(pipeline.deadLetters().discard(List.of("dead-2"), "no such currency"))
        .containsExactly("dead-2");
    RunResult again = pipeline.run(Source.of("feed", List.<Listing>of().iterator(), Listing::id));

    assertThat(again.status()).as("%s", again.failure()).isEqualTo(RunStatus.COMPLETED);
    assertThat(again.resumed()).isOne();
    assertThat(again.published()).isOne();
    assertThat(titles()).containsEntry("dead-1", "crane ingested cleaned").hasSize(6);
    assertThat(store.counts(PIPELINE).counts()).isEqualTo(counts(0, 0, 0, 9, 2, 0, 2));
    assertThat(store.find(PIPELINE, "dead-2").orElseThrow().reason()).isEqualTo("no such currency");
    assertThat(
            db.query(
                "SELECT status, COUNT(*) FROM "
                    + names.statusView()
                    + " WHERE pipeline = ? GROUP BY status ORDER BY status",
                PIPELINE))
        .extracting(r -> r.get(0) + "=" + ((Number) r.get(1)).longValue())
        .containsExactly("DISCARDED=2", "FILTERED=2", "PUBLISHED=9");
    assertThat(store.counts(OTHER).counts())
        .as("another pipeline's record")
        .isEqualTo(counts(1, 0, 0, 0, 0, 0, 0));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void idsHeldBeforeTheUpgradeAreDuplicatesWhenReadAgain(String kind) throws SQLException {
    createVersion2(database(kind));
    JdbcPipelineStore store = openStore();
    Pipeline<Listing, Listing> pipeline = pipeline(store);
    List<Listing> again = allIds().stream().map(id -> new Listing(id, "offered again", 1)).toList();

    RunResult result = pipeline.run(Source.of("feed", again.iterator(), Listing::id));

    assertThat(result.status()).as("%s", result.failure()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.read()).isEqualTo(TERMINAL.size() + UNFINISHED.size());
    // the claimer resumes the unfinished ones at the run's start, racing the reader: offered
    // again, each is either still held unfinished or already published, and then a duplicate
    assertThat(result.duplicates() + result.heldUnfinished()).isEqualTo(result.read());
    assertThat(result.duplicates())
        .isBetween((long) TERMINAL.size(), (long) (TERMINAL.size() + UNFINISHED.size()));
    assertThat(result.resumed()).isEqualTo(UNFINISHED.size());
    assertThat(result.published()).isEqualTo(UNFINISHED.size());
    assertThat(processed).doesNotContainAnyElementsOf(TERMINAL);
    assertThat(sunk.keySet()).containsExactlyInAnyOrderElementsOf(UNFINISHED);
    assertThat(titles().values())
        .as("the stored payloads, not the ones offered again")
        .noneMatch(t -> t.contains("offered again"));
    assertThat(store.counts(PIPELINE).counts()).isEqualTo(counts(0, 0, 0, 8, 2, 2, 1));
    assertThat(store.deadLetters(PIPELINE, DeadLetterQuery.all()).items())
        .extracting(d -> d.payload(Listing.class).title())
        .containsExactly("crane ingested", "tractor");
  }

  // -------------------------------------------------------------------------- the new store

  /**
   * Batches stored at version 12 (before a batch listed its ids) get their ids listed by the
   * version 13 script: an open batch whose worker crashed is claimed and finished with its records,
   * and a done one is purged with its id rows.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void batchesStoredAtVersion12AreClaimedAndPurgedAfterTheUpgrade(String kind) throws SQLException {
    createVersion2(database(kind));
    migrateTo(12);
    try (Connection c = db.connect()) {
      List<BatchLedger.Entry> entries = new ArrayList<>();
      for (String[] l : new String[][] {{"batch-1", "dozer"}, {"batch-2", "roller"}}) {
        Map<String, Object> row = record(l[0], "READY", "ingestion", 0);
        payload(row, l[1], 100);
        entries.add(
            new BatchLedger.Entry(
                entries.size(),
                l[0],
                (byte[]) row.get("payload"),
                (Long) row.get("payload_checksum"),
                METADATA));
      }
      // open, held by a worker that crashed long ago
      Map<String, Object> open = batch(901L, "OPEN", entries.size());
      open.put("payloads", PackedBatch.pack(entries));
      open.put("payload_format", FORMAT);
      open.put("lease_owner", CRASHED);
      open.put("lease_token", 77L);
      open.put("lease_expires_at", T0.plusSeconds(30));
      insert(c, names.batches(), open);
      // done long ago, its payloads cleared
      Map<String, Object> done = batch(902L, "DONE", 1);
      done.put("ended", 1);
      done.put("published", 1);
      done.put("completed_at", T0.plusSeconds(20));
      insert(c, names.batches(), done);
      String[][] members = {
        {"batch-1", "901", "0"}, {"batch-2", "901", "1"}, {"old-1", "902", "0"}
      };
      for (String[] m : members) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("pipeline", PIPELINE);
        row.put("record_id", m[0]);
        row.put("batch_id", Long.parseLong(m[1]));
        row.put("seq", Integer.parseInt(m[2]));
        insert(c, names.batchRecords(), row);
      }
    }

    JdbcPipelineStore store =
        db.builder()
            .tablePrefix(PREFIX)
            .workerId("current")
            .retainCompleted(java.time.Duration.ofDays(1))
            .build();
    opened.add(store);
    Pipeline<Listing, Listing> pipeline = pipeline(store);

    assertThat(
            db.query(
                "SELECT batch_id, CARDINALITY(record_ids), record_ids[1],"
                    + " record_ids[CARDINALITY(record_ids)] FROM "
                    + names.batches()
                    + " ORDER BY batch_id"))
        .as("each batch lists the ids of its rows, in their order")
        .extracting(r -> r.get(0) + " " + r.get(1) + " " + r.get(2) + " " + r.get(3))
        .containsExactly("901 2 batch-1 batch-2", "902 1 old-1 old-1");

    RunResult result = pipeline.run(Source.of("feed", List.<Listing>of().iterator(), Listing::id));

    assertThat(result.status()).as("%s", result.failure()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.resumed()).isEqualTo(UNFINISHED.size() + 2);
    assertThat(titles())
        .containsEntry("batch-1", "dozer ingested cleaned")
        .containsEntry("batch-2", "roller ingested cleaned");
    assertThat(store.find(PIPELINE, "batch-1").orElseThrow().status())
        .isEqualTo(RecordStatus.PUBLISHED);

    assertThat(store.find(PIPELINE, "old-1")).isPresent();
    store.purge(); // also the version 2 rows finished long ago
    assertThat(store.find(PIPELINE, "old-1")).as("purged with its done batch").isEmpty();
    assertThat(db.count("SELECT COUNT(*) FROM " + names.batchRecords() + " WHERE batch_id = 902"))
        .isZero();
    assertThat(db.count("SELECT COUNT(*) FROM " + names.batches() + " WHERE batch_id = 902"))
        .isZero();
    assertThat(db.count("SELECT COUNT(*) FROM " + names.batchRecords() + " WHERE batch_id = 901"))
        .as("the batch done just now stays")
        .isEqualTo(2);
  }

  /**
   * Version 15 reserves H2's identity values in blocks of 10,000 (one sequence write per block
   * instead of per 32 values): the error rows written after the upgrade of a populated version 13
   * database, and after a restart, still come after the ones written before, so a record's error
   * history keeps its order.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void errorsWrittenAfterTheUpgradeFromVersion13FollowTheOlderOnes(String kind)
      throws SQLException {
    createVersion2(database(kind));
    migrateTo(13);
    try (Connection c = db.connect()) {
      error(c, "retry-1", "cleaning", 3, "java.lang.IllegalStateException: price service slow");
    }
    long before = db.count("SELECT MAX(error_id) FROM " + names.errors());

    JdbcPipelineStore store = openStore();
    if (!db.postgres) {
      assertThat(
              db.query(
                  "SELECT LOWER(TABLE_NAME), LOWER(COLUMN_NAME), IDENTITY_CACHE FROM"
                      + " INFORMATION_SCHEMA.COLUMNS WHERE LOWER(TABLE_SCHEMA) = ?"
                      + " AND IS_IDENTITY = 'YES' AND IDENTITY_CACHE > 32 ORDER BY 1",
                  db.schema.toLowerCase(Locale.ROOT)))
          .as("the identity columns a run appends to reserve their values in blocks")
          .extracting(r -> r.get(0) + "." + r.get(1) + "=" + ((Number) r.get(2)).longValue())
          .containsExactly(
              "v2_pipeline_errors.error_id=10000",
              "v2_pipeline_metrics.metric_id=10000",
              "v2_processing_logs.log_id=10000",
              "v2_record_lineage.event_id=10000",
              "v2_retry_queue.queue_id=10000");
    }
    RunResult result = failingCleaning(store, "price service gone").run(nothingNew());

    assertThat(result.status()).as("%s", result.failure()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.deadLettered()).isEqualTo(UNFINISHED.size());
    assertThat(
            db.count(
                "SELECT COUNT(*) FROM " + names.errors() + " WHERE error_message = ?",
                "price service gone"))
        .isEqualTo(UNFINISHED.size());
    assertThat(
            db.count(
                "SELECT MIN(error_id) FROM " + names.errors() + " WHERE error_message = ?",
                "price service gone"))
        .as("ids after the upgrade above every id before it")
        .isGreaterThan(before);

    // a restart: the new store takes its ids after the reserved block, never inside it
    long afterUpgrade = db.count("SELECT MAX(error_id) FROM " + names.errors());
    Pipeline<Listing, Listing> restarted = failingCleaning(openStore(), "still gone");
    assertThat(restarted.deadLetters().reprocess(List.of("retry-1"))).containsExactly("retry-1");
    assertThat(restarted.run(nothingNew()).deadLettered()).isOne();
    assertThat(
            db.count(
                "SELECT MIN(error_id) FROM " + names.errors() + " WHERE error_message = ?",
                "still gone"))
        .isGreaterThan(afterUpgrade);

    assertThat(store.find(PIPELINE, "retry-1").orElseThrow().errors())
        .as("the record's history in the order it was written")
        .extracting(e -> e.message())
        .containsExactly(
            "price service down",
            "price service down",
            "price service slow",
            "price service gone",
            "still gone");
  }

  /** Brings the version 2 database to an older version, as that version's store left it. */
  private void migrateTo(int version) {
    Jdbi jdbi = Jdbi.create(db.url);
    jdbi.setTemplateEngine(TemplateEngine.NOP);
    try (Handle h = jdbi.open()) {
      Migrator.migrate(
          h, db.postgres ? Dialect.POSTGRESQL : Dialect.H2, names, V2_WORKER, true, version);
    }
  }

  private static Source<Listing> nothingNew() {
    return Source.of("feed", List.<Listing>of().iterator(), Listing::id);
  }

  /** ingestion (checkpoint) -> cleaning, which fails every record with {@code message}. */
  private Pipeline<Listing, Listing> failingCleaning(JdbcPipelineStore store, String message) {
    JsonCodec<Listing> json = JsonCodec.of(Listing.class);
    Pipeline<Listing, Listing> pipeline =
        Pipeline.builder(PIPELINE, Listing.class)
            .store(store)
            .inputCodec(json)
            .stage(StageName.INGESTION, (Listing l) -> l, o -> o.checkpoint().codec(json))
            .stage(
                StageName.CLEANING,
                (Listing l) -> {
                  if (l.price() >= 0) {
                    throw new IllegalStateException(message);
                  }
                  return l;
                },
                o -> o.codec(json).retry(RetryPolicy.none()))
            .sink(batch -> {})
            .alerts(alert -> {})
            .build();
    opened.add(pipeline::close);
    return pipeline;
  }

  private static Map<String, Object> batch(long id, String state, int size) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("batch_id", id);
    row.put("pipeline", PIPELINE);
    row.put("stage", "ingestion");
    row.put("state", state);
    row.put("size", size);
    row.put("created_at", T0);
    row.put("updated_at", T0.plusSeconds(10));
    return row;
  }

  private JdbcPipelineStore openStore() {
    JdbcPipelineStore store = db.builder().tablePrefix(PREFIX).workerId("current").build();
    opened.add(store);
    return store;
  }

  /** ingestion (checkpoint) -> cleaning -> sink; each stage notes itself in the title. */
  private Pipeline<Listing, Listing> pipeline(JdbcPipelineStore store) {
    JsonCodec<Listing> json = JsonCodec.of(Listing.class);
    Pipeline<Listing, Listing> pipeline =
        Pipeline.builder(PIPELINE, Listing.class)
            .store(store)
            .inputCodec(json)
            .stage(
                StageName.INGESTION,
                (Listing l) -> {
                  processed.add(l.id());
                  return new Listing(l.id(), l.title() + " ingested", l.price());
                },
                o -> o.checkpoint().codec(json))
            .stage(
                StageName.CLEANING,
                (Listing l) -> {
                  processed.add(l.id());
                  return new Listing(l.id(), l.title() + " cleaned", l.price());
                },
                o -> o.codec(json))
            .sink(
                batch -> {
                  for (Envelope<Listing> e : batch) {
                    sunk.put(e.id(), e);
                    sinkCalls.merge(e.id(), 1, Integer::sum);
                  }
                })
            .alerts(alert -> {})
            .build();
    opened.add(pipeline::close);
    return pipeline;
  }

  private Map<String, String> titles() {
    Map<String, String> titles = new HashMap<>();
    sunk.forEach((id, e) -> titles.put(id, e.payload().title()));
    return titles;
  }

  private static List<String> allIds() {
    List<String> ids = new ArrayList<>(TERMINAL);
    ids.addAll(UNFINISHED);
    Collections.sort(ids);
    return ids;
  }

  private static String describe(RecordState s) {
    List<String> errors = new ArrayList<>();
    for (ErrorInfo e : s.errors()) {
      errors.add(e.stage() + "#" + e.attempt() + " " + e.errorType() + ": " + e.message());
    }
    assertThat(s.startedAt()).as(s.recordId()).isEqualTo(T0);
    return String.format(
        Locale.ROOT,
        "%s %s at %s, %d attempts, reason %s, errors %s, updated %s",
        s.recordId(),
        s.status(),
        s.stage(),
        s.attempts(),
        s.reason(),
        errors,
        s.updatedAt());
  }

  private static Map<RecordStatus, Long> counts(
      long ready,
      long inProgress,
      long retryWait,
      long published,
      long filtered,
      long deadLetter,
      long discarded) {
    Map<RecordStatus, Long> counts = new EnumMap<>(RecordStatus.class);
    counts.put(RecordStatus.READY, ready);
    counts.put(RecordStatus.IN_PROGRESS, inProgress);
    counts.put(RecordStatus.RETRY_WAIT, retryWait);
    counts.put(RecordStatus.PUBLISHED, published);
    counts.put(RecordStatus.FILTERED, filtered);
    counts.put(RecordStatus.DEAD_LETTER, deadLetter);
    counts.put(RecordStatus.DISCARDED, discarded);
    counts.put(RecordStatus.SPLIT, 0L); // version 2 knew no splits
    counts.put(RecordStatus.MERGED, 0L); // nor merges
    return counts;
  }

  // ------------------------------------------------------------------- the version 2 database

  /**
   * The schema at version 2, with the records of {@link #PIPELINE} in every state and one of {@link
   * #OTHER}, as a version 2 store (worker {@value #V2_WORKER}) left them, a worker that crashed
   * holding two of them.
   */
  private void createVersion2(TestDatabase database) throws SQLException {
    db = database;
    names = new Names(db.schema, PREFIX);
    Dialect dialect = db.postgres ? Dialect.POSTGRESQL : Dialect.H2;
    Jdbi jdbi = Jdbi.create(db.url);
    jdbi.setTemplateEngine(TemplateEngine.NOP);
    try (Handle h = jdbi.open()) {
      Migrator.migrate(h, dialect, names, V2_WORKER, true, 2);
    }
    assertThat(db.count("SELECT MAX(version) FROM " + names.schemaVersion())).isEqualTo(2);

    try (Connection c = db.connect()) {
      stage(c, "ingestion", 1, FORMAT, "RetryPolicy.none()", 0, true);
      stage(c, "cleaning", 2, FORMAT, "RetryPolicy.none()", 0, false);
      stage(c, "sink", 3, null, "RetryPolicy.exponential(PT0.1S, PT30S)", 8, false);
      for (List<Object> r :
          db.query(
              "SELECT stage_name, stage_id FROM " + names.stages() + " WHERE pipeline = ?",
              PIPELINE)) {
        stageIds.put((String) r.get(0), ((Number) r.get(1)).longValue());
      }

      for (int i = 1; i <= 3; i++) {
        Map<String, Object> row = record("published-" + i, "PUBLISHED", "cleaning", 10);
        finished(row, 1, 10);
        row.put("deliveries", 1);
        row.put("delivery_token", 9001L);
        insert(c, names.statusView(), row);
      }
      String[][] filtered = {{"filtered-1", "price below 100"}, {"filtered-2", "not equipment"}};
      for (int i = 0; i < filtered.length; i++) {
        Map<String, Object> row = record(filtered[i][0], "FILTERED", "cleaning", 11 + i);
        finished(row, 1, 11 + i);
        row.put("reason", filtered[i][1]);
        insert(c, names.statusView(), row);
      }

      // dead letters keep the failing stage's input
      Map<String, Object> dead1 = record("dead-1", "DEAD_LETTER", "cleaning", 20);
      payload(dead1, "crane ingested", 900);
      failed(dead1, "cleaning", 2, "IllegalStateException: no price for dead-1", 20);
      insert(c, names.statusView(), dead1);
      error(c, "dead-1", "cleaning", 1, "java.net.SocketTimeoutException: read timed out");
      error(c, "dead-1", "cleaning", 2, "java.lang.IllegalStateException: no price for dead-1");
      Map<String, Object> dead2 = record("dead-2", "DEAD_LETTER", "ingestion", 30);
      payload(dead2, "tractor", 700);
      failed(dead2, "ingestion", 1, "UnsupportedOperationException: unknown currency", 30);
      insert(c, names.statusView(), dead2);
      error(
          c, "dead-2", "ingestion", 1, "java.lang.UnsupportedOperationException: unknown currency");
      Map<String, Object> discarded = record("discarded-1", "DISCARDED", "cleaning", 40);
      failed(discarded, "cleaning", 1, "IllegalStateException: duplicate of published-1", 5);
      discarded.put("reason", "duplicate listing, removed by ops");
      discarded.put("completed_at", T0.plusSeconds(40));
      insert(c, names.statusView(), discarded);
      error(
          c,
          "discarded-1",
          "cleaning",
          1,
          "java.lang.IllegalStateException: duplicate of published-1");

      // ready: never claimed yet, and given back after its checkpoint
      Map<String, Object> ready1 = record("ready-1", "READY", "ingestion", 0);
      payload(ready1, "excavator", 500);
      insert(c, names.statusView(), ready1);
      Map<String, Object> ready2 = record("ready-2", "READY", "cleaning", 5);
      payload(ready2, "loader ingested", 300);
      insert(c, names.statusView(), ready2);

      // in progress on a worker that crashed: its leases ran out long ago
      Map<String, Object> crashed1 = record("crashed-1", "IN_PROGRESS", "ingestion", 50);
      payload(crashed1, "bulldozer", 800);
      leased(crashed1, 41L, 0);
      insert(c, names.statusView(), crashed1);
      Map<String, Object> crashed2 = record("crashed-2", "IN_PROGRESS", "cleaning", 51);
      payload(crashed2, "grader ingested", 600);
      leased(crashed2, 42L, 1);
      insert(c, names.statusView(), crashed2);

      // parked for a retry, due now
      Map<String, Object> retry = record("retry-1", "RETRY_WAIT", "cleaning", 45);
      payload(retry, "forklift ingested", 200);
      retry.put("attempt_count", 2);
      retry.put("last_error", "IllegalStateException: price service down");
      retry.put("error_type", "IllegalStateException");
      insert(c, names.statusView(), retry);
      for (int attempt = 1; attempt <= 2; attempt++) {
        error(
            c,
            "retry-1",
            "cleaning",
            attempt,
            "java.lang.IllegalStateException: price service down");
      }
      Map<String, Object> queued = new LinkedHashMap<>();
      queued.put("pipeline", PIPELINE);
      queued.put("record_id", "retry-1");
      queued.put("stage_id", stageIds.get("cleaning"));
      queued.put("stage_name", "cleaning");
      queued.put("retry_count", 2);
      queued.put("max_retries", 3);
      queued.put("next_retry_at", T0.plusSeconds(60));
      queued.put("backoff_multiplier", 2.0);
      queued.put("last_error", "IllegalStateException: price service down");
      queued.put("created_at", T0.plusSeconds(45));
      insert(c, names.retryQueue(), queued);

      Map<String, Object> other = record("other-1", "READY", "ingestion", 0);
      other.put("pipeline", OTHER);
      payload(other, "crane", 100);
      insert(c, names.statusView(), other);
    }
  }

  private void stage(
      Connection c,
      String name,
      int order,
      @Nullable String output,
      String retryPolicy,
      int maxRetries,
      boolean checkpoint)
      throws SQLException {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("pipeline", PIPELINE);
    row.put("stage_name", name);
    row.put("stage_order", order);
    row.put("input_format", FORMAT);
    row.put("output_format", output);
    row.put("processing_function", "dev.example.Listings$$Lambda/0x000000001f0" + order);
    row.put("retry_policy", retryPolicy);
    row.put("max_retries", maxRetries);
    row.put("is_checkpoint", checkpoint);
    row.put("registered_at", T0);
    insert(c, names.stages(), row);
  }

  /** A status row as every version 2 record had it, updated {@code seconds} after T0. */
  private static Map<String, Object> record(String id, String status, String stage, int seconds) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("pipeline", PIPELINE);
    row.put("record_id", id);
    row.put("current_stage", stage);
    row.put("status", status);
    row.put("started_at", T0);
    row.put("updated_at", T0.plusSeconds(seconds));
    row.put("metadata", METADATA);
    row.put("lease_token", 7L);
    row.put("worker_id", V2_WORKER);
    return row;
  }

  /** Published or filtered: the payload was dropped (payloads were not retained). */
  private static void finished(Map<String, Object> row, int attempts, int seconds) {
    row.put("attempt_count", attempts);
    row.put("completed_at", T0.plusSeconds(seconds));
  }

  private static void failed(
      Map<String, Object> row, String stage, int attempts, String lastError, int seconds) {
    row.put("failed_stage", stage);
    row.put("attempt_count", attempts);
    row.put("last_error", lastError);
    row.put("error_type", lastError.substring(0, lastError.indexOf(':')));
    row.put("dead_lettered_at", T0.plusSeconds(seconds));
    row.put("completed_at", T0.plusSeconds(seconds));
  }

  private static void leased(Map<String, Object> row, long token, int claims) {
    row.put("lease_owner", CRASHED);
    row.put("lease_token", token);
    row.put("lease_expires_at", T0.plusSeconds(90));
    row.put("claim_count", claims);
    row.put("worker_id", CRASHED);
  }

  /**
   * The payload as a version 2 store wrote it: the listing's JSON, and the CRC32C of its bytes, a
   * zero byte and the metadata text.
   */
  private static void payload(Map<String, Object> row, String title, int price) {
    byte[] json =
        String.format(
                Locale.ROOT,
                "{\"id\":\"%s\",\"title\":\"%s\",\"price\":%d}",
                row.get("record_id"),
                title,
                price)
            .getBytes(StandardCharsets.UTF_8);
    CRC32C crc = new CRC32C();
    crc.update(json);
    crc.update(0);
    crc.update(METADATA.getBytes(StandardCharsets.UTF_8));
    row.put("payload", json);
    row.put("payload_format", FORMAT);
    row.put("payload_checksum", crc.getValue());
  }

  /** An error row; {@code error} is the exception's class name, a colon and its message. */
  private void error(Connection c, String id, String stage, int attempt, String error)
      throws SQLException {
    String exceptionClass = error.substring(0, error.indexOf(": "));
    String message = error.substring(exceptionClass.length() + 2);
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("pipeline", PIPELINE);
    row.put("record_id", id);
    row.put("stage_id", stageIds.get(stage));
    row.put("stage_name", stage);
    row.put("error_type", exceptionClass.substring(exceptionClass.lastIndexOf('.') + 1));
    row.put("exception_class", exceptionClass);
    row.put("error_message", message);
    row.put("stack_trace", error + "\n\tat dev.example.Cleaner.clean(Cleaner.java:42)\n");
    row.put("attempt", attempt);
    row.put("occurred_at", T0.plusSeconds(attempt));
    row.put("worker_id", V2_WORKER);
    insert(c, names.errors(), row);
  }

  private static void insert(Connection c, String table, Map<String, Object> row)
      throws SQLException {
    List<String> columns = new ArrayList<>(row.keySet());
    String sql =
        "INSERT INTO "
            + table
            + " ("
            + String.join(", ", columns)
            + ") VALUES ("
            + String.join(", ", Collections.nCopies(columns.size(), "?"))
            + ")";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < columns.size(); i++) {
        Object value = row.get(columns.get(i));
        if (value instanceof Instant at) {
          ps.setObject(
              i + 1, OffsetDateTime.ofInstant(at, ZoneOffset.UTC), Types.TIMESTAMP_WITH_TIMEZONE);
        } else if (value == null) {
          ps.setNull(i + 1, Types.VARCHAR);
        } else {
          ps.setObject(i + 1, value);
        }
      }
      ps.executeUpdate();
    }
  }
}
