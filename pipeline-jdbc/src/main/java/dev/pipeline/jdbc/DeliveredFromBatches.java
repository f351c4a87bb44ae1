package dev.pipeline.jdbc;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The batch of each record this worker handed to the sink from a batch of the {@link BatchLedger},
 * or ended there published (a pipeline without a sink), kept until the lineage writer appends the
 * record's last events: if the record passed, those events go into a row of the batch ({@link
 * LineageLog}, packing 3) instead of a row of its own. The record's batch is found again through
 * its id row in {@code pipeline_batch_records}. Kept only for the pipelines whose runs keep lineage
 * (a run with lineage says so as it starts, see {@link LineageLog#append}); a record not found here
 * (its lineage appended before its end was written, or forgotten) has rows of its own, as before.
 * Memory is bounded: past {@link #MAX} records a pipeline's are all forgotten (the records whose
 * lineage is sampled out are never taken). Only memory, thread-safe.
 */
final class DeliveredFromBatches {
  /** Records kept at most per pipeline. */
  static final int MAX = 1 << 16;

  private final Map<String, Map<String, Long>> handed = new ConcurrentHashMap<>();

  /** Keeps, from now on, the batches of the pipeline's records handed to the sink or ended. */
  void track(String pipeline) {
    handed.computeIfAbsent(pipeline, p -> new ConcurrentHashMap<>());
  }

  /**
   * Notes the batch the record was handed to the sink from (or ended in), if kept for the pipeline.
   */
  void note(String pipeline, String recordId, long batchId) {
    Map<String, Long> records = handed.get(pipeline);
    if (records == null) {
      return;
    }
    if (records.size() >= MAX) {
      records.clear();
    }
    records.put(recordId, batchId);
  }

  /**
   * The batch the record was handed to the sink from, forgotten as it is given; null if unknown.
   */
  @Nullable Long take(String pipeline, String recordId) {
    Map<String, Long> records = handed.get(pipeline);
    return records == null ? null : records.remove(recordId);
  }
}
