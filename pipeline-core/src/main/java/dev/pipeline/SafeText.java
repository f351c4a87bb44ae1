package dev.pipeline;

import dev.pipeline.internal.ErrorText;
import dev.pipeline.internal.Secrets;
import org.jspecify.annotations.Nullable;

/**
 * Text from outside made safe to keep, log or show, the way the library itself does it: for a
 * stage, a sink, an alert listener or an integration that puts an exception's message, a URL or a
 * value from a record into a log line or a message. Every module of the library masks through this
 * class or the same code behind it, so a secret masked in a dead letter is masked in a log line
 * too.
 *
 * <p><b>What is masked</b>, each as {@value #MASK}:
 *
 * <ul>
 *   <li>the password of a URL's user info: {@code postgresql://app:***@db/orders};
 *   <li>the value after a name that looks secret, written {@code name=value}, {@code name: value}
 *       or {@code "name": "value"}, the name containing {@code password}, {@code passwd}, {@code
 *       pwd}, {@code secret}, {@code token}, {@code apikey}, {@code api_key}, {@code access_key},
 *       {@code private_key}, {@code credential} or {@code signature}, or being {@code auth}, {@code
 *       pass} or {@code sig}: JDBC's {@code ?password=}, H2's {@code ;PASSWORD=}, {@code
 *       ?access_token=}, {@code X-Amz-Signature=}, {@code client_secret: }, JSON fields;
 *   <li>the credentials of an {@code Authorization}, {@code Proxy-Authorization}, {@code Cookie} or
 *       {@code Set-Cookie} header (the scheme word, such as {@code Bearer}, is kept), and the token
 *       after a lone {@code Bearer};
 *   <li>AWS access key ids ({@code AKIA…}) and JSON web tokens ({@code eyJ…} in three dotted
 *       parts).
 * </ul>
 *
 * <p><b>Limits.</b> It errs on the side of masking (the value after {@code token=} is masked
 * whether or not it is one) and does not know every secret: a password written in prose, or in a
 * URL form other than user info ({@code jdbc:oracle:thin:user/password@host}), stays as it is. It
 * is no reason to log a secret on purpose.
 *
 * <p><b>Cost.</b> One pass over the text with no regular expression, so no input can make it
 * backtrack: linear in the length read. The bounded forms read at most {@code maxChars} + 1,024
 * characters whatever the text's length (a secret that starts before the cut is masked whole, up to
 * that margin); about 1 µs for a 200-character message and 4 ns a character beyond, so it belongs
 * where an error or a log line is written, not on every record. Text with nothing to mask or escape
 * is returned as it is, without a copy. Masking masked text changes nothing.
 *
 * <p>All methods are stateless and thread-safe.
 */
public final class SafeText {

  /** What stands for a masked secret. */
  public static final String MASK = Secrets.MASK;

  /** The longest text {@link #loggable(Object)} keeps, in characters, before the note of a cut. */
  public static final int DEFAULT_MAX_CHARS = ErrorText.DEFAULT_MESSAGE_CHARS;

  /** The largest {@code maxChars} the bounded forms take (1 Mi characters). */
  public static final int MAX_CHARS = ErrorText.MAX_CHARS;

  private SafeText() {}

  /**
   * The text with its secrets masked, nothing else changed: not cut, not escaped. Its cost grows
   * with the text's length; for text of any length, use {@link #masked(Object, int)}.
   *
   * @throws NullPointerException if the text is null
   */
  public static String masked(String text) {
    return Secrets.redact(text);
  }

  /**
   * The text ({@code String.valueOf}, "null" for null) with its secrets masked and cut to {@code
   * maxChars}, the cut said ("… [cut 1,234 chars]"), to keep as data: not escaped.
   *
   * @throws IllegalArgumentException if {@code maxChars} is not between 1 and {@value #MAX_CHARS}
   */
  public static String masked(@Nullable Object text, int maxChars) {
    return ErrorText.redacted(ErrorText.string(text), checked(maxChars));
  }

  /**
   * The text for one log line or a message: secrets masked, cut to {@value #DEFAULT_MAX_CHARS}
   * characters and escaped, so that it cannot forge a log line or drive a terminal (line breaks,
   * ESC and every other control character, and the invisible characters that change how a line
   * reads, such as U+202E, are written as Java escapes: {@code \n}, {@code \u001B}). Total: a null
   * is "null", and a {@code toString()} that throws gives a note saying so.
   */
  public static String loggable(@Nullable Object text) {
    return ErrorText.loggable(text);
  }

  /**
   * As {@link #loggable(Object)}, cut to {@code maxChars}.
   *
   * @throws IllegalArgumentException if {@code maxChars} is not between 1 and {@value #MAX_CHARS}
   */
  public static String loggable(@Nullable Object text, int maxChars) {
    return ErrorText.loggable(text, checked(maxChars));
  }

  /**
   * An exception on one line for a log line or a message, as {@code Throwable.toString()} gives it
   * ("class: message") but its message masked, cut to {@value #DEFAULT_MAX_CHARS} characters and
   * escaped. Total: it never calls the exception's {@code toString()}, and a {@code getMessage()}
   * that throws gives a note saying so.
   */
  public static String describe(Throwable error) {
    return ErrorText.describeDefault(error);
  }

  /**
   * An exception's stack trace, in {@code printStackTrace}'s layout, for a log line that would
   * otherwise be given the exception itself (a logger prints its message and its causes' as they
   * are): each exception's message masked and escaped, at most 32 exceptions (causes and suppressed
   * ones, a cycle named once), cut to 16,384 characters. Total, as {@link #describe}.
   */
  public static String stackTrace(Throwable error) {
    return ErrorText.defaults().stackTrace(error);
  }

  private static int checked(int maxChars) {
    if (maxChars < 1 || maxChars > MAX_CHARS) {
      throw new IllegalArgumentException(
          "maxChars must be between 1 and " + MAX_CHARS + ", was " + maxChars);
    }
    return maxChars;
  }
}
