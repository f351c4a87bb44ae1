package dev.pipeline;

/**
 * The root of the exceptions this library throws. Subclasses carry the context a reader needs to
 * act: the pipeline, the stage, the record.
 */
public class PipelineException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates an exception with a message. */
  public PipelineException(String message) {
    super(message);
  }

  /** Creates an exception with a message and a cause. */
  public PipelineException(String message, Throwable cause) {
    super(message, cause);
  }
}
