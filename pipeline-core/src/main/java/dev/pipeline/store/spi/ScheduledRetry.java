package dev.pipeline.store.spi;

import dev.pipeline.Envelope;
import dev.pipeline.store.ErrorInfo;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A record to park in the store's retry queue: its attempt at a stage failed (or its stage's
 * circuit is open and it waits for it to close), and it is tried again once {@code delay} has
 * passed, by whichever worker {@link RecordLedger#claim claims} it then.
 *
 * @param record the record as it enters {@code stage}
 * @param stage the stage to retry
 * @param attempts attempts already made at that stage; the next one is {@code attempts + 1}
 * @param maxRetries the stage's retry limit, for people reading the store
 * @param delay how long to wait before the record is due
 * @param backoffMultiplier the growth of the stage's backoff, for people reading the store
 * @param errors the errors met since the record was last stored (appended to those the store holds)
 */
public record ScheduledRetry(
    Envelope<?> record,
    String stage,
    int attempts,
    int maxRetries,
    Duration delay,
    double backoffMultiplier,
    List<ErrorInfo> errors) {

  /** Checks the components and copies the errors. */
  public ScheduledRetry {
    Objects.requireNonNull(record, "record cannot be null");
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(delay, "delay cannot be null");
    if (attempts < 0) {
      throw new IllegalArgumentException("attempts cannot be negative, was " + attempts);
    }
    if (delay.isNegative()) {
      throw new IllegalArgumentException("delay cannot be negative, was " + delay);
    }
    errors = List.copyOf(errors);
  }

  /** The record's id. */
  public String recordId() {
    return record.id();
  }
}
