package dev.pipeline.jdbc;

import dev.pipeline.PipelineException;

/**
 * A stored payload could not be trusted when it was read back: its checksum did not match, or its
 * codec could not decode it. The store does not throw it to the engine: the record is moved to the
 * dead letter queue with this as its error (error type {@code "PayloadIntegrityException"}), and
 * the others go on.
 *
 * <p>Immutable and thread-safe.
 */
public final class PayloadIntegrityException extends PipelineException {
  private static final long serialVersionUID = 1L;

  private final String recordId;
  private final String stage;

  PayloadIntegrityException(String recordId, String stage, String message) {
    super(message);
    this.recordId = recordId;
    this.stage = stage;
  }

  /** The record whose payload is damaged. */
  public String recordId() {
    return recordId;
  }

  /** The stage whose input the payload is. */
  public String stage() {
    return stage;
  }
}
