package dev.pipeline;

import java.util.Objects;

/**
 * Thrown by a stage to drop a record on purpose: the record ends in the FILTERED state with the
 * reason, which is not an error and is never retried.
 *
 * <p>It carries no stack trace, so filtering is cheap. Immutable and thread-safe.
 */
public final class RecordFilteredException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private RecordFilteredException(String reason) {
    super(reason, null, false, false);
  }

  /**
   * Creates the signal to filter the current record.
   *
   * @param reason why the record is dropped, kept with its status (e.g. "duplicate listing")
   * @throws NullPointerException if the reason is null
   */
  public static RecordFilteredException because(String reason) {
    return new RecordFilteredException(Objects.requireNonNull(reason, "reason cannot be null"));
  }

  /** Why the record was dropped. */
  public String reason() {
    return getMessage();
  }
}
