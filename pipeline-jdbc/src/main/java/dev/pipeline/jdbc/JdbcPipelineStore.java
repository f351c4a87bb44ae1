package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.checkPipeline;

import com.zaxxer.hikari.HikariDataSource;
import dev.pipeline.Envelope;
import dev.pipeline.PipelineException;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.store.AuditEntry;
import dev.pipeline.store.AuditQuery;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.Page;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.StatusCounts;
import dev.pipeline.store.StorableText;
import dev.pipeline.store.spi.Claimed;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.Handover;
import dev.pipeline.store.spi.HeldLeases;
import dev.pipeline.store.spi.MergeOutcome;
import dev.pipeline.store.spi.MergePart;
import dev.pipeline.store.spi.RecordLedger;
import dev.pipeline.store.spi.ScheduledRetry;
import dev.pipeline.store.spi.SourceReplay;
import dev.pipeline.store.spi.SourceSpan;
import dev.pipeline.store.spi.StageDescriptor;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
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
 *       leases every third of {@link JdbcPipelineStoreBuilder#leaseDuration(Duration) the lease
 *       duration}, on a connection of its own, so a busy pool does not starve it, in short
 *       transactions of 500 records each (on H2, each in its turn), so the pipeline's writes never
 *       wait long behind it, and skips rows other transactions hold (renewing them on the next
 *       beat), so it never waits behind the pipeline's writes. A worker that dies stops renewing;
 *       once its leases expire, another worker's {@link #claim} takes its records over ({@code FOR
 *       UPDATE SKIP LOCKED}, so workers never wait on each other's rows).
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
 *       once, unless {@link JdbcPipelineStoreBuilder#retainPayloads(Duration)} says otherwise.
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
 *       failure) are retried with backoff for up to {@link
 *       JdbcPipelineStoreBuilder#outageTolerance(Duration)}; the pipeline pauses meanwhile and
 *       nothing is lost. Other errors throw {@link JdbcStoreException}, a closed H2 database among
 *       them. The driver's work runs on threads of its own: interrupting a thread that calls the
 *       store (a cancelled run) never interrupts a statement, which would close an H2 database or
 *       break a PostgreSQL connection.
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
  private final History history;
  private final MergeTable merges;
  // per pipeline and source, the position the last span ingest kept with its batch: the reader's
  // keepSourcePosition of the same position right after it is not written again
  private final Map<List<String>, String> spanEnds = new ConcurrentHashMap<>();

  JdbcPipelineStore(
      Database db,
      Names names,
      String workerId,
      Duration lease,
      Retention retention,
      @Nullable HikariDataSource ownedPool,
      Connections.HeartbeatSource heartbeatSource,
      @Nullable String databaseUrl,
      boolean maintainStatistics,
      boolean fullLedger,
      boolean rowsFromIngest) {
    StoreContext ctx =
        new StoreContext(
            db,
            names,
            workerId,
            lease,
            retention,
            databaseUrl,
            maintainStatistics,
            fullLedger,
            rowsFromIngest);
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
    this.history = new History(ctx);
    this.merges = new MergeTable(ctx);
  }

  /** A builder; set where the database is with exactly one of its connection methods. */
  public static JdbcPipelineStoreBuilder builder() {
    return new JdbcPipelineStoreBuilder();
  }

  void start(@Nullable Duration purgeEvery) {
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
   * to the sink. Without it, such a dead letter keeps its last checkpoint. A route branch's sink is
   * registered the same way under {@code <route>/<branch>/sink}, after the sink: with its codec, a
   * record parked in the retry queue there, or that failed there after coming back from it, is kept
   * as that sink received it and goes back to it.
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
    return ingests.ingest(pipeline, records, stage, at, null);
  }

  /**
   * Ingests records read from a seekable source as {@link #ingest(String, List, String, Instant)}
   * does. With the batch ledger, a batch of records from a source that can be read again (see
   * {@link dev.pipeline.SeekableSource#reopens()}) is kept as its span (the source's id, the
   * position before its first record, its count) instead of its records' payloads, and read again
   * from the source when another worker or run claims it; a record whose id the source no longer
   * gives at its place goes to the dead letter queue.
   */
  @Override
  public Set<String> ingest(
      String pipeline,
      List<? extends Envelope<?>> records,
      String stage,
      Instant at,
      SourceSpan span) {
    Set<String> duplicates = ingests.ingest(pipeline, records, stage, at, span);
    if (ctx.ledger != null && Ingests.spanned(records, span)) {
      spanEnds.put(List.of(pipeline, span.sourceId()), span.end());
    }
    return duplicates;
  }

  /**
   * Keeps the run's way to read spans of its sources again: a batch kept as a span is claimed only
   * while this store has a replay of its source.
   */
  @Override
  public void replayFrom(String pipeline, SourceReplay replay) {
    BatchLedger ledger = ctx.ledger;
    if (ledger != null) {
      ledger.claims().replayFrom(pipeline, replay);
    }
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
   * True: merge groups are kept in {@code pipeline_merge_groups} and {@code pipeline_merge_parts}.
   */
  @Override
  public boolean keepsMergeGroups() {
    return true;
  }

  /**
   * {@inheritDoc}
   *
   * <p>One transaction of a few statements per call, whatever the number of parts: the groups' rows
   * are locked in parent id order (missing ones inserted), their parts read, the new parts inserted
   * (payloads encoded with {@code stage}'s input codec and checksummed), the counts updated, and
   * the payloads of the complete groups read back. The row lock serializes two workers giving a
   * group's last parts at once. Parts are kept after their group is merged, so that the group can
   * be merged again (after a crash, or a dead letter sent back), until {@link #purge()} deletes
   * finished groups past the records' retention.
   *
   * @throws PipelineException if a part arrived with its payload and {@code stage} has no input
   *     codec
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public MergeOutcome merge(String pipeline, String stage, List<MergePart> parts, Instant at) {
    return merges.merge(pipeline, stage, parts, at);
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
   * The records whose leases were not confirmed (written or renewed) within nine tenths of a lease,
   * by this worker's two clocks: from memory, without the database. {@link #notHeld} need only be
   * asked of these.
   */
  @Override
  public Collection<String> inDoubt(String pipeline, Collection<String> recordIds) {
    return deliveryLedger.inDoubt(pipeline, recordIds);
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

  /**
   * Appends lineage events to {@code record_traces}, one row per record with its events packed, in
   * one bulk append ({@code COPY} on PostgreSQL).
   */
  @Override
  public void appendLineage(String pipeline, List<LineageEvent> events) {
    lineage.append(pipeline, events);
  }

  /**
   * A record's lineage events, oldest first: from {@code record_lineage} (written before schema
   * version 12), then from its rows of {@code record_traces}.
   */
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
    String keptWithBatch = spanEnds.remove(List.of(pipeline, sourceId));
    if (position != null && position.equals(keptWithBatch)) {
      return; // the span ingest just before kept it, in the batch's own write
    }
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

  @Override
  public boolean hasUnfinishedToTake(String pipeline) {
    return claims.hasUnfinishedToTake(pipeline);
  }

  @Override
  public Map<String, Long> waitingForSources(String pipeline) {
    return claims.waitingForSources(pipeline);
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
   * Appends to {@code processing_logs} in one bulk append per call ({@code COPY} on PostgreSQL, a
   * JDBC batch on H2), from the engine's background writer.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public void appendAudit(List<AuditEntry> entries) {
    history.appendAudit(entries);
  }

  /**
   * Appends to {@code pipeline_metrics} in one bulk append per call ({@code COPY} on PostgreSQL, a
   * JDBC batch on H2), from the engine's background writer.
   *
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public void appendMetrics(List<StageWindow> windows) {
    history.appendMetrics(windows);
  }

  /**
   * One page of the pipeline's {@code processing_logs}, oldest first (by log id), every filter
   * bound; the text is searched as plain text, ignoring case. Lines older than {@link
   * JdbcPipelineStoreBuilder#retainLogs(Duration)} are purged.
   *
   * @throws IllegalArgumentException if the pipeline's name cannot be stored
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public Page<AuditEntry> auditTrail(String pipeline, AuditQuery query) {
    return history.auditTrail(pipeline, query);
  }

  /**
   * The stage's rows of {@code pipeline_metrics} whose window ended in the range, oldest first.
   * Rows older than {@link JdbcPipelineStoreBuilder#retainLogs(Duration)} are purged.
   *
   * @throws IllegalArgumentException if the range ends before it starts
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public List<StageWindow> metricsHistory(String pipeline, String stage, Instant from, Instant to) {
    return history.metricsHistory(pipeline, stage, from, to);
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

  /**
   * How many records of the pipeline are in one state, up to {@code limit}: records waiting to
   * retry and dead letters are counted on their partial indexes (reading at most {@code limit}
   * index entries); the other states, which records of the batch ledger may hold, from {@link
   * #counts}.
   *
   * @throws IllegalArgumentException if {@code limit} is below 1
   * @throws JdbcStoreException if the database fails for good
   */
  @Override
  public long count(String pipeline, RecordStatus status, long limit) {
    Objects.requireNonNull(status, "status cannot be null");
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1, was " + limit);
    }
    if (status == RecordStatus.RETRY_WAIT || status == RecordStatus.DEAD_LETTER) {
      return queries.countUpTo(pipeline, status, limit);
    }
    return Math.min(limit, counts(pipeline).get(status));
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
        ctx.ledger == null ? List.of() : ctx.ledger.held().releaseAll(pipeline);
    ctx.stash.remove(pipeline);
    if (!tokens.isEmpty() || !batches.isEmpty()) {
      ctx.db.call(
          "release",
          pipeline,
          h -> {
            if (!batches.isEmpty()) {
              Objects.requireNonNull(ctx.ledger).leases().release(h, batches);
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
   * @param lineageDeleted rows deleted from {@code record_traces} (each the events of one record
   *     written together) and {@code record_lineage} (each one event, written before schema version
   *     12): lineage of records no longer stored, older than the records' retention
   * @param mergeGroupsDeleted finished merge groups deleted with their parts, completed longer ago
   *     than the records' retention
   * @param seenKeysDeleted keys of uniqueness rules deleted from {@code quality_seen_keys}, first
   *     seen longer ago than {@link JdbcPipelineStoreBuilder#retainSeenKeys(Duration)}
   */
  public record Purged(
      long payloadsCleared,
      long recordsDeleted,
      long logsDeleted,
      long metricsDeleted,
      long lineageDeleted,
      long mergeGroupsDeleted,
      long seenKeysDeleted) {}

  /**
   * Applies the retention settings now, across all pipelines, in batches of {@link
   * JdbcPipelineStoreBuilder#purgeBatchSize(int)} rows (one short transaction each, so live work is
   * not held up): clears the payloads of records published or filtered longer ago than {@link
   * JdbcPipelineStoreBuilder#retainPayloads(Duration)}; deletes those records, with their errors,
   * after {@link JdbcPipelineStoreBuilder#retainCompleted(Duration)} (then their ids may be
   * ingested again), the lineage of records no longer stored whose last event is that old, and
   * merge groups completed that long ago whose children are all finished; deletes keys of
   * uniqueness rules older than {@link JdbcPipelineStoreBuilder#retainSeenKeys(Duration)}; deletes
   * processing logs and metrics older than {@link JdbcPipelineStoreBuilder#retainLogs(Duration)}.
   * Dead letters and records in flight are never purged. Ages are measured on the database's clock
   * from completion.
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
          ctx.ledger == null ? List.of() : ctx.ledger.held().releaseAll(pipeline);
      ctx.stash.remove(pipeline);
      if (tokens.isEmpty() && batches.isEmpty()) {
        continue;
      }
      try {
        ctx.db.once(
            h -> {
              if (!batches.isEmpty()) {
                Objects.requireNonNull(ctx.ledger).leases().release(h, batches);
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
}
