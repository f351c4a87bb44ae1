package dev.pipeline.store;

import dev.pipeline.Envelope;
import java.time.Instant;
import java.util.List;

/**
 * A record that failed for good, as the dead letter queue keeps it.
 *
 * @param record the record as it entered the failing stage (id, payload, metadata)
 * @param stage the failing stage
 * @param errors every error the record met, oldest first; the last is the final one
 * @param attempts attempts made at the failing stage
 * @param deadLetteredAt when it was dead-lettered
 */
public record DeadLetter(
    Envelope<?> record,
    String stage,
    List<ErrorInfo> errors,
    int attempts,
    Instant deadLetteredAt) {

  /** Copies the error list. */
  public DeadLetter {
    errors = List.copyOf(errors);
  }

  /** The record's id. */
  public String recordId() {
    return record.id();
  }

  /** The final error. */
  public ErrorInfo lastError() {
    return errors.get(errors.size() - 1);
  }
}
