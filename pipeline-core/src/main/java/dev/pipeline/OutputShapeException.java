package dev.pipeline;

import org.jspecify.annotations.Nullable;

/**
 * A stage's output that does not have its declared shape: a null in a required record component, an
 * output of another type than {@link StageOptions.Builder#outputType(Class)} declares, or one its
 * {@link OutputCheck} refuses. Like a null output it fails the call, so the stage's policies decide
 * what follows (its retry policy, then its fallback, then the dead letter queue); exclude it from
 * retries with {@code RetryPolicy.exponential(...).abortOn(OutputShapeException.class)}.
 */
public final class OutputShapeException extends StageException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception for a stage and a record. */
  public OutputShapeException(String stage, @Nullable String recordId, String message) {
    super(stage, recordId, message);
  }
}
