package dev.pipeline;

import dev.pipeline.internal.ErrorText;
import java.util.Objects;

/**
 * Thrown by a stage to drop a record on purpose: the record ends in the FILTERED state with the
 * reason, which is not an error and is never retried.
 *
 * <p>It carries no stack trace, so filtering is cheap. Immutable and thread-safe.
 */
public final class RecordFilteredException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * The most characters of a reason kept: a longer one is cut there, saying how long it was (it is
   * kept with every filtered record, in memory or in the store, and shown on the dashboard).
   */
  public static final int MAX_REASON_CHARS = 4_096;

  private RecordFilteredException(String reason) {
    super(reason, null, false, false);
  }

  /**
   * Creates the signal to filter the current record.
   *
   * @param reason why the record is dropped, kept with its status (e.g. "duplicate listing"), cut
   *     to {@value #MAX_REASON_CHARS} characters
   * @throws NullPointerException if the reason is null
   */
  public static RecordFilteredException because(String reason) {
    return new RecordFilteredException(
        ErrorText.cut(Objects.requireNonNull(reason, "reason cannot be null"), MAX_REASON_CHARS));
  }

  /** Why the record was dropped. */
  public String reason() {
    return getMessage();
  }
}
