package dev.pipeline.jdbc;

import dev.pipeline.Envelope;
import dev.pipeline.store.PayloadCodec;
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
 * <p>This class names the ledger's values and holds its parts, one job each: {@link HeldBatches},
 * what this worker knows of the batches it holds (their tokens, the records still in flight, their
 * payloads as ingested); {@link BatchWrites}, the writes; {@link BatchLeases}, the leases; {@link
 * BatchClaims}, the claims of batches whose lease ran out; {@link BatchQueries}, the reads.
 * Thread-safe.
 */
final class BatchLedger {
  private final HeldBatches held = new HeldBatches();
  private final DeliveredFromBatches delivered = new DeliveredFromBatches();
  private final BatchWrites writes;
  private final BatchLeases leases;
  private final BatchClaims claims;
  private final BatchQueries queries;

  BatchLedger(
      Dialect dialect, Names names, String workerId, long leaseMillis, boolean keepPayloads) {
    BatchStatements sql = new BatchStatements(dialect, names, keepPayloads);
    LedgerPart.Setup setup = new LedgerPart.Setup(dialect, workerId, leaseMillis, sql);
    this.writes = new BatchWrites(setup);
    this.leases = new BatchLeases(setup);
    this.claims = new BatchClaims(setup);
    this.queries = new BatchQueries(sql, workerId);
  }

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

  /** What this worker knows of the batches it holds. */
  HeldBatches held() {
    return held;
  }

  /** The batches of records that ended published in them, until their lineage is appended. */
  DeliveredFromBatches delivered() {
    return delivered;
  }

  /** The writes: ingests, ends, moves to rows, and a completion-and-delivery call's write. */
  BatchWrites writes() {
    return writes;
  }

  /** The batches' leases: renewals, releases, take-overs. */
  BatchLeases leases() {
    return leases;
  }

  /** The claims of batches whose lease ran out, and the replays they read spans with. */
  BatchClaims claims() {
    return claims;
  }

  /** What is asked of the batches: where records stand, who holds them, what retention deletes. */
  BatchQueries queries() {
    return queries;
  }
}
