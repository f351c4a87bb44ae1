package dev.pipeline.store;

import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What a store knows of one record.
 *
 * @param recordId the record's id
 * @param status where it stands
 * @param stage the stage it is at, or ended at
 * @param attempts attempts made at that stage
 * @param reason the filter reason, if filtered; if split, {@code "split into N records"}
 * @param errors the errors it met, oldest first
 * @param deliveries how many times it was handed to the sink: more than 1 means it was re-delivered
 *     after a crash (same record id, so an idempotent sink stores it once)
 * @param startedAt when it was ingested
 * @param updatedAt when its state last changed
 * @param parentId the id of the record it was split from (see {@code dev.pipeline.SplitStage}), or
 *     null if it came from a source
 */
public record RecordState(
    String recordId,
    RecordStatus status,
    String stage,
    int attempts,
    @Nullable String reason,
    List<ErrorInfo> errors,
    int deliveries,
    Instant startedAt,
    Instant updatedAt,
    @Nullable String parentId) {

  /** Copies the error list. */
  public RecordState {
    errors = List.copyOf(errors);
  }

  /** The state of a record that was not split from another. */
  public RecordState(
      String recordId,
      RecordStatus status,
      String stage,
      int attempts,
      @Nullable String reason,
      List<ErrorInfo> errors,
      int deliveries,
      Instant startedAt,
      Instant updatedAt) {
    this(recordId, status, stage, attempts, reason, errors, deliveries, startedAt, updatedAt, null);
  }

  /** The most recent error, or null if there was none. */
  public @Nullable ErrorInfo lastError() {
    return errors.isEmpty() ? null : errors.get(errors.size() - 1);
  }
}
