package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.MAX_NAME;
import static dev.pipeline.jdbc.Checks.checkName;
import static dev.pipeline.jdbc.Checks.checkPipeline;
import static dev.pipeline.jdbc.Checks.cut;
import static dev.pipeline.jdbc.Checks.storedText;
import static dev.pipeline.jdbc.Checks.uncut;
import static dev.pipeline.jdbc.Payloads.decode;
import static dev.pipeline.jdbc.Payloads.encode;
import static dev.pipeline.jdbc.Payloads.envelope;
import static dev.pipeline.jdbc.Payloads.raw;

import com.zaxxer.hikari.HikariDataSource;
import dev.pipeline.Envelope;
import dev.pipeline.PipelineException;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.jdbc.Payloads.Row;
import dev.pipeline.jdbc.Payloads.Stored;
import dev.pipeline.store.Claimed;
import dev.pipeline.store.Completion;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.Handover;
import dev.pipeline.store.HeldLeases;
import dev.pipeline.store.Page;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.PipelineStore;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.Registrations;
import dev.pipeline.store.ScheduledRetry;
import dev.pipeline.store.StageDescriptor;
import dev.pipeline.store.StatusCounts;
import dev.pipeline.store.StorableText;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.IntFunction;
import javax.sql.DataSource;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.Query;
import org.jdbi.v3.core.statement.TemplateEngine;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable store: the seven tables of the specification on H2 (embedded, the default) or
 * PostgreSQL (production, and several workers on one database).
 *
 * <pre>{@code
 * try (JdbcPipelineStore store = JdbcPipelineStore.builder()
 *     .h2File(Path.of("data/pipeline"))       // or .dataSource(ds) / .jdbcUrl(url, user, password)
 *     .build()) {                             // creates or migrates the schema, versioned
 *   Pipeline<RawListing, Listing> pipeline = Pipeline.builder("equipment", RawListing.class)
 *       .store(store)
 *       .inputCodec(JsonCodec.of(RawListing.class))
 *       ...
 * }
 * }</pre>
 *
 * <h2>How records are kept</h2>
 *
 * <ul>
 *   <li><b>Ingest</b> inserts each new record with its payload, leased to this worker (PostgreSQL:
 *       one multi-row statement per batch; H2: a lookup of the stored ids, then a JDBC batch of
 *       inserts); an id already stored is reported as a duplicate and left alone.
 *   <li><b>Leases</b> are timed by the database's clock. A heartbeat thread renews this worker's
 *       leases every third of {@link Builder#leaseDuration(Duration) the lease duration}, on a
 *       connection of its own, so a busy pool does not starve it, in short transactions of 500
 *       records each (on H2, each in its turn), so the pipeline's writes never wait long behind it,
 *       and skips rows other transactions hold (renewing them on the next beat), so it never waits
 *       behind the pipeline's writes. A worker that dies stops renewing; once its leases expire,
 *       another worker's {@link #claim} takes its records over ({@code FOR UPDATE SKIP LOCKED}, so
 *       workers never wait on each other's rows).
 *   <li><b>Lock order</b>: ingests, checkpoints, deliveries, completions and claims write their
 *       records in record id order, so concurrent batches lock rows in the same order rather than
 *       deadlock. {@link #completeAndDeliver} makes two such passes in one transaction (the
 *       completions, then the deliveries); two workers can deadlock there only over records one
 *       took over from the other, and the deadlock is retried like any transient error.
 *   <li><b>Fencing</b>: each ingest or claim leases its records under a fresh token. Checkpoints
 *       and completions apply only where owner and token still match, so a worker whose records
 *       were taken over cannot overwrite the new owner's work: {@link #complete} returns those ids.
 *   <li><b>Checkpoints</b> save a record's payload (encoded with the next stage's input codec) and
 *       stage, in one JDBC batch per call; a restart resumes there.
 *   <li><b>Completions</b> are one JDBC batch per call (plus one for errors, if any). Dead letters
 *       keep their payload and every error. Published and filtered records drop their payload at
 *       once, unless {@link Builder#retainPayloads(Duration)} says otherwise.
 *   <li><b>Retries</b> that wait are parked by {@link #scheduleRetries}: the record becomes {@code
 *       RETRY_WAIT} with its payload at the stage to retry and a {@code retry_queue} row due at a
 *       time of the database's clock; it leaves its worker, survives restarts, and any worker's
 *       {@link #claim} takes it once due, with its attempts so far.
 *   <li><b>Dead letters</b> can be sent back with {@link #reprocess} (to {@code READY} at the stage
 *       of their stored payload, attempts reset, errors kept) or given up with {@link #discard}
 *       ({@code DISCARDED}, terminal, with a reason). Both are conditional updates, so concurrent
 *       calls move each record once.
 *   <li><b>Checksums</b> (CRC32C) are stored with each payload and checked when it is read back; a
 *       damaged payload sends its record to the dead letter queue with a {@link
 *       PayloadIntegrityException}, and the others go on.
 *   <li><b>Text</b> is stored so that every database takes it: NUL (U+0000), which PostgreSQL
 *       refuses, and unpaired surrogates, which UTF-8 cannot carry, are written as {@code \}{@code
 *       uXXXX} escapes ({@link StorableText#escape}, reversed by {@link StorableText#unescape}) in
 *       error messages, stack traces, error types, reasons, stage and codec names; errors and
 *       reasons read back through this store are unescaped, so they equal what was written.
 *       Metadata is JSON with the same escapes. Record ids are not escaped: {@link #ingest} refuses
 *       one that {@link StorableText#idProblem} finds unfit, and the engine never sends one (it
 *       dead-letters such a record alone under {@link StorableText#storableId}). Pipeline and stage
 *       names with NUL or an unpaired surrogate are refused.
 *   <li><b>Database faults</b>: transient errors (lost connection, restart, deadlock, serialization
 *       failure) are retried with backoff for up to {@link Builder#outageTolerance(Duration)}; the
 *       pipeline pauses meanwhile and nothing is lost. Other errors throw {@link
 *       JdbcStoreException}, a closed H2 database among them. The driver's work runs on threads of
 *       its own: interrupting a thread that calls the store (a cancelled run) never interrupts a
 *       statement, which would close an H2 database or break a PostgreSQL connection.
 * </ul>
 *
 * <p>A lease this worker holds is renewed while the engine makes progress with its records; records
 * of a lease untouched for ten lease durations (at least a minute) are taken to be dropped (a
 * cancelled run) and are no longer renewed. {@link #release(String)} and {@link #close()} give a
 * worker's records back at once.
 *
 * <p>On a happy path the store makes, per batch of records: one round trip to ingest (two on H2),
 * one per checkpoint stage, and one transaction that notes the batch's delivery and completes the
 * batch before it ({@link #completeAndDeliver}); plus one heartbeat per third of the lease
 * duration, an occasional {@code ANALYZE} on PostgreSQL, and the claimer's polls.
 *
 * <p>Thread-safe.
 */
public final class JdbcPipelineStore implements PipelineStore {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcPipelineStore.class);

  /** Default lease duration. */
  public static final Duration DEFAULT_LEASE = Duration.ofSeconds(30);

  /** The schema version this library creates and expects. */
  public static final int SCHEMA_VERSION = Migrator.latest();

  private static final int INGEST_CHUNK = 200;
  // records per batch of the batch ledger: an ingest of more is written as several batches
  private static final int BATCH_CHUNK = 5_000;
  private static final int MAX_MESSAGE = 100_000;
  private static final int MAX_LAST_ERROR = 2_000;
  private static final int MOVE_CHUNK = 1_000;
  private static final Duration MAX_DELAY = Duration.ofDays(3650);
  private static final Map<String, ReentrantLock> H2_CLAIM_LOCKS = new ConcurrentHashMap<>();
  private static final String HEARTBEAT = "pipeline-jdbc-heartbeat-";

  private final Database db;
  private final Statements sql;
  private final Names names;
  private final String workerId;
  private final long leaseMillis;
  private final long abandonAfterNanos;
  private final Retention retention;
  private final Leases leases = new Leases(System::nanoTime);
  private final Confirmations confirmations;
  // per pipeline: when this worker last looked for dead workers of this host to take over
  private final Map<String, Long> deadWorkersCheckedAt = new ConcurrentHashMap<>();
  private final long deadWorkersCheckNanos;
  private final Map<String, PipelineDef> pipelines = new ConcurrentHashMap<>();
  private final Registrations registrations = new Registrations();
  private final @Nullable HikariDataSource ownedPool;
  private final Connections.HeartbeatSource heartbeatSource;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Heartbeat heartbeat;
  private final Purger purger;
  // H2 serves one JVM: its claims and registrations take turns instead of waiting on each other's
  // row locks
  private final @Nullable ReentrantLock h2Lock;
  private final List<Thread> threads = new ArrayList<>();
  private final Statistics statistics;
  // the batch ledger; null with the full ledger (a row per record from its ingest)
  private final @Nullable BatchLedger ledger;
  // per pipeline: records of batches this worker claimed beyond a claim's max, handed out first by
  // the next claims (they are held, their batches' leases renewed, like records in flight)
  private final Map<String, java.util.Deque<Claimed>> stash = new ConcurrentHashMap<>();
  // per pipeline: how many times release() gave its records back; a batch ingested or claimed
  // while a release ran is given back too, rather than held by a run that is gone
  private final Map<String, java.util.concurrent.atomic.AtomicLong> releases =
      new ConcurrentHashMap<>();

  private JdbcPipelineStore(
      Database db,
      Names names,
      String workerId,
      Duration lease,
      Retention retention,
      @Nullable HikariDataSource ownedPool,
      Connections.HeartbeatSource heartbeatSource,
      @Nullable String databaseUrl,
      boolean maintainStatistics,
      boolean fullLedger) {
    this.db = db;
    this.statistics = new Statistics(maintainStatistics && db.dialect == Dialect.POSTGRESQL);
    this.h2Lock =
        db.dialect == Dialect.H2 && databaseUrl != null
            ? H2_CLAIM_LOCKS.computeIfAbsent(databaseUrl + "|" + names, k -> new ReentrantLock())
            : null;
    this.names = names;
    this.sql = new Statements(db.dialect, names, !retention.payloads().isZero());
    this.workerId = workerId;
    this.leaseMillis = lease.toMillis();
    this.ledger =
        fullLedger
            ? null
            : new BatchLedger(
                db.dialect, names, workerId, leaseMillis, !retention.payloads().isZero());
    this.abandonAfterNanos = Math.max(lease.toNanos() * 10, TimeUnit.MINUTES.toNanos(1));
    // a margin under the lease for the drift between this worker's clock and the database's
    this.confirmations =
        new Confirmations(
            lease.toNanos() / 10 * 9,
            System::nanoTime,
            System::currentTimeMillis,
            p -> leases.held(p));
    this.deadWorkersCheckNanos =
        Math.clamp(lease.toNanos() / 3, TimeUnit.SECONDS.toNanos(1), TimeUnit.SECONDS.toNanos(10));
    this.retention = retention;
    this.ownedPool = ownedPool;
    this.heartbeatSource = heartbeatSource;
    this.heartbeat =
        new Heartbeat(
            db,
            sql,
            workerId,
            leaseMillis,
            abandonAfterNanos,
            leases,
            ledger,
            heartbeatSource,
            closed);
    this.purger = new Purger(db, sql, names, retention, ledger, closed);
  }

  /** A builder; set where the database is with exactly one of its connection methods. */
  public static Builder builder() {
    return new Builder();
  }

  private void start(@Nullable Duration purgeEvery) {
    threads.add(Thread.ofPlatform().daemon().name(HEARTBEAT + workerId).unstarted(heartbeat::run));
    if (purgeEvery != null) {
      threads.add(
          Thread.ofPlatform()
              .daemon()
              .name("pipeline-jdbc-purge-" + workerId)
              .unstarted(() -> purger.loop(purgeEvery)));
    }
    if (db.dialect == Dialect.POSTGRESQL) {
      threads.add(
          Thread.ofPlatform()
              .daemon()
              .name("pipeline-jdbc-statistics-" + workerId)
              .unstarted(() -> statistics.run(db, names.status())));
    }
    threads.forEach(Thread::start);
  }

  /** Whether this store keeps the status table's planner statistics current (for tests). */
  boolean maintainsStatistics() {
    return statistics.maintaining();
  }

  /**
   * How many of this store's operations failed with a transient error of this SQLState and were
   * retried (for tests: {@code HYT00} is H2's lock timeout).
   */
  long retriedErrors(String sqlState) {
    return db.retries(sqlState);
  }

  /** How many times the heartbeat renewed leases (for tests). */
  long heartbeats() {
    return heartbeat.count();
  }

  /** This worker's id, the lease owner of the records it holds. */
  public String workerId() {
    return workerId;
  }

  // ------------------------------------------------------------------ registration

  /**
   * Records a pipeline's stages in {@code pipeline_stages} (one upsert per stage, in one JDBC batch
   * and transaction, so that workers registering the same pipeline at once all succeed; stages no
   * longer in the list are deleted) and keeps their codecs for this store.
   *
   * <p>A stage named {@code "sink"}, if registered, describes the sink's input: with its codec, a
   * record the sink failed on is kept as the sink received it, and {@link #reprocess} sends it back
   * to the sink. Without it, such a dead letter keeps its last checkpoint.
   *
   * <p>The name is held for the pipeline until {@link #unregister}: while it is, registering
   * different stages (names, order or codecs) under it on this store object is refused, since this
   * store reads every record of the pipeline with the codecs registered last. The definition kept
   * in the table from an earlier process holds nothing: different stages replace it, as a new
   * deploy does.
   *
   * @throws IllegalStateException if a live pipeline built on this store holds the name with
   *     different stages, or the store is closed
   * @throws JdbcStoreException if the database refuses
   */
  @Override
  public void register(String pipeline, List<StageDescriptor> stages) {
    checkPipeline(pipeline);
    List<StageDescriptor> copy = List.copyOf(stages);
    checkOpen();
    List<String> stageNames = new ArrayList<>();
    for (StageDescriptor s : copy) {
      checkName("stage", s.name());
      stageNames.add(s.name());
    }
    registrations.hold(toString(), pipeline, copy);
    try {
      registerHeld(pipeline, copy, stageNames);
    } catch (RuntimeException e) {
      registrations.release(pipeline);
      throw e;
    }
  }

  @Override
  public void unregister(String pipeline) {
    checkPipeline(pipeline);
    registrations.release(pipeline);
  }

  private void registerHeld(String pipeline, List<StageDescriptor> copy, List<String> stageNames) {
    if (h2Lock != null) {
      h2Lock.lock(); // H2's MERGE is no atomic upsert: registrations of one JVM take turns
    }
    Map<String, Long> ids;
    try {
      // PostgreSQL's upsert is atomic; an H2 database shared by two JVMs (server mode) could still
      // see a key conflict, which the next attempt resolves as an update
      ids =
          db.run(
              "register",
              pipeline,
              true,
              db.dialect == Dialect.H2,
              h -> registerRows(h, pipeline, copy, stageNames));
    } finally {
      if (h2Lock != null) {
        h2Lock.unlock();
      }
    }
    pipelines.put(pipeline, new PipelineDef(copy, ids));
  }

  private Map<String, Long> registerRows(
      Handle h, String pipeline, List<StageDescriptor> copy, List<String> stageNames) {
    if (!copy.isEmpty()) {
      PreparedBatch upsert = h.prepareBatch(sql.register);
      for (int i = 0; i < copy.size(); i++) {
        StageDescriptor s = copy.get(i);
        PayloadCodec<?> output = i + 1 < copy.size() ? copy.get(i + 1).inputCodec() : null;
        bindStage(upsert, pipeline, s, output).add();
      }
      upsert.execute();
    }
    h.createUpdate(sql.registerDelete)
        .bind("pipeline", pipeline)
        .bind("names", Args.texts(stageNames))
        .execute();
    Map<String, Long> found = new HashMap<>();
    h.createQuery(sql.registerIds)
        .bind("pipeline", pipeline)
        .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
        .forEach(e -> found.put(e.getKey(), e.getValue()));
    return found;
  }

  private static PreparedBatch bindStage(
      PreparedBatch statement,
      String pipeline,
      StageDescriptor s,
      @Nullable PayloadCodec<?> output) {
    return statement
        .bind("pipeline", pipeline)
        .bind("name", s.name())
        .bind("order", s.order())
        .bind("input", Args.text(s.inputCodec() == null ? null : cut(s.inputCodec().name(), 300)))
        .bind("output", Args.text(output == null ? null : cut(output.name(), 300)))
        .bind("function", cut(s.function(), 1000))
        .bind("timeout", Args.int64(s.timeoutSeconds()))
        .bind("retry", cut(s.retryPolicy(), 1000))
        .bind("max_retries", s.maxRetries())
        .bind("checkpoint", s.checkpoint());
  }

  private PipelineDef def(String pipeline) {
    PipelineDef def = pipelines.get(pipeline);
    if (def == null) {
      throw new IllegalStateException(
          "pipeline '"
              + pipeline
              + "' is not registered with this store; build the Pipeline with .store(store),"
              + " which registers its stages and their codecs, before running it");
    }
    return def;
  }

  // ------------------------------------------------------------------ ingest

  /**
   * Inserts the records not stored yet, leased to this worker; returns the ids already stored.
   *
   * @throws PipelineException if a payload cannot be encoded with the stage's input codec
   * @throws IllegalArgumentException if a record id cannot be stored ({@link
   *     StorableText#idProblem}: empty, longer than 1000 characters, NUL or an unpaired surrogate);
   *     the engine sends such a record to the dead letter queue under a derived id instead
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Set<String> ingest(
      String pipeline, List<? extends Envelope<?>> records, String stage, Instant at) {
    Objects.requireNonNull(records, "records cannot be null");
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(at, "at cannot be null");
    checkOpen();
    if (records.isEmpty()) {
      return Set.of();
    }
    PipelineDef def = def(pipeline);
    PayloadCodec<?> codec = def.codec(stage);
    if (codec == null) {
      throw new PipelineException(
          "stage '"
              + stage
              + "' of pipeline '"
              + pipeline
              + "' has no input codec, so its records cannot be stored; set the pipeline's"
              + " inputCodec(...)");
    }
    Set<String> duplicates = new HashSet<>();
    Map<String, Stored> unique = new LinkedHashMap<>();
    for (Envelope<?> record : records) {
      String id = record.id();
      StorableText.checkId(id);
      if (unique.containsKey(id)) {
        duplicates.add(id);
        continue;
      }
      unique.put(id, encode(pipeline, stage, codec, record, "ingest"));
    }
    List<Stored> rows = new ArrayList<>(unique.values());
    rows.sort(Comparator.comparing(Stored::id)); // one lock order for all workers
    if (ledger != null) {
      for (String id : ingestBatches(pipeline, stage, cut(codec.name(), 300), rows, at)) {
        duplicates.add(id);
      }
      return duplicates;
    }
    long token = Leases.newToken();
    Confirmations.Sent sent = confirmations.now();
    Set<String> inserted = new HashSet<>();
    for (int from = 0; from < rows.size(); from += INGEST_CHUNK) {
      List<Stored> chunk = rows.subList(from, Math.min(rows.size(), from + INGEST_CHUNK));
      AtomicInteger attempts = new AtomicInteger();
      inserted.addAll(
          db.callRetryingConflicts(
              "ingest",
              pipeline,
              h -> {
                if (db.dialect == Dialect.H2) {
                  return insertAbsentInSteps(
                      h, pipeline, stage, at, cut(codec.name(), 300), token, chunk, attempts);
                }
                Query insert =
                    h.createQuery(sql.ingest(chunk.size()))
                        .bind("pipeline", pipeline)
                        .bind("stage", stage)
                        .bind("at", Args.time(at))
                        .bind("format", cut(codec.name(), 300))
                        .bind("owner", workerId)
                        .bind("token", token)
                        .bind("lease_ms", leaseMillis);
                for (int i = 0; i < chunk.size(); i++) {
                  Stored s = chunk.get(i);
                  insert
                      .bind("id" + i, s.id())
                      .bind("payload" + i, Args.bytes(s.payload()))
                      .bind("checksum" + i, s.checksum())
                      .bind("metadata" + i, Args.text(s.metadata()));
                }
                Set<String> ids = new HashSet<>(insert.mapTo(String.class).list());
                if (attempts.incrementAndGet() > 1) {
                  ids.addAll(insertedBefore(h, pipeline, token, chunk));
                }
                return ids;
              }));
    }
    leases.hold(pipeline, inserted, token);
    confirmations.confirm(pipeline, inserted, sent);
    statistics.changed(inserted.size());
    for (Stored s : rows) {
      if (!inserted.contains(s.id())) {
        duplicates.add(s.id());
      }
    }
    return duplicates;
  }

  /**
   * The batch ledger's ingest: each chunk of {@link #BATCH_CHUNK} records is one batch, under a
   * token of its own, written in one transaction. Returns the ids already stored.
   */
  private List<String> ingestBatches(
      String pipeline, String stage, String format, List<Stored> rows, Instant at) {
    BatchLedger ledger = Objects.requireNonNull(this.ledger);
    List<String> duplicates = new ArrayList<>();
    for (int from = 0; from < rows.size(); from += BATCH_CHUNK) {
      List<Stored> chunk = rows.subList(from, Math.min(rows.size(), from + BATCH_CHUNK));
      List<BatchLedger.Entry> entries = new ArrayList<>(chunk.size());
      for (int i = 0; i < chunk.size(); i++) {
        Stored s = chunk.get(i);
        entries.add(new BatchLedger.Entry(i, s.id(), s.payload(), s.checksum(), s.metadata()));
      }
      long batchId = Leases.newToken();
      long token = Leases.newToken();
      AtomicInteger attempts = new AtomicInteger();
      Confirmations.Sent sent = confirmations.now();
      long released = released(pipeline);
      List<BatchLedger.Entry> kept =
          db.run(
              "ingest",
              pipeline,
              db.dialect != Dialect.POSTGRESQL, // one statement there
              true,
              h ->
                  ledger.ingest(
                      h,
                      pipeline,
                      stage,
                      format,
                      batchId,
                      token,
                      entries,
                      at,
                      attempts.incrementAndGet()));
      Set<String> inserted = new HashSet<>();
      for (BatchLedger.Entry e : kept) {
        inserted.add(e.id());
      }
      if (!kept.isEmpty()) {
        BatchLedger.Batch batch = new BatchLedger.Batch(batchId, stage, format, token, 0);
        if (released(pipeline) != released) {
          // the run was cancelled meanwhile: give the batch back at once
          db.call("release", pipeline, h -> ledger.release(h, List.of(batch)));
        } else {
          ledger.hold(pipeline, batch, kept, Set.of());
          leases.hold(pipeline, inserted, token);
          confirmations.confirm(pipeline, inserted, sent);
        }
      }
      for (Stored s : chunk) {
        if (!inserted.contains(s.id())) {
          duplicates.add(s.id());
        }
      }
    }
    return duplicates;
  }

  private long released(String pipeline) {
    java.util.concurrent.atomic.AtomicLong n = releases.get(pipeline);
    return n == null ? 0 : n.get();
  }

  /**
   * Gives records this worker holds in batches full rows of their own, before an operation that
   * writes them one by one (a checkpoint, a retry, a filter, a dead letter): see {@link
   * BatchLedger}. Records of a batch this worker no longer holds get no row, so the operation finds
   * them fenced.
   */
  private void moveToRows(String pipeline, Collection<String> ids, Instant at) {
    BatchLedger ledger = this.ledger;
    if (ledger == null || ids.isEmpty() || !ledger.anyIn(pipeline, ids)) {
      return;
    }
    Map<BatchLedger.Batch, List<BatchLedger.Slot>> groups = ledger.byBatch(pipeline, ids);
    long event = Leases.newToken();
    AtomicInteger attempts = new AtomicInteger();
    db.transaction(
        "move",
        pipeline,
        h -> {
          int attempt = attempts.incrementAndGet();
          for (Map.Entry<BatchLedger.Batch, List<BatchLedger.Slot>> g : groups.entrySet()) {
            // a batch this worker no longer holds gets no rows: the operation finds them fenced
            ledger.move(h, pipeline, g.getKey(), g.getValue(), event, at, attempt);
          }
          return null;
        });
    List<String> moved = new ArrayList<>();
    groups.forEach(
        (b, slots) -> {
          for (BatchLedger.Slot slot : slots) {
            moved.add(slot.entry().id());
          }
        });
    ledger.forget(pipeline, moved);
    statistics.changed(moved.size());
  }

  /**
   * H2's ingest: looks up which ids are stored, then inserts the others in a JDBC batch, in the
   * caller's transaction. A MERGE over a VALUES list, which does both in one statement, cost H2
   * several times as much. Another worker inserting one of the ids in between makes the batch fail
   * on the primary key; the caller then runs this again, and the lookup sees that row. Rows this
   * call's token already holds (an earlier attempt committed without our hearing of it) are ours.
   */
  private Set<String> insertAbsentInSteps(
      Handle h,
      String pipeline,
      String stage,
      Instant at,
      String format,
      long token,
      List<Stored> chunk,
      AtomicInteger attempts) {
    Set<String> ids = new HashSet<>();
    if (attempts.incrementAndGet() > 1) {
      ids.addAll(insertedBefore(h, pipeline, token, chunk));
    }
    Set<String> present =
        new HashSet<>(
            h.createQuery(sql.stored)
                .bind("pipeline", pipeline)
                .bind("ids", Args.texts(chunk.stream().map(Stored::id).toList()))
                .mapTo(String.class)
                .list());
    PreparedBatch insert = h.prepareBatch(sql.ingestOne);
    for (Stored s : chunk) {
      if (present.contains(s.id())) {
        continue;
      }
      insert
          .bind("pipeline", pipeline)
          .bind("id", s.id())
          .bind("stage", stage)
          .bind("at", Args.time(at))
          .bind("payload", Args.bytes(s.payload()))
          .bind("format", format)
          .bind("checksum", s.checksum())
          .bind("metadata", Args.text(s.metadata()))
          .bind("owner", workerId)
          .bind("token", token)
          .bind("lease_ms", leaseMillis)
          .add();
      ids.add(s.id());
    }
    if (insert.size() > 0) {
      insert.execute();
    }
    return ids;
  }

  /**
   * The rows of the chunk an earlier attempt of this ingest inserted, if it committed without our
   * hearing of it: they carry this call's token and are ours, not duplicates.
   */
  private List<String> insertedBefore(Handle h, String pipeline, long token, List<Stored> chunk) {
    return h.createQuery(sql.ingestMine)
        .bind("pipeline", pipeline)
        .bind("owner", workerId)
        .bind("token", token)
        .bind("ids", Args.texts(chunk.stream().map(Stored::id).toList()))
        .mapTo(String.class)
        .list();
  }

  // ------------------------------------------------------------------ checkpoint

  /**
   * Saves records as the input of {@code nextStage}, where this worker still holds their lease;
   * records taken over by another worker are left to it.
   *
   * @throws PipelineException if {@code nextStage} has no input codec
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public void checkpoint(
      String pipeline, List<? extends Envelope<?>> records, String nextStage, Instant at) {
    Objects.requireNonNull(records, "records cannot be null");
    Objects.requireNonNull(nextStage, "nextStage cannot be null");
    Objects.requireNonNull(at, "at cannot be null");
    checkOpen();
    if (records.isEmpty()) {
      return;
    }
    PipelineDef def = def(pipeline);
    PayloadCodec<?> codec = def.codec(nextStage);
    if (codec == null) {
      throw new PipelineException(
          "cannot checkpoint pipeline '"
              + pipeline
              + "' before stage '"
              + nextStage
              + "': the stage before it has no codec for its output; add s.codec(...) to its"
              + " options");
    }
    List<String> ids = new ArrayList<>(records.size());
    for (Envelope<?> record : records) {
      ids.add(record.id());
    }
    moveToRows(pipeline, ids, at);
    List<Stored> rows = new ArrayList<>(records.size());
    int notHeld = 0;
    for (Envelope<?> record : records) {
      Long token = leases.token(pipeline, record.id());
      if (token == null) {
        notHeld++;
        continue;
      }
      Stored stored;
      try {
        stored = encode(pipeline, nextStage, codec, record, "checkpoint");
      } catch (PipelineException e) {
        // the record goes on in memory; a crash would resume it from its previous checkpoint
        LOG.warn(
            "pipeline-jdbc: {}; record '{}' keeps its previous checkpoint",
            ErrorText.describeDefault(e),
            ErrorText.loggable(record.id()));
        continue;
      }
      rows.add(stored.withToken(token));
    }
    if (rows.isEmpty()) {
      return;
    }
    rows.sort(Comparator.comparing(Stored::id));
    if (sql.checkpointAll != null) {
      String all = sql.checkpointAll;
      Set<String> saved =
          db.call(
              "checkpoint",
              pipeline,
              h ->
                  new HashSet<>(
                      h.createQuery(all)
                          .bind("pipeline", pipeline)
                          .bind("owner", workerId)
                          .bind("stage", nextStage)
                          .bind("format", cut(codec.name(), 300))
                          .bind("lease_ms", leaseMillis)
                          .bind("at", Args.time(at))
                          .bind(
                              "ids", Args.array("varchar", column(rows, Stored::id, String[]::new)))
                          .bind(
                              "tokens",
                              Args.array("int8", column(rows, Stored::token, Long[]::new)))
                          .bind("payloads", Args.array("bytea", payloads(rows)))
                          .bind(
                              "checksums",
                              Args.array("int8", column(rows, Stored::checksum, Long[]::new)))
                          .bind(
                              "metadatas",
                              Args.array("varchar", column(rows, Stored::metadata, String[]::new)))
                          .mapTo(String.class)
                          .list()));
      int refused = notHeld;
      for (Stored s : rows) {
        leases.touch(pipeline, s.token());
        if (!saved.contains(s.id())) {
          refused++;
        }
      }
      logRefusedCheckpoints(pipeline, refused, records.size());
      return;
    }
    int[] counts =
        db.call(
            "checkpoint",
            pipeline,
            h -> {
              PreparedBatch batch = h.prepareBatch(sql.checkpoint);
              for (Stored s : rows) {
                batch
                    .bind("pipeline", pipeline)
                    .bind("id", s.id())
                    .bind("owner", workerId)
                    .bind("token", s.token())
                    .bind("stage", nextStage)
                    .bind("payload", Args.bytes(s.payload()))
                    .bind("format", cut(codec.name(), 300))
                    .bind("checksum", s.checksum())
                    .bind("metadata", Args.text(s.metadata()))
                    .bind("lease_ms", leaseMillis)
                    .bind("at", Args.time(at))
                    .add();
              }
              return batch.execute();
            });
    Set<Long> tokens = new HashSet<>();
    int refused = notHeld;
    for (int i = 0; i < rows.size(); i++) {
      tokens.add(rows.get(i).token());
      if (counts[i] == 0) {
        refused++;
      }
    }
    tokens.forEach(t -> leases.touch(pipeline, t));
    logRefusedCheckpoints(pipeline, refused, records.size());
  }

  private static void logRefusedCheckpoints(String pipeline, int refused, int of) {
    if (refused > 0) {
      LOG.debug(
          "pipeline-jdbc: {} of {} checkpoints of pipeline '{}' refused: another worker holds"
              + " their lease",
          refused,
          of,
          pipeline);
    }
  }

  /** The rows' payloads, typed as byte[][] so that the driver sends them as bytea. */
  private static byte[][] payloads(List<Stored> rows) {
    byte[][] out = new byte[rows.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = rows.get(i).payload();
    }
    return out;
  }

  /** One column of rows, as a typed array for {@link Args#array}. */
  private static <R, V> V[] column(List<R> rows, Function<R, V> value, IntFunction<V[]> array) {
    V[] out = array.apply(rows.size());
    for (int i = 0; i < out.length; i++) {
      out[i] = value.apply(rows.get(i));
    }
    return out;
  }

  // ------------------------------------------------------------------ complete

  /**
   * Moves records to their terminal states where this worker still holds their lease.
   *
   * @return the ids refused because another worker took them over (or this worker never held them)
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Set<String> complete(String pipeline, List<Completion> completions) {
    Objects.requireNonNull(completions, "completions cannot be null");
    checkOpen();
    if (completions.isEmpty()) {
      return Set.of();
    }
    if (ledger == null) {
      return completeRowsOnly(pipeline, completions);
    }
    LedgerPart part = ledgerPart(pipeline, completions, List.of());
    if (part.completions().isEmpty()) {
      return part.fenced();
    }
    Set<String> fenced = new HashSet<>(part.fenced());
    fenced.addAll(completeRowsOnly(pipeline, part.completions()));
    return fenced;
  }

  /** Completes records that have rows of their own. */
  private Set<String> completeRowsOnly(String pipeline, List<Completion> completions) {
    if (completions.isEmpty()) {
      return Set.of();
    }
    Ending ending = ending(pipeline, completions);
    Set<String> fenced = new HashSet<>();
    if (ending.writes()) {
      // errors are inserted with their records' final states, or not at all
      fenced.addAll(
          ending.anyErrors()
              ? db.transaction("complete", pipeline, h -> completeRows(h, pipeline, ending))
              : db.call("complete", pipeline, h -> completeRows(h, pipeline, ending)));
    }
    ended(pipeline, ending, fenced);
    return fenced;
  }

  /**
   * Completes records and notes the delivery of others in one transaction: the engine's write after
   * each batch the sink took, carrying the next batch's delivery note. The note is fenced: it
   * counts a hand-over, and renews the lease, only of records this worker still holds under their
   * token; the others come back as {@link Handover#lost() lost} and are forgotten here. Each noted
   * record gets its fencing token: its claim count plus one, which grows with every new holder.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Handover completeAndDeliver(
      String pipeline, List<Completion> completions, List<String> delivering) {
    checkPipeline(pipeline);
    Objects.requireNonNull(completions, "completions cannot be null");
    Objects.requireNonNull(delivering, "delivering cannot be null");
    checkOpen();
    if (ledger == null) {
      return completeAndDeliverRows(pipeline, completions, delivering);
    }
    LedgerPart part = ledgerPart(pipeline, completions, delivering);
    if (part.completions().isEmpty() && part.delivering().isEmpty()) {
      return new Handover(part.fenced(), part.redelivered(), part.lost(), part.tokens());
    }
    Handover rows = completeAndDeliverRows(pipeline, part.completions(), part.delivering());
    Set<String> fenced = new HashSet<>(part.fenced());
    fenced.addAll(rows.fenced());
    Set<String> redelivered = new HashSet<>(part.redelivered());
    redelivered.addAll(rows.redelivered());
    Set<String> lost = new HashSet<>(part.lost());
    lost.addAll(rows.lost());
    Map<String, Long> tokens = new HashMap<>(part.tokens());
    tokens.putAll(rows.tokens());
    return new Handover(fenced, redelivered, lost, tokens);
  }

  /** What the batch ledger wrote of a completion and delivery, and what is left for rows. */
  private record LedgerPart(
      List<Completion> completions,
      List<String> delivering,
      Set<String> fenced,
      Set<String> redelivered,
      Set<String> lost,
      Map<String, Long> tokens) {}

  /**
   * Writes what concerns records held in batches: records published without errors end in their
   * batch (one event and one counter update per batch); records handed to the sink are noted per
   * batch. Other completions of records in batches move them to rows first, and are left, with
   * every record that has a row, to the caller.
   */
  private LedgerPart ledgerPart(
      String pipeline, List<Completion> completions, List<String> delivering) {
    BatchLedger ledger = Objects.requireNonNull(this.ledger);
    List<Completion> published = new ArrayList<>();
    List<Completion> rest = new ArrayList<>();
    List<Completion> leaving = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Completion c : completions) {
      if (!seen.add(c.recordId())) {
        continue; // the first completion of a record wins
      }
      BatchLedger.Slot slot = ledger.slot(pipeline, c.recordId());
      if (slot == null) {
        rest.add(c);
      } else if (c.status() == RecordStatus.PUBLISHED && c.errors().isEmpty()) {
        published.add(c);
      } else {
        leaving.add(c); // its full row, in its final state
      }
    }
    Map<BatchLedger.Batch, List<BatchLedger.Final>> leaves = finals(pipeline, leaving);
    List<String> restDelivering = new ArrayList<>();
    for (String id : delivering) {
      if (ledger.slot(pipeline, id) == null) {
        restDelivering.add(id);
      }
    }
    if (published.isEmpty() && leaves.isEmpty() && restDelivering.size() == delivering.size()) {
      return new LedgerPart(rest, restDelivering, Set.of(), Set.of(), Set.of(), Map.of());
    }
    List<String> publishedIds = new ArrayList<>(published.size());
    for (Completion c : published) {
      publishedIds.add(c.recordId());
    }
    Map<BatchLedger.Batch, List<BatchLedger.Slot>> ends = ledger.byBatch(pipeline, publishedIds);
    Map<BatchLedger.Batch, List<BatchLedger.Slot>> notes = ledger.byBatch(pipeline, delivering);
    long endEvent = Leases.newToken();
    Instant at = published.isEmpty() ? Instant.now() : published.get(0).at();
    AtomicInteger attempts = new AtomicInteger();
    Confirmations.Sent sent = confirmations.now();
    Set<BatchLedger.Batch> refused =
        db.transaction(
            "completeAndDeliver",
            pipeline,
            h -> {
              BatchLedger.Written written =
                  ledger.write(
                      h, pipeline, ends, leaves, notes, endEvent, at, attempts.incrementAndGet());
              if (!written.replayed()) {
                leftWithErrors(h, pipeline, leaves, leaving, written.refused());
              }
              return written.refused();
            });
    Set<String> fenced = new HashSet<>();
    Map<String, Long> fencedTokens = new HashMap<>();
    List<String> ended = new ArrayList<>();
    ends.forEach(
        (b, slots) -> {
          if (refused.contains(b)) {
            for (BatchLedger.Slot slot : slots) {
              fenced.add(slot.entry().id());
              fencedTokens.put(slot.entry().id(), b.token());
            }
            return;
          }
          leases.touch(pipeline, b.token());
          for (BatchLedger.Slot slot : slots) {
            leases.drop(pipeline, slot.entry().id(), b.token());
            ended.add(slot.entry().id());
          }
        });
    leaves.forEach(
        (b, finals) -> {
          for (BatchLedger.Final f : finals) {
            String id = f.slot().entry().id();
            if (refused.contains(b)) {
              fenced.add(id);
              fencedTokens.put(id, b.token());
            } else {
              leases.drop(pipeline, id, b.token());
              ended.add(id);
            }
          }
          if (!refused.contains(b)) {
            leases.touch(pipeline, b.token());
          }
        });
    ledger.forget(pipeline, ended);
    confirmations.forget(pipeline, ended);
    // only rows written to pipeline_records count towards its planner statistics
    int rowsWritten = 0;
    for (Map.Entry<BatchLedger.Batch, List<BatchLedger.Final>> g : leaves.entrySet()) {
      if (!refused.contains(g.getKey())) {
        rowsWritten += g.getValue().size();
      }
    }
    statistics.changed(rowsWritten);
    Set<String> redelivered = new HashSet<>();
    Set<String> lost = new HashSet<>();
    Map<String, Long> tokens = new HashMap<>();
    Map<String, Long> lostTokens = new HashMap<>();
    List<String> noted = new ArrayList<>();
    notes.forEach(
        (b, slots) -> {
          if (refused.contains(b)) {
            for (BatchLedger.Slot slot : slots) {
              lost.add(slot.entry().id());
              lostTokens.put(slot.entry().id(), b.token());
            }
            return;
          }
          leases.touch(pipeline, b.token());
          for (BatchLedger.Slot slot : slots) {
            String id = slot.entry().id();
            noted.add(id);
            tokens.put(id, b.claims() + 1L);
            if (slot.noted()) {
              redelivered.add(id);
            }
          }
        });
    ledger.noted(pipeline, noted);
    confirmations.confirm(pipeline, noted, sent);
    if (!fencedTokens.isEmpty()) {
      ledger.forget(pipeline, fencedTokens.keySet());
      lose(pipeline, fencedTokens, "this worker's completions of them were refused");
    }
    if (!lostTokens.isEmpty()) {
      ledger.forget(pipeline, lostTokens.keySet());
      lose(pipeline, lostTokens, "this worker does not hand them to the sink");
    }
    return new LedgerPart(rest, restDelivering, fenced, redelivered, lost, tokens);
  }

  /**
   * The final rows of records leaving their batches, by batch: their payload is the one encoded for
   * the stage where they were dead-lettered if it has a codec, else the one they were ingested with
   * (and none for filtered and published ones, unless payloads are retained).
   */
  private Map<BatchLedger.Batch, List<BatchLedger.Final>> finals(
      String pipeline, List<Completion> leaving) {
    if (leaving.isEmpty()) {
      return Map.of();
    }
    BatchLedger ledger = Objects.requireNonNull(this.ledger);
    Ending ending = ending(pipeline, leaving);
    Map<String, Done> byId = new HashMap<>();
    for (Done d : ending.done()) {
      byId.put(d.completion().recordId(), d);
    }
    Map<BatchLedger.Batch, List<BatchLedger.Final>> out = new LinkedHashMap<>();
    boolean keep = !retention.payloads().isZero();
    ledger
        .byBatch(pipeline, byId.keySet())
        .forEach(
            (b, slots) -> {
              List<BatchLedger.Final> finals = new ArrayList<>(slots.size());
              for (BatchLedger.Slot slot : slots) {
                Completion c = byId.get(slot.entry().id()).completion();
                Stored encoded = byId.get(slot.entry().id()).payload();
                boolean dead = c.status() == RecordStatus.DEAD_LETTER;
                boolean own = dead && encoded != null;
                boolean withPayload = dead || keep;
                BatchLedger.Entry e = slot.entry();
                finals.add(
                    new BatchLedger.Final(
                        slot,
                        c.status().name(),
                        dead && !own ? b.stage() : cut(c.stage(), MAX_NAME),
                        dead ? cut(c.stage(), MAX_NAME) : null,
                        reason(c),
                        c.attempts(),
                        lastErrorText(c.errors()),
                        lastErrorType(c),
                        !withPayload ? null : own ? encoded.payload() : e.payload(),
                        !withPayload ? null : own ? encoded.format() : b.format(),
                        !withPayload ? null : own ? encoded.checksum() : e.checksum(),
                        own ? encoded.metadata() : e.metadata(),
                        c.at()));
              }
              out.put(b, finals);
            });
    return out;
  }

  /** The error rows of records that left their batches, for those whose batch was still held. */
  private void leftWithErrors(
      Handle h,
      String pipeline,
      Map<BatchLedger.Batch, List<BatchLedger.Final>> leaves,
      List<Completion> leaving,
      Set<BatchLedger.Batch> refused) {
    if (leaves.isEmpty()) {
      return;
    }
    Set<String> written = new HashSet<>();
    leaves.forEach(
        (b, finals) -> {
          if (!refused.contains(b)) {
            for (BatchLedger.Final f : finals) {
              written.add(f.slot().entry().id());
            }
          }
        });
    PipelineDef def = def(pipeline);
    PreparedBatch errors = null;
    for (Completion c : leaving) {
      if (written.contains(c.recordId()) && !c.errors().isEmpty()) {
        errors = addErrors(h, errors, pipeline, def, c.recordId(), c.errors());
      }
    }
    if (errors != null) {
      errors.execute();
    }
  }

  /** Completes records and notes the delivery of others that have rows of their own. */
  private Handover completeAndDeliverRows(
      String pipeline, List<Completion> completions, List<String> delivering) {
    if (delivering.isEmpty()) {
      return new Handover(completeRowsOnly(pipeline, completions), Set.of());
    }
    Ending ending = completions.isEmpty() ? null : ending(pipeline, completions);
    boolean completing = ending != null && ending.writes();
    // the same token on a retry: a hand-over counts once however often the statement runs
    long delivery = Leases.newToken();
    Map<String, Long> held = new TreeMap<>(); // in record-id order: one lock order for all writers
    Set<String> lost = new HashSet<>();
    for (String id : delivering) {
      Long token = leases.token(pipeline, id);
      if (token == null) {
        lost.add(id); // given back, or taken over and found out before
      } else {
        held.put(id, token);
      }
    }
    Confirmations.Sent sent = confirmations.now();
    Written written;
    if (completing) {
      written =
          db.transaction(
              "completeAndDeliver",
              pipeline,
              h ->
                  new Written(
                      completeRows(h, pipeline, ending),
                      held.isEmpty() ? Noted.NONE : deliverRows(h, pipeline, delivery, held)));
    } else {
      written =
          new Written(
              Set.of(),
              held.isEmpty()
                  ? Noted.NONE
                  : db.call(
                      "beginDelivery", pipeline, h -> deliverRows(h, pipeline, delivery, held)));
    }
    if (ending != null) {
      ended(pipeline, ending, written.fenced());
    }
    Noted noted = written.noted();
    delivered(pipeline, noted.tokens().keySet());
    confirmations.confirm(pipeline, noted.tokens().keySet(), sent);
    Map<String, Long> gone = new HashMap<>();
    for (Map.Entry<String, Long> e : held.entrySet()) {
      if (!noted.tokens().containsKey(e.getKey())) {
        gone.put(e.getKey(), e.getValue());
      }
    }
    if (!gone.isEmpty()) {
      lose(pipeline, gone, "this worker does not hand them to the sink");
      lost.addAll(gone.keySet());
    }
    return new Handover(written.fenced(), noted.redelivered(), lost, noted.tokens());
  }

  /** What the transaction of {@link #completeAndDeliver} wrote. */
  private record Written(Set<String> fenced, Noted noted) {}

  /** What a delivery note found: records handed over before, and the noted ones' fencing tokens. */
  private record Noted(Set<String> redelivered, Map<String, Long> tokens) {
    static final Noted NONE = new Noted(Set.of(), Map.of());
  }

  /** Completions sorted out: those this worker holds, and those it does not. */
  private record Ending(
      PipelineDef def,
      List<Done> done,
      List<String> unknown,
      boolean anyErrors,
      Map<String, String> holders) {
    boolean writes() {
      return !done.isEmpty() || !unknown.isEmpty();
    }
  }

  private Ending ending(String pipeline, List<Completion> completions) {
    PipelineDef def = def(pipeline);
    List<Done> done = new ArrayList<>();
    List<String> unknown = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    boolean anyErrors = false;
    for (Completion c : completions) {
      if (!seen.add(c.recordId())) {
        continue; // the first completion of a record wins
      }
      Long token = leases.token(pipeline, c.recordId());
      if (token == null) {
        unknown.add(c.recordId()); // not held: completed already, or given back
        continue;
      }
      Stored payload = null;
      if (c.status() == RecordStatus.DEAD_LETTER) {
        PayloadCodec<?> codec = def.codec(c.stage());
        Envelope<?> record = c.record();
        if (codec != null && record != null) {
          try {
            payload = encode(pipeline, c.stage(), codec, record, "dead letter");
          } catch (PipelineException e) {
            LOG.warn(
                "pipeline-jdbc: {}; the dead letter keeps its last checkpoint",
                ErrorText.describeDefault(e));
          }
        }
      }
      anyErrors |= !c.errors().isEmpty();
      done.add(new Done(c, token, payload));
    }
    done.sort(Comparator.comparing(d -> d.completion().recordId()));
    return new Ending(def, done, unknown, anyErrors, new ConcurrentHashMap<>());
  }

  /** This worker's bookkeeping after completions were written. */
  private void ended(String pipeline, Ending ending, Set<String> fenced) {
    List<Done> done = ending.done();
    for (Done d : done) {
      leases.touch(pipeline, d.token());
      leases.drop(pipeline, d.completion().recordId(), d.token());
    }
    List<String> ids = new ArrayList<>(done.size() + ending.unknown().size());
    for (Done d : done) {
      ids.add(d.completion().recordId());
    }
    statistics.changed(done.size());
    if (!fenced.isEmpty()) {
      long unconfirmed = confirmations.oldest(pipeline, fenced);
      Map<String, String> holders = new HashMap<>();
      for (String id : fenced) {
        holders.put(id, ending.holders().getOrDefault(id, "no worker (given back)"));
      }
      reportLost(pipeline, holders, unconfirmed, "this worker's completions of them were refused");
    }
    confirmations.forget(pipeline, ids);
  }

  private Set<String> completeRows(Handle h, String pipeline, Ending ending) throws SQLException {
    PipelineDef def = ending.def();
    List<Done> done = ending.done();
    List<String> unknown = ending.unknown();
    PreparedBatch finished = null;
    PreparedBatch deadWith = null;
    PreparedBatch deadKeep = null;
    List<Done> finishedRows = new ArrayList<>();
    List<Done> deadWithRows = new ArrayList<>();
    List<Done> deadKeepRows = new ArrayList<>();
    for (Done d : done) {
      Completion c = d.completion();
      PreparedBatch batch;
      if (c.status() != RecordStatus.DEAD_LETTER && sql.completeDoneAll != null) {
        finishedRows.add(d); // all in one statement, below
        continue;
      } else if (c.status() != RecordStatus.DEAD_LETTER) {
        batch = finished == null ? finished = h.prepareBatch(sql.completeDone) : finished;
        batch.bind("status", c.status().name()).bind("reason", Args.text(reason(c)));
        finishedRows.add(d);
      } else if (sql.completeDeadWithPayloadAll != null) {
        (d.payload() != null ? deadWithRows : deadKeepRows).add(d); // one statement each, below
        continue;
      } else if (d.payload() != null) {
        Stored p = d.payload();
        batch =
            deadWith == null ? deadWith = h.prepareBatch(sql.completeDeadWithPayload) : deadWith;
        batch
            .bind("payload", Args.bytes(p.payload()))
            .bind("format", p.format())
            .bind("checksum", p.checksum())
            .bind("metadata", Args.text(p.metadata()));
        deadWithRows.add(d);
      } else {
        batch =
            deadKeep == null ? deadKeep = h.prepareBatch(sql.completeDeadKeepingPayload) : deadKeep;
        deadKeepRows.add(d);
      }
      batch
          .bind("pipeline", pipeline)
          .bind("id", c.recordId())
          .bind("owner", workerId)
          .bind("token", d.token())
          .bind("stage", cut(c.stage(), MAX_NAME))
          .bind("attempts", c.attempts())
          .bind("at", Args.time(c.at()))
          .bind("last_error", Args.text(lastErrorText(c.errors())))
          .bind("error_type", Args.text(lastErrorType(c)))
          .add();
    }
    List<Done> zero = new ArrayList<>();
    if (sql.completeDoneAll != null) {
      completeAll(h, pipeline, finishedRows, zero);
    } else {
      collectZero(finished, finishedRows, zero);
    }
    if (sql.completeDeadWithPayloadAll != null && sql.completeDeadKeepingPayloadAll != null) {
      completeDeadAll(h, pipeline, sql.completeDeadWithPayloadAll, deadWithRows, true, zero);
      completeDeadAll(h, pipeline, sql.completeDeadKeepingPayloadAll, deadKeepRows, false, zero);
    } else {
      collectZero(deadWith, deadWithRows, zero);
      collectZero(deadKeep, deadKeepRows, zero);
    }
    Set<String> fenced = new HashSet<>();
    Set<String> won = new HashSet<>();
    for (Done d : done) {
      won.add(d.completion().recordId());
    }
    if (!zero.isEmpty() || !unknown.isEmpty()) {
      // refused, or done already: by this worker (a retry after a lost reply, a second
      // completion) it is ignored; by another worker, or given back, it is refused
      Map<String, @Nullable Long> tokens = new HashMap<>();
      for (Done d : zero) {
        tokens.put(d.completion().recordId(), d.token());
        won.remove(d.completion().recordId());
      }
      for (String id : unknown) {
        tokens.put(id, null);
      }
      Set<String> mine = new HashSet<>();
      h.createQuery(sql.lookupLeases)
          .bind("pipeline", pipeline)
          .bind("ids", Args.texts(tokens.keySet()))
          .map(
              (rs, ctx) -> {
                String id = rs.getString("record_id");
                Long token = tokens.get(id);
                boolean ours =
                    RecordStatus.valueOf(rs.getString("status")).isTerminal()
                        && workerId.equals(rs.getString("worker_id"))
                        && (token == null || rs.getLong("lease_token") == token);
                if (!ours) {
                  ending.holders().put(id, holder(rs));
                }
                return ours ? id : "";
              })
          .forEach(mine::add);
      if (ledger != null) {
        List<String> rowless = new ArrayList<>();
        for (String id : tokens.keySet()) {
          if (!mine.contains(id) && !ending.holders().containsKey(id)) {
            rowless.add(id);
          }
        }
        mine.addAll(ledger.endedHere(h, pipeline, rowless));
      }
      for (String id : tokens.keySet()) {
        if (!mine.contains(id)) {
          fenced.add(id);
        }
      }
    }
    PreparedBatch errors = null;
    List<String> erred = new ArrayList<>();
    for (Done d : done) {
      Completion c = d.completion();
      if (won.contains(c.recordId()) && !c.errors().isEmpty()) {
        errors = addErrors(h, errors, pipeline, def, c.recordId(), c.errors());
        erred.add(c.recordId());
      }
    }
    if (errors != null) {
      errors.execute();
      boundErrorRows(h, pipeline, def, erred);
    }
    return fenced;
  }

  /** Adds a record's errors to a batch of error inserts, made on the first error. */
  private @Nullable PreparedBatch addErrors(
      Handle h,
      @Nullable PreparedBatch batch,
      String pipeline,
      PipelineDef def,
      String id,
      List<ErrorInfo> errors) {
    for (ErrorInfo e : errors) {
      if (batch == null) {
        batch = h.prepareBatch(sql.insertError);
      }
      batch
          .bind("pipeline", pipeline)
          .bind("id", id)
          .bind("stage_id", Args.int64(def.stageId(e.stage())))
          .bind("stage", cut(e.stage(), MAX_NAME))
          .bind("error_type", cut(e.errorType(), MAX_NAME))
          .bind("exception_class", cut(e.exceptionClass(), 500))
          .bind("message", storedText(e.message(), MAX_MESSAGE))
          .bind("stack_trace", storedText(e.stackTrace(), MAX_MESSAGE))
          .bind("attempt", e.attempt())
          .bind("at", Args.time(e.occurredAt()))
          .bind("owner", workerId)
          .add();
    }
    return batch;
  }

  /**
   * Keeps the error rows of records that just got more a bounded history, as the engine and the
   * in-memory store keep a record's errors: its first error, one row of type {@value
   * ErrorText#DROPPED_TYPE} counting the errors dropped (in its {@code attempt}), and its last
   * {@value ErrorText#KEPT_LAST_ERRORS}. One grouped query on the error index finds the records
   * over the bound (rare: a record retried many times, or reprocessed again and again); only theirs
   * are read and pruned.
   */
  private void boundErrorRows(Handle h, String pipeline, PipelineDef def, List<String> ids) {
    if (ids.isEmpty()) {
      return;
    }
    List<String> over =
        h.createQuery(sql.errorsOverflowing)
            .bind("pipeline", pipeline)
            .bind("ids", Args.texts(ids))
            .mapTo(String.class)
            .list();
    if (over.isEmpty()) {
      return;
    }
    PreparedBatch mark = h.prepareBatch(sql.markErrorsDropped);
    PreparedBatch delete = h.prepareBatch(sql.deleteError);
    for (List<StoredError> stored : errorRows(h, pipeline, over).values()) {
      List<ErrorInfo> infos = new ArrayList<>(stored.size());
      for (StoredError row : stored) {
        infos.add(row.info());
      }
      List<ErrorInfo> kept = ErrorText.bounded(infos);
      if (kept == infos) {
        continue;
      }
      // the second row stands for the rows up to the last few, which go; it keeps its place
      // (its error_id) in the history's order
      ErrorInfo dropped = kept.get(1);
      mark.bind("error_id", stored.get(1).id())
          .bind("stage_id", Args.int64(def.stageId(dropped.stage())))
          .bind("stage", cut(dropped.stage(), MAX_NAME))
          .bind("error_type", dropped.errorType())
          .bind("exception_class", dropped.exceptionClass())
          .bind("message", dropped.message())
          .bind("stack_trace", dropped.stackTrace())
          .bind("attempt", dropped.attempt())
          .bind("at", Args.time(dropped.occurredAt()))
          .add();
      for (StoredError row : stored.subList(2, stored.size() - ErrorText.KEPT_LAST_ERRORS)) {
        delete.bind("error_id", row.id()).add();
      }
    }
    if (mark.size() > 0) {
      mark.execute();
    }
    if (delete.size() > 0) {
      delete.execute();
    }
  }

  /** An error row: its id and what it holds. */
  private record StoredError(long id, ErrorInfo info) {}

  private static @Nullable String lastErrorText(List<ErrorInfo> errors) {
    if (errors.isEmpty()) {
      return null;
    }
    ErrorInfo last = errors.get(errors.size() - 1);
    return storedText(last.errorType() + ": " + last.message(), MAX_LAST_ERROR);
  }

  private static @Nullable String lastErrorType(List<ErrorInfo> errors) {
    return errors.isEmpty() ? null : cut(errors.get(errors.size() - 1).errorType(), MAX_NAME);
  }

  // ------------------------------------------------------------------ retry queue

  /**
   * Parks records in the retry queue, where this worker still holds their lease: each becomes
   * {@code RETRY_WAIT} at its stage with its attempts and its payload (encoded with the stage's
   * input codec, with a checksum, as a checkpoint stores it), leaves this worker (its lease is no
   * longer renewed), and gets a {@code retry_queue} row due after its delay by the database's
   * clock, when any worker's {@link #claim} takes it. Its errors are added to those stored. One
   * transaction of three JDBC batches per call.
   *
   * @return the ids refused because another worker took them over (or this worker never held them)
   * @throws PipelineException if a stage has no input codec, or a record cannot be encoded with it;
   *     nothing is parked then
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Set<String> scheduleRetries(String pipeline, List<ScheduledRetry> retries, Instant at) {
    checkPipeline(pipeline);
    Objects.requireNonNull(retries, "retries cannot be null");
    Objects.requireNonNull(at, "at cannot be null");
    checkOpen();
    if (retries.isEmpty()) {
      return Set.of();
    }
    PipelineDef def = def(pipeline);
    List<String> ids = new ArrayList<>(retries.size());
    for (ScheduledRetry r : retries) {
      ids.add(r.recordId());
    }
    moveToRows(pipeline, ids, at);
    Set<String> refused = new HashSet<>();
    List<Parked> parked = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    // everything is encoded before anything is written
    for (ScheduledRetry r : retries) {
      if (!seen.add(r.recordId())) {
        continue; // the first retry of a record wins
      }
      PayloadCodec<?> codec = def.codec(r.stage());
      if (codec == null) {
        throw new PipelineException(
            "cannot park record '"
                + r.recordId()
                + "' of pipeline '"
                + pipeline
                + "' in the retry queue at stage '"
                + r.stage()
                + "': the stage has no input codec, so its records cannot be stored; add"
                + " s.codec(...) to the options of the stage before it");
      }
      Stored payload = encode(pipeline, r.stage(), codec, r.record(), "retry");
      Long token = leases.token(pipeline, r.recordId());
      if (token == null) {
        refused.add(r.recordId()); // not held: completed already, given back, or never held
        continue;
      }
      parked.add(new Parked(r, token, payload));
    }
    parked.sort(Comparator.comparing(p -> p.retry().recordId())); // one lock order for all
    // let go of them before the rows become claimable: a short retry may be due, and claimed by
    // this worker's claimer, before this call returns; still held here, it would look in flight
    // (and not be handed out). Should the write fail, their leases run out and they are claimed.
    for (Parked p : parked) {
      leases.touch(pipeline, p.token());
      leases.drop(pipeline, p.retry().recordId(), p.token());
    }
    if (!parked.isEmpty()) {
      refused.addAll(
          db.transaction("scheduleRetries", pipeline, h -> parkRows(h, pipeline, def, parked, at)));
    }
    if (!refused.isEmpty()) {
      LOG.info(
          "pipeline-jdbc: {} retries of pipeline '{}' refused: another worker took the records"
              + " over after this worker's lease expired (first '{}')",
          refused.size(),
          pipeline,
          ErrorText.loggable(refused.iterator().next()));
    }
    return refused;
  }

  private Set<String> parkRows(
      Handle h, String pipeline, PipelineDef def, List<Parked> parked, Instant at) {
    PreparedBatch update = h.prepareBatch(sql.park);
    for (Parked p : parked) {
      ScheduledRetry r = p.retry();
      Stored s = p.payload();
      update
          .bind("pipeline", pipeline)
          .bind("id", r.recordId())
          .bind("owner", workerId)
          .bind("token", p.token())
          .bind("stage", r.stage())
          .bind("payload", Args.bytes(s.payload()))
          .bind("format", s.format())
          .bind("checksum", s.checksum())
          .bind("metadata", Args.text(s.metadata()))
          .bind("attempts", r.attempts())
          .bind("last_error", Args.text(lastErrorText(r.errors())))
          .bind("error_type", Args.text(lastErrorType(r.errors())))
          .bind("at", Args.time(at))
          .add();
    }
    int[] counts = update.execute();
    List<Parked> won = new ArrayList<>();
    Map<String, Long> zero = new HashMap<>();
    for (int i = 0; i < counts.length; i++) {
      Parked p = parked.get(i);
      if (counts[i] == 0) {
        zero.put(p.retry().recordId(), p.token());
      } else {
        won.add(p);
      }
    }
    Set<String> refused = new HashSet<>(zero.keySet());
    if (!zero.isEmpty()) {
      // parked already by this very call (run again after a lost reply), or taken over
      h.createQuery(sql.lookupLeases)
          .bind("pipeline", pipeline)
          .bind("ids", Args.texts(zero.keySet()))
          .map(
              (rs, ctx) -> {
                String id = rs.getString("record_id");
                boolean ours =
                    RecordStatus.RETRY_WAIT.name().equals(rs.getString("status"))
                        && workerId.equals(rs.getString("worker_id"))
                        && rs.getLong("lease_token") == zero.get(id);
                return ours ? id : "";
              })
          .forEach(refused::remove);
    }
    if (won.isEmpty()) {
      return refused;
    }
    PreparedBatch enqueue = h.prepareBatch(sql.enqueueRetry);
    PreparedBatch errors = null;
    for (Parked p : won) {
      ScheduledRetry r = p.retry();
      enqueue
          .bind("pipeline", pipeline)
          .bind("id", r.recordId())
          .bind("stage_id", Args.int64(def.stageId(r.stage())))
          .bind("stage", r.stage())
          .bind("attempts", r.attempts())
          .bind("max_retries", r.maxRetries())
          .bind("delay_ms", delayMillis(r.delay()))
          .bind("multiplier", r.backoffMultiplier())
          .bind("last_error", Args.text(lastErrorText(r.errors())))
          .add();
      errors = addErrors(h, errors, pipeline, def, r.recordId(), r.errors());
    }
    enqueue.execute();
    if (errors != null) {
      errors.execute();
      List<String> erred = new ArrayList<>();
      for (Parked p : won) {
        if (!p.retry().errors().isEmpty()) {
          erred.add(p.retry().recordId());
        }
      }
      boundErrorRows(h, pipeline, def, erred);
    }
    return refused;
  }

  private static long delayMillis(Duration delay) {
    return delay.compareTo(MAX_DELAY) > 0 ? MAX_DELAY.toMillis() : delay.toMillis();
  }

  // ------------------------------------------------------------------ dead letter queue

  /**
   * Sends dead letters back to be processed again: each that is still a dead letter becomes {@code
   * READY} at the stage of its stored payload with no attempts, and any worker's {@link #claim}
   * takes it. That stage is the failing one (the pseudo-stage "sink" included) when its input codec
   * was known at the time; otherwise the dead letter kept its last checkpoint and resumes at the
   * stage after it, as after a crash. Its errors stay, and a later failure adds to them.
   *
   * <p>One conditional update per 1,000 ids, so two concurrent calls send each record back once;
   * ids that are not dead letters (or unknown) are left alone. Needs no {@link #register}.
   *
   * @return the ids sent back
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Set<String> reprocess(String pipeline, Collection<String> recordIds, Instant at) {
    checkPipeline(pipeline);
    Objects.requireNonNull(at, "at cannot be null");
    return moveDeadLetters("reprocess", pipeline, recordIds, sql.reprocess, Map.of("at", at));
  }

  /**
   * Gives up on dead letters for good: each that is still a dead letter becomes {@code DISCARDED}
   * with the reason (in {@code reason}), drops its payload, and leaves the dead letter queue; its
   * errors stay. Retention purges discarded records as it purges published ones. Conditional like
   * {@link #reprocess}.
   *
   * @return the ids discarded
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Set<String> discard(
      String pipeline, Collection<String> recordIds, String reason, Instant at) {
    checkPipeline(pipeline);
    Objects.requireNonNull(reason, "reason cannot be null");
    Objects.requireNonNull(at, "at cannot be null");
    return moveDeadLetters(
        "discard",
        pipeline,
        recordIds,
        sql.discard,
        Map.of("at", at, "reason", storedText(reason, MAX_MESSAGE)));
  }

  private Set<String> moveDeadLetters(
      String operation,
      String pipeline,
      Collection<String> recordIds,
      String statement,
      Map<String, Object> values) {
    Objects.requireNonNull(recordIds, "recordIds cannot be null");
    checkOpen();
    List<String> ids = new ArrayList<>(new TreeSet<>(recordIds)); // by id: one lock order
    ids.removeIf(id -> StorableText.idProblem(id) != null); // never stored under such an id
    // rows moved under this token count as moved should a statement run again after a lost reply
    long token = Leases.newToken();
    Set<String> moved = new HashSet<>();
    for (int from = 0; from < ids.size(); from += MOVE_CHUNK) {
      List<String> chunk = ids.subList(from, Math.min(ids.size(), from + MOVE_CHUNK));
      moved.addAll(
          db.call(
              operation,
              pipeline,
              h -> {
                Query q =
                    h.createQuery(statement)
                        .bind("pipeline", pipeline)
                        .bind("ids", Args.texts(chunk))
                        .bind("token", token);
                for (Map.Entry<String, Object> v : values.entrySet()) {
                  q.bind(
                      v.getKey(),
                      v.getValue() instanceof Instant t
                          ? Args.time(t)
                          : Args.text((String) v.getValue()));
                }
                return q.mapTo(String.class).list();
              }));
    }
    if (!moved.isEmpty()) {
      LOG.info(
          "pipeline-jdbc: {} of {} dead letters of pipeline '{}' (first '{}')",
          operation,
          moved.size(),
          pipeline,
          ErrorText.loggable(moved.iterator().next()));
    }
    return moved;
  }

  /**
   * Completes published and filtered records in one statement ({@link Statements#completeDoneAll}),
   * adding those it did not update to {@code zero}.
   */
  private void completeAll(Handle h, String pipeline, List<Done> rows, List<Done> zero) {
    if (rows.isEmpty()) {
      return;
    }
    Query update =
        h.createQuery(sql.completeDoneAll)
            .bind(
                "statuses",
                Args.array(
                    "varchar", column(rows, d -> d.completion().status().name(), String[]::new)))
            .bind(
                "reasons",
                Args.array("varchar", column(rows, d -> reason(d.completion()), String[]::new)));
    unreturned(bindCompletions(update, pipeline, rows), rows, zero);
  }

  /**
   * Dead-letters records in one statement ({@link Statements#completeDeadWithPayloadAll} or {@link
   * Statements#completeDeadKeepingPayloadAll}), adding those it did not update to {@code zero}.
   */
  private void completeDeadAll(
      Handle h,
      String pipeline,
      String statement,
      List<Done> rows,
      boolean withPayload,
      List<Done> zero) {
    if (rows.isEmpty()) {
      return;
    }
    Query update = bindCompletions(h.createQuery(statement), pipeline, rows);
    if (withPayload) {
      List<Stored> payloads = rows.stream().map(d -> Objects.requireNonNull(d.payload())).toList();
      update
          .bind("payloads", Args.array("bytea", payloads(payloads)))
          .bind("formats", Args.array("varchar", column(payloads, Stored::format, String[]::new)))
          .bind("checksums", Args.array("int8", column(payloads, Stored::checksum, Long[]::new)))
          .bind(
              "metadatas",
              Args.array("varchar", column(payloads, Stored::metadata, String[]::new)));
    }
    unreturned(update, rows, zero);
  }

  /** Binds what every one-statement completion sets: each row's id, token, stage, attempts, ... */
  private Query bindCompletions(Query update, String pipeline, List<Done> rows) {
    return update
        .bind("pipeline", pipeline)
        .bind("owner", workerId)
        .bind(
            "ids",
            Args.array("varchar", column(rows, d -> d.completion().recordId(), String[]::new)))
        .bind("tokens", Args.array("int8", column(rows, Done::token, Long[]::new)))
        .bind(
            "stages",
            Args.array(
                "varchar", column(rows, d -> cut(d.completion().stage(), MAX_NAME), String[]::new)))
        .bind(
            "attempts",
            Args.array("int4", column(rows, d -> d.completion().attempts(), Integer[]::new)))
        .bind(
            "last_errors",
            Args.array(
                "varchar",
                column(rows, d -> lastErrorText(d.completion().errors()), String[]::new)))
        .bind(
            "error_types",
            Args.array("varchar", column(rows, d -> lastErrorType(d.completion()), String[]::new)))
        .bind(
            "ats",
            Args.array(
                "varchar", column(rows, d -> Args.timeText(d.completion().at()), String[]::new)));
  }

  /** Runs a one-statement completion; adds the rows it did not return to {@code zero}. */
  private static void unreturned(Query update, List<Done> rows, List<Done> zero) {
    Set<String> updated = new HashSet<>(update.mapTo(String.class).list());
    for (Done d : rows) {
      if (!updated.contains(d.completion().recordId())) {
        zero.add(d);
      }
    }
  }

  private static @Nullable String reason(Completion c) {
    return c.reason() == null ? null : cut(c.reason(), MAX_MESSAGE);
  }

  private static @Nullable String lastErrorType(Completion c) {
    return c.errors().isEmpty()
        ? null
        : cut(c.errors().get(c.errors().size() - 1).errorType(), MAX_NAME);
  }

  private static void collectZero(@Nullable PreparedBatch batch, List<Done> rows, List<Done> zero) {
    if (batch == null) {
      return;
    }
    int[] counts = batch.execute();
    for (int i = 0; i < counts.length; i++) {
      if (counts[i] == 0) {
        zero.add(rows.get(i));
      }
    }
  }

  // ------------------------------------------------------------------ delivery ledger

  /**
   * Counts a hand-over to the sink for each record; returns those handed over before.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Set<String> beginDelivery(String pipeline, List<String> recordIds) {
    return completeAndDeliver(pipeline, List.of(), recordIds).redelivered();
  }

  /**
   * Counts a hand-over of each record this worker holds under its token, and renews its lease;
   * returns those handed over before and each noted record's fencing token.
   */
  private Noted deliverRows(Handle h, String pipeline, long delivery, Map<String, Long> held) {
    Set<String> redelivered = new HashSet<>();
    Map<String, Long> tokens = new HashMap<>(held.size() * 2);
    bindOwned(h.createQuery(sql.beginDelivery), pipeline, held)
        .bind("delivery", delivery)
        .map(
            (rs, ctx) -> {
              String id = rs.getString(1);
              if (rs.getInt(2) > 1) {
                redelivered.add(id);
              }
              tokens.put(id, rs.getLong(3) + 1);
              return id;
            })
        .forEach(id -> {});
    return new Noted(redelivered, tokens);
  }

  /** Binds the ids and tokens of rows this worker holds, for a statement of {@code ownedByIds}. */
  private Query bindOwned(Query query, String pipeline, Map<String, Long> held) {
    return query
        .bind("pipeline", pipeline)
        .bind("owner", workerId)
        .bind("lease_ms", leaseMillis)
        .bind("ids", Args.array("varchar", held.keySet().toArray(String[]::new)))
        .bind("tokens", Args.array("bigint", held.values().toArray(Long[]::new)));
  }

  /**
   * Checks the leases of records about to be worked on or handed to the sink: from memory while
   * each was confirmed (written or renewed) less than nine tenths of a lease ago, else by renewing
   * in the database those this worker still holds under their token. Those it no longer holds are
   * forgotten and returned, and the loss is logged with what happened to them.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Set<String> notHeld(String pipeline, Collection<String> recordIds) {
    checkPipeline(pipeline);
    Objects.requireNonNull(recordIds, "recordIds cannot be null");
    List<String> doubtful = confirmations.doubtful(pipeline, recordIds);
    if (doubtful.isEmpty()) {
      return Set.of();
    }
    checkOpen();
    Set<String> gone = new HashSet<>();
    if (ledger != null && ledger.anyIn(pipeline, doubtful)) {
      doubtful = notHeldInBatches(pipeline, doubtful, gone);
    }
    Map<String, Long> held = new TreeMap<>();
    for (String id : doubtful) {
      Long token = leases.token(pipeline, id);
      if (token == null) {
        gone.add(id);
      } else {
        held.put(id, token);
      }
    }
    if (held.isEmpty()) {
      return gone;
    }
    Confirmations.Sent sent = confirmations.now();
    Set<String> renewed =
        new HashSet<>(
            db.call(
                "renew",
                pipeline,
                h ->
                    bindOwned(h.createQuery(sql.renewHeld), pipeline, held)
                        .mapTo(String.class)
                        .list()));
    confirmations.confirm(pipeline, renewed, sent);
    Map<String, Long> lost = new HashMap<>();
    for (Map.Entry<String, Long> e : held.entrySet()) {
      if (!renewed.contains(e.getKey())) {
        lost.put(e.getKey(), e.getValue());
      }
    }
    if (!lost.isEmpty()) {
      lose(pipeline, lost, "this worker drops its copies in flight");
      gone.addAll(lost.keySet());
    }
    return gone;
  }

  /**
   * Renews the batches of doubtful records held in batches, adding the records of batches this
   * worker no longer holds to {@code gone}; returns the doubtful records that have rows.
   */
  private List<String> notHeldInBatches(String pipeline, List<String> doubtful, Set<String> gone) {
    BatchLedger ledger = Objects.requireNonNull(this.ledger);
    Map<BatchLedger.Batch, List<BatchLedger.Slot>> groups = ledger.byBatch(pipeline, doubtful);
    Confirmations.Sent sent = confirmations.now();
    Set<BatchLedger.Batch> lostBatches =
        db.call(
            "renew",
            pipeline,
            h -> {
              Set<BatchLedger.Batch> lost = new HashSet<>();
              for (BatchLedger.Batch b : groups.keySet()) {
                if (!ledger.renew(h, b)) {
                  lost.add(b);
                }
              }
              return lost;
            });
    Map<String, Long> lost = new HashMap<>();
    List<String> renewed = new ArrayList<>();
    groups.forEach(
        (b, slots) -> {
          for (BatchLedger.Slot slot : slots) {
            if (lostBatches.contains(b)) {
              lost.put(slot.entry().id(), b.token());
            } else {
              renewed.add(slot.entry().id());
            }
          }
        });
    confirmations.confirm(pipeline, renewed, sent);
    if (!lost.isEmpty()) {
      ledger.forget(pipeline, lost.keySet());
      lose(pipeline, lost, "this worker drops its copies in flight");
      gone.addAll(lost.keySet());
    }
    List<String> rest = new ArrayList<>();
    for (String id : doubtful) {
      if (!renewed.contains(id) && !lost.containsKey(id)) {
        rest.add(id);
      }
    }
    return rest;
  }

  /**
   * Forgets records this worker no longer holds, found out before it worked on them further, and
   * says what became of them.
   */
  private void lose(String pipeline, Map<String, Long> lost, String consequence) {
    long unconfirmed = confirmations.oldest(pipeline, lost.keySet());
    lost.forEach((id, token) -> leases.drop(pipeline, id, token));
    confirmations.forget(pipeline, lost.keySet());
    Map<String, String> holders = new HashMap<>();
    try {
      db.call(
              "lookupLeases",
              pipeline,
              h ->
                  h.createQuery(sql.lookupLeases)
                      .bind("pipeline", pipeline)
                      .bind("ids", Args.texts(lost.keySet()))
                      .map((rs, ctx) -> Map.entry(rs.getString("record_id"), holder(rs)))
                      .list())
          .forEach(e -> holders.put(e.getKey(), e.getValue()));
    } catch (JdbcStoreException e) {
      LOG.debug("pipeline-jdbc: could not look up who holds the records now", e);
    }
    BatchLedger ledger = this.ledger;
    if (ledger != null && holders.size() < lost.size()) {
      List<String> rowless = new ArrayList<>();
      for (String id : lost.keySet()) {
        if (!holders.containsKey(id)) {
          rowless.add(id);
        }
      }
      try {
        db.call("lookupLeases", pipeline, h -> ledger.holders(h, pipeline, rowless))
            .forEach((id, b) -> holders.put(id, batchHolder(b[0], b[1], b[2])));
      } catch (JdbcStoreException e) {
        LOG.debug("pipeline-jdbc: could not look up who holds the batches now", e);
      }
    }
    for (String id : lost.keySet()) {
      holders.putIfAbsent(id, "no worker (the record is gone)");
    }
    reportLost(pipeline, holders, unconfirmed, consequence);
  }

  /** Who holds a record of a batch now, from its batch's state, owner and last claimer. */
  private String batchHolder(String state, @Nullable String owner, @Nullable String worker) {
    String who =
        workerId.equals(owner != null ? owner : worker)
            ? "this worker"
            : "worker " + ErrorText.loggable(owner != null ? owner : worker);
    if ("DONE".equals(state)) {
      return who + ", which finished it";
    }
    return owner == null ? "no worker (given back, ready to be claimed)" : who;
  }

  /** Who holds a record now, from a row of {@code lookupLeases}, for a message. */
  private String holder(ResultSet rs) throws SQLException {
    RecordStatus status = RecordStatus.valueOf(rs.getString("status"));
    String worker = rs.getString("worker_id");
    String who = workerId.equals(worker) ? "this worker" : "worker " + ErrorText.loggable(worker);
    return switch (status) {
      case IN_PROGRESS -> who;
      case READY -> "no worker (given back, ready to be claimed)";
      case RETRY_WAIT -> "the retry queue (parked by " + who + ")";
      default -> who + ", which finished it";
    };
  }

  /**
   * Logs that this worker's lease on records ran out and who took them, saying why as far as this
   * worker knows: a database outage it waited out, or a time without any renewal reaching the
   * database (a paused process).
   */
  private void reportLost(
      String pipeline, Map<String, String> holders, long unconfirmedNanos, String consequence) {
    Map<String, Integer> byHolder = new TreeMap<>();
    holders.values().forEach(w -> byHolder.merge(w, 1, Integer::sum));
    StringBuilder who = new StringBuilder();
    byHolder.forEach(
        (w, n) ->
            who.append(who.isEmpty() ? "" : ", ").append(w).append(" (").append(n).append(')'));
    Database.Outage outage = db.lastOutage();
    long leaseNanos = TimeUnit.MILLISECONDS.toNanos(leaseMillis);
    String why;
    if (outage != null
        && outage.nanos() > leaseNanos / 2
        && System.nanoTime() - outage.endedAt() < unconfirmedNanos + leaseNanos) {
      why = "during a database outage of " + seconds(outage.nanos());
    } else if (unconfirmedNanos > leaseNanos) {
      why =
          "after "
              + seconds(unconfirmedNanos)
              + " in which no renewal of it reached the database (was this process paused, or"
              + " cut off from the database?)";
    } else {
      why = "before a renewal reached the database";
    }
    LOG.warn(
        "pipeline-jdbc: the lease of worker {} (this worker) on {} records of pipeline '{}' ran out"
            + " {} (lease {} ms); they were re-claimed by {}: {}, their holder finishes them"
            + " (first '{}')",
        ErrorText.loggable(workerId),
        holders.size(),
        ErrorText.loggable(pipeline),
        why,
        leaseMillis,
        ErrorText.loggable(who),
        consequence,
        ErrorText.loggable(holders.keySet().iterator().next()));
  }

  private static String seconds(long nanos) {
    return String.format(java.util.Locale.ROOT, "%.1f s", nanos / 1e9);
  }

  /**
   * Among ids {@link #ingest} found stored, those not finished and not held by this worker.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Set<String> unfinished(String pipeline, Collection<String> recordIds) {
    checkPipeline(pipeline);
    Objects.requireNonNull(recordIds, "recordIds cannot be null");
    checkOpen();
    if (recordIds.isEmpty()) {
      return Set.of();
    }
    return new HashSet<>(
        db.call(
            "unfinished",
            pipeline,
            h -> {
              List<String> found =
                  new ArrayList<>(
                      h.createQuery(sql.unfinishedOf)
                          .bind("pipeline", pipeline)
                          .bind("owner", workerId)
                          .bind("ids", Args.texts(recordIds))
                          .mapTo(String.class)
                          .list());
              if (ledger != null) {
                found.addAll(ledger.unfinished(h, pipeline, recordIds));
              }
              return found;
            }));
  }

  /**
   * The leases other workers hold on the pipeline's records, by the database's clock.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public List<HeldLeases> leasesHeldElsewhere(String pipeline) {
    checkPipeline(pipeline);
    checkOpen();
    List<HeldLeases> rows =
        db.call(
            "leasesHeldElsewhere",
            pipeline,
            h ->
                h.createQuery(sql.leasesElsewhere)
                    .bind("pipeline", pipeline)
                    .bind("owner", workerId)
                    .map(
                        (rs, ctx) -> {
                          Instant expires = Args.instant(rs, "expires");
                          Instant now = Args.instant(rs, "now");
                          Duration left =
                              expires == null || now == null
                                  ? Duration.ZERO
                                  : Duration.between(now, expires);
                          return new HeldLeases(
                              rs.getString("lease_owner"), rs.getLong("records"), left);
                        })
                    .list());
    BatchLedger ledger = this.ledger;
    if (ledger == null) {
      return rows;
    }
    List<Object[]> batches =
        db.call("leasesHeldElsewhere", pipeline, h -> ledger.leasesElsewhere(h, pipeline));
    if (batches.isEmpty()) {
      return rows;
    }
    Map<String, HeldLeases> byWorker = new LinkedHashMap<>();
    for (HeldLeases r : rows) {
      byWorker.put(r.worker(), r);
    }
    for (Object[] b : batches) {
      String worker = (String) b[0];
      long records = (Long) b[1];
      Instant expires = (Instant) b[2];
      Instant now = (Instant) b[3];
      Duration left =
          expires == null || now == null ? Duration.ZERO : Duration.between(now, expires);
      HeldLeases before = byWorker.get(worker);
      byWorker.put(
          worker,
          before == null
              ? new HeldLeases(worker, records, left)
              : new HeldLeases(
                  worker,
                  before.records() + records,
                  before.expiresWithin().compareTo(left) >= 0 ? before.expiresWithin() : left));
    }
    return new ArrayList<>(byWorker.values());
  }

  /**
   * Before a claim: renews this worker's own leases that ran out while it still holds their records
   * (a database outage longer than the lease, a heartbeat that did not reach them), so that it goes
   * on with them rather than compete with itself or leave them to another worker; and gives back at
   * once the records held by workers of this host whose process is gone (see {@link LocalWorkers}),
   * so that they are claimed now rather than when their leases expire. At most once per third of a
   * lease (between 1 and 10 s) per pipeline, and at once after an outage.
   */
  private void maintainLeases(String pipeline, Long[] held) {
    long now = System.nanoTime();
    Database.Outage outage = db.lastOutage();
    Long last = deadWorkersCheckedAt.get(pipeline);
    if (last != null
        && now - last < deadWorkersCheckNanos
        && (outage == null || outage.endedAt() - last < 0)) {
      return;
    }
    deadWorkersCheckedAt.put(pipeline, now);
    if (held.length > 0) {
      int renewed =
          db.call(
              "renew",
              pipeline,
              h ->
                  h.createUpdate(sql.renewExpiredHeld)
                          .bind("pipeline", pipeline)
                          .bind("owner", workerId)
                          .bind("lease_ms", leaseMillis)
                          .bind("held", Args.array("bigint", held))
                          .execute()
                      + (ledger == null ? 0 : ledger.renewExpiredHeld(h, pipeline, held)));
      if (renewed > 0) {
        LOG.info(
            "pipeline-jdbc: the leases of worker {} (this worker) on {} records of pipeline '{}' it"
                + " is still processing had run out{} (lease {} ms); no other worker had taken them,"
                + " so they are renewed and this worker goes on with them",
            workerId,
            renewed,
            pipeline,
            outage != null && outage.nanos() > TimeUnit.MILLISECONDS.toNanos(leaseMillis) / 2
                ? " during a database outage of " + seconds(outage.nanos())
                : "",
            leaseMillis);
      }
    }
    for (HeldLeases other : leasesHeldElsewhere(pipeline)) {
      if (!LocalWorkers.isGone(other.worker())) {
        continue;
      }
      int taken =
          db.call(
              "takeOver",
              pipeline,
              h ->
                  h.createUpdate(sql.takeOver)
                          .bind("pipeline", pipeline)
                          .bind("dead", other.worker())
                          .execute()
                      + (ledger == null ? 0 : ledger.takeOver(h, pipeline, other.worker())));
      if (taken > 0) {
        LOG.info(
            "pipeline-jdbc: worker {} ran on this host as process {}, which is gone; its {} records"
                + " of pipeline '{}' are taken over now instead of when its leases expire (in up to"
                + " {} s)",
            ErrorText.loggable(other.worker()),
            ErrorText.loggable(LocalWorkers.pid(other.worker()).orElse("?")),
            taken,
            pipeline,
            other.expiresWithin().toSeconds());
      }
    }
  }

  /** A delivery is progress: the leases of the delivered records' batches are not abandoned. */
  private void delivered(String pipeline, Set<String> ids) {
    Set<Long> tokens = new HashSet<>();
    for (String id : ids) {
      Long token = leases.token(pipeline, id);
      if (token != null) {
        tokens.add(token);
      }
    }
    tokens.forEach(t -> leases.touch(pipeline, t));
  }

  // ------------------------------------------------------------------ claim

  /**
   * Leases up to {@code max} records, decoded with their stage's input codec: first those whose
   * {@link #scheduleRetries scheduled retry} is due by the database's clock (oldest first, with
   * their attempts so far; their retry queue rows are deleted), then records that are ready
   * (ingested and given back, or sent back by {@link #reprocess}) or whose lease expired. A record
   * whose payload fails its checksum or cannot be decoded goes to the dead letter queue with a
   * {@link PayloadIntegrityException} instead.
   *
   * @throws IllegalArgumentException if {@code max} is not positive
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public List<Claimed> claim(String pipeline, int requested) {
    checkPipeline(pipeline);
    if (requested < 1) {
      throw new IllegalArgumentException("max must be positive, was " + requested);
    }
    checkOpen();
    PipelineDef def = def(pipeline);
    // never this worker's own records in flight, whose lease ran out in an outage: it renews them
    Long[] held = leases.tokens(pipeline).toArray(Long[]::new);
    maintainLeases(pipeline, held);
    List<Claimed> stashed = fromStash(pipeline, requested);
    if (stashed.size() >= requested) {
      return stashed;
    }
    int max = requested - stashed.size();
    long token = Leases.newToken();
    Confirmations.Sent sent = confirmations.now();
    List<Row> rows;
    if (h2Lock != null) {
      h2Lock.lock();
    }
    try {
      if (db.dialect.locksInSubqueries()) {
        rows =
            db.call(
                "claim",
                pipeline,
                h ->
                    h.createQuery(sql.claim)
                        .bind("owner", workerId)
                        .bind("held", Args.array("bigint", held))
                        .bind("token", token)
                        .bind("lease_ms", leaseMillis)
                        .bind("pipeline", pipeline)
                        .bind("max", max)
                        .map((rs, ctx) -> Row.read(rs))
                        .list());
      } else {
        rows = db.transaction("claim", pipeline, h -> claimInSteps(h, pipeline, max, token, held));
      }
    } finally {
      if (h2Lock != null) {
        h2Lock.unlock();
      }
    }
    List<Claimed> fromBatches =
        ledger == null || rows.size() >= max
            ? List.of()
            : claimBatches(pipeline, def, max - rows.size(), held);
    if (!stashed.isEmpty()) {
      List<Claimed> all = new ArrayList<>(stashed);
      all.addAll(fromBatches);
      fromBatches = all;
    }
    if (rows.isEmpty()) {
      return fromBatches;
    }
    // a record this worker still processes (its lease ran out before a renewal reached it) is
    // now held under the new token, and its copy in flight completes under it; handing it out
    // again would process it twice
    Set<String> inFlightHere = new HashSet<>();
    for (Row row : rows) {
      if (leases.isLive(pipeline, row.id())) {
        inFlightHere.add(row.id());
      }
    }
    List<String> ids = rows.stream().map(Row::id).toList();
    leases.hold(pipeline, ids, token);
    confirmations.confirm(pipeline, ids, sent);
    List<Claimed> claimed = new ArrayList<>(rows.size());
    Map<String, PayloadIntegrityException> damaged = new LinkedHashMap<>();
    for (Row row : rows) {
      if (inFlightHere.contains(row.id())) {
        continue;
      }
      Object payload;
      try {
        payload = decode(def, row);
      } catch (PayloadIntegrityException e) {
        damaged.put(row.id(), e);
        continue;
      }
      claimed.add(new Claimed(envelope(row, payload), row.stage(), row.attempts()));
    }
    if (!damaged.isEmpty()) {
      markDamaged(pipeline, damaged, token);
    }
    claimed.addAll(fromBatches);
    return claimed;
  }

  /** Up to {@code max} stashed records whose batches this worker still holds. */
  private List<Claimed> fromStash(String pipeline, int max) {
    java.util.Deque<Claimed> waiting = stash.get(pipeline);
    if (waiting == null) {
      return List.of();
    }
    List<Claimed> out = new ArrayList<>();
    Claimed next;
    while (out.size() < max && (next = waiting.pollFirst()) != null) {
      if (leases.token(pipeline, next.record().id()) != null) {
        out.add(next);
      }
    }
    return out;
  }

  /**
   * Claims whole batches whose lease ran out, one per transaction, until about {@code max} records
   * are claimed or none is left: their records not ended yet, decoded at the batch's stage.
   */
  private List<Claimed> claimBatches(String pipeline, PipelineDef def, int max, Long[] held) {
    BatchLedger ledger = Objects.requireNonNull(this.ledger);
    List<Claimed> out = new ArrayList<>();
    for (int tries = 0; out.size() < max && tries < max; tries++) {
      long token = Leases.newToken();
      Confirmations.Sent sent = confirmations.now();
      long released = released(pipeline);
      BatchLedger.Claimed batch;
      if (h2Lock != null) {
        h2Lock.lock();
      }
      try {
        batch = db.transaction("claim", pipeline, h -> ledger.claim(h, pipeline, token, held));
      } finally {
        if (h2Lock != null) {
          h2Lock.unlock();
        }
      }
      if (batch == null) {
        break;
      }
      if (batch.pending().isEmpty()) {
        continue;
      }
      if (released(pipeline) != released) {
        db.call("release", pipeline, h -> ledger.release(h, List.of(batch.batch())));
        break;
      }
      List<String> ids = new ArrayList<>(batch.pending().size());
      for (BatchLedger.Entry e : batch.pending()) {
        ids.add(e.id());
      }
      ledger.hold(pipeline, batch.batch(), batch.pending(), batch.noted());
      leases.hold(pipeline, ids, token);
      confirmations.confirm(pipeline, ids, sent);
      Map<String, PayloadIntegrityException> damaged = new LinkedHashMap<>();
      for (BatchLedger.Entry e : batch.pending()) {
        Row row =
            new Row(
                e.id(),
                batch.batch().stage(),
                0,
                e.payload(),
                batch.batch().format(),
                e.checksum(),
                e.metadata(),
                null);
        Object payload;
        try {
          payload = decode(def, row);
        } catch (PayloadIntegrityException ex) {
          damaged.put(e.id(), ex);
          continue;
        }
        Claimed claimed = new Claimed(envelope(row, payload), row.stage(), 0);
        if (out.size() < max) {
          out.add(claimed);
        } else {
          stash
              .computeIfAbsent(pipeline, p -> new java.util.concurrent.ConcurrentLinkedDeque<>())
              .add(claimed);
        }
      }
      if (!damaged.isEmpty()) {
        moveToRows(pipeline, damaged.keySet(), Instant.now());
        markDamaged(pipeline, damaged, token);
      }
    }
    return out;
  }

  /**
   * As {@link #claim(String, int)}, which also hands over due retries: {@code now} is ignored, the
   * database's clock decides what is due, so that all workers agree.
   */
  @Override
  public List<Claimed> claim(String pipeline, int max, Instant now) {
    return claim(pipeline, max);
  }

  private List<Row> claimInSteps(Handle h, String pipeline, int max, long token, Long[] held) {
    List<String> ids =
        new ArrayList<>(
            h.createQuery(sql.claimDue)
                .bind("pipeline", pipeline)
                .bind("max", max)
                .mapTo(String.class)
                .list());
    if (!ids.isEmpty()) {
      h.createUpdate(sql.dequeue).bind("pipeline", pipeline).bind("ids", Args.texts(ids)).execute();
    }
    if (ids.size() < max) {
      ids.addAll(
          h.createQuery(sql.claimReady)
              .bind("pipeline", pipeline)
              .bind("max", max - ids.size())
              .mapTo(String.class)
              .list());
    }
    if (ids.size() < max) {
      ids.addAll(
          h.createQuery(sql.claimExpired)
              .bind("pipeline", pipeline)
              .bind("owner", workerId)
              .bind("held", Args.array("bigint", held))
              .bind("max", max - ids.size())
              .mapTo(String.class)
              .list());
    }
    if (ids.isEmpty()) {
      return List.of();
    }
    // one lock order for all writers: by record id; each id once (MERGE matches a row once)
    ids = new ArrayList<>(new TreeSet<>(ids));
    return h.createQuery(sql.claimTake)
        .bind("owner", workerId)
        .bind("held", Args.array("bigint", held))
        .bind("token", token)
        .bind("lease_ms", leaseMillis)
        .bind("pipeline", pipeline)
        .bind("ids", Args.texts(ids))
        .map((rs, ctx) -> Row.read(rs))
        .list();
  }

  private void markDamaged(
      String pipeline, Map<String, PayloadIntegrityException> damaged, long token) {
    LOG.error(
        "pipeline-jdbc: {} records of pipeline '{}' have damaged payloads and go to the dead letter"
            + " queue (first '{}': {})",
        damaged.size(),
        pipeline,
        ErrorText.loggable(damaged.keySet().iterator().next()),
        ErrorText.describeDefault(damaged.values().iterator().next()));
    PipelineDef def = def(pipeline);
    Instant now = Instant.now();
    db.transaction(
        "claim",
        pipeline,
        h -> {
          PreparedBatch mark = h.prepareBatch(sql.markDamaged);
          PreparedBatch errors = h.prepareBatch(sql.insertError);
          for (Map.Entry<String, PayloadIntegrityException> e : damaged.entrySet()) {
            PayloadIntegrityException error = e.getValue();
            ErrorInfo info = ErrorInfo.of(error.stage(), error, 1, now);
            mark.bind("pipeline", pipeline)
                .bind("id", e.getKey())
                .bind("owner", workerId)
                .bind("token", token)
                .bind(
                    "last_error",
                    storedText(info.errorType() + ": " + info.message(), MAX_LAST_ERROR))
                .bind("error_type", cut(info.errorType(), MAX_NAME))
                .add();
            errors
                .bind("pipeline", pipeline)
                .bind("id", e.getKey())
                .bind("stage_id", Args.int64(def.stageId(error.stage())))
                .bind("stage", cut(error.stage(), MAX_NAME))
                .bind("error_type", cut(info.errorType(), MAX_NAME))
                .bind("exception_class", cut(info.exceptionClass(), 500))
                .bind("message", storedText(info.message(), MAX_MESSAGE))
                .bind("stack_trace", storedText(info.stackTrace(), MAX_MESSAGE))
                .bind("attempt", 1)
                .bind("at", Args.time(now))
                .bind("owner", workerId)
                .add();
          }
          mark.execute();
          errors.execute();
          return null;
        });
    damaged.keySet().forEach(id -> leases.drop(pipeline, id, token));
    confirmations.forget(pipeline, damaged.keySet());
  }

  /**
   * Whether any record of the pipeline, held by any worker, has not reached a terminal state.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public boolean hasUnfinished(String pipeline) {
    checkPipeline(pipeline);
    checkOpen();
    return db.call(
        "hasUnfinished",
        pipeline,
        h ->
            h.createQuery(sql.hasUnfinished).bind("pipeline", pipeline).mapTo(Integer.class).one()
                    == 1
                || (ledger != null && ledger.hasOpen(h, pipeline)));
  }

  // ------------------------------------------------------------------ queries

  /**
   * What the store knows of a record.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Optional<RecordState> find(String pipeline, String recordId) {
    checkPipeline(pipeline);
    Objects.requireNonNull(recordId, "recordId cannot be null");
    checkOpen();
    if (StorableText.idProblem(recordId) != null) {
      return Optional.empty(); // never stored under that id (the engine uses a derived one)
    }
    return db.call(
        "find",
        pipeline,
        h -> {
          Optional<RecordState> state =
              h.createQuery(sql.find)
                  .bind("pipeline", pipeline)
                  .bind("id", recordId)
                  .map(
                      (rs, ctx) -> {
                        RecordStatus status = RecordStatus.valueOf(rs.getString("status"));
                        String failed = rs.getString("failed_stage");
                        return new RecordState(
                            rs.getString("record_id"),
                            status,
                            StorableText.unescape(
                                (status == RecordStatus.DEAD_LETTER
                                            || status == RecordStatus.DISCARDED)
                                        && failed != null
                                    ? failed
                                    : rs.getString("current_stage")),
                            rs.getInt("attempt_count"),
                            uncut(rs.getString("reason")),
                            List.of(),
                            rs.getInt("deliveries"),
                            Objects.requireNonNull(Args.instant(rs, "started_at")),
                            Objects.requireNonNull(Args.instant(rs, "updated_at")));
                      })
                  .findFirst();
          if (state.isEmpty() && ledger != null) {
            BatchLedger.Found found = ledger.find(h, pipeline, recordId);
            if (found != null) {
              List<ErrorInfo> errors = errorsOf(h, pipeline, List.of(recordId)).get(recordId);
              state =
                  Optional.of(
                      new RecordState(
                          recordId,
                          found.published()
                              ? RecordStatus.PUBLISHED
                              : found.ready() ? RecordStatus.READY : RecordStatus.IN_PROGRESS,
                          StorableText.unescape(found.stage()),
                          0,
                          null,
                          errors == null ? List.of() : errors,
                          found.deliveries(),
                          found.startedAt(),
                          found.at()));
            }
            return state;
          }
          if (state.isEmpty()) {
            return state;
          }
          RecordState s = state.get();
          List<ErrorInfo> errors = errorsOf(h, pipeline, List.of(recordId)).get(recordId);
          return Optional.of(
              new RecordState(
                  s.recordId(),
                  s.status(),
                  s.stage(),
                  s.attempts(),
                  s.reason(),
                  errors == null ? List.of() : errors,
                  s.deliveries(),
                  s.startedAt(),
                  s.updatedAt()));
        });
  }

  private Map<String, List<ErrorInfo>> errorsOf(Handle h, String pipeline, List<String> ids) {
    Map<String, List<ErrorInfo>> errors = new HashMap<>();
    errorRows(h, pipeline, ids)
        .forEach(
            (id, rows) -> {
              List<ErrorInfo> infos = new ArrayList<>(rows.size());
              for (StoredError row : rows) {
                infos.add(row.info());
              }
              errors.put(id, infos);
            });
    return errors;
  }

  /** The error rows of records, oldest first, by record id. */
  private Map<String, List<StoredError>> errorRows(Handle h, String pipeline, List<String> ids) {
    Map<String, List<StoredError>> errors = new HashMap<>();
    if (ids.isEmpty()) {
      return errors;
    }
    h.createQuery(sql.errorsOf)
        .bind("pipeline", pipeline)
        .bind("ids", Args.texts(ids))
        .map(
            (rs, ctx) ->
                Map.entry(
                    rs.getString("record_id"),
                    new StoredError(
                        rs.getLong("error_id"),
                        new ErrorInfo(
                            StorableText.unescape(rs.getString("stage_name")),
                            StorableText.unescape(rs.getString("error_type")),
                            StorableText.unescape(rs.getString("exception_class")),
                            StorableText.unescape(rs.getString("error_message")),
                            StorableText.unescape(rs.getString("stack_trace")),
                            rs.getInt("attempt"),
                            Objects.requireNonNull(Args.instant(rs, "occurred_at"))))))
        .forEach(e -> errors.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue()));
    return errors;
  }

  /**
   * One page of dead letters, oldest first (by the time they were dead-lettered, then id), each
   * with its record as it entered the failing stage, or as of its last checkpoint when that stage
   * has no codec; {@link DeadLetter#payloadStage()} says which. A payload that cannot be read back
   * is given as its stored bytes.
   *
   * @throws IllegalArgumentException if the query's cursor is not one of this store
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Page<DeadLetter> deadLetters(String pipeline, DeadLetterQuery query) {
    checkPipeline(pipeline);
    Objects.requireNonNull(query, "query cannot be null");
    checkOpen();
    Cursor after = query.after() == null ? null : Cursor.parse(query.after());
    String statement =
        sql.deadLetters(
            query.stage() != null, query.errorType() != null, query.since() != null, after != null);
    PipelineDef def = pipelines.get(pipeline);
    return db.call(
        "deadLetters",
        pipeline,
        h -> {
          Query q =
              h.createQuery(statement).bind("pipeline", pipeline).bind("limit", query.limit() + 1);
          if (query.stage() != null) {
            q.bind("stage", cut(query.stage(), MAX_NAME));
          }
          if (query.errorType() != null) {
            q.bind("error_type", cut(query.errorType(), MAX_NAME));
          }
          if (query.since() != null) {
            q.bind("since", Args.time(query.since()));
          }
          if (after != null) {
            q.bind("after_at", Args.time(after.at())).bind("after_id", after.id());
          }
          List<Map.Entry<Row, Instant>> rows =
              q.map(
                      (rs, ctx) ->
                          Map.entry(
                              Row.read(rs),
                              Objects.requireNonNull(Args.instant(rs, "dead_lettered_at"))))
                  .list();
          boolean more = rows.size() > query.limit();
          if (more) {
            rows = rows.subList(0, query.limit());
          }
          Map<String, List<ErrorInfo>> errors =
              errorsOf(h, pipeline, rows.stream().map(e -> e.getKey().id()).toList());
          List<DeadLetter> items = new ArrayList<>(rows.size());
          for (Map.Entry<Row, Instant> e : rows) {
            Row row = e.getKey();
            Object payload;
            try {
              payload = def == null ? raw(row) : decode(def, row);
            } catch (PayloadIntegrityException damaged) {
              payload = raw(row);
            }
            List<ErrorInfo> recordErrors = errors.getOrDefault(row.id(), List.of());
            items.add(
                new DeadLetter(
                    envelope(row, payload),
                    row.failedStage() == null ? row.stage() : row.failedStage(),
                    recordErrors,
                    row.attempts(),
                    e.getValue(),
                    row.stage())); // the stage the payload was stored at
          }
          String next = null;
          if (more) {
            Map.Entry<Row, Instant> last = rows.get(rows.size() - 1);
            next = new Cursor(last.getValue(), last.getKey().id()).toString();
          }
          return new Page<>(items, next);
        });
  }

  /**
   * How many records of the pipeline are in each state.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public StatusCounts counts(String pipeline) {
    checkPipeline(pipeline);
    checkOpen();
    Map<RecordStatus, Long> counts = new EnumMap<>(RecordStatus.class);
    db.call(
            "counts",
            pipeline,
            h ->
                h.createQuery(sql.counts)
                    .bind("pipeline", pipeline)
                    .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
                    .list())
        .forEach(e -> counts.put(RecordStatus.valueOf(e.getKey()), e.getValue()));
    BatchLedger ledger = this.ledger;
    if (ledger != null) {
      long[] batches = db.call("counts", pipeline, h -> ledger.counts(h, pipeline));
      if (batches[0] > 0) {
        counts.merge(RecordStatus.PUBLISHED, batches[0], Long::sum);
      }
      if (batches[1] > 0) {
        counts.merge(RecordStatus.IN_PROGRESS, batches[1], Long::sum);
      }
      if (batches[2] > 0) {
        counts.merge(RecordStatus.READY, batches[2], Long::sum);
      }
    }
    return new StatusCounts(counts);
  }

  /** Always true. */
  @Override
  public boolean hasRetryQueue() {
    return true;
  }

  @Override
  public boolean isDurable() {
    return true;
  }

  // ------------------------------------------------------------------ leases

  /**
   * Gives back every record of the pipeline this worker holds, at once: they become ready for any
   * worker's claim, and this worker's checkpoints and completions of them are refused from now on.
   * For a run that ended without finishing its records (cancelled, failed) in a process that goes
   * on.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public void release(String pipeline) {
    checkPipeline(pipeline);
    checkOpen();
    releases
        .computeIfAbsent(pipeline, p -> new java.util.concurrent.atomic.AtomicLong())
        .incrementAndGet();
    List<Long> tokens = leases.releaseAll(pipeline);
    confirmations.forgetAll(pipeline);
    List<BatchLedger.Batch> batches = ledger == null ? List.of() : ledger.releaseAll(pipeline);
    stash.remove(pipeline);
    if (!tokens.isEmpty() || !batches.isEmpty()) {
      db.call(
          "release",
          pipeline,
          h -> {
            if (!batches.isEmpty()) {
              Objects.requireNonNull(ledger).release(h, batches);
            }
            return heartbeat.releaseTokens(h, pipeline, tokens);
          });
    }
  }

  // ------------------------------------------------------------------ retention

  /**
   * What one {@link #purge()} removed.
   *
   * @param payloadsCleared payloads of published or filtered records cleared
   * @param recordsDeleted published or filtered records deleted, with their errors
   * @param logsDeleted rows deleted from {@code processing_logs}
   * @param metricsDeleted rows deleted from {@code pipeline_metrics}
   */
  public record Purged(
      long payloadsCleared, long recordsDeleted, long logsDeleted, long metricsDeleted) {}

  /**
   * Applies the retention settings now, across all pipelines, in batches of {@link
   * Builder#purgeBatchSize(int)} rows (one short transaction each, so live work is not held up):
   * clears the payloads of records published or filtered longer ago than {@link
   * Builder#retainPayloads(Duration)}; deletes those records, with their errors, after {@link
   * Builder#retainCompleted(Duration)} (then their ids may be ingested again); deletes processing
   * logs and metrics older than {@link Builder#retainLogs(Duration)}. Dead letters and records in
   * flight are never purged. Ages are measured on the database's clock from completion.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  public Purged purge() {
    checkOpen();
    return purger.purge();
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Stops the heartbeat, gives back the records this worker still holds (so that another worker, or
   * the next run, takes them over at once) and closes the pool if the store made it. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    heartbeat.stop();
    for (Thread t : threads) {
      if (!t.getName().startsWith(HEARTBEAT)) {
        t.interrupt(); // their database work runs on threads of its own (Database#attempt)
      }
    }
    for (Thread t : threads) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    for (String pipeline : leases.pipelines()) {
      List<Long> tokens = leases.releaseAll(pipeline);
      List<BatchLedger.Batch> batches = ledger == null ? List.of() : ledger.releaseAll(pipeline);
      stash.remove(pipeline);
      if (tokens.isEmpty() && batches.isEmpty()) {
        continue;
      }
      try {
        db.once(
            h -> {
              if (!batches.isEmpty()) {
                Objects.requireNonNull(ledger).release(h, batches);
              }
              return heartbeat.releaseTokens(h, pipeline, tokens);
            }); // no retries
      } catch (SQLException | RuntimeException e) {
        LOG.warn(
            "pipeline-jdbc: could not give back the leases of pipeline '{}' on close; they expire"
                + " by themselves within {} ms: {}",
            pipeline,
            leaseMillis,
            ErrorText.defaults().stackTrace(e));
      }
    }
    heartbeatSource.close();
    if (ownedPool != null) {
      ownedPool.close();
    }
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("this JdbcPipelineStore (" + names + ") is closed");
    }
  }

  @Override
  public String toString() {
    return "JdbcPipelineStore["
        + db.dialect.name().toLowerCase(java.util.Locale.ROOT)
        + ", "
        + names
        + ", worker="
        + workerId
        + ", lease="
        + leaseMillis
        + "ms]";
  }

  // ------------------------------------------------------------------ completion rows

  private record Done(Completion completion, long token, @Nullable Stored payload) {}

  private record Parked(ScheduledRetry retry, long token, Stored payload) {}

  // ------------------------------------------------------------------ dead letter cursor

  /** Where a page of dead letters ends: (dead-lettered at, record id), opaque to callers. */
  private record Cursor(Instant at, String id) {
    static Cursor parse(String text) {
      try {
        String decoded = new String(Base64.getUrlDecoder().decode(text), StandardCharsets.UTF_8);
        int bar = decoded.indexOf('|');
        String[] time = decoded.substring(0, bar).split("\\.");
        String id = decoded.substring(bar + 1);
        StorableText.checkId(id); // a stored id, or no cursor of this store
        return new Cursor(
            Instant.ofEpochSecond(Long.parseLong(time[0]), Long.parseLong(time[1])), id);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(
            "not a dead letter cursor of this store: " + Names.quote(text), e);
      }
    }

    @Override
    public String toString() {
      String text = at.getEpochSecond() + "." + at.getNano() + "|" + id;
      return Base64.getUrlEncoder()
          .withoutPadding()
          .encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }
  }

  // ------------------------------------------------------------------ builder

  /**
   * Builds a {@link JdbcPipelineStore}: where the database is (exactly one of {@link
   * #dataSource(DataSource)}, {@link #h2File(Path)} and {@link #jdbcUrl(String, String, String)}),
   * which schema and prefix, the worker's id and lease, retention. {@link #build()} copies the
   * settings, so the builder can be reused.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    /** The longest retention of payloads, completed records and logs. */
    public static final Duration MAX_RETENTION = Duration.ofDays(3650);

    /** The longest {@link #outageTolerance(Duration)}. */
    public static final Duration MAX_OUTAGE_TOLERANCE = Duration.ofDays(7);

    private static final Duration MAX_PURGE_EVERY = Duration.ofDays(7);

    private @Nullable DataSource dataSource;
    private @Nullable JdbcUrl url;
    private final Set<String> allowedUrlSettings = new TreeSet<>();
    private @Nullable String user;
    private @Nullable String password;
    private @Nullable String schema;
    private boolean schemaSet;
    private @Nullable String prefix;
    private @Nullable String workerId;
    private @Nullable Duration lease;
    private @Nullable Duration retainPayloads;
    private @Nullable Duration retainCompleted;
    private @Nullable Duration retainLogs = Duration.ofDays(30);
    private boolean retainLogsSet;
    private int purgeBatchSize = 1_000;
    private @Nullable Duration purgeEvery;
    private @Nullable Duration outageTolerance;
    private int poolSize = 10;
    private boolean poolSizeSet;
    private boolean migrate = true;
    private boolean migrateSet;
    private boolean maintainStatistics = true;
    private boolean maintainStatisticsSet;
    private boolean fullLedger;
    private boolean fullLedgerSet;

    private Builder() {}

    /**
     * Uses the caller's data source (a pool, ideally). The store keeps one of its connections for
     * its heartbeat; the caller closes the data source after the store. On PostgreSQL, have the
     * pool run {@code SET plan_cache_mode = force_custom_plan} on its connections (HikariCP's
     * {@code connectionInitSql}), as the store's own pools do: otherwise generic plans made while
     * the tables were small can turn record-id lookups into scans as they grow.
     *
     * @throws NullPointerException if null
     * @throws IllegalStateException if a database was already set
     */
    public Builder dataSource(DataSource dataSource) {
      Objects.requireNonNull(dataSource, "dataSource cannot be null");
      onlyOneDatabase();
      this.dataSource = dataSource;
      return this;
    }

    /**
     * Uses an embedded H2 database in a file (created if absent; {@code .mv.db} is added), with a
     * connection pool the store owns and closes. Commits are written to the file before they
     * return, so killing the JVM loses nothing committed. H2 does not force them to the disk (no
     * fsync per commit): a crash of the operating system or a power cut can lose the last commits.
     * Where that matters, use PostgreSQL.
     *
     * @throws NullPointerException if null
     * @throws IllegalArgumentException if the path contains ';'
     * @throws IllegalStateException if a database was already set
     */
    public Builder h2File(Path file) {
      Objects.requireNonNull(file, "file cannot be null");
      onlyOneDatabase();
      this.url = JdbcUrl.check(Connections.h2FileUrl(file), Set.of());
      return this;
    }

    /**
     * Uses a JDBC URL, with a HikariCP pool the store owns and closes. The URL is checked at once,
     * read as its driver reads it, so that a URL from outside cannot run code, load a class or
     * write a file:
     *
     * <ul>
     *   <li>only {@code jdbc:h2:} and {@code jdbc:postgresql:} URLs (for another driver, pass a
     *       {@link #dataSource(DataSource)});
     *   <li>H2 settings (names in any case, {@code \} escapes read as H2 reads them) only from:
     *       USER, PASSWORD, CIPHER, DB_CLOSE_DELAY, DB_CLOSE_ON_EXIT, WRITE_DELAY, MODE,
     *       DATABASE_TO_UPPER, DATABASE_TO_LOWER, CASE_INSENSITIVE_IDENTIFIERS, IFEXISTS,
     *       FORBID_CREATION, LOCK_TIMEOUT, CACHE_SIZE, MAX_COMPACT_TIME. Refused among others: INIT
     *       (runs SQL and Java code), AUTO_SERVER (opens a port other hosts reach), the settings
     *       that name classes or print statements;
     *   <li>PostgreSQL settings (names as pgjdbc spells them) only from: user, password, ssl,
     *       sslmode, sslrootcert, sslcert, sslkey, sslpassword, sslNegotiation, sslResponseTimeout,
     *       channelBinding, requireAuth, gssEncMode, ApplicationName, connectTimeout,
     *       socketTimeout, loginTimeout, cancelSignalTimeout, tcpKeepAlive, tcpNoDelay,
     *       targetServerType, loadBalanceHosts, hostRecheckSeconds, currentSchema,
     *       prepareThreshold, preparedStatementCacheQueries, preparedStatementCacheSizeMiB,
     *       reWriteBatchedInserts, defaultRowFetchSize, binaryTransfer. Refused among others: the
     *       settings that name a class (socketFactory, sslfactory, sslhostnameverifier,
     *       sslpasswordcallback, authenticationPluginClassName, ...), loggerFile, loggerLevel,
     *       service, options;
     *   <li>no {@code user:password@} before the host.
     * </ul>
     *
     * <p>A refused setting your own code chose can be let through with {@link
     * #allowUrlSetting(String)}. Passwords (PASSWORD, password, sslpassword) are taken out of the
     * URL and given to the driver as connection properties; every message, log line and {@code
     * toString()} of the store shows the URL with them masked.
     *
     * @param user the user, or null if the URL carries it
     * @param password the password, or null
     * @throws NullPointerException if the URL is null
     * @throws IllegalArgumentException if the URL is refused (the message names the setting, why,
     *     and how to proceed), or the password is given both in the URL and as an argument
     * @throws IllegalStateException if a database was already set
     */
    public Builder jdbcUrl(String url, @Nullable String user, @Nullable String password) {
      Objects.requireNonNull(url, "url cannot be null");
      JdbcUrl checked = JdbcUrl.check(url, allowedUrlSettings);
      if (password != null && checked.hasPassword()) {
        throw new IllegalArgumentException(
            "the password is given twice, in the URL and as the argument of jdbcUrl(url, user,"
                + " password); give it once. URL: "
                + Names.quote(checked.toString()));
      }
      onlyOneDatabase();
      this.url = checked;
      this.user = user;
      this.password = password;
      return this;
    }

    /**
     * Lets a URL setting through that {@link #jdbcUrl(String, String, String)} refuses, e.g. {@code
     * socketFactory} for a cloud provider's connector, or H2's {@code AUTO_SERVER}. Only for a
     * setting your own code chose: a setting such as INIT or socketFactory runs code or loads a
     * class, so a URL that comes from outside (a command line, a configuration file others write)
     * must never carry one. Call it before {@code jdbcUrl(...)}, once per setting; H2 compares the
     * name in upper case, PostgreSQL as written.
     *
     * @throws NullPointerException if null
     * @throws IllegalArgumentException if the name is blank or holds one of {@code = ; & ? \}
     * @throws IllegalStateException if the database was already set, or this setting was already
     *     let through
     */
    public Builder allowUrlSetting(String name) {
      Objects.requireNonNull(name, "name cannot be null");
      if (name.isBlank() || name.chars().anyMatch(c -> "=;&?\\".indexOf(c) >= 0)) {
        throw new IllegalArgumentException(
            "allowUrlSetting takes the name of one setting, e.g. \"socketFactory\", was "
                + Names.quote(name));
      }
      if (dataSource != null || url != null) {
        throw new IllegalStateException(
            "allowUrlSetting(" + Names.quote(name) + ") must come before jdbcUrl(...)");
      }
      if (!allowedUrlSettings.add(name)) {
        throw new IllegalStateException(
            "allowUrlSetting(" + Names.quote(name) + ") was already called");
      }
      return this;
    }

    private void onlyOneDatabase() {
      if (dataSource != null || url != null) {
        throw new IllegalStateException(
            "the database was already set; use one of dataSource(...), h2File(...),"
                + " jdbcUrl(...)");
      }
    }

    /**
     * Puts the tables in this schema, created if absent; unset, the connection's current schema.
     *
     * @throws IllegalArgumentException unless the name matches [a-z_][a-z0-9_]{0,30} and is not an
     *     SQL reserved word
     * @throws IllegalStateException if set twice
     */
    public Builder schema(String schema) {
      once(schemaSet, "schema");
      this.schema = Names.checkSchema(schema);
      schemaSet = true;
      return this;
    }

    /**
     * Prefixes the table names (e.g. "etl_" gives etl_pipeline_status, etl_retry_queue); none
     * unless set.
     *
     * @throws IllegalArgumentException unless empty or matching [a-z_][a-z0-9_]{0,30}
     * @throws IllegalStateException if set twice
     */
    public Builder tablePrefix(String prefix) {
      once(this.prefix != null, "tablePrefix");
      this.prefix = Names.checkPrefix(prefix);
      return this;
    }

    /**
     * Sets this worker's id, the lease owner of the records it holds; unique among the workers
     * sharing a database (the default, host-pid-random, is).
     *
     * @throws IllegalArgumentException if blank, longer than 200 characters, or holding a control
     *     character (NUL, a line break, ESC, a bidi control: the id is written in log lines and
     *     stored as each leased record's owner) or an unpaired surrogate (PostgreSQL cannot store
     *     it)
     * @throws IllegalStateException if set twice
     */
    public Builder workerId(String workerId) {
      Objects.requireNonNull(workerId, "workerId cannot be null");
      once(this.workerId != null, "workerId");
      if (workerId.isBlank() || workerId.length() > MAX_NAME) {
        throw new IllegalArgumentException(
            "workerId must be 1 to "
                + MAX_NAME
                + " characters, not blank: "
                + Names.quote(workerId));
      }
      int control = ErrorText.firstControl(workerId);
      String problem =
          control >= 0
              ? String.format(
                  Locale.ROOT,
                  "holds the control character U+%04X at position %d",
                  (int) workerId.charAt(control),
                  control)
              : StorableText.idProblem(workerId);
      if (problem != null) {
        throw new IllegalArgumentException(
            "workerId "
                + Names.quote(workerId)
                + " "
                + problem
                + "; use an id without NUL, line breaks, escapes, other control characters or"
                + " unpaired surrogates");
      }
      this.workerId = workerId;
      return this;
    }

    /**
     * Sets how long a worker's hold on its records lasts without renewal (30 s unless set): the
     * longest a dead worker's records wait before another worker takes them over. The heartbeat
     * renews every third of it.
     *
     * @throws IllegalArgumentException if shorter than 100 ms or longer than a day
     * @throws IllegalStateException if set twice
     */
    public Builder leaseDuration(Duration lease) {
      Objects.requireNonNull(lease, "lease cannot be null");
      once(this.lease != null, "leaseDuration");
      if (lease.compareTo(Duration.ofMillis(100)) < 0 || lease.compareTo(Duration.ofDays(1)) > 0) {
        throw new IllegalArgumentException(
            "leaseDuration must be between 100ms and 1 day, was " + lease);
      }
      this.lease = lease;
      return this;
    }

    /**
     * Keeps the payloads of published and filtered records this long after completion ({@link
     * Duration#ZERO}, the default, clears them as the record completes). Dead letters always keep
     * theirs.
     *
     * @throws IllegalArgumentException if negative or longer than {@link #MAX_RETENTION}
     * @throws IllegalStateException if set twice
     */
    public Builder retainPayloads(Duration age) {
      once(retainPayloads != null, "retainPayloads");
      this.retainPayloads = within(age, "retainPayloads", MAX_RETENTION, "10 years");
      return this;
    }

    /**
     * Deletes published and filtered records (with their errors) this long after completion, on
     * {@link JdbcPipelineStore#purge()}; kept forever unless set. Once deleted, their ids can be
     * ingested again.
     *
     * @throws IllegalArgumentException if negative or longer than {@link #MAX_RETENTION}; to keep
     *     them forever, leave it unset
     * @throws IllegalStateException if set twice
     */
    public Builder retainCompleted(Duration age) {
      once(retainCompleted != null, "retainCompleted");
      this.retainCompleted = within(age, "retainCompleted", MAX_RETENTION, "10 years");
      return this;
    }

    /**
     * Deletes processing logs and metric snapshots older than this on {@link
     * JdbcPipelineStore#purge()}; 30 days unless set.
     *
     * @throws IllegalArgumentException if negative or longer than {@link #MAX_RETENTION}
     * @throws IllegalStateException if set twice
     */
    public Builder retainLogs(Duration age) {
      once(retainLogsSet, "retainLogs");
      this.retainLogs = within(age, "retainLogs", MAX_RETENTION, "10 years");
      retainLogsSet = true;
      return this;
    }

    /**
     * Sets how many rows one purge statement removes (1000 unless set).
     *
     * @throws IllegalArgumentException if not between 1 and 100,000
     */
    public Builder purgeBatchSize(int rows) {
      if (rows < 1 || rows > 100_000) {
        throw new IllegalArgumentException(
            "purgeBatchSize must be between 1 and 100000, was " + rows);
      }
      this.purgeBatchSize = rows;
      return this;
    }

    /**
     * Runs {@link JdbcPipelineStore#purge()} this often on a thread of the store; never unless set
     * (call it from your own scheduler then).
     *
     * @throws IllegalArgumentException if shorter than a second or longer than 7 days
     * @throws IllegalStateException if set twice
     */
    public Builder purgeEvery(Duration period) {
      Objects.requireNonNull(period, "period cannot be null");
      once(purgeEvery != null, "purgeEvery");
      if (period.compareTo(Duration.ofSeconds(1)) < 0 || period.compareTo(MAX_PURGE_EVERY) > 0) {
        throw new IllegalArgumentException(
            "purgeEvery must be between 1s and 7 days (PT168H), was " + period);
      }
      this.purgeEvery = period;
      return this;
    }

    /**
     * Sets how long an operation retries transient database errors (lost connection, restart,
     * deadlock) before it fails with {@link JdbcStoreException}; 5 minutes unless set. The pipeline
     * pauses meanwhile.
     *
     * @throws IllegalArgumentException if negative or longer than {@link #MAX_OUTAGE_TOLERANCE}
     * @throws IllegalStateException if set twice
     */
    public Builder outageTolerance(Duration tolerance) {
      once(outageTolerance != null, "outageTolerance");
      this.outageTolerance = within(tolerance, "outageTolerance", MAX_OUTAGE_TOLERANCE, "7 days");
      return this;
    }

    /**
     * Sets the size of the pool the store makes for {@link #h2File} and {@link #jdbcUrl} (10 unless
     * set); the heartbeat has a connection of its own besides.
     *
     * @throws IllegalArgumentException if not between 1 and 1000
     * @throws IllegalStateException if set twice
     */
    public Builder poolSize(int connections) {
      once(poolSizeSet, "poolSize");
      if (connections < 1 || connections > 1000) {
        throw new IllegalArgumentException(
            "poolSize must be between 1 and 1000, was " + connections);
      }
      this.poolSize = connections;
      poolSizeSet = true;
      return this;
    }

    /**
     * Whether {@link #build()} creates and upgrades the schema (true unless set). False for schemas
     * a DBA creates from the scripts in {@code dev/pipeline/jdbc/migrations/}: the store then only
     * checks the version and fails if it is not the one it needs.
     *
     * @throws IllegalStateException if set twice
     */
    public Builder migrateSchema(boolean migrate) {
      once(migrateSet, "migrateSchema");
      this.migrate = migrate;
      migrateSet = true;
      return this;
    }

    /**
     * Whether the store analyzes its status table on PostgreSQL as the table grows (by default it
     * does): each time the rows it inserted or finished reach the table's size at the last analyze,
     * from a background thread. Without current statistics PostgreSQL plans the store's batched
     * record-id lookups as scans of the table, and autovacuum's analyze lags a table growing by
     * thousands of rows a second. Turn it off where a DBA's job keeps the statistics current, or
     * where the store's user may not analyze the table (the store also stops, with a warning, when
     * the database refuses). No effect on H2, which analyzes by itself.
     *
     * @throws IllegalStateException if already set
     */
    public Builder maintainStatistics(boolean maintain) {
      once(maintainStatisticsSet, "maintainStatistics");
      this.maintainStatistics = maintain;
      maintainStatisticsSet = true;
      return this;
    }

    /**
     * Keeps a full row in {@code pipeline_records} for every record from its ingest, as version 2
     * of the schema did, instead of the batch ledger (off by default). The batch ledger writes a
     * few statements per batch on the happy path and gives a record its full row only when it
     * leaves that path (filtered, dead-lettered, parked for a retry, checkpointed); {@code
     * pipeline_status} answers for every record either way. The full ledger costs about three row
     * writes per record; choose it when something outside the store reads the rows of records in
     * flight, or when a record's full row must exist from its ingest on.
     *
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder fullLedger(boolean full) {
      once(fullLedgerSet, "fullLedger");
      this.fullLedger = full;
      fullLedgerSet = true;
      return this;
    }

    private static void once(boolean set, String what) {
      if (set) {
        throw new IllegalStateException(what + " was already set");
      }
    }

    // the bounds keep the store's arithmetic (millis, nanos, the database's timestamps) in range
    private static Duration within(Duration d, String what, Duration max, String maxText) {
      Objects.requireNonNull(d, what + " cannot be null");
      if (d.isNegative() || d.compareTo(max) > 0) {
        throw new IllegalArgumentException(
            what + " must be between PT0S and " + max + " (" + maxText + "), was " + d);
      }
      return d;
    }

    /**
     * Connects, creates or migrates the schema (or checks it), and starts the heartbeat.
     *
     * @throws IllegalStateException if no database was set, or it is neither H2 nor PostgreSQL
     * @throws JdbcStoreException if the database cannot be reached or the schema is not usable
     */
    public JdbcPipelineStore build() {
      if (dataSource == null && url == null) {
        throw new IllegalStateException(
            "no database: set one with dataSource(...), h2File(...) or jdbcUrl(...)");
      }
      String worker = workerId != null ? workerId : Connections.defaultWorkerId();
      Duration leaseDuration = lease != null ? lease : DEFAULT_LEASE;
      Names names = new Names(schema, prefix == null ? "" : prefix);
      HikariDataSource pool = null;
      HikariDataSource heartbeatPool = null;
      try {
        DataSource source;
        Connections.HeartbeatSource heartbeat;
        if (dataSource != null) {
          source = dataSource;
          heartbeat = Connections.reserved(dataSource);
        } else {
          JdbcUrl jdbcUrl = Objects.requireNonNull(url);
          String poolName = "pipeline-jdbc-" + worker;
          pool = Connections.pool(jdbcUrl, user, password, poolSize, poolName);
          heartbeatPool = Connections.pool(jdbcUrl, user, password, 1, poolName + "-heartbeat");
          source = pool;
          heartbeat = Connections.ownPool(heartbeatPool);
        }
        Jdbi jdbi = Jdbi.create(source);
        jdbi.setTemplateEngine(TemplateEngine.NOP);
        Dialect dialect;
        String databaseUrl;
        try (Connection c = source.getConnection()) {
          dialect = Dialect.of(c);
          databaseUrl = c.getMetaData().getURL();
          if (dialect == Dialect.H2) {
            warnOnWriteDelay(c);
          }
        } catch (SQLException e) {
          throw new JdbcStoreException(
              "connect",
              null,
              e.getSQLState(),
              "pipeline-jdbc: cannot connect to the database: " + e.getMessage(),
              e);
        }
        Database db =
            new Database(
                jdbi,
                dialect,
                outageTolerance != null ? outageTolerance : Duration.ofMinutes(5),
                Database.turnsFor(dialect, databaseUrl));
        boolean apply = migrate;
        // in auto-commit mode: the migrator takes its lock and runs each script's transaction
        db.run(
            "migrate",
            null,
            false,
            false,
            h -> {
              Migrator.migrate(h, dialect, names, worker, apply);
              return null;
            });
        JdbcPipelineStore store =
            new JdbcPipelineStore(
                db,
                names,
                worker,
                leaseDuration,
                new Retention(
                    retainPayloads != null ? retainPayloads : Duration.ZERO,
                    retainCompleted,
                    retainLogs,
                    purgeBatchSize),
                pool,
                heartbeat,
                databaseUrl,
                maintainStatistics,
                fullLedger);
        store.start(purgeEvery);
        LOG.info("pipeline-jdbc: {} ready (schema version {})", store, SCHEMA_VERSION);
        return store;
      } catch (RuntimeException e) {
        if (heartbeatPool != null) {
          heartbeatPool.close();
        }
        if (pool != null) {
          pool.close();
        }
        throw e;
      }
    }

    private static void warnOnWriteDelay(Connection c) {
      try (Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS"
                      + " WHERE SETTING_NAME = 'WRITE_DELAY'")) {
        if (rs.next()
            && !"0".equals(rs.getString(1))
            && !c.getMetaData().getURL().contains(":mem:")) {
          LOG.warn(
              "pipeline-jdbc: this H2 database has WRITE_DELAY={} ms: commits of that last"
                  + " interval are lost if the JVM is killed. Add ;WRITE_DELAY=0 to the URL (h2File"
                  + " does)",
              rs.getString(1));
        }
      } catch (SQLException e) {
        // only a warning
      }
    }
  }
}
