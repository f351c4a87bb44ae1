package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.MAX_LAST_ERROR;
import static dev.pipeline.jdbc.Checks.MAX_MESSAGE;
import static dev.pipeline.jdbc.Checks.MAX_NAME;
import static dev.pipeline.jdbc.Checks.checkPipeline;
import static dev.pipeline.jdbc.Checks.cut;
import static dev.pipeline.jdbc.Checks.storedText;
import static dev.pipeline.jdbc.Payloads.decode;
import static dev.pipeline.jdbc.Payloads.envelope;

import dev.pipeline.Envelope;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.jdbc.Payloads.Row;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.spi.Claimed;
import dev.pipeline.store.spi.SourceSpan;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Claims records for a {@link JdbcPipelineStore}: takes ready, due or abandoned records (and
 * batches) over for this worker under a fresh lease, reads their payloads back, and sends records
 * whose payload is damaged to the dead letter queue.
 */
final class Claims extends StoreContext {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcPipelineStore.class);

  private final DeliveryLedger deliveryLedger;
  private final Ingests ingests;

  Claims(StoreContext shared, DeliveryLedger deliveryLedger, Ingests ingests) {
    super(shared);
    this.deliveryLedger = deliveryLedger;
    this.ingests = ingests;
  }

  List<Claimed> claim(String pipeline, int requested) {
    checkPipeline(pipeline);
    if (requested < 1) {
      throw new IllegalArgumentException("max must be positive, was " + requested);
    }
    checkOpen();
    PipelineDef def = def(pipeline);
    // never this worker's own records in flight, whose lease ran out in an outage: it renews them
    Long[] held = leases.tokens(pipeline).toArray(Long[]::new);
    deliveryLedger.maintainLeases(pipeline, held);
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
      BatchClaims.Claimed batch;
      if (h2Lock != null) {
        h2Lock.lock();
      }
      try {
        batch =
            db.transaction("claim", pipeline, h -> ledger.claims().claim(h, pipeline, token, held));
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
      Map<String, PayloadIntegrityException> damaged = new LinkedHashMap<>();
      List<BatchLedger.Entry> pending = batch.pending();
      SourceSpan span = batch.span();
      if (span != null) {
        try {
          pending =
              SpanReplay.replay(
                  pipeline,
                  batch.batch().stage(),
                  ledger.claims().replay(pipeline),
                  span,
                  pending,
                  damaged);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          db.call("release", pipeline, h -> ledger.leases().release(h, List.of(batch.batch())));
          break;
        }
      }
      if (released(pipeline) != released) {
        db.call("release", pipeline, h -> ledger.leases().release(h, List.of(batch.batch())));
        break;
      }
      List<String> ids = new ArrayList<>(pending.size());
      for (BatchLedger.Entry e : pending) {
        ids.add(e.id());
      }
      ledger.held().hold(pipeline, batch.batch(), pending, batch.noted());
      leases.hold(pipeline, ids, token);
      confirmations.confirm(pipeline, ids, sent);
      for (BatchLedger.Entry e : pending) {
        Envelope<?> replayed = e.record();
        if (replayed != null) {
          give(pipeline, out, max, new Claimed(replayed, batch.batch().stage(), 0));
          continue;
        }
        if (damaged.containsKey(e.id())) {
          continue;
        }
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
        give(pipeline, out, max, new Claimed(envelope(row, payload), row.stage(), 0));
      }
      if (!damaged.isEmpty()) {
        ingests.moveToRows(pipeline, damaged.keySet(), Instant.now());
        markDamaged(pipeline, damaged, token);
      }
    }
    return out;
  }

  /** Hands a claimed record out, or keeps it for the next claim once {@code max} are out. */
  private void give(String pipeline, List<Claimed> out, int max, Claimed claimed) {
    if (out.size() < max) {
      out.add(claimed);
    } else {
      stash
          .computeIfAbsent(pipeline, p -> new java.util.concurrent.ConcurrentLinkedDeque<>())
          .add(claimed);
    }
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

  boolean hasUnfinishedToTake(String pipeline) {
    return ledger == null
        ? hasUnfinished(pipeline) // rows only: any row may be claimed
        : bySources(pipeline, "hasUnfinishedToTake", BatchQueries::hasUnfinishedToTake);
  }

  Map<String, Long> waitingForSources(String pipeline) {
    return ledger == null
        ? Map.of() // rows only: no spans
        : bySources(pipeline, "waitingForSources", BatchQueries::waitingForSources);
  }

  /** A question of the batch ledger about the sources this worker can read again. */
  private interface SourcesQuery<T> {
    T ask(BatchQueries queries, Handle h, String pipeline, List<String> sources);
  }

  private <T> T bySources(String pipeline, String operation, SourcesQuery<T> query) {
    BatchLedger batches = Objects.requireNonNull(ledger);
    checkPipeline(pipeline);
    checkOpen();
    List<String> sources = batches.claims().replayable(pipeline);
    return db.call(operation, pipeline, h -> query.ask(batches.queries(), h, pipeline, sources));
  }

  boolean hasUnfinished(String pipeline) {
    checkPipeline(pipeline);
    checkOpen();
    return db.call(
        "hasUnfinished",
        pipeline,
        h ->
            ledger != null
                ? ledger.queries().hasUnfinished(h, pipeline)
                : h.createQuery(sql.hasUnfinished)
                        .bind("pipeline", pipeline)
                        .mapTo(Integer.class)
                        .one()
                    == 1);
  }
}
