package dev.pipeline.jdbc;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The batch of each record this worker handed to the sink from a batch of the {@link BatchLedger},
 * or ended there published (a pipeline without a sink), kept until the lineage writer appends the
 * record's last events: if the record passed, those events go into a row of the batch ({@link
 * LineageLog}, packing 3) instead of a row of its own. The record's batch is found again through
 * its id row in {@code pipeline_batch_records}. Kept only for the pipelines whose runs keep lineage
 * (a run with lineage says so as it starts, see {@link LineageLog#append}); a record not found here
 * (its lineage appended before its end was written, or forgotten) has rows of its own, as before.
 * Memory is bounded: past {@link #MAX} records, or {@link #MAX_CHARS} characters of their ids, a
 * pipeline's are all forgotten (the records whose lineage is sampled out are never taken); if none
 * was taken at two bounds in a row (a later run of the pipeline without lineage), the pipeline is
 * no longer tracked, until a run with lineage appends again. Only memory, thread-safe.
 */
final class DeliveredFromBatches {
  /** Records kept at most per pipeline. */
  static final int MAX = 1 << 16;

  /**
   * The characters of the records' ids kept at most per pipeline (16 MB): ids may be 1,000
   * characters long, and a sampled pipeline's records are never taken.
   */
  static final long MAX_CHARS = 1 << 23;

  /** A pipeline's records, and the characters of their ids. */
  private static final class Kept {
    final Map<String, Long> batches = new ConcurrentHashMap<>();
    final AtomicLong chars = new AtomicLong();
    volatile boolean taken; // whether a record was taken since they were last forgotten
    int idle; // the bounds in a row at which none was taken (racy: a hint, not a count)
  }

  private final Map<String, Kept> handed = new ConcurrentHashMap<>();

  /** Keeps, from now on, the batches of the pipeline's records handed to the sink or ended. */
  void track(String pipeline) {
    handed.computeIfAbsent(pipeline, p -> new Kept());
  }

  /**
   * Notes the batch the record was handed to the sink from (or ended in), if kept for the pipeline.
   */
  void note(String pipeline, String recordId, long batchId) {
    Kept kept = handed.get(pipeline);
    if (kept == null) {
      return;
    }
    if (kept.batches.size() >= MAX || kept.chars.get() >= MAX_CHARS) {
      // none taken at two bounds in a row: no lineage appended (a writer that lags one bound
      // behind is not taken for one); noting costs a lookup and an entry a record
      kept.idle = kept.taken ? 0 : kept.idle + 1;
      if (kept.idle >= 2) {
        handed.remove(pipeline, kept);
        return;
      }
      kept.batches.clear(); // those forgotten get rows of their own
      kept.chars.set(0);
      kept.taken = false;
    }
    if (kept.batches.put(recordId, batchId) == null) {
      kept.chars.addAndGet(recordId.length());
    }
  }

  /**
   * The batch the record was handed to the sink from, forgotten as it is given; null if unknown.
   */
  @Nullable Long take(String pipeline, String recordId) {
    Kept kept = handed.get(pipeline);
    Long batch = kept == null ? null : kept.batches.remove(recordId);
    if (batch != null) {
      kept.chars.addAndGet(-recordId.length());
      if (!kept.taken) {
        kept.taken = true;
      }
    }
    return batch;
  }
}
