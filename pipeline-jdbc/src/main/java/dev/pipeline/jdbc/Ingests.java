package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.cut;
import static dev.pipeline.jdbc.Payloads.encode;

import dev.pipeline.Envelope;
import dev.pipeline.PipelineException;
import dev.pipeline.jdbc.Payloads.Stored;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.StorableText;
import dev.pipeline.store.spi.SourceSpan;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.Query;
import org.jspecify.annotations.Nullable;

/**
 * Ingests records for a {@link JdbcPipelineStore}: inserts the records not stored yet, leased to
 * this worker (as batches of the batch ledger, or a row each), and gives records of the batch
 * ledger full rows of their own before they are written one by one.
 */
final class Ingests extends StoreContext {
  Ingests(StoreContext shared) {
    super(shared);
  }

  private static final int INGEST_CHUNK = 200;

  // records per batch of the batch ledger: an ingest of more is written as several batches
  private static final int BATCH_CHUNK = 5_000;
  // payload bytes per batch of the batch ledger: large payloads make smaller batches, so that one
  // packed value stays far below what a byte array, a driver and a database row take
  private static final long BATCH_BYTES = 16L << 20;

  /**
   * Ingests records; with a span (records read from a seekable source that can be read again), the
   * batch ledger keeps the span instead of encoding and storing their payloads.
   */
  Set<String> ingest(
      String pipeline,
      List<? extends Envelope<?>> records,
      String stage,
      Instant at,
      @Nullable SourceSpan span) {
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
    if (span != null) {
      if (ledger != null && spanned(records, span)) {
        return ingestSpan(pipeline, stage, cut(codec.name(), 300), records, span, at);
      }
      // a span's records may repeat an id: the later copies are skipped, not reported as stored
      // before (the caller would drop the first copy with them, leaving it stored but never run)
      records = firstOccurrences(records);
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

  /** The records without the later copies of a repeated id. */
  private static List<? extends Envelope<?>> firstOccurrences(List<? extends Envelope<?>> records) {
    Set<String> seen = new HashSet<>(records.size() * 2);
    List<Envelope<?>> out = new ArrayList<>(records.size());
    for (Envelope<?> r : records) {
      if (seen.add(r.id())) {
        out.add(r);
      }
    }
    return out.size() == records.size() ? records : out;
  }

  /** Where the batch starting at {@code from} ends: by count and by payload bytes. */
  private static int chunkEnd(List<Stored> rows, int from) {
    long bytes = 0;
    int to = from;
    while (to < rows.size() && to - from < BATCH_CHUNK) {
      Stored s = rows.get(to);
      bytes += s.payload().length + (s.metadata() == null ? 0 : s.metadata().length() * 3L);
      if (to > from && bytes > BATCH_BYTES) {
        break;
      }
      to++;
    }
    return to;
  }

  /**
   * The batch ledger's ingest: each chunk of at most {@link #BATCH_CHUNK} records and about {@link
   * #BATCH_BYTES} payload bytes (at least one record) is one batch, under a token of its own,
   * written in one transaction. Returns the ids already stored.
   */
  private List<String> ingestBatches(
      String pipeline, String stage, String format, List<Stored> rows, Instant at) {
    List<String> duplicates = new ArrayList<>();
    for (int from = 0, to; from < rows.size(); from = to) {
      to = chunkEnd(rows, from);
      List<Stored> chunk = rows.subList(from, to);
      List<BatchLedger.Entry> entries = new ArrayList<>(chunk.size());
      for (int i = 0; i < chunk.size(); i++) {
        Stored s = chunk.get(i);
        entries.add(new BatchLedger.Entry(i, s.id(), s.payload(), s.checksum(), s.metadata()));
      }
      Set<String> inserted = ingestBatch(pipeline, stage, format, entries, null, at);
      for (Stored s : chunk) {
        if (!inserted.contains(s.id())) {
          duplicates.add(s.id());
        }
      }
    }
    return duplicates;
  }

  /**
   * Whether records can be kept as their span: as many as it says, in one batch (a repeated id is
   * skipped at its later places).
   */
  static boolean spanned(List<? extends Envelope<?>> records, SourceSpan span) {
    if (records.size() != span.count() || records.size() > BATCH_CHUNK) {
      return false;
    }
    for (Envelope<?> r : records) {
      StorableText.checkId(r.id());
    }
    return true;
  }

  /**
   * Ingests records read from a source that can be read again as one batch kept as its span: each
   * record's place in the batch is its place in the source's order from the span's position, and no
   * payload is encoded; this worker keeps the records in memory while it holds them. An id repeated
   * within the records is kept at its first place only: its later places have no id row, so a
   * replay skips them. Returns the ids already stored.
   */
  private Set<String> ingestSpan(
      String pipeline,
      String stage,
      String format,
      List<? extends Envelope<?>> records,
      SourceSpan span,
      Instant at) {
    List<BatchLedger.Entry> entries = new ArrayList<>(records.size());
    Set<String> offered = new HashSet<>(records.size() * 2);
    for (int i = 0; i < records.size(); i++) {
      Envelope<?> r = records.get(i);
      if (offered.add(r.id())) {
        entries.add(new BatchLedger.Entry(i, r.id(), null, 0, null, r));
      }
    }
    entries.sort(Comparator.comparing(BatchLedger.Entry::id)); // one lock order for all workers
    Set<String> inserted = ingestBatch(pipeline, stage, format, entries, span, at);
    Set<String> duplicates = new HashSet<>();
    for (Envelope<?> r : records) {
      if (!inserted.contains(r.id())) {
        duplicates.add(r.id());
      }
    }
    return duplicates;
  }

  /**
   * Writes one batch of the batch ledger, under a token of its own, and holds what it inserted;
   * returns the ids it inserted.
   */
  private Set<String> ingestBatch(
      String pipeline,
      String stage,
      String format,
      List<BatchLedger.Entry> entries,
      @Nullable SourceSpan span,
      Instant at) {
    BatchLedger ledger = Objects.requireNonNull(this.ledger);
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
                ledger
                    .writes()
                    .ingest(
                        h,
                        pipeline,
                        stage,
                        format,
                        batchId,
                        token,
                        entries,
                        span,
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
        db.call("release", pipeline, h -> ledger.leases().release(h, List.of(batch)));
      } else {
        ledger.held().hold(pipeline, batch, kept, Set.of());
        leases.hold(pipeline, inserted, token);
        confirmations.confirm(pipeline, inserted, sent);
      }
    }
    return inserted;
  }

  /**
   * Gives records this worker holds in batches full rows of their own, before an operation that
   * writes them one by one (a checkpoint, a retry, a filter, a dead letter): see {@link
   * BatchLedger}. Records of a batch this worker no longer holds get no row, so the operation finds
   * them fenced.
   */
  void moveToRows(String pipeline, Collection<String> ids, Instant at) {
    BatchLedger ledger = this.ledger;
    if (ledger == null || ids.isEmpty() || !ledger.held().anyIn(pipeline, ids)) {
      return;
    }
    Map<BatchLedger.Batch, List<BatchLedger.Slot>> groups =
        withPayloads(pipeline, ledger.held().byBatch(pipeline, ids));
    long event = Leases.newToken();
    AtomicInteger attempts = new AtomicInteger();
    db.transaction(
        "move",
        pipeline,
        h -> {
          int attempt = attempts.incrementAndGet();
          for (Map.Entry<BatchLedger.Batch, List<BatchLedger.Slot>> g : groups.entrySet()) {
            // a batch this worker no longer holds gets no rows: the operation finds them fenced
            ledger.writes().move(h, pipeline, g.getKey(), g.getValue(), event, at, attempt);
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
    ledger.held().forget(pipeline, moved);
    statistics.changed(moved.size());
  }

  /**
   * The slots with the payloads of records kept in memory (batches kept as source spans) encoded at
   * their batch's stage, for the rows they get.
   */
  private Map<BatchLedger.Batch, List<BatchLedger.Slot>> withPayloads(
      String pipeline, Map<BatchLedger.Batch, List<BatchLedger.Slot>> groups) {
    PipelineDef def = def(pipeline);
    groups.replaceAll(
        (b, slots) -> {
          List<BatchLedger.Slot> out = new ArrayList<>(slots.size());
          for (BatchLedger.Slot slot : slots) {
            BatchLedger.Entry e = slot.entry().encoded(pipeline, b.stage(), def.codec(b.stage()));
            out.add(e == slot.entry() ? slot : new BatchLedger.Slot(b, e, slot.noted()));
          }
          return out;
        });
    return groups;
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
}
