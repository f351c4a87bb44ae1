package dev.pipeline.jdbc;

import dev.pipeline.Envelope;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.spi.SourceReplay;
import dev.pipeline.store.spi.SourceSpan;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.Query;
import org.jspecify.annotations.Nullable;

/**
 * The batch ledger: records on the happy path are kept per batch, not per record.
 *
 * <p>An ingest writes one {@code pipeline_batches} row, holding the batch's payloads packed in one
 * value and the batch's lease, and one narrow {@code pipeline_batch_records} row per record (its id
 * and its place in the batch, which is what makes a repeated id a duplicate). Handing records to
 * the sink appends one {@code D} event per batch; publishing them appends one {@code E} event per
 * batch and moves the batch's counters, closing it ({@code DONE}) with its last record. So the
 * happy path costs a few statements per batch, whatever the batch's size.
 *
 * <p>A record that leaves the happy path (filtered, dead-lettered, parked for a retry, checkpointed
 * at a later stage) is <em>moved</em> first: it gets its full row in {@code pipeline_records},
 * leased under the batch's token, and an {@code E} event takes it out of the batch; from then on
 * the store treats it as it treats every row. The move is fenced by the batch's lease, like every
 * write here: a worker whose batch was re-claimed writes nothing to it.
 *
 * <p>A batch whose lease runs out while it is {@code OPEN} is claimed whole by another worker,
 * which unpacks the records without an {@code E} event and flags those with a {@code D} event as
 * redelivered.
 *
 * <p>This class holds what this worker knows of the batches it holds (their tokens, the records
 * still in flight, their payloads as ingested) and the SQL that writes them; {@link BatchQueries}
 * reads them. Thread-safe.
 */
final class BatchLedger {
  private static final Instant PAST = Instant.EPOCH;

  private final Dialect dialect;
  private final String workerId;
  private final long leaseMillis;
  private final BatchStatements sql;
  private final BatchQueries queries;
  private final Map<String, PipelineBatches> pipelines = new ConcurrentHashMap<>();
  private final Map<String, SourceReplay> replays = new ConcurrentHashMap<>();

  BatchLedger(
      Dialect dialect, Names names, String workerId, long leaseMillis, boolean keepPayloads) {
    this.dialect = dialect;
    this.workerId = workerId;
    this.leaseMillis = leaseMillis;
    this.sql = new BatchStatements(dialect, names, keepPayloads);
    this.queries = new BatchQueries(sql, workerId);
  }

  // ------------------------------------------------------------------ in memory

  /**
   * A record as stored: its payload at its batch's stage, or, in a batch kept as a source span, no
   * payload and the record itself while this worker holds it (encoded only if it leaves the batch).
   */
  record Entry(
      int seq,
      String id,
      byte @Nullable [] payload,
      long checksum,
      @Nullable String metadata,
      @Nullable Envelope<?> record) {

    Entry(int seq, String id, byte[] payload, long checksum, @Nullable String metadata) {
      this(seq, id, payload, checksum, metadata, null);
    }

    /** This entry with its payload encoded at {@code stage}, if it holds its record instead. */
    Entry encoded(String pipeline, String stage, @Nullable PayloadCodec<?> codec) {
      Envelope<?> r = record;
      if (payload != null || r == null || codec == null) {
        return this;
      }
      Payloads.Stored s = Payloads.encode(pipeline, stage, codec, r, "a row of its own");
      return new Entry(seq, id, s.payload(), s.checksum(), s.metadata(), null);
    }
  }

  /** A batch this worker holds: its id, its stage and format, its lease token and claims. */
  record Batch(long id, String stage, String format, long token, int claims) {}

  /** A record of a batch this worker holds. */
  record Slot(Batch batch, Entry entry, boolean noted) {}

  private static final class PipelineBatches {
    final Map<String, Slot> slots = new ConcurrentHashMap<>();
    final Map<Long, Batch> byToken = new ConcurrentHashMap<>();
    // per batch, how many of its records are held here: a batch is forgotten with its last one
    final Map<Batch, Integer> held = new ConcurrentHashMap<>();

    void drop(Batch b) {
      if (held.computeIfPresent(b, (k, n) -> n == 1 ? null : n - 1) == null) {
        byToken.remove(b.token(), b);
      }
    }
  }

  private PipelineBatches of(String pipeline) {
    return pipelines.computeIfAbsent(pipeline, p -> new PipelineBatches());
  }

  /** Keeps the way to read again spans of the sources a run of the pipeline reads. */
  void replayFrom(String pipeline, SourceReplay replay) {
    replays.put(pipeline, replay);
  }

  /** The pipeline's replay, if a run gave one. */
  @Nullable SourceReplay replay(String pipeline) {
    return replays.get(pipeline);
  }

  /** The ids of the sources whose spans this worker can read again (claims take only those). */
  private List<String> replayable(String pipeline) {
    SourceReplay r = replays.get(pipeline);
    return r == null ? List.of() : List.copyOf(r.sources());
  }

  /** The slot of a record this worker holds in a batch, or null (a row, or not held). */
  @Nullable Slot slot(String pipeline, String id) {
    PipelineBatches p = pipelines.get(pipeline);
    return p == null ? null : p.slots.get(id);
  }

  /** Whether any of these records is held here in a batch. */
  boolean anyIn(String pipeline, Collection<String> ids) {
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null || p.slots.isEmpty()) {
      return false;
    }
    for (String id : ids) {
      if (p.slots.containsKey(id)) {
        return true;
      }
    }
    return false;
  }

  /** Notes a batch this worker now holds, with its records in flight. */
  void hold(String pipeline, Batch batch, Collection<Entry> entries, Set<Integer> noted) {
    PipelineBatches p = of(pipeline);
    p.byToken.put(batch.token(), batch);
    int added = 0;
    for (Entry e : entries) {
      Slot before = p.slots.put(e.id(), new Slot(batch, e, noted.contains(e.seq())));
      if (before == null || !before.batch().equals(batch)) {
        added++;
      }
      if (before != null && !before.batch().equals(batch)) {
        p.drop(before.batch());
      }
    }
    if (added > 0) {
      p.held.merge(batch, added, Integer::sum);
    }
  }

  /** Forgets records (ended, moved, lost); a batch with none left is forgotten too. */
  void forget(String pipeline, Collection<String> ids) {
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null) {
      return;
    }
    for (String id : ids) {
      Slot s = p.slots.remove(id);
      if (s != null) {
        p.drop(s.batch());
      }
    }
  }

  /** Marks records as handed to the sink once, so that a second hand-over is flagged. */
  void noted(String pipeline, Collection<String> ids) {
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null) {
      return;
    }
    for (String id : ids) {
      p.slots.computeIfPresent(id, (k, s) -> s.noted() ? s : new Slot(s.batch(), s.entry(), true));
    }
  }

  /** Forgets every batch of the pipeline, returning those held (for a release). */
  List<Batch> releaseAll(String pipeline) {
    PipelineBatches p = pipelines.remove(pipeline);
    return p == null ? List.of() : new ArrayList<>(p.byToken.values());
  }

  /** The batches this worker holds under these tokens. */
  List<Batch> batchesOf(String pipeline, Collection<Long> tokens) {
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null) {
      return List.of();
    }
    List<Batch> out = new ArrayList<>();
    for (Long t : tokens) {
      Batch b = p.byToken.get(t);
      if (b != null) {
        out.add(b);
      }
    }
    return out;
  }

  /** Of these ids, those not held here in a batch (rows, to renew one by one). */
  List<String> notInBatches(String pipeline, List<String> ids) {
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null || p.slots.isEmpty()) {
      return ids;
    }
    List<String> out = new ArrayList<>(ids.size());
    for (String id : ids) {
      if (!p.slots.containsKey(id)) {
        out.add(id);
      }
    }
    return out;
  }

  /** Records grouped by their batch, in batch id order (one lock order for all writers). */
  Map<Batch, List<Slot>> byBatch(String pipeline, Collection<String> ids) {
    Map<Long, Batch> order = new TreeMap<>();
    Map<Batch, List<Slot>> out = new LinkedHashMap<>();
    Map<Batch, List<Slot>> grouped = new HashMap<>();
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null) {
      return out;
    }
    for (String id : new java.util.LinkedHashSet<>(ids)) {
      Slot s = p.slots.get(id);
      if (s != null) {
        order.put(s.batch().id(), s.batch());
        grouped.computeIfAbsent(s.batch(), b -> new ArrayList<>()).add(s);
      }
    }
    for (Batch b : order.values()) {
      out.put(b, grouped.get(b));
    }
    return out;
  }

  // ------------------------------------------------------------------ writes

  /**
   * Inserts a batch of records not stored yet, in the caller's transaction; returns the entries it
   * inserted. On a retry after a lost reply ({@code attempt > 1}), a batch already written under
   * this id is found and its records returned.
   */
  List<Entry> ingest(
      Handle h,
      String pipeline,
      String stage,
      String format,
      long batchId,
      long token,
      List<Entry> entries,
      @Nullable SourceSpan span,
      Instant at,
      int attempt)
      throws SQLException {
    Map<String, Entry> byId = new LinkedHashMap<>();
    for (Entry e : entries) {
      byId.put(e.id(), e);
    }
    if (attempt > 1) {
      Set<String> mine = new HashSet<>();
      h.createQuery(sql.membersOf)
          .bind("pipeline", pipeline)
          .bind("batch", batchId)
          .bind("ids", Args.texts(byId.keySet()))
          .map((rs, ctx) -> rs.getString(2))
          .forEach(mine::add);
      if (!mine.isEmpty()) {
        List<Entry> out = new ArrayList<>();
        for (Entry e : byId.values()) {
          if (mine.contains(e.id())) {
            out.add(e);
          }
        }
        return out;
      }
    }
    Set<String> inserted;
    if (dialect == Dialect.POSTGRESQL) {
      Query insert =
          h.createQuery(sql.insertMembersPg)
              .bind("pipeline", pipeline)
              .bind("batch", batchId)
              .bind("stage", stage)
              .bind("payloads", Args.bytes(span == null ? PackedBatch.pack(entries) : null))
              .bind("format", format)
              .bind("owner", workerId)
              .bind("token", token)
              .bind("lease_ms", leaseMillis)
              .bind("at", Args.time(at));
      bindSpan(insert, span);
      List<Entry> offered = new ArrayList<>(byId.values());
      sql.memberIds.bindRows(insert, "ids", offered, (e, row) -> row.text(e.id()).int32(e.seq()));
      inserted = new HashSet<>(insert.mapTo(String.class).list());
      List<Entry> kept = new ArrayList<>(inserted.size());
      for (Entry e : byId.values()) {
        if (inserted.contains(e.id())) {
          kept.add(e);
        }
      }
      return kept;
    } else {
      Set<String> present =
          new HashSet<>(
              h.createQuery(sql.storedIds)
                  .bind("pipeline", pipeline)
                  .bind("ids", Args.texts(byId.keySet()))
                  .mapTo(String.class)
                  .list());
      if (span != null) {
        // the source's position with the batch, in its transaction: no write of its own
        org.jdbi.v3.core.statement.Update keep =
            h.createUpdate(sql.keepSpanEnd)
                .bind("pipeline", pipeline)
                .bind("owner", workerId)
                .bind("at", Args.time(at))
                .bind("source_id", span.sourceId())
                .bind("source_end", span.end());
        keep.execute();
      }
      List<Entry> absent = new ArrayList<>();
      inserted = new HashSet<>();
      for (Entry e : byId.values()) {
        if (present.add(e.id())) {
          absent.add(e);
          inserted.add(e.id());
        }
      }
      sql.memberRows.append(
          h, absent, (e, row) -> row.text(pipeline).text(e.id()).int64(batchId).int32(e.seq()));
    }
    List<Entry> kept = new ArrayList<>(inserted.size());
    for (Entry e : byId.values()) {
      if (inserted.contains(e.id())) {
        kept.add(e);
      }
    }
    if (kept.isEmpty()) {
      return kept;
    }
    org.jdbi.v3.core.statement.Update insert =
        h.createUpdate(sql.insertBatch)
            .bind("batch", batchId)
            .bind("pipeline", pipeline)
            .bind("stage", stage)
            .bind("size", kept.size())
            .bind("record_ids", Args.texts(kept.stream().map(Entry::id).toList()))
            .bind("payloads", Args.bytes(span == null ? PackedBatch.pack(kept) : null))
            .bind("format", format)
            .bind("owner", workerId)
            .bind("token", token)
            .bind("lease_ms", leaseMillis)
            .bind("at", Args.time(at));
    bindSpan(insert, span);
    insert.execute();
    return kept;
  }

  private static void bindSpan(
      org.jdbi.v3.core.statement.SqlStatement<?> statement, @Nullable SourceSpan span) {
    statement
        .bind("source_id", Args.text(span == null ? null : span.sourceId()))
        .bind("source_position", Args.text(span == null ? null : span.position()))
        .bind("source_count", Args.int32(span == null ? null : span.count()))
        .bind("source_end", Args.text(span == null ? null : span.end()));
  }

  /**
   * Ends records of one batch (published, or moved to rows of their own), fenced by the batch's
   * lease, in the caller's transaction; whether this worker still held the batch. The write that
   * ends its last record closes the batch. {@code event} makes the write count once: on a retry
   * after a lost reply ({@code attempt > 1}) an event already written is found and nothing is
   * written again.
   */
  boolean end(
      Handle h, Batch batch, List<Slot> slots, int published, long event, Instant at, int attempt)
      throws SQLException {
    if (attempt > 1 && exists(h, batch.id(), event, "E")) {
      return true;
    }
    int updated =
        h.createUpdate(sql.write)
            .bind("n", slots.size())
            .bind("published", published)
            .bind("d", 0)
            .bind("at", Args.time(at))
            .bind("batch", batch.id())
            .bind("owner", workerId)
            .bind("token", batch.token())
            .execute();
    if (updated == 0) {
      return false;
    }
    appendEvent(h, batch.id(), event, "E", slots, at);
    return true;
  }

  /**
   * Moves records of one batch to rows of their own in the caller's transaction, fenced by the
   * batch's lease: each row is leased to this worker under the batch's token, at the batch's stage
   * with its payload as ingested. Whether this worker still held the batch (if not, nothing is
   * written).
   */
  boolean move(
      Handle h, String pipeline, Batch batch, List<Slot> slots, long event, Instant at, int attempt)
      throws SQLException {
    if (attempt > 1 && exists(h, batch.id(), event, "E")) {
      return true;
    }
    if (!end(h, batch, slots, 0, event, at, 1)) {
      return false;
    }
    PreparedBatch insert = h.prepareBatch(sql.moveRow);
    for (Slot s : slots) {
      Entry e = s.entry();
      insert
          .bind("pipeline", pipeline)
          .bind("id", e.id())
          .bind("stage", batch.stage())
          .bind("at", Args.time(at))
          .bind("payload", Args.bytes(e.payload()))
          .bind("format", batch.format())
          .bind("checksum", e.checksum())
          .bind("metadata", Args.text(e.metadata()))
          .bind("owner", workerId)
          .bind("token", batch.token())
          .bind("lease_ms", leaseMillis)
          .bind("claims", batch.claims())
          .bind("deliveries", s.noted() ? 1 : 0)
          .add();
    }
    insert.execute();
    return true;
  }

  /** What {@link #write} did: the batches refused, and whether the call had been written before. */
  record Written(Set<Batch> refused, boolean replayed) {}

  /**
   * Writes what one completion-and-delivery call did to the batches it touched, in the caller's
   * transaction, in three round trips whatever the number of batches: one update per batch (its
   * counters, fenced by its lease, which the heartbeat renews; the update that ends its last record
   * closes it), one event per batch and kind ({@code E} for the records published or leaving,
   * {@code D} for those handed to the sink), and the full rows of the records leaving. Returns the
   * batches this worker no longer held, of which nothing is written. On a retry after a lost reply
   * ({@code attempt > 1}) a call already written is recognized by its event token and not written
   * again.
   */
  Written write(
      Handle h,
      String pipeline,
      Map<Batch, List<Slot>> ends,
      Map<Batch, List<Final>> leaves,
      Map<Batch, List<Slot>> notes,
      long event,
      Instant at,
      int attempt)
      throws SQLException {
    Map<Long, Batch> touched = new TreeMap<>(); // one lock order for all writers
    ends.keySet().forEach(b -> touched.put(b.id(), b));
    leaves.keySet().forEach(b -> touched.put(b.id(), b));
    notes.keySet().forEach(b -> touched.put(b.id(), b));
    if (attempt > 1) {
      Set<Long> written =
          new HashSet<>(
              h.createQuery(sql.eventsOfCall).bind("event", event).mapTo(Long.class).list());
      if (!written.isEmpty()) {
        Set<Batch> refused = new HashSet<>();
        touched.forEach(
            (id, b) -> {
              if (!written.contains(id)) {
                refused.add(b);
              }
            });
        return new Written(refused, true);
      }
    }
    List<Batch> order = new ArrayList<>(touched.values());
    PreparedBatch update = h.prepareBatch(sql.write);
    for (Batch b : order) {
      List<Slot> ended = ends.getOrDefault(b, List.of());
      List<Final> leaving = leaves.getOrDefault(b, List.of());
      // the batch counts the records it publishes itself; one published after errors is counted
      // by its own row
      int published = ended.size();
      update
          .bind("n", ended.size() + leaving.size())
          .bind("published", published)
          .bind("d", notes.containsKey(b) ? 1 : 0)
          .bind("at", Args.time(at))
          .bind("batch", b.id())
          .bind("owner", workerId)
          .bind("token", b.token())
          .add();
    }
    int[] counts = update.execute();
    Set<Batch> refused = new HashSet<>();
    PreparedBatch facts = h.prepareBatch(sql.insertEvent);
    PreparedBatch finals = h.prepareBatch(sql.finalRow);
    for (int i = 0; i < order.size(); i++) {
      Batch b = order.get(i);
      if (counts[i] == 0) {
        refused.add(b);
        continue;
      }
      List<Integer> endedSeqs = new ArrayList<>();
      for (Slot slot : ends.getOrDefault(b, List.of())) {
        endedSeqs.add(slot.entry().seq());
      }
      for (Final f : leaves.getOrDefault(b, List.of())) {
        endedSeqs.add(f.slot().entry().seq());
        bindFinal(finals, pipeline, b, f);
      }
      if (!endedSeqs.isEmpty()) {
        bindEvent(facts, b.id(), event, "E", endedSeqs, at);
      }
      List<Slot> noted = notes.get(b);
      if (noted != null) {
        List<Integer> seqs = new ArrayList<>(noted.size());
        for (Slot slot : noted) {
          seqs.add(slot.entry().seq());
        }
        bindEvent(facts, b.id(), event, "D", seqs, at);
      }
    }
    if (facts.size() > 0) {
      facts.execute();
    }
    if (finals.size() > 0) {
      finals.execute();
    }
    return new Written(refused, false);
  }

  private void bindEvent(
      PreparedBatch facts, long batch, long event, String kind, List<Integer> seqs, Instant at) {
    facts
        .bind("batch", batch)
        .bind("event", event)
        .bind("kind", kind)
        .bind("seqs", Args.array("int4", seqs.toArray(Integer[]::new)))
        .bind("at", Args.time(at))
        .bind("owner", workerId)
        .add();
  }

  private void bindFinal(PreparedBatch insert, String pipeline, Batch batch, Final f) {
    insert
        .bind("pipeline", pipeline)
        .bind("id", f.slot().entry().id())
        .bind("stage", f.stage())
        .bind("status", f.status())
        .bind("at", Args.time(f.at()))
        .bind("attempts", f.attempts())
        .bind("last_error", Args.text(f.lastError()))
        .bind("error_type", Args.text(f.errorType()))
        .bind("failed_stage", Args.text(f.failedStage()))
        .bind("reason", Args.text(f.reason()))
        .bind("payload", Args.bytes(f.payload()))
        .bind("format", Args.text(f.format()))
        .bind("checksum", Args.int64(f.checksum()))
        .bind("metadata", Args.text(f.metadata()))
        .bind("token", batch.token())
        .bind("claims", batch.claims())
        .bind("deliveries", f.slot().noted() ? 1 : 0)
        .bind("owner", workerId)
        .bind("dead_at", Args.time(f.status().equals("DEAD_LETTER") ? f.at() : null))
        .add();
  }

  /** A record leaving its batch in its final state: the values of its full row. */
  record Final(
      Slot slot,
      String status,
      String stage,
      @Nullable String failedStage,
      @Nullable String reason,
      int attempts,
      @Nullable String lastError,
      @Nullable String errorType,
      byte @Nullable [] payload,
      @Nullable String format,
      @Nullable Long checksum,
      @Nullable String metadata,
      Instant at) {}

  private boolean exists(Handle h, long batch, long event, String kind) {
    return h.createQuery(sql.eventExists)
            .bind("batch", batch)
            .bind("event", event)
            .bind("kind", kind)
            .mapTo(Integer.class)
            .one()
        > 0;
  }

  private void appendEvent(
      Handle h, long batch, long event, String kind, List<Slot> slots, Instant at) {
    Integer[] seqs = new Integer[slots.size()];
    for (int i = 0; i < seqs.length; i++) {
      seqs[i] = slots.get(i).entry().seq();
    }
    h.createUpdate(sql.insertEvent)
        .bind("batch", batch)
        .bind("event", event)
        .bind("kind", kind)
        .bind("seqs", Args.array("int4", seqs))
        .bind("at", Args.time(at))
        .bind("owner", workerId)
        .execute();
  }

  /**
   * Renews the leases of batches in one statement, each only if this worker still holds it under
   * the token it has; returns the ids of those it holds.
   */
  Set<Long> renewHeld(Handle h, Collection<Batch> held) {
    if (held.isEmpty()) {
      return Set.of();
    }
    Long[] ids = new Long[held.size()];
    Long[] tokens = new Long[held.size()];
    int i = 0;
    for (Batch b : held) {
      ids[i] = b.id();
      tokens[i] = b.token();
      i++;
    }
    return new HashSet<>(
        h.createQuery(sql.renewHeld)
            .bind("lease_ms", leaseMillis)
            .bind("ids", Args.array("bigint", ids))
            .bind("tokens", Args.array("bigint", tokens))
            .bind("owner", workerId)
            .mapTo(Long.class)
            .list());
  }

  /**
   * The heartbeat's renewal of batches, on its own connection. On PostgreSQL one statement that
   * skips the batch rows another transaction holds (a sink call's write renews them itself), so the
   * heartbeat never waits on, or deadlocks with, the record path; on H2, one update per batch in
   * batch id order (H2's record path takes turns with the heartbeat).
   */
  void renew(Connection connection, List<Batch> held) throws SQLException {
    List<Batch> ordered = new ArrayList<>(held);
    ordered.sort(java.util.Comparator.comparingLong(Batch::id));
    if (dialect.locksInSubqueries()) {
      Long[] ids = new Long[ordered.size()];
      Long[] tokens = new Long[ordered.size()];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = ordered.get(i).id();
        tokens[i] = ordered.get(i).token();
      }
      String skipping =
          "UPDATE "
              + sql.batches
              + " SET lease_expires_at = "
              + dialect.plusMillis("?")
              + " WHERE batch_id IN (SELECT b.batch_id FROM "
              + sql.batches
              + " b JOIN UNNEST(CAST(? AS BIGINT[]), CAST(? AS BIGINT[])) AS v(id, token)"
              + " ON b.batch_id = v.id AND b.lease_token = v.token"
              + " WHERE b.lease_owner = ? AND b.state = 'OPEN' ORDER BY b.batch_id"
              + " FOR UPDATE OF b SKIP LOCKED)";
      try (PreparedStatement renew = connection.prepareStatement(skipping)) {
        renew.setLong(1, leaseMillis);
        renew.setArray(2, connection.createArrayOf("bigint", ids));
        renew.setArray(3, connection.createArrayOf("bigint", tokens));
        renew.setString(4, workerId);
        renew.executeUpdate();
      }
      return;
    }
    String positional =
        "UPDATE "
            + sql.batches
            + " SET lease_expires_at = "
            + dialect.plusMillis("?")
            + " WHERE batch_id = ? AND lease_owner = ? AND lease_token = ? AND state = 'OPEN'";
    try (PreparedStatement renew = connection.prepareStatement(positional)) {
      for (Batch b : ordered) {
        renew.setLong(1, leaseMillis);
        renew.setLong(2, b.id());
        renew.setString(3, workerId);
        renew.setLong(4, b.token());
        renew.addBatch();
      }
      renew.executeBatch();
    }
  }

  /** Gives batches back at once: their leases end now, so any worker claims them. */
  int release(Handle h, List<Batch> held) {
    List<Batch> ordered = new ArrayList<>(held);
    ordered.sort(java.util.Comparator.comparingLong(Batch::id)); // one lock order for all writers
    PreparedBatch release = h.prepareBatch(sql.releaseOne);
    for (Batch b : ordered) {
      release
          .bind("past", Args.time(PAST))
          .bind("batch", b.id())
          .bind("owner", workerId)
          .bind("token", b.token())
          .add();
    }
    int n = 0;
    if (release.size() > 0) {
      for (int k : release.execute()) {
        n += Math.max(0, k);
      }
    }
    return n;
  }

  int takeOver(Handle h, String pipeline, String dead) {
    return h.createUpdate(sql.takeOver)
        .bind("past", Args.time(PAST))
        .bind("pipeline", pipeline)
        .bind("dead", dead)
        .execute();
  }

  int renewExpiredHeld(Handle h, String pipeline, Long[] held) {
    return h.createUpdate(sql.renewExpiredHeld)
        .bind("pipeline", pipeline)
        .bind("owner", workerId)
        .bind("lease_ms", leaseMillis)
        .bind("held", Args.array("bigint", held))
        .execute();
  }

  // ------------------------------------------------------------------ claims

  /**
   * A batch claimed: what to hand to the engine, and what to note. A batch kept as a source span
   * has its span, and its pending entries have neither payload nor record: they are read again.
   */
  record Claimed(Batch batch, List<Entry> pending, Set<Integer> noted, @Nullable SourceSpan span) {}

  /**
   * Claims one open batch whose lease ran out (not one this worker holds under a token of {@code
   * held}) under {@code token}, with its records not yet ended; null if there is none.
   */
  @Nullable Claimed claim(Handle h, String pipeline, long token, Long[] held) throws SQLException {
    Map<String, Object> row;
    if (dialect.locksInSubqueries()) {
      row = claimedRow(bindClaim(h.createQuery(sql.claimPg), pipeline, token, held));
    } else {
      List<Long> ids =
          h.createQuery(sql.claimPick)
              .bind("pipeline", pipeline)
              .bind("owner", workerId)
              .bind("held", Args.array("bigint", held))
              .bind("sources", Args.texts(replayable(pipeline)))
              .mapTo(Long.class)
              .list();
      if (ids.isEmpty()) {
        return null;
      }
      long id = ids.get(0);
      int taken =
          h.createUpdate(sql.claimTake)
              .bind("batch", id)
              .bind("pipeline", pipeline)
              .bind("owner", workerId)
              .bind("held", Args.array("bigint", held))
              .bind("sources", Args.texts(replayable(pipeline)))
              .bind("token", token)
              .bind("lease_ms", leaseMillis)
              .execute();
      if (taken == 0) {
        return null;
      }
      row = claimedRow(h.createQuery(sql.claimRead).bind("batch", id));
    }
    if (row == null) {
      return null;
    }
    long id = (Long) row.get("batch_id");
    Set<Integer> ended = new HashSet<>();
    Set<Integer> noted = new HashSet<>();
    h.createQuery(sql.eventsOf)
        .bind("batch", id)
        .map(
            (rs, ctx) -> {
              Set<Integer> into = "E".equals(rs.getString(1)) ? ended : noted;
              Array seqs = rs.getArray(2);
              for (Object o : (Object[]) seqs.getArray()) {
                into.add(((Number) o).intValue());
              }
              return 1;
            })
        .forEach(x -> {});
    SourceSpan span = (SourceSpan) row.get("span");
    byte[] packed = (byte[]) row.get("payloads");
    List<Entry> pending = new ArrayList<>();
    @SuppressWarnings("unchecked")
    List<String> listed = (List<String>) row.get("record_ids");
    if (span != null) {
      members(h, pipeline, id, listed)
          .map((rs, ctx) -> new Entry(rs.getInt(1), rs.getString(2), null, 0, null, null))
          .forEach(
              e -> {
                if (!ended.contains(e.seq())) {
                  pending.add(e);
                }
              });
      pending.sort(java.util.Comparator.comparingInt(Entry::seq));
    } else if (packed != null) {
      Set<Integer> members =
          new HashSet<>(members(h, pipeline, id, listed).mapTo(Integer.class).list());
      for (Entry e : PackedBatch.unpack(packed)) {
        if (members.contains(e.seq()) && !ended.contains(e.seq())) {
          pending.add(e);
        }
      }
    }
    Batch batch =
        new Batch(
            id,
            (String) row.get("stage"),
            String.valueOf(row.get("payload_format")),
            token,
            (Integer) row.get("claim_count"));
    if (pending.isEmpty()) {
      // every record ended, but the batch was not closed: close it now
      h.createUpdate(sql.close)
          .bind("batch", id)
          .bind("owner", workerId)
          .bind("token", token)
          .execute();
    }
    return new Claimed(batch, pending, noted, span);
  }

  private org.jdbi.v3.core.statement.Query bindClaim(
      org.jdbi.v3.core.statement.Query q, String pipeline, long token, Long[] held) {
    return q.bind("pipeline", pipeline)
        .bind("owner", workerId)
        .bind("held", Args.array("bigint", held))
        .bind("sources", Args.texts(replayable(pipeline)))
        .bind("token", token)
        .bind("lease_ms", leaseMillis);
  }

  /** The id rows of a batch (their place and id), found from the ids the batch lists. */
  private Query members(Handle h, String pipeline, long batch, List<String> listed) {
    return h.createQuery(sql.membersOf)
        .bind("pipeline", pipeline)
        .bind("batch", batch)
        .bind("ids", Args.texts(listed));
  }

  private static @Nullable Map<String, Object> claimedRow(org.jdbi.v3.core.statement.Query q) {
    return q.map(
            (rs, ctx) -> {
              Map<String, Object> m = new HashMap<>();
              m.put("batch_id", rs.getLong("batch_id"));
              m.put("stage", rs.getString("stage"));
              m.put("payloads", rs.getBytes("payloads"));
              m.put("payload_format", rs.getString("payload_format"));
              m.put("claim_count", rs.getInt("claim_count"));
              m.put("record_ids", texts(rs.getArray("record_ids")));
              String source = rs.getString("source_id");
              m.put(
                  "span",
                  source == null
                      ? null
                      : new SourceSpan(
                          source,
                          rs.getString("source_position"),
                          rs.getInt("source_count"),
                          rs.getString("source_end")));
              return m;
            })
        .findFirst()
        .orElse(null);
  }

  /** The elements of a text array column; none for NULL. */
  static List<String> texts(@Nullable Array array) throws SQLException {
    if (array == null) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (Object o : (Object[]) array.getArray()) {
      out.add((String) o);
    }
    return out;
  }

  /** What is asked of the batches: where records stand, who holds them, what retention deletes. */
  BatchQueries queries() {
    return queries;
  }
}
