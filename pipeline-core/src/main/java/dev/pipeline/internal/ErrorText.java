package dev.pipeline.internal;

import dev.pipeline.store.ErrorInfo;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The one place that turns an exception, or text from outside, into text the library stores or
 * logs. Total: it never throws, whatever the exception's {@code getMessage()}, {@code toString()},
 * {@code getCause()} or {@code getStackTrace()} do; bounded: a message is cut to {@link
 * #messageChars()}, a stack trace to {@link #stackChars()}, a cause chain (or a cycle of causes and
 * suppressed exceptions) to {@link #MAX_THROWABLES} exceptions, each cut said in the text; and
 * {@link #escape escaped} for logs, so that text from outside cannot forge a log line or drive a
 * terminal; and {@link Secrets redacted}: passwords, tokens and keys that an exception's message
 * echoes are masked before the text is kept or logged. It never calls an exception's {@code
 * toString()} or {@code printStackTrace()}: the stack trace is its own walk. Not API: the package
 * is exported only to the library's own modules.
 *
 * <p>Immutable and thread-safe.
 */
public final class ErrorText {

  /** The default longest message kept, in characters. */
  public static final int DEFAULT_MESSAGE_CHARS = 4_096;

  /** The default longest stack trace kept, in characters. */
  public static final int DEFAULT_STACK_CHARS = 16_384;

  /** The smallest limit allowed for a message or a stack trace. */
  public static final int MIN_CHARS = 256;

  /** The largest limit allowed for a message or a stack trace (1 Mi characters). */
  public static final int MAX_CHARS = 1 << 20;

  /** The most exceptions (the error, its causes and suppressed ones) one stack trace shows. */
  public static final int MAX_THROWABLES = 32;

  /** How many characters past a cut are read for a secret that began before it. */
  public static final int REDACT_MARGIN = 1_024;

  /** How many of a record's latest errors its history keeps, after its first one. */
  public static final int KEPT_LAST_ERRORS = 8;

  /** The error type of the entry that stands for errors dropped from a record's history. */
  public static final String DROPPED_TYPE = "ErrorsDropped";

  /** The exception class of that entry (no such class exists). */
  static final String DROPPED_CLASS = "dev.pipeline.ErrorsDropped";

  private static final ErrorText DEFAULTS =
      new ErrorText(DEFAULT_MESSAGE_CHARS, DEFAULT_STACK_CHARS);

  private final int messageChars;
  private final int stackChars;

  private ErrorText(int messageChars, int stackChars) {
    this.messageChars = messageChars;
    this.stackChars = stackChars;
  }

  /** The default limits: {@value #DEFAULT_MESSAGE_CHARS} and {@value #DEFAULT_STACK_CHARS}. */
  public static ErrorText defaults() {
    return DEFAULTS;
  }

  /**
   * Limits of a pipeline's choosing.
   *
   * @throws IllegalArgumentException if a limit is outside [{@value #MIN_CHARS}, {@value
   *     #MAX_CHARS}]
   */
  public static ErrorText of(int messageChars, int stackChars) {
    String problem = problem(messageChars, stackChars);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    return new ErrorText(messageChars, stackChars);
  }

  /** What is wrong with these limits, or null if they are in range. */
  public static @Nullable String problem(int messageChars, int stackChars) {
    if (messageChars < MIN_CHARS || messageChars > MAX_CHARS) {
      return "errorTextLimits: messageChars must be between "
          + MIN_CHARS
          + " and "
          + MAX_CHARS
          + ", was "
          + messageChars;
    }
    if (stackChars < MIN_CHARS || stackChars > MAX_CHARS) {
      return "errorTextLimits: stackChars must be between "
          + MIN_CHARS
          + " and "
          + MAX_CHARS
          + ", was "
          + stackChars;
    }
    return null;
  }

  /** The longest message kept, in characters (before the note of a cut). */
  public int messageChars() {
    return messageChars;
  }

  /** The longest stack trace kept, in characters (before the note of a cut). */
  public int stackChars() {
    return stackChars;
  }

  // ------------------------------------------------------------------ exceptions

  /** What a store keeps of an error: its message and stack trace, cut to these limits. */
  public ErrorInfo info(String stage, Throwable error, int attempt, Instant at) {
    Class<?> type = error.getClass();
    String raw = rawMessage(error);
    // masked once: the stack trace's first line is the same message, escaped
    String message = raw == null ? "" : redacted(raw, messageChars);
    String first = raw == null ? type.getName() : type.getName() + ": " + escape(message);
    return new ErrorInfo(
        stage,
        type.getSimpleName(),
        type.getName(),
        message,
        stackTrace(error, first),
        attempt,
        at);
  }

  /**
   * The error's message, its secrets {@link Secrets masked} and cut to {@link #messageChars()}; ""
   * if it has none; a note saying so if {@code getMessage()} threw. Not escaped (it is kept as
   * data).
   */
  public String message(Throwable error) {
    String raw = rawMessage(error);
    return raw == null ? "" : redacted(raw, messageChars);
  }

  /**
   * The error on one line, as {@code Throwable.toString()} would give it ("class: message") but
   * total, its secrets masked, cut and escaped: for log lines and for messages that name a cause.
   */
  public String describe(Throwable error) {
    String raw = rawMessage(error);
    String name = error.getClass().getName();
    return raw == null ? name : name + ": " + escape(redacted(raw, messageChars));
  }

  /** {@link #describe(Throwable)} with the default limits. */
  public static String describeDefault(Throwable error) {
    return DEFAULTS.describe(error);
  }

  /**
   * The error's stack trace, in {@code printStackTrace}'s layout: the error, its frames, its
   * suppressed exceptions and its causes, at most {@link #MAX_THROWABLES} of them, each seen once
   * (a cycle is named, not followed), cut to {@link #stackChars()}. Each exception's line and each
   * frame is {@link #escape escaped}, so the only line breaks are the layout's own.
   */
  public String stackTrace(Throwable error) {
    return stackTrace(error, null);
  }

  /** As {@link #stackTrace(Throwable)}, with the error's own line given if made already. */
  private String stackTrace(Throwable error, @Nullable String firstLine) {
    StringBuilder out = new StringBuilder(Math.min(stackChars, 1_024));
    Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    // a walk with its own stack: a 10,000-deep chain must not overflow the thread's
    Deque<Item> todo = new ArrayDeque<>();
    todo.push(new Item(error, "", ""));
    int shown = 0;
    while (!todo.isEmpty()) {
      if (out.length() >= stackChars) {
        return cutTrace(out, null);
      }
      Item item = todo.pop();
      Throwable t = item.error();
      if (!seen.add(t)) {
        line(out, item.indent() + item.caption() + "[CIRCULAR REFERENCE: " + describe(t) + "]");
        continue;
      }
      if (shown++ == MAX_THROWABLES) {
        return cutTrace(
            out, "more than " + MAX_THROWABLES + " exceptions (causes and suppressed ones)");
      }
      line(
          out,
          item.indent()
              + item.caption()
              + (t == error && firstLine != null ? firstLine : describe(t)));
      StackTraceElement[] frames = frames(t);
      for (StackTraceElement frame : frames) {
        if (out.length() >= stackChars) {
          return cutTrace(out, null);
        }
        out.append(item.indent()).append("\tat ").append(frameText(frame)).append('\n');
      }
      Throwable cause = cause(t);
      if (cause != null) {
        todo.push(new Item(cause, item.indent(), "Caused by: "));
      }
      Throwable[] suppressed = t.getSuppressed(); // final in Throwable: cannot throw
      for (int i = suppressed.length - 1; i >= 0; i--) {
        todo.push(new Item(suppressed[i], item.indent() + "\t", "Suppressed: "));
      }
    }
    if (out.length() > stackChars) {
      return cutTrace(out, null);
    }
    return out.toString();
  }

  private record Item(Throwable error, String indent, String caption) {}

  /**
   * The frames most recently written, as text: a stage that dead-letters many records throws from
   * the same few places, and a frame's text (its {@code toString()}, then escaped) costs more than
   * a look-up. Bounded: emptied when it holds {@value #FRAMES_KEPT}.
   */
  private static final Map<StackTraceElement, String> FRAMES = new ConcurrentHashMap<>();

  private static final int FRAMES_KEPT = 4_096;

  /** A frame's text, escaped. */
  private static String frameText(StackTraceElement frame) {
    String text = FRAMES.get(frame);
    if (text == null) {
      text = escape(String.valueOf(frame));
      if (FRAMES.size() >= FRAMES_KEPT) {
        FRAMES.clear();
      }
      FRAMES.put(frame, text);
    }
    return text;
  }

  private static void line(StringBuilder out, String text) {
    out.append(text).append('\n');
  }

  /** The text so far, cut to the limit, with why it was cut (null: it was too long). */
  private String cutTrace(StringBuilder out, @Nullable String why) {
    if (why == null) {
      why = "the stack trace is longer than " + group(stackChars) + " chars";
    }
    if (out.length() > stackChars) {
      out.setLength(stackChars);
      if (Character.isHighSurrogate(out.charAt(stackChars - 1))) {
        out.setLength(stackChars - 1);
      }
    }
    return out.append("\t… [cut: ").append(why).append("]\n").toString();
  }

  private static @Nullable String rawMessage(Throwable error) {
    try {
      return error.getMessage();
    } catch (Throwable thrown) {
      // only the class of what it threw: its message or toString() may throw as well
      return "[getMessage() threw " + thrown.getClass().getName() + "]";
    }
  }

  private static StackTraceElement[] frames(Throwable error) {
    try {
      StackTraceElement[] frames = error.getStackTrace();
      return frames == null ? new StackTraceElement[0] : frames;
    } catch (Throwable thrown) {
      return new StackTraceElement[0];
    }
  }

  private static @Nullable Throwable cause(Throwable error) {
    try {
      return error.getCause();
    } catch (Throwable thrown) {
      return null;
    }
  }

  // ------------------------------------------------------------------ text

  /**
   * Text cut to {@code max} characters (never inside a surrogate pair), with the cut said: "… [cut
   * 10,485,000 chars]".
   */
  public static String cut(String text, int max) {
    return cut(text, max, 0);
  }

  /** As {@link #cut(String, int)}, for text that had {@code more} characters after it. */
  private static String cut(String text, int max, long more) {
    if (text.length() <= max && more == 0) {
      return text;
    }
    int end = Math.min(max, text.length());
    if (end > 0 && Character.isHighSurrogate(text.charAt(end - 1))) {
      end--;
    }
    return text.substring(0, end) + "… [cut " + group(text.length() - end + more) + " chars]";
  }

  /**
   * Text from outside with its {@link Secrets secrets masked}, cut to {@code max} characters. Only
   * the first {@code max} + {@value #REDACT_MARGIN} characters are read, so the cost is bounded
   * whatever the text's length; a secret that begins before the cut is masked whole, up to that
   * margin.
   */
  public static String redacted(String text, int max) {
    if (text.length() <= max + REDACT_MARGIN) {
      return cut(Secrets.redact(text), max);
    }
    int window = max + REDACT_MARGIN;
    return cut(Secrets.redact(text.substring(0, window)), max, text.length() - window);
  }

  /**
   * Text from outside made safe for one log line: line breaks (CR, LF, U+0085, U+2028, U+2029), ESC
   * and every other C0 and C1 control character, DEL, the Unicode bidi controls and the other
   * invisible format characters (zero-width ones, U+FEFF) are written as Java escapes ({@code \n},
   * {@code \r}, {@code \t}, {@code \u001B}, …). Escaping escaped text changes nothing.
   */
  public static String escape(String text) {
    int i = 0;
    int n = text.length();
    while (i < n && !unsafe(text.charAt(i))) {
      i++;
    }
    if (i == n) {
      return text;
    }
    StringBuilder out = new StringBuilder(n + 16).append(text, 0, i);
    for (; i < n; i++) {
      char c = text.charAt(i);
      if (!unsafe(c)) {
        out.append(c);
      } else if (c == '\n') {
        out.append("\\n");
      } else if (c == '\r') {
        out.append("\\r");
      } else if (c == '\t') {
        out.append("\\t");
      } else {
        out.append(String.format(Locale.ROOT, "\\u%04X", (int) c));
      }
    }
    return out.toString();
  }

  /**
   * Text from outside (a record id, a name, an alert) for a log line: its secrets masked, cut to
   * the default and escaped.
   */
  public static String loggable(@Nullable Object text) {
    return loggable(text, DEFAULT_MESSAGE_CHARS);
  }

  /** As {@link #loggable(Object)}, cut to {@code max} characters. */
  public static String loggable(@Nullable Object text, int max) {
    return escape(redacted(string(text), max));
  }

  /** {@code String.valueOf(text)}, total: a {@code toString()} that throws gives a note. */
  public static String string(@Nullable Object text) {
    try {
      return String.valueOf(text);
    } catch (Throwable thrown) {
      return "[toString() threw " + thrown.getClass().getName() + "]";
    }
  }

  /** The index of the first control character {@link #escape} would escape, or -1. */
  public static int firstControl(String text) {
    for (int i = 0; i < text.length(); i++) {
      if (unsafe(text.charAt(i))) {
        return i;
      }
    }
    return -1;
  }

  private static boolean unsafe(char c) {
    if (c >= 0x20 && c < 0x7F) {
      return false; // printable ASCII, most of every text: two comparisons, not eight
    }
    return c < 0x20
        || (c >= 0x7F && c <= 0x9F)
        || c == 0x061C // Arabic letter mark
        || c == 0x200E // left-to-right mark
        || c == 0x200F // right-to-left mark
        || (c >= 0x2028 && c <= 0x202E) // line and paragraph separators, bidi embeddings
        || (c >= 0x2066 && c <= 0x2069) // bidi isolates
        // and the other invisible format characters: zero-width ones, U+FEFF, the soft hyphen
        || (c >= 0xAD && Character.getType(c) == Character.FORMAT);
  }

  private static String group(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }

  // ------------------------------------------------------------------ history

  /**
   * A record's error history, bounded: its first error, an entry of type {@value #DROPPED_TYPE}
   * whose {@code attempt} counts the errors dropped in between (earlier such entries added in), and
   * its last {@value #KEPT_LAST_ERRORS} errors. Returns the list itself when it is short enough.
   */
  public static List<ErrorInfo> bounded(List<ErrorInfo> errors) {
    int n = errors.size();
    if (n <= KEPT_LAST_ERRORS + 2) {
      return errors;
    }
    int lastFrom = n - KEPT_LAST_ERRORS;
    long dropped = 0;
    for (int i = 1; i < lastFrom; i++) {
      dropped += count(errors.get(i));
    }
    ErrorInfo lastDropped = errors.get(lastFrom - 1);
    int count = (int) Math.min(Integer.MAX_VALUE, dropped);
    List<ErrorInfo> kept = new ArrayList<>(KEPT_LAST_ERRORS + 2);
    kept.add(errors.get(0));
    kept.add(
        new ErrorInfo(
            lastDropped.stage(),
            DROPPED_TYPE,
            DROPPED_CLASS,
            group(count)
                + " errors between the first and the last "
                + KEPT_LAST_ERRORS
                + " were dropped (a record keeps its first error and its last "
                + KEPT_LAST_ERRORS
                + ")",
            "",
            count,
            lastDropped.occurredAt()));
    kept.addAll(errors.subList(lastFrom, n));
    return kept;
  }

  /** Appends errors to a history and bounds it. */
  public static List<ErrorInfo> append(List<ErrorInfo> history, List<ErrorInfo> more) {
    if (more.isEmpty()) {
      return history;
    }
    if (history.isEmpty()) {
      return bounded(more);
    }
    List<ErrorInfo> all = new ArrayList<>(history.size() + more.size());
    all.addAll(history);
    all.addAll(more);
    return bounded(all);
  }

  /** Whether an entry of a history stands for dropped errors. */
  public static boolean isDropped(ErrorInfo error) {
    return DROPPED_CLASS.equals(error.exceptionClass());
  }

  /** How many errors an entry of a history stands for: 1, or the number it says were dropped. */
  public static int count(ErrorInfo error) {
    return isDropped(error) ? Math.max(0, error.attempt()) : 1;
  }
}
