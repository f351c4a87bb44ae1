package dev.pipeline.store.spi;

import dev.pipeline.Envelope;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.RecordStatus;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A record reaching its terminal state, as the engine reports it to the store.
 *
 * @param recordId the record's id
 * @param status PUBLISHED, FILTERED, DEAD_LETTER, SPLIT or MERGED
 * @param stage the stage where it ended: the last stage when published, the filtering or failing
 *     stage otherwise
 * @param reason the filter reason; for SPLIT, {@link #splitReason}; for MERGED, the merged record;
 *     null otherwise
 * @param record the record as it entered the failing stage, kept for dead letters; null otherwise
 * @param errors every error the record met on its way (retried ones too), oldest first
 * @param attempts attempts made at the stage where it ended
 * @param at when it happened
 */
public record Completion(
    String recordId,
    RecordStatus status,
    String stage,
    @Nullable String reason,
    @Nullable Envelope<?> record,
    List<ErrorInfo> errors,
    int attempts,
    Instant at) {

  /**
   * A record split into {@code children} records of its own, which were stored before this
   * completion is written.
   */
  public static Completion split(
      String recordId,
      String stage,
      int children,
      List<ErrorInfo> errors,
      int attempts,
      Instant at) {
    return new Completion(
        recordId, RecordStatus.SPLIT, stage, splitReason(children), null, errors, attempts, at);
  }

  /**
   * A child of a split that a merge stage joined into the record {@code mergedId}, which was stored
   * (or found stored) before this completion is written.
   */
  public static Completion merged(
      String recordId,
      String stage,
      String mergedId,
      List<ErrorInfo> errors,
      int attempts,
      Instant at) {
    return new Completion(
        recordId,
        RecordStatus.MERGED,
        stage,
        "merged into '" + mergedId + "'",
        null,
        errors,
        attempts,
        at);
  }

  /** The reason of a SPLIT completion: {@code "split into N records"}. */
  public static String splitReason(int children) {
    return "split into " + children + (children == 1 ? " record" : " records");
  }

  /** Checks the components. */
  public Completion {
    Objects.requireNonNull(recordId, "recordId cannot be null");
    Objects.requireNonNull(status, "status cannot be null");
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(at, "at cannot be null");
    errors = List.copyOf(errors);
    if (!status.isTerminal()) {
      throw new IllegalArgumentException("a completion needs a terminal status, was " + status);
    }
    if (status == RecordStatus.DEAD_LETTER && (record == null || errors.isEmpty())) {
      throw new IllegalArgumentException(
          "a dead letter keeps its record and at least one error: record " + recordId);
    }
  }
}
