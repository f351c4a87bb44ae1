package dev.pipeline.store;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.Objects;

/**
 * One error a record met at a stage: what a store keeps of an exception (never the exception object
 * itself, which may not survive a restart).
 *
 * @param stage the stage's name
 * @param errorType the exception's simple class name, e.g. "SocketTimeoutException"
 * @param exceptionClass the exception's full class name
 * @param message the exception's message, or "" if it had none
 * @param stackTrace the stack trace as text, cut to {@link #MAX_STACK_TRACE} characters
 * @param attempt the attempt at the stage that failed, from 1
 * @param occurredAt when it happened
 */
public record ErrorInfo(
    String stage,
    String errorType,
    String exceptionClass,
    String message,
    String stackTrace,
    int attempt,
    Instant occurredAt) {

  /** The longest stack trace kept, in characters. */
  public static final int MAX_STACK_TRACE = 8_000;

  /** Checks the components. */
  public ErrorInfo {
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(errorType, "errorType cannot be null");
    Objects.requireNonNull(exceptionClass, "exceptionClass cannot be null");
    Objects.requireNonNull(message, "message cannot be null");
    Objects.requireNonNull(stackTrace, "stackTrace cannot be null");
    Objects.requireNonNull(occurredAt, "occurredAt cannot be null");
  }

  /**
   * Describes an exception.
   *
   * @throws NullPointerException if an argument is null
   */
  public static ErrorInfo of(String stage, Throwable error, int attempt, Instant occurredAt) {
    StringWriter trace = new StringWriter();
    error.printStackTrace(new PrintWriter(trace));
    String text = trace.toString();
    if (text.length() > MAX_STACK_TRACE) {
      text = text.substring(0, MAX_STACK_TRACE) + "\n\t... (cut)";
    }
    String message = error.getMessage();
    return new ErrorInfo(
        stage,
        error.getClass().getSimpleName(),
        error.getClass().getName(),
        message == null ? "" : message,
        text,
        attempt,
        occurredAt);
  }
}
