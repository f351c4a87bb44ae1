package dev.pipeline.jdbc;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
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
 * still in flight, their payloads as ingested) and the SQL that writes them. Thread-safe.
 */
final class BatchLedger {
  /** Version of the packed payloads' layout. */
  private static final int PACK_VERSION = 1;

  private static final Instant PAST = Instant.EPOCH;

  private final Dialect dialect;
  private final String workerId;
  private final long leaseMillis;
  private final boolean keepPayloads;
  private final String batches;
  private final String members;
  private final String events;
  private final String rows;
  private final String expiry;
  private final Map<String, PipelineBatches> pipelines = new ConcurrentHashMap<>();

  // the statements
  private final String insertMembersPg;
  private final String storedIds;
  private final String insertMember;
  private final String insertBatch;
  private final String insertEvent;
  private final String eventExists;
  private final String write;
  private final String eventsOfCall;
  private final String renewOne;
  private final String claimPg;
  private final String claimPick;
  private final String claimTake;
  private final String claimRead;
  private final String eventsOf;
  private final String close;
  private final String releaseOne;
  private final String takeOver;
  private final String renewExpiredHeld;
  private final String leasesElsewhere;
  private final String hasOpen;
  private final String counts;
  private final String find;
  private final String unfinishedOf;
  private final String endedHere;
  private final String moveRow;
  private final String finalRow;
  private final String purgeDone;
  private final String holders;
  private final String memberSeqs;
  private final String purgedRecords;
  private final String purgeEvents;
  private final String purgeMembers;
  private final String purgeBatch;

  BatchLedger(
      Dialect dialect, Names names, String workerId, long leaseMillis, boolean keepPayloads) {
    this.dialect = dialect;
    this.workerId = workerId;
    this.leaseMillis = leaseMillis;
    this.keepPayloads = keepPayloads;
    this.batches = names.batches();
    this.members = names.batchRecords();
    this.events = names.batchEvents();
    this.rows = names.status();
    this.expiry = dialect.plusMillis(":lease_ms");
    String fenced = " WHERE batch_id = :batch AND lease_owner = :owner AND lease_token = :token";
    String notHeldHere =
        "NOT (lease_owner IS NOT NULL AND lease_owner = :owner"
            + " AND lease_token = ANY(CAST(:held AS BIGINT ARRAY)))";

    // one statement, so that no transaction stays open between the two inserts (a worker paused
    // there would hold up every other worker's ingest of the same ids); the packed payloads hold
    // every record offered, and a claim unpacks only those whose id row names the batch
    insertMembersPg =
        """
        WITH ins AS (
          INSERT INTO %1$s (pipeline, record_id, batch_id, seq)
          SELECT :pipeline, v.id, :batch, v.seq
          FROM UNNEST(CAST(:ids AS VARCHAR[]), CAST(:seqs AS INTEGER[])) AS v(id, seq)
          WHERE NOT EXISTS (SELECT 1 FROM %2$s t WHERE t.pipeline = :pipeline AND t.record_id = v.id)
          ON CONFLICT DO NOTHING RETURNING record_id
        ), b AS (
          INSERT INTO %3$s (batch_id, pipeline, stage, state, size, payloads, payload_format,
            lease_owner, lease_token, lease_expires_at, worker_id, created_at, updated_at)
          SELECT :batch, :pipeline, :stage, 'OPEN', c.n, :payloads, :format, :owner, :token, %4$s,
            :owner, :at, :at
          FROM (SELECT COUNT(*) AS n FROM ins) c WHERE c.n > 0
          ON CONFLICT DO NOTHING
        )
        SELECT record_id FROM ins
        """
            .formatted(members, rows, batches, expiry);
    storedIds =
        """
        SELECT t.record_id FROM %1$s t JOIN UNNEST(CAST(:ids AS VARCHAR ARRAY)) u(x)
          ON t.pipeline = :pipeline AND t.record_id = u.x
        UNION ALL
        SELECT m.record_id FROM %2$s m JOIN UNNEST(CAST(:ids AS VARCHAR ARRAY)) u(x)
          ON m.pipeline = :pipeline AND m.record_id = u.x
        """
            .formatted(rows, members);
    insertMember =
        "INSERT INTO "
            + members
            + " (pipeline, record_id, batch_id, seq) VALUES (:pipeline, :id, :batch, :seq)";
    insertBatch =
        "INSERT INTO "
            + batches
            + " (batch_id, pipeline, stage, state, size, payloads, payload_format, lease_owner,"
            + " lease_token, lease_expires_at, worker_id, created_at, updated_at) VALUES (:batch,"
            + " :pipeline, :stage, 'OPEN', :size, :payloads, :format, :owner, :token, "
            + expiry
            + ", :owner, :at, :at)";
    insertEvent =
        "INSERT INTO "
            + events
            + " (batch_id, event_token, kind, seqs, occurred_at, worker_id) VALUES (:batch, :event,"
            + " :kind, :seqs, :at, :owner)";
    eventExists =
        "SELECT COUNT(*) FROM "
            + events
            + " WHERE batch_id = :batch AND event_token = :event AND kind = :kind";
    renewOne = "UPDATE " + batches + " SET lease_expires_at = " + expiry + fenced;
    // closed by the write that ends its last record, decided on the row as locked: two writes may
    // be made in one order and committed in the other
    write =
        "UPDATE "
            + batches
            + " SET ended = ended + :n, published = published + :published,"
            + " deliveries = deliveries + :d, updated_at = :at, lease_expires_at = "
            + expiry
            + ", state = CASE WHEN ended + :n >= size THEN 'DONE' ELSE state END,"
            + " completed_at = CASE WHEN ended + :n >= size THEN CURRENT_TIMESTAMP"
            + " ELSE completed_at END"
            + (keepPayloads
                ? ""
                : ", payloads = CASE WHEN ended + :n >= size THEN NULL ELSE payloads END")
            + fenced;
    eventsOfCall = "SELECT DISTINCT batch_id FROM " + events + " WHERE event_token = :event";
    String claimable =
        "pipeline = :pipeline AND state = 'OPEN' AND lease_expires_at < CURRENT_TIMESTAMP AND "
            + notHeldHere;
    String claimSet =
        "lease_owner = :owner, lease_token = :token, lease_expires_at = "
            + expiry
            + ", claim_count = claim_count + 1, worker_id = :owner";
    String claimColumns = "batch_id, stage, payloads, payload_format, claim_count, size";
    claimPg =
        "UPDATE "
            + batches
            + " SET "
            + claimSet
            + " WHERE batch_id = (SELECT batch_id FROM "
            + batches
            + " WHERE "
            + claimable
            + " ORDER BY lease_expires_at LIMIT 1 FOR UPDATE SKIP LOCKED) AND "
            + claimable
            + " RETURNING "
            + claimColumns;
    claimPick =
        "SELECT batch_id FROM "
            + batches
            + " WHERE "
            + claimable
            + " "
            + dialect.limit("1")
            + " FOR UPDATE SKIP LOCKED";
    claimTake =
        "UPDATE " + batches + " SET " + claimSet + " WHERE batch_id = :batch AND " + claimable;
    claimRead = "SELECT " + claimColumns + " FROM " + batches + " WHERE batch_id = :batch";
    eventsOf = "SELECT kind, seqs FROM " + events + " WHERE batch_id = :batch";
    close =
        "UPDATE "
            + batches
            + " SET state = 'DONE', completed_at = CURRENT_TIMESTAMP, updated_at = CURRENT_TIMESTAMP"
            + (keepPayloads ? "" : ", payloads = NULL")
            + fenced;
    releaseOne =
        "UPDATE "
            + batches
            + " SET lease_owner = NULL, lease_expires_at = :past"
            + fenced
            + " AND state = 'OPEN'";
    takeOver =
        "UPDATE "
            + batches
            + " SET lease_owner = NULL, lease_expires_at = :past"
            + " WHERE pipeline = :pipeline AND lease_owner = :dead AND state = 'OPEN'";
    renewExpiredHeld =
        "UPDATE "
            + batches
            + " SET lease_expires_at = "
            + expiry
            + " WHERE pipeline = :pipeline AND state = 'OPEN' AND lease_owner = :owner"
            + " AND lease_expires_at < CURRENT_TIMESTAMP"
            + " AND lease_token = ANY(CAST(:held AS BIGINT ARRAY))";
    leasesElsewhere =
        "SELECT lease_owner, SUM(size - ended) AS records, MAX(lease_expires_at) AS expires,"
            + " CURRENT_TIMESTAMP AS now FROM "
            + batches
            + " WHERE pipeline = :pipeline AND state = 'OPEN' AND lease_owner <> :owner"
            + " GROUP BY lease_owner";
    hasOpen =
        "SELECT COUNT(*) FROM (SELECT 1 FROM "
            + batches
            + " WHERE pipeline = :pipeline AND state = 'OPEN' "
            + dialect.limit("1")
            + ") x";
    counts =
        "SELECT COALESCE(SUM(published), 0),"
            + " COALESCE(SUM(CASE WHEN lease_owner IS NULL THEN 0 ELSE size - ended END), 0),"
            + " COALESCE(SUM(CASE WHEN lease_owner IS NULL THEN size - ended ELSE 0 END), 0)"
            + " FROM "
            + batches
            + " WHERE pipeline = :pipeline";
    find =
        "SELECT b.batch_id, b.stage, b.state, b.lease_owner, b.created_at, b.updated_at, m.seq"
            + " FROM "
            + members
            + " m JOIN "
            + batches
            + " b ON b.batch_id = m.batch_id WHERE m.pipeline = :pipeline AND m.record_id = :id";
    unfinishedOf =
        "SELECT m.record_id FROM "
            + members
            + " m JOIN UNNEST(CAST(:ids AS VARCHAR ARRAY)) u(x) ON m.pipeline = :pipeline"
            + " AND m.record_id = u.x JOIN "
            + batches
            + " b ON b.batch_id = m.batch_id WHERE b.state = 'OPEN'"
            + " AND (b.lease_owner IS NULL OR b.lease_owner <> :owner OR b.claim_count > 0)"
            + " AND NOT EXISTS (SELECT 1 FROM "
            + rows
            + " t WHERE t.pipeline = m.pipeline AND t.record_id = m.record_id)";
    endedHere =
        "SELECT m.record_id, m.seq, b.batch_id, b.state FROM "
            + members
            + " m JOIN UNNEST(CAST(:ids AS VARCHAR ARRAY)) u(x) ON m.pipeline = :pipeline"
            + " AND m.record_id = u.x JOIN "
            + batches
            + " b ON b.batch_id = m.batch_id WHERE b.worker_id = :owner";
    moveRow =
        "INSERT INTO "
            + rows
            + " (pipeline, record_id, current_stage, status, started_at, updated_at, payload,"
            + " payload_format, payload_checksum, metadata, lease_owner, lease_token,"
            + " lease_expires_at, claim_count, deliveries, worker_id) VALUES (:pipeline, :id,"
            + " :stage, 'IN_PROGRESS', :at, :at, :payload, :format, :checksum, :metadata, :owner,"
            + " :token, "
            + expiry
            + ", :claims, :deliveries, :owner)";
    finalRow =
        "INSERT INTO "
            + rows
            + " (pipeline, record_id, current_stage, status, started_at, updated_at,"
            + " attempt_count, last_error, error_type, failed_stage, reason, payload,"
            + " payload_format, payload_checksum, metadata, lease_token, claim_count, deliveries,"
            + " worker_id, dead_lettered_at, completed_at) VALUES (:pipeline, :id, :stage, :status,"
            + " :at, :at, :attempts, :last_error, :error_type, :failed_stage, :reason, :payload,"
            + " :format, :checksum, :metadata, :token, :claims, :deliveries, :owner, :dead_at,"
            + " CURRENT_TIMESTAMP)";
    purgeDone =
        "SELECT batch_id FROM "
            + batches
            + " WHERE state = 'DONE' AND completed_at < "
            + dialect.minusMillis(":age_ms")
            + " "
            + dialect.limit(":batch");
    purgeEvents = "DELETE FROM " + events + " WHERE batch_id = :batch";
    memberSeqs = "SELECT seq FROM " + members + " WHERE batch_id = :batch";
    // the records a purge of the batch deletes: those without a row of their own, which stays
    purgedRecords =
        "SELECT COUNT(*) FROM "
            + members
            + " m WHERE m.batch_id = :batch AND NOT EXISTS (SELECT 1 FROM "
            + rows
            + " t WHERE t.pipeline = m.pipeline AND t.record_id = m.record_id)";
    holders =
        "SELECT m.record_id, b.state, b.lease_owner, b.worker_id FROM "
            + members
            + " m JOIN UNNEST(CAST(:ids AS VARCHAR ARRAY)) u(x) ON m.pipeline = :pipeline"
            + " AND m.record_id = u.x JOIN "
            + batches
            + " b ON b.batch_id = m.batch_id";
    purgeMembers = "DELETE FROM " + members + " WHERE batch_id = :batch";
    purgeBatch = "DELETE FROM " + batches + " WHERE batch_id = :batch AND state = 'DONE'";
  }

  // ------------------------------------------------------------------ in memory

  /** A record as stored: its payload at its batch's stage. */
  record Entry(int seq, String id, byte[] payload, long checksum, @Nullable String metadata) {}

  /** A batch this worker holds: its id, its stage and format, its lease token and claims. */
  record Batch(long id, String stage, String format, long token, int claims) {}

  /** A record of a batch this worker holds. */
  record Slot(Batch batch, Entry entry, boolean noted) {}

  private static final class PipelineBatches {
    final Map<String, Slot> slots = new ConcurrentHashMap<>();
    final Map<Long, Batch> byToken = new ConcurrentHashMap<>();
  }

  private PipelineBatches of(String pipeline) {
    return pipelines.computeIfAbsent(pipeline, p -> new PipelineBatches());
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
    for (Entry e : entries) {
      p.slots.put(e.id(), new Slot(batch, e, noted.contains(e.seq())));
    }
  }

  /** Forgets records (ended, moved, lost); a batch with none left is forgotten too. */
  void forget(String pipeline, Collection<String> ids) {
    PipelineBatches p = pipelines.get(pipeline);
    if (p == null) {
      return;
    }
    Set<Batch> touched = new HashSet<>();
    for (String id : ids) {
      Slot s = p.slots.remove(id);
      if (s != null) {
        touched.add(s.batch());
      }
    }
    if (touched.isEmpty()) {
      return;
    }
    Set<Batch> live = new HashSet<>();
    for (Slot s : p.slots.values()) {
      if (touched.contains(s.batch())) {
        live.add(s.batch());
      }
    }
    for (Batch b : touched) {
      if (!live.contains(b)) {
        p.byToken.remove(b.token(), b);
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

  // ------------------------------------------------------------------ packing

  /** Packs a batch's entries into one value. */
  static byte[] pack(List<Entry> entries) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + entries.size() * 256);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeInt(PACK_VERSION);
      out.writeInt(entries.size());
      for (Entry e : entries) {
        out.writeInt(e.seq());
        writeText(out, e.id());
        out.writeInt(e.payload().length);
        out.write(e.payload());
        out.writeLong(e.checksum());
        writeText(out, e.metadata());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /**
   * Unpacks a batch's entries.
   *
   * @throws IllegalArgumentException if the value is not a packed batch this version can read
   */
  static List<Entry> unpack(byte[] packed) {
    try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(packed))) {
      int version = in.readInt();
      if (version != PACK_VERSION) {
        throw new IllegalArgumentException("packed batch of unknown layout version " + version);
      }
      int n = in.readInt();
      if (n < 0 || n > packed.length) {
        throw new IllegalArgumentException("packed batch says it holds " + n + " records");
      }
      List<Entry> entries = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        int seq = in.readInt();
        String id = readText(in);
        int length = in.readInt();
        if (length < 0 || length > in.available()) {
          throw new IllegalArgumentException("packed batch is cut short at record " + i);
        }
        byte[] payload = in.readNBytes(length);
        long checksum = in.readLong();
        String metadata = readText(in);
        if (id == null) {
          throw new IllegalArgumentException("packed batch has a record without an id");
        }
        entries.add(new Entry(seq, id, payload, checksum, metadata));
      }
      return entries;
    } catch (IOException e) {
      throw new IllegalArgumentException("packed batch is cut short", e);
    }
  }

  private static void writeText(DataOutputStream out, @Nullable String text) throws IOException {
    if (text == null) {
      out.writeInt(-1);
      return;
    }
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  private static @Nullable String readText(DataInputStream in) throws IOException {
    int length = in.readInt();
    if (length < 0) {
      return null;
    }
    if (length > in.available()) {
      throw new IOException("text longer than what is left");
    }
    return new String(in.readNBytes(length), StandardCharsets.UTF_8);
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
      Instant at,
      int attempt)
      throws SQLException {
    Map<String, Entry> byId = new LinkedHashMap<>();
    for (Entry e : entries) {
      byId.put(e.id(), e);
    }
    if (attempt > 1) {
      List<String> mine =
          h.createQuery("SELECT record_id FROM " + members + " WHERE batch_id = :batch")
              .bind("batch", batchId)
              .mapTo(String.class)
              .list();
      if (!mine.isEmpty()) {
        List<Entry> out = new ArrayList<>();
        for (String id : mine) {
          Entry e = byId.get(id);
          if (e != null) {
            out.add(e);
          }
        }
        return out;
      }
    }
    Set<String> inserted;
    if (dialect == Dialect.POSTGRESQL) {
      String[] ids = byId.keySet().toArray(String[]::new);
      Integer[] seqs = new Integer[ids.length];
      for (int i = 0; i < ids.length; i++) {
        seqs[i] = byId.get(ids[i]).seq();
      }
      inserted =
          new HashSet<>(
              h.createQuery(insertMembersPg)
                  .bind("pipeline", pipeline)
                  .bind("batch", batchId)
                  .bind("ids", Args.array("varchar", ids))
                  .bind("seqs", Args.array("int4", seqs))
                  .bind("stage", stage)
                  .bind("payloads", Args.bytes(pack(entries)))
                  .bind("format", format)
                  .bind("owner", workerId)
                  .bind("token", token)
                  .bind("lease_ms", leaseMillis)
                  .bind("at", Args.time(at))
                  .mapTo(String.class)
                  .list());
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
              h.createQuery(storedIds)
                  .bind("pipeline", pipeline)
                  .bind("ids", Args.texts(byId.keySet()))
                  .mapTo(String.class)
                  .list());
      inserted = new HashSet<>();
      PreparedBatch insert = h.prepareBatch(insertMember);
      for (Entry e : byId.values()) {
        if (present.contains(e.id())) {
          continue;
        }
        insert
            .bind("pipeline", pipeline)
            .bind("id", e.id())
            .bind("batch", batchId)
            .bind("seq", e.seq())
            .add();
        inserted.add(e.id());
      }
      if (insert.size() > 0) {
        insert.execute();
      }
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
    h.createUpdate(insertBatch)
        .bind("batch", batchId)
        .bind("pipeline", pipeline)
        .bind("stage", stage)
        .bind("size", kept.size())
        .bind("payloads", Args.bytes(pack(kept)))
        .bind("format", format)
        .bind("owner", workerId)
        .bind("token", token)
        .bind("lease_ms", leaseMillis)
        .bind("at", Args.time(at))
        .execute();
    return kept;
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
        h.createUpdate(write)
            .bind("n", slots.size())
            .bind("published", published)
            .bind("d", 0)
            .bind("at", Args.time(at))
            .bind("lease_ms", leaseMillis)
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
    PreparedBatch insert = h.prepareBatch(moveRow);
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
   * counters and lease, fenced by it; the update that ends its last record closes it), one event
   * per batch and kind ({@code E} for the records published or leaving, {@code D} for those handed
   * to the sink), and the full rows of the records leaving. Returns the batches this worker no
   * longer held, of which nothing is written. On a retry after a lost reply ({@code attempt > 1}) a
   * call already written is recognized by its event token and not written again.
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
          new HashSet<>(h.createQuery(eventsOfCall).bind("event", event).mapTo(Long.class).list());
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
    PreparedBatch update = h.prepareBatch(write);
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
          .bind("lease_ms", leaseMillis)
          .bind("batch", b.id())
          .bind("owner", workerId)
          .bind("token", b.token())
          .add();
    }
    int[] counts = update.execute();
    Set<Batch> refused = new HashSet<>();
    PreparedBatch facts = h.prepareBatch(insertEvent);
    PreparedBatch finals = h.prepareBatch(finalRow);
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
    return h.createQuery(eventExists)
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
    h.createUpdate(insertEvent)
        .bind("batch", batch)
        .bind("event", event)
        .bind("kind", kind)
        .bind("seqs", Args.array("int4", seqs))
        .bind("at", Args.time(at))
        .bind("owner", workerId)
        .execute();
  }

  /** Renews the lease of one batch; whether this worker still holds it. */
  boolean renew(Handle h, Batch batch) {
    return h.createUpdate(renewOne)
            .bind("lease_ms", leaseMillis)
            .bind("batch", batch.id())
            .bind("owner", workerId)
            .bind("token", batch.token())
            .execute()
        > 0;
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
              + batches
              + " SET lease_expires_at = "
              + dialect.plusMillis("?")
              + " WHERE batch_id IN (SELECT b.batch_id FROM "
              + batches
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
            + batches
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
    PreparedBatch release = h.prepareBatch(releaseOne);
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
    return h.createUpdate(takeOver)
        .bind("past", Args.time(PAST))
        .bind("pipeline", pipeline)
        .bind("dead", dead)
        .execute();
  }

  int renewExpiredHeld(Handle h, String pipeline, Long[] held) {
    return h.createUpdate(renewExpiredHeld)
        .bind("pipeline", pipeline)
        .bind("owner", workerId)
        .bind("lease_ms", leaseMillis)
        .bind("held", Args.array("bigint", held))
        .execute();
  }

  // ------------------------------------------------------------------ claims

  /** A batch claimed: what to hand to the engine, and what to note. */
  record Claimed(Batch batch, List<Entry> pending, Set<Integer> noted) {}

  /**
   * Claims one open batch whose lease ran out (not one this worker holds under a token of {@code
   * held}) under {@code token}, with its records not yet ended; null if there is none.
   */
  @Nullable Claimed claim(Handle h, String pipeline, long token, Long[] held) throws SQLException {
    Map<String, Object> row;
    if (dialect.locksInSubqueries()) {
      row = claimedRow(bindClaim(h.createQuery(claimPg), pipeline, token, held));
    } else {
      List<Long> ids =
          h.createQuery(claimPick)
              .bind("pipeline", pipeline)
              .bind("owner", workerId)
              .bind("held", Args.array("bigint", held))
              .mapTo(Long.class)
              .list();
      if (ids.isEmpty()) {
        return null;
      }
      long id = ids.get(0);
      int taken =
          h.createUpdate(claimTake)
              .bind("batch", id)
              .bind("pipeline", pipeline)
              .bind("owner", workerId)
              .bind("held", Args.array("bigint", held))
              .bind("token", token)
              .bind("lease_ms", leaseMillis)
              .execute();
      if (taken == 0) {
        return null;
      }
      row = claimedRow(h.createQuery(claimRead).bind("batch", id));
    }
    if (row == null) {
      return null;
    }
    long id = (Long) row.get("batch_id");
    Set<Integer> ended = new HashSet<>();
    Set<Integer> noted = new HashSet<>();
    h.createQuery(eventsOf)
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
    Set<Integer> members =
        new HashSet<>(h.createQuery(memberSeqs).bind("batch", id).mapTo(Integer.class).list());
    byte[] packed = (byte[]) row.get("payloads");
    List<Entry> pending = new ArrayList<>();
    if (packed != null) {
      for (Entry e : unpack(packed)) {
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
      h.createUpdate(close)
          .bind("batch", id)
          .bind("owner", workerId)
          .bind("token", token)
          .execute();
    }
    return new Claimed(batch, pending, noted);
  }

  private org.jdbi.v3.core.statement.Query bindClaim(
      org.jdbi.v3.core.statement.Query q, String pipeline, long token, Long[] held) {
    return q.bind("pipeline", pipeline)
        .bind("owner", workerId)
        .bind("held", Args.array("bigint", held))
        .bind("token", token)
        .bind("lease_ms", leaseMillis);
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
              return m;
            })
        .findFirst()
        .orElse(null);
  }

  // ------------------------------------------------------------------ queries

  boolean hasOpen(Handle h, String pipeline) {
    return h.createQuery(hasOpen).bind("pipeline", pipeline).mapTo(Integer.class).one() > 0;
  }

  /**
   * Records of batches: published, in flight (leased), and ready (given back: in an open batch
   * without a lease owner).
   */
  long[] counts(Handle h, String pipeline) {
    return h.createQuery(counts)
        .bind("pipeline", pipeline)
        .map((rs, ctx) -> new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)})
        .one();
  }

  /** Where a record of a batch stands: published, or in progress. */
  record Found(
      String stage,
      boolean published,
      boolean ready,
      int deliveries,
      Instant startedAt,
      Instant at) {}

  @Nullable Found find(Handle h, String pipeline, String id) throws SQLException {
    Map<String, Object> row =
        h.createQuery(find)
            .bind("pipeline", pipeline)
            .bind("id", id)
            .map(
                (rs, ctx) -> {
                  Map<String, Object> m = new HashMap<>();
                  m.put("batch_id", rs.getLong("batch_id"));
                  m.put("stage", rs.getString("stage"));
                  m.put("state", rs.getString("state"));
                  m.put("ready", rs.getString("lease_owner") == null);
                  m.put("created_at", Args.instant(rs, "created_at"));
                  m.put("updated_at", Args.instant(rs, "updated_at"));
                  m.put("seq", rs.getInt("seq"));
                  return m;
                })
            .findFirst()
            .orElse(null);
    if (row == null) {
      return null;
    }
    int seq = (Integer) row.get("seq");
    boolean[] ended = {"DONE".equals(row.get("state"))};
    int[] deliveries = {0};
    h.createQuery(eventsOf)
        .bind("batch", (Long) row.get("batch_id"))
        .map(
            (rs, ctx) -> {
              boolean e = "E".equals(rs.getString(1));
              for (Object o : (Object[]) rs.getArray(2).getArray()) {
                if (((Number) o).intValue() == seq) {
                  if (e) {
                    ended[0] = true;
                  } else {
                    deliveries[0]++;
                  }
                }
              }
              return 1;
            })
        .forEach(x -> {});
    return new Found(
        (String) row.get("stage"),
        ended[0],
        (Boolean) row.get("ready"),
        deliveries[0],
        (Instant) row.get("created_at"),
        (Instant) row.get("updated_at"));
  }

  /** Of ids found stored, those in open batches not held by this worker since its ingest. */
  List<String> unfinished(Handle h, String pipeline, Collection<String> ids) {
    return h.createQuery(unfinishedOf)
        .bind("pipeline", pipeline)
        .bind("owner", workerId)
        .bind("ids", Args.texts(ids))
        .mapTo(String.class)
        .list();
  }

  /**
   * Of ids without a row, those of batches this worker ended: a second completion of a record it
   * published already, which is ignored rather than refused.
   */
  Set<String> endedHere(Handle h, String pipeline, Collection<String> ids) throws SQLException {
    if (ids.isEmpty()) {
      return Set.of();
    }
    Set<String> out = new HashSet<>();
    Map<Long, Map<Integer, String>> open = new HashMap<>();
    h.createQuery(endedHere)
        .bind("pipeline", pipeline)
        .bind("owner", workerId)
        .bind("ids", Args.texts(ids))
        .map(
            (rs, ctx) -> {
              if ("DONE".equals(rs.getString("state"))) {
                out.add(rs.getString("record_id"));
              } else {
                open.computeIfAbsent(rs.getLong("batch_id"), k -> new HashMap<>())
                    .put(rs.getInt("seq"), rs.getString("record_id"));
              }
              return 1;
            })
        .forEach(x -> {});
    for (Map.Entry<Long, Map<Integer, String>> e : open.entrySet()) {
      h.createQuery(eventsOf)
          .bind("batch", e.getKey())
          .map(
              (rs, ctx) -> {
                if ("E".equals(rs.getString(1))) {
                  for (Object o : (Object[]) rs.getArray(2).getArray()) {
                    String id = e.getValue().get(((Number) o).intValue());
                    if (id != null) {
                      out.add(id);
                    }
                  }
                }
                return 1;
              })
          .forEach(x -> {});
    }
    return out;
  }

  /**
   * Who holds records of batches now, for a message: by id, the batch's state, lease owner (null if
   * given back) and last claimer.
   */
  Map<String, String[]> holders(Handle h, String pipeline, Collection<String> ids) {
    Map<String, String[]> out = new HashMap<>();
    h.createQuery(holders)
        .bind("pipeline", pipeline)
        .bind("ids", Args.texts(ids))
        .map(
            (rs, ctx) ->
                out.put(
                    rs.getString(1),
                    new String[] {rs.getString(2), rs.getString(3), rs.getString(4)}))
        .forEach(x -> {});
    return out;
  }

  /** Leases other workers hold on open batches: owner, records, latest expiry, now. */
  List<Object[]> leasesElsewhere(Handle h, String pipeline) {
    return h.createQuery(leasesElsewhere)
        .bind("pipeline", pipeline)
        .bind("owner", workerId)
        .map(
            (rs, ctx) ->
                new Object[] {
                  rs.getString("lease_owner"),
                  rs.getLong("records"),
                  Args.instant(rs, "expires"),
                  Args.instant(rs, "now")
                })
        .list();
  }

  // ------------------------------------------------------------------ retention

  /**
   * Deletes up to {@code max} batches done longer ago than the age, with their records' ids;
   * returns the batches deleted and the records deleted with them (those that left the batch keep
   * their rows, and are not counted).
   */
  int[] purge(Handle h, long ageMillis, int max) {
    List<Long> done =
        h.createQuery(purgeDone)
            .bind("age_ms", ageMillis)
            .bind("batch", max)
            .mapTo(Long.class)
            .list();
    if (done.isEmpty()) {
      return new int[] {0, 0};
    }
    PreparedBatch e = h.prepareBatch(purgeEvents);
    PreparedBatch m = h.prepareBatch(purgeMembers);
    PreparedBatch b = h.prepareBatch(purgeBatch);
    for (long id : done) {
      e.bind("batch", id).add();
      m.bind("batch", id).add();
      b.bind("batch", id).add();
    }
    int records = 0;
    for (long id : done) {
      records += h.createQuery(purgedRecords).bind("batch", id).mapTo(Integer.class).one();
    }
    e.execute();
    m.execute();
    b.execute();
    return new int[] {done.size(), records};
  }
}
