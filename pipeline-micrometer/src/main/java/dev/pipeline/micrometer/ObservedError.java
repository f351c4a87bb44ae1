package dev.pipeline.micrometer;

import dev.pipeline.internal.ErrorText;
import java.io.Serial;
import java.util.Objects;

/**
 * What a stage call's observation gets as its error in place of the exception the stage threw: that
 * exception's class name, and its message {@link ErrorText bounded}, with the secrets it may carry
 * (a JDBC URL's password, a bearer token, an API key) masked and its control characters escaped, so
 * that no tracing system keeps them. Its stack trace is the original's frames; the causes are left
 * out (their messages are as little to be trusted). Its {@link #toString()} and the first line of
 * its stack trace read as the original's would: {@code java.sql.SQLException: cannot connect to
 * jdbc:postgresql://db/orders?password=***}.
 *
 * <p>Immutable and thread-safe.
 */
public final class ObservedError extends RuntimeException {
  @Serial private static final long serialVersionUID = 1L;

  /** The longest message kept, in characters (before the note of a cut). */
  public static final int MAX_MESSAGE_CHARS = 1_024;

  private static final ErrorText TEXT = ErrorText.of(MAX_MESSAGE_CHARS, ErrorText.MIN_CHARS);

  /** The original exception's class name. */
  private final String errorType;

  private ObservedError(String errorType, String message) {
    super(message, null, false, true);
    this.errorType = errorType;
  }

  /**
   * The stand-in for an exception: never fails, whatever the exception's methods do.
   *
   * @throws NullPointerException if the error is null
   */
  static ObservedError of(Throwable error) {
    Objects.requireNonNull(error, "error cannot be null");
    ObservedError observed =
        new ObservedError(error.getClass().getName(), ErrorText.escape(TEXT.message(error)));
    try {
      StackTraceElement[] frames = error.getStackTrace();
      if (frames != null) {
        observed.setStackTrace(frames);
      }
    } catch (RuntimeException | Error e) {
      // a hostile getStackTrace(): the stand-in keeps its own frames
    }
    return observed;
  }

  /** The full class name of the exception the stage threw, e.g. "java.sql.SQLException". */
  public String errorType() {
    return errorType;
  }

  /** The original's class name and, if it had one, the masked message: as its own would read. */
  @Override
  public String toString() {
    String message = getMessage();
    return message == null || message.isEmpty() ? errorType : errorType + ": " + message;
  }
}
