package dev.pipeline.store;

import dev.pipeline.internal.ErrorText;
import java.time.Instant;
import java.util.Objects;

/**
 * One error a record met at a stage: what a store keeps of an exception (never the exception object
 * itself, which may not survive a restart).
 *
 * @param stage the stage's name
 * @param errorType the exception's simple class name, e.g. "SocketTimeoutException"
 * @param exceptionClass the exception's full class name
 *     <p>Text from an exception is bounded: its message and stack trace are cut (to 4,096 and
 *     {@link #MAX_STACK_TRACE} characters unless the pipeline sets its own {@code
 *     errorTextLimits}), with the cut said in the text, and they are read without trusting the
 *     exception: a {@code getMessage()} that throws, a cause chain 10,000 deep or a cycle of causes
 *     give a note, not a failure. A record's history of errors is bounded too: it keeps its first
 *     error and its last 8, and between them one entry of type {@code "ErrorsDropped"} whose {@code
 *     attempt} is the number of errors dropped.
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

  /** The longest stack trace kept by default, in characters (before the note of the cut). */
  public static final int MAX_STACK_TRACE = ErrorText.DEFAULT_STACK_CHARS;

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
   * Describes an exception, with the default limits on its text. Never fails because of the
   * exception, whatever its methods do.
   *
   * @throws NullPointerException if an argument is null
   */
  public static ErrorInfo of(String stage, Throwable error, int attempt, Instant occurredAt) {
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(error, "error cannot be null");
    Objects.requireNonNull(occurredAt, "occurredAt cannot be null");
    return ErrorText.defaults().info(stage, error, attempt, occurredAt);
  }
}
