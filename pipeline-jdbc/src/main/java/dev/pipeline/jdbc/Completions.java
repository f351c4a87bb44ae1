package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.MAX_LAST_ERROR;
import static dev.pipeline.jdbc.Checks.MAX_MESSAGE;
import static dev.pipeline.jdbc.Checks.MAX_NAME;
import static dev.pipeline.jdbc.Checks.checkPipeline;
import static dev.pipeline.jdbc.Checks.cut;
import static dev.pipeline.jdbc.Checks.storedText;
import static dev.pipeline.jdbc.Payloads.column;
import static dev.pipeline.jdbc.Payloads.encode;
import static dev.pipeline.jdbc.Payloads.payloads;

import dev.pipeline.Envelope;
import dev.pipeline.PipelineException;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.jdbc.DeliveryLedger.Noted;
import dev.pipeline.jdbc.Payloads.Stored;
import dev.pipeline.jdbc.Queries.StoredError;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.Handover;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.Query;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Completes records for a {@link JdbcPipelineStore}: writes their final states (published,
 * filtered, dead-lettered) with their errors, and, in the same transaction, notes the next delivery
 * of the records handed to the sink ({@link JdbcPipelineStore#completeAndDeliver}).
 */
final class Completions extends StoreContext {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcPipelineStore.class);

  private final DeliveryLedger deliveryLedger;
  private final Queries queries;
  // per pipeline: the sink callers' batch ledger writes, combined while one is under way
  private final Map<String, CombinedWrites<LedgerWrite, Set<BatchLedger.Batch>>> ledgerWrites =
      new ConcurrentHashMap<>();

  Completions(StoreContext shared, DeliveryLedger deliveryLedger, Queries queries) {
    super(shared);
    this.deliveryLedger = deliveryLedger;
    this.queries = queries;
  }

  Set<String> complete(String pipeline, List<Completion> completions) {
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

  Handover completeAndDeliver(
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
      BatchLedger.Slot slot = ledger.held().slot(pipeline, c.recordId());
      if (slot == null) {
        rest.add(c);
      } else if (c.status() == RecordStatus.PUBLISHED && c.errors().isEmpty() && !endRows) {
        published.add(c);
      } else {
        leaving.add(c); // its full row, in its final state (every record's, with the full ledger)
      }
    }
    Map<BatchLedger.Batch, List<BatchWrites.Final>> leaves = finals(pipeline, leaving);
    List<String> restDelivering = new ArrayList<>();
    for (String id : delivering) {
      if (ledger.held().slot(pipeline, id) == null) {
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
    Map<BatchLedger.Batch, List<BatchLedger.Slot>> ends =
        ledger.held().byBatch(pipeline, publishedIds);
    Map<BatchLedger.Batch, List<BatchLedger.Slot>> notes =
        ledger.held().byBatch(pipeline, delivering);
    Instant at = published.isEmpty() ? Instant.now() : published.get(0).at();
    Set<BatchLedger.Batch> refused =
        ledgerWrites
            .computeIfAbsent(pipeline, p -> new CombinedWrites<>(writes -> writeLedger(p, writes)))
            .write(new LedgerWrite(ends, leaves, notes, leaving, at));
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
            if (!slot.noted()) { // a pipeline without a sink: its records end at the last stage
              ledger.delivered().note(pipeline, slot.entry().id(), b.id());
            }
          }
        });
    leaves.forEach(
        (b, finals) -> {
          for (BatchWrites.Final f : finals) {
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
    ledger.held().forget(pipeline, ended);
    confirmations.forget(pipeline, ended);
    // only rows written to pipeline_records count towards its planner statistics
    int rowsWritten = 0;
    for (Map.Entry<BatchLedger.Batch, List<BatchWrites.Final>> g : leaves.entrySet()) {
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
    DeliveredFromBatches delivered = ledger.delivered();
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
            delivered.note(pipeline, id, b.id());
            tokens.put(id, b.claims() + 1L);
            if (slot.noted()) {
              redelivered.add(id);
            }
          }
        });
    // a batch's write does not renew its lease (the heartbeat does), so it confirms none: the
    // check before the sink call trusts the lease a claim, an ingest or a renewal confirmed
    ledger.held().noted(pipeline, noted);
    if (!fencedTokens.isEmpty()) {
      ledger.held().forget(pipeline, fencedTokens.keySet());
      deliveryLedger.lose(pipeline, fencedTokens, "this worker's completions of them were refused");
    }
    if (!lostTokens.isEmpty()) {
      ledger.held().forget(pipeline, lostTokens.keySet());
      deliveryLedger.lose(pipeline, lostTokens, "this worker does not hand them to the sink");
    }
    return new LedgerPart(rest, restDelivering, fenced, redelivered, lost, tokens);
  }

  /** What one call writes to the batch ledger (see {@link BatchWrites#write}). */
  private record LedgerWrite(
      Map<BatchLedger.Batch, List<BatchLedger.Slot>> ends,
      Map<BatchLedger.Batch, List<BatchWrites.Final>> leaves,
      Map<BatchLedger.Batch, List<BatchLedger.Slot>> notes,
      List<Completion> leaving,
      Instant at) {}

  /**
   * Writes the calls' writes to the batch ledger in one transaction, their records merged per
   * batch; returns the batches this worker no longer held.
   */
  private Set<BatchLedger.Batch> writeLedger(String pipeline, List<LedgerWrite> writes) {
    BatchLedger ledger = Objects.requireNonNull(this.ledger);
    LedgerWrite first = writes.get(0);
    Map<BatchLedger.Batch, List<BatchLedger.Slot>> ends = merged(writes, LedgerWrite::ends);
    Map<BatchLedger.Batch, List<BatchWrites.Final>> leaves = merged(writes, LedgerWrite::leaves);
    Map<BatchLedger.Batch, List<BatchLedger.Slot>> notes = merged(writes, LedgerWrite::notes);
    long event = Leases.newToken();
    AtomicInteger attempts = new AtomicInteger();
    return db.transaction(
        "completeAndDeliver",
        pipeline,
        h -> {
          BatchWrites.Written written =
              ledger
                  .writes()
                  .write(
                      h,
                      pipeline,
                      ends,
                      leaves,
                      notes,
                      event,
                      first.at(),
                      attempts.incrementAndGet());
          if (!written.replayed()) {
            for (LedgerWrite w : writes) {
              leftWithErrors(h, pipeline, w.leaves(), w.leaving(), written.refused());
            }
          }
          return written.refused();
        });
  }

  /** One part of the writes, their records merged per batch. */
  private static <V> Map<BatchLedger.Batch, List<V>> merged(
      List<LedgerWrite> writes, Function<LedgerWrite, Map<BatchLedger.Batch, List<V>>> part) {
    if (writes.size() == 1) {
      return part.apply(writes.get(0));
    }
    Map<BatchLedger.Batch, List<V>> out = new HashMap<>();
    for (LedgerWrite w : writes) {
      part.apply(w)
          .forEach((b, values) -> out.computeIfAbsent(b, k -> new ArrayList<>()).addAll(values));
    }
    return out;
  }

  /**
   * The final rows of records leaving their batches, by batch: their payload is the one encoded for
   * the stage where they were dead-lettered if it has a codec, else the one they were ingested with
   * (and none for filtered and published ones, unless payloads are retained).
   */
  private Map<BatchLedger.Batch, List<BatchWrites.Final>> finals(
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
    Map<BatchLedger.Batch, List<BatchWrites.Final>> out = new LinkedHashMap<>();
    boolean keep = !retention.payloads().isZero();
    ledger
        .held()
        .byBatch(pipeline, byId.keySet())
        .forEach(
            (b, slots) -> {
              List<BatchWrites.Final> finals = new ArrayList<>(slots.size());
              for (BatchLedger.Slot slot : slots) {
                Completion c = byId.get(slot.entry().id()).completion();
                Stored encoded = byId.get(slot.entry().id()).payload();
                boolean dead = c.status() == RecordStatus.DEAD_LETTER;
                boolean own = dead && encoded != null;
                boolean withPayload = dead || keep;
                BatchLedger.Entry e =
                    withPayload && !own
                        ? slot.entry().encoded(pipeline, b.stage(), def(pipeline).codec(b.stage()))
                        : slot.entry();
                finals.add(
                    new BatchWrites.Final(
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
      Map<BatchLedger.Batch, List<BatchWrites.Final>> leaves,
      List<Completion> leaving,
      Set<BatchLedger.Batch> refused) {
    if (leaves.isEmpty()) {
      return;
    }
    Set<String> written = new HashSet<>();
    leaves.forEach(
        (b, finals) -> {
          if (!refused.contains(b)) {
            for (BatchWrites.Final f : finals) {
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
                      held.isEmpty()
                          ? Noted.NONE
                          : deliveryLedger.deliverRows(h, pipeline, delivery, held)));
    } else {
      written =
          new Written(
              Set.of(),
              held.isEmpty()
                  ? Noted.NONE
                  : db.call(
                      "beginDelivery",
                      pipeline,
                      h -> deliveryLedger.deliverRows(h, pipeline, delivery, held)));
    }
    if (ending != null) {
      ended(pipeline, ending, written.fenced());
    }
    Noted noted = written.noted();
    deliveryLedger.delivered(pipeline, noted.tokens().keySet());
    confirmations.confirm(pipeline, noted.tokens().keySet(), sent);
    Map<String, Long> gone = new HashMap<>();
    for (Map.Entry<String, Long> e : held.entrySet()) {
      if (!noted.tokens().containsKey(e.getKey())) {
        gone.put(e.getKey(), e.getValue());
      }
    }
    if (!gone.isEmpty()) {
      deliveryLedger.lose(pipeline, gone, "this worker does not hand them to the sink");
      lost.addAll(gone.keySet());
    }
    return new Handover(written.fenced(), noted.redelivered(), lost, noted.tokens());
  }

  /** What the transaction of {@link #completeAndDeliver} wrote. */
  private record Written(Set<String> fenced, Noted noted) {}

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
  void ended(String pipeline, Ending ending, Set<String> fenced) {
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
      deliveryLedger.reportLost(
          pipeline, holders, unconfirmed, "this worker's completions of them were refused");
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
                  ending.holders().put(id, deliveryLedger.holder(rs));
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
        mine.addAll(ledger.queries().endedHere(h, pipeline, rowless));
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
  @Nullable PreparedBatch addErrors(
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
  void boundErrorRows(Handle h, String pipeline, PipelineDef def, List<String> ids) {
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
    for (List<StoredError> stored : queries.errorRows(h, pipeline, over).values()) {
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

  static @Nullable String lastErrorText(List<ErrorInfo> errors) {
    if (errors.isEmpty()) {
      return null;
    }
    ErrorInfo last = errors.get(errors.size() - 1);
    return storedText(last.errorType() + ": " + last.message(), MAX_LAST_ERROR);
  }

  static @Nullable String lastErrorType(List<ErrorInfo> errors) {
    return errors.isEmpty() ? null : cut(errors.get(errors.size() - 1).errorType(), MAX_NAME);
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

  static @Nullable String reason(Completion c) {
    return c.reason() == null ? null : cut(c.reason(), MAX_MESSAGE);
  }

  static @Nullable String lastErrorType(Completion c) {
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

  Set<String> beginDelivery(String pipeline, List<String> recordIds) {
    return completeAndDeliver(pipeline, List.of(), recordIds).redelivered();
  }

  private record Done(Completion completion, long token, @Nullable Stored payload) {}
}
