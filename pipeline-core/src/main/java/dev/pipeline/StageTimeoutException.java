package dev.pipeline;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * A stage ran past its timeout on a record and was interrupted (or abandoned, if it ignored the
 * interrupt). Counted as its own error type, "StageTimeoutException", in the metrics.
 */
public final class StageTimeoutException extends StageException {
  private static final long serialVersionUID = 1L;

  private final Duration timeout;

  /**
   * A call of {@code stage} ran past its timeout.
   *
   * @param stage the stage
   * @param recordId the record, or the first of a batch; null if none
   * @param timeout the timeout it ran past
   * @param abandoned whether it ignored the interrupt, so its thread was given up
   */
  public StageTimeoutException(
      String stage, @Nullable String recordId, Duration timeout, boolean abandoned) {
    super(
        stage,
        recordId,
        "stage '"
            + stage
            + "' timed out after "
            + timeout.toMillis()
            + "ms on record '"
            + recordId
            + "'"
            + (abandoned
                ? " and ignored the interrupt; its thread was abandoned and replaced (make the stage"
                    + " respond to interrupts, or raise the stage's timeout)"
                : " and was interrupted (raise the stage's timeout if the work is legitimately slow)"));
    this.timeout = timeout;
  }

  /** The timeout that was exceeded. */
  public Duration timeout() {
    return timeout;
  }
}
