package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.MAX_NAME;
import static dev.pipeline.jdbc.Checks.checkPipeline;

import com.zaxxer.hikari.HikariDataSource;
import dev.pipeline.Envelope;
import dev.pipeline.PipelineException;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.Page;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.StatusCounts;
import dev.pipeline.store.StorableText;
import dev.pipeline.store.spi.Claimed;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.Handover;
import dev.pipeline.store.spi.HeldLeases;
import dev.pipeline.store.spi.RecordLedger;
import dev.pipeline.store.spi.ScheduledRetry;
import dev.pipeline.store.spi.StageDescriptor;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
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
public final class JdbcPipelineStore implements RecordLedger {

  private static final Logger LOG = LoggerFactory.getLogger(JdbcPipelineStore.class);

  /** Default lease duration. */
  public static final Duration DEFAULT_LEASE = Duration.ofSeconds(30);

  /** The schema version this library creates and expects. */
  public static final int SCHEMA_VERSION = Migrator.latest();

  private static final String HEARTBEAT = "pipeline-jdbc-heartbeat-";

  private final StoreContext ctx;
  private final @Nullable HikariDataSource ownedPool;
  private final Connections.HeartbeatSource heartbeatSource;
  private final Heartbeat heartbeat;
  private final Purger purger;
  private final List<Thread> threads = new ArrayList<>();
  private final Registration registration;
  private final Ingests ingests;
  private final Checkpoints checkpoints;
  private final SourcePositions positions;
  private final LineageLog lineage;
  private final Queries queries;
  private final DeliveryLedger deliveryLedger;
  private final Completions completions;
  private final RetryQueue retryQueue;
  private final DeadLetterQueue deadLetterQueue;
  private final Claims claims;

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
    StoreContext ctx =
        new StoreContext(
            db, names, workerId, lease, retention, databaseUrl, maintainStatistics, fullLedger);
    this.ctx = ctx;
    this.ownedPool = ownedPool;
    this.heartbeatSource = heartbeatSource;
    this.heartbeat =
        new Heartbeat(
            db,
            ctx.sql,
            workerId,
            ctx.leaseMillis,
            ctx.abandonAfterNanos,
            ctx.leases,
            ctx.ledger,
            heartbeatSource,
            ctx.closed);
    this.purger = new Purger(db, ctx.sql, names, retention, ctx.ledger, ctx.closed);
    this.registration = new Registration(ctx);
    this.ingests = new Ingests(ctx);
    this.checkpoints = new Checkpoints(ctx, ingests);
    this.positions = new SourcePositions(ctx);
    this.lineage = new LineageLog(ctx);
    this.queries = new Queries(ctx);
    this.deliveryLedger = new DeliveryLedger(ctx);
    this.completions = new Completions(ctx, deliveryLedger, queries);
    this.retryQueue = new RetryQueue(ctx, completions, ingests);
    this.deadLetterQueue = new DeadLetterQueue(ctx, queries);
    this.claims = new Claims(ctx, deliveryLedger, ingests);
  }

  /** A builder; set where the database is with exactly one of its connection methods. */
  public static Builder builder() {
    return new Builder();
  }

  private void start(@Nullable Duration purgeEvery) {
    threads.add(
        Thread.ofPlatform().daemon().name(HEARTBEAT + ctx.workerId).unstarted(heartbeat::run));
    if (purgeEvery != null) {
      threads.add(
          Thread.ofPlatform()
              .daemon()
              .name("pipeline-jdbc-purge-" + ctx.workerId)
              .unstarted(() -> purger.loop(purgeEvery)));
    }
    if (ctx.db.dialect == Dialect.POSTGRESQL) {
      threads.add(
          Thread.ofPlatform()
              .daemon()
              .name("pipeline-jdbc-statistics-" + ctx.workerId)
              .unstarted(() -> ctx.statistics.run(ctx.db, ctx.names.status())));
    }
    threads.forEach(Thread::start);
  }

  /** Whether this store keeps the status table's planner statistics current (for tests). */
  boolean maintainsStatistics() {
    return ctx.statistics.maintaining();
  }

  /**
   * How many of this store's operations failed with a transient error of this SQLState and were
   * retried (for tests: {@code HYT00} is H2's lock timeout).
   */
  long retriedErrors(String sqlState) {
    return ctx.db.retries(sqlState);
  }

  /** How many times the heartbeat renewed leases (for tests). */
  long heartbeats() {
    return heartbeat.count();
  }

  /** This worker's id, the lease owner of the records it holds. */
  public String workerId() {
    return ctx.workerId;
  }

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
    registration.register(pipeline, stages);
  }

  @Override
  public void unregister(String pipeline) {
    registration.unregister(pipeline);
  }

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
    return ingests.ingest(pipeline, records, stage, at);
  }

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
    checkpoints.checkpoint(pipeline, records, nextStage, at);
  }

  /**
   * Moves records to their terminal states where this worker still holds their lease.
   *
   * @return the ids refused because another worker took them over (or this worker never held them)
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Set<String> complete(String pipeline, List<Completion> completions) {
    return this.completions.complete(pipeline, completions);
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
    return this.completions.completeAndDeliver(pipeline, completions, delivering);
  }

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
    return retryQueue.scheduleRetries(pipeline, retries, at);
  }

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
    return deadLetterQueue.reprocess(pipeline, recordIds, at);
  }

  /**
   * Replaces a dead letter's payload, encoded with the codec of the stage input it keeps, and sends
   * it back; conditional like {@link #reprocess}.
   *
   * @throws IllegalArgumentException if that input has no codec, the codec cannot encode the
   *     payload, or the pipeline was not built on this store
   */
  @Override
  public boolean reprocessWithPayload(
      String pipeline, String recordId, Object payload, Instant at) {
    return deadLetterQueue.reprocessWithPayload(pipeline, recordId, payload, at);
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
    return deadLetterQueue.discard(pipeline, recordIds, reason, at);
  }

  /**
   * Counts a hand-over to the sink for each record; returns those handed over before.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Set<String> beginDelivery(String pipeline, List<String> recordIds) {
    return this.completions.beginDelivery(pipeline, recordIds);
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
    return deliveryLedger.notHeld(pipeline, recordIds);
  }

  /**
   * Among ids {@link #ingest} found stored, those not finished and not held by this worker.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Set<String> unfinished(String pipeline, Collection<String> recordIds) {
    return deliveryLedger.unfinished(pipeline, recordIds);
  }

  /**
   * The leases other workers hold on the pipeline's records, by the database's clock.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public List<HeldLeases> leasesHeldElsewhere(String pipeline) {
    return deliveryLedger.leasesHeldElsewhere(pipeline);
  }

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
    return claims.claim(pipeline, requested);
  }

  /**
   * As {@link #claim(String, int)}, which also hands over due retries: {@code now} is ignored, the
   * database's clock decides what is due, so that all workers agree.
   */
  @Override
  public List<Claimed> claim(String pipeline, int max, Instant now) {
    return claim(pipeline, max);
  }

  /** Appends lineage events to {@code record_lineage}, in one batched insert. */
  @Override
  public void appendLineage(String pipeline, List<LineageEvent> events) {
    lineage.append(pipeline, events);
  }

  /** A record's lineage events from {@code record_lineage}, oldest first. */
  @Override
  public List<LineageEvent> lineage(String pipeline, String recordId) {
    return lineage.find(pipeline, recordId);
  }

  @Override
  public Optional<String> sourcePosition(String pipeline, String sourceId) {
    return positions.position(pipeline, sourceId);
  }

  @Override
  public void keepSourcePosition(String pipeline, String sourceId, @Nullable String position) {
    positions.keep(pipeline, sourceId, position);
  }

  /**
   * Whether any record of the pipeline, held by any worker, has not reached a terminal state.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public boolean hasUnfinished(String pipeline) {
    return claims.hasUnfinished(pipeline);
  }

  /**
   * What the store knows of a record.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Optional<RecordState> find(String pipeline, String recordId) {
    return queries.find(pipeline, recordId);
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
    return deadLetterQueue.deadLetters(pipeline, query);
  }

  /**
   * How many records of the pipeline are in each state.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public StatusCounts counts(String pipeline) {
    return queries.counts(pipeline);
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
    ctx.checkOpen();
    ctx.releases
        .computeIfAbsent(pipeline, p -> new java.util.concurrent.atomic.AtomicLong())
        .incrementAndGet();
    List<Long> tokens = ctx.leases.releaseAll(pipeline);
    ctx.confirmations.forgetAll(pipeline);
    List<BatchLedger.Batch> batches =
        ctx.ledger == null ? List.of() : ctx.ledger.releaseAll(pipeline);
    ctx.stash.remove(pipeline);
    if (!tokens.isEmpty() || !batches.isEmpty()) {
      ctx.db.call(
          "release",
          pipeline,
          h -> {
            if (!batches.isEmpty()) {
              Objects.requireNonNull(ctx.ledger).release(h, batches);
            }
            return heartbeat.releaseTokens(h, pipeline, tokens);
          });
    }
  }

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
    ctx.checkOpen();
    return purger.purge();
  }

  /**
   * Stops the heartbeat, gives back the records this worker still holds (so that another worker, or
   * the next run, takes them over at once) and closes the pool if the store made it. Idempotent.
   */
  @Override
  public void close() {
    if (!ctx.closed.compareAndSet(false, true)) {
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
    for (String pipeline : ctx.leases.pipelines()) {
      List<Long> tokens = ctx.leases.releaseAll(pipeline);
      List<BatchLedger.Batch> batches =
          ctx.ledger == null ? List.of() : ctx.ledger.releaseAll(pipeline);
      ctx.stash.remove(pipeline);
      if (tokens.isEmpty() && batches.isEmpty()) {
        continue;
      }
      try {
        ctx.db.once(
            h -> {
              if (!batches.isEmpty()) {
                Objects.requireNonNull(ctx.ledger).release(h, batches);
              }
              return heartbeat.releaseTokens(h, pipeline, tokens);
            }); // no retries
      } catch (SQLException | RuntimeException e) {
        LOG.warn(
            "pipeline-jdbc: could not give back the leases of pipeline '{}' on close; they expire"
                + " by themselves within {} ms: {}",
            pipeline,
            ctx.leaseMillis,
            ErrorText.defaults().stackTrace(e));
      }
    }
    heartbeatSource.close();
    if (ownedPool != null) {
      ownedPool.close();
    }
  }

  @Override
  public String toString() {
    return ctx.toString();
  }

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
