package dev.pipeline;

import org.jspecify.annotations.Nullable;

/**
 * A failure of one stage on one record, with both named. What the dead letter queue keeps as a
 * record's error when the stage broke its own contract (returned null, for instance).
 */
public class StageException extends PipelineException {
  private static final long serialVersionUID = 1L;

  private final String stage;
  private final @Nullable String recordId;

  /** Creates an exception for a stage and a record. */
  public StageException(String stage, @Nullable String recordId, String message) {
    super(message);
    this.stage = stage;
    this.recordId = recordId;
  }

  /** Creates an exception for a stage and a record, with a cause. */
  public StageException(String stage, @Nullable String recordId, String message, Throwable cause) {
    super(message, cause);
    this.stage = stage;
    this.recordId = recordId;
  }

  /** The name of the stage that failed. */
  public String stage() {
    return stage;
  }

  /** The id of the record, or null if the failure concerned a whole batch. */
  public @Nullable String recordId() {
    return recordId;
  }
}
