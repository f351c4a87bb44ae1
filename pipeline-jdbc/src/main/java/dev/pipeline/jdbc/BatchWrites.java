package dev.pipeline.jdbc;

import dev.pipeline.jdbc.BatchLedger.Batch;
import dev.pipeline.jdbc.BatchLedger.Entry;
import dev.pipeline.jdbc.BatchLedger.Slot;
import dev.pipeline.store.spi.SourceSpan;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.Query;
import org.jdbi.v3.core.statement.Update;
import org.jspecify.annotations.Nullable;

/**
 * The writes of the {@link BatchLedger}, each in the caller's transaction and fenced by the batch's
 * lease: a batch ingested (its row, packed payloads and id rows), records ended or moved to rows of
 * their own, and the combined write of one completion-and-delivery call. Each write counts once: a
 * retry after a lost reply finds what it wrote by the batch's id or the call's event token.
 */
final class BatchWrites extends LedgerPart {
  BatchWrites(LedgerPart.Setup setup) {
    super(setup);
  }

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
        return only(byId.values(), mine);
      }
    }
    Set<String> inserted;
    if (dialect == Dialect.POSTGRESQL) {
      Query insert =
          bindBatch(
                  h.createQuery(sql.insertMembersPg), pipeline, stage, format, batchId, token, span)
              .bind("payloads", Args.bytes(span == null ? PackedBatch.pack(entries) : null))
              .bind("at", Args.time(at));
      List<Entry> offered = new ArrayList<>(byId.values());
      sql.memberIds.bindRows(insert, "ids", offered, (e, row) -> row.text(e.id()).int32(e.seq()));
      return only(byId.values(), new HashSet<>(insert.mapTo(String.class).list()));
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
    List<Entry> kept = only(byId.values(), inserted);
    if (kept.isEmpty()) {
      return kept;
    }
    org.jdbi.v3.core.statement.Update insert =
        bindBatch(h.createUpdate(sql.insertBatch), pipeline, stage, format, batchId, token, span)
            .bind("size", kept.size())
            .bind("record_ids", Args.texts(kept.stream().map(Entry::id).toList()))
            .bind("payloads", Args.bytes(span == null ? PackedBatch.pack(kept) : null))
            .bind("at", Args.time(at));
    insert.execute();
    return kept;
  }

  /** The entries whose ids are among {@code ids}, in their order. */
  private static List<Entry> only(Collection<Entry> entries, Set<String> ids) {
    List<Entry> out = new ArrayList<>(ids.size());
    for (Entry e : entries) {
      if (ids.contains(e.id())) {
        out.add(e);
      }
    }
    return out;
  }

  /** Binds what a new batch row holds besides its records: stage, format, lease and span. */
  private <S extends org.jdbi.v3.core.statement.SqlStatement<S>> S bindBatch(
      S statement,
      String pipeline,
      String stage,
      String format,
      long batchId,
      long token,
      @Nullable SourceSpan span) {
    return statement
        .bind("pipeline", pipeline)
        .bind("batch", batchId)
        .bind("stage", stage)
        .bind("format", format)
        .bind("owner", workerId)
        .bind("token", token)
        .bind("lease_ms", leaseMillis)
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
              h.createQuery(sql.eventsOfCall)
                  .bind("batches", Args.array("bigint", touched.keySet().toArray(Long[]::new)))
                  .bind("event", event)
                  .mapTo(Long.class)
                  .list());
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
    List<Leaving> finals = new ArrayList<>();
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
        finals.add(new Leaving(b, f));
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
    if (!finals.isEmpty()) {
      Update insert =
          h.createUpdate(sql.finalRow).bind("pipeline", pipeline).bind("owner", workerId);
      sql.finalRows.bindRows(insert, "f", finals, BatchWrites::finalRow);
      insert.execute();
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

  /** A record leaving its batch, with the batch whose lease fenced its write. */
  private record Leaving(Batch batch, Final f) {}

  /** The values of a full row, in the columns of {@code sql.finalRows}. */
  private static void finalRow(Leaving l, BulkAppend.Row row) throws SQLException {
    Final f = l.f();
    row.text(f.slot().entry().id())
        .text(f.stage())
        .text(f.status())
        .time(f.at())
        .int32(f.attempts())
        .text(f.lastError())
        .text(f.errorType())
        .text(f.failedStage())
        .text(f.reason())
        .bytes(f.payload())
        .text(f.format())
        .int64(f.checksum())
        .text(f.metadata())
        .int64(l.batch().token())
        .int32(l.batch().claims())
        .int32(f.slot().noted() ? 1 : 0)
        .int64(l.batch().id())
        .int32(f.slot().entry().seq());
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
}
