package dev.pipeline.quality.report;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** Bounding and escaping of text from outside, and the report's number and time formats. */
final class Text {

  /** The longest id, name or source shown. */
  static final int MAX_NAME_CHARS = 200;

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT)
          .withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter CLOCK =
      DateTimeFormatter.ofPattern("HH:mm", Locale.ROOT).withZone(ZoneOffset.UTC);

  private Text() {}

  /** {@code text} cut to {@code max} characters, the cut said, never splitting a surrogate pair. */
  static String cut(String text, int max) {
    if (text.length() <= max) {
      return text;
    }
    int end = max;
    if (Character.isHighSurrogate(text.charAt(end - 1))) {
      end--;
    }
    return text.substring(0, end) + "… (" + (text.length() - end) + " more characters)";
  }

  /** Text for HTML element content and attribute values: markup characters as entities. */
  static String html(String text) {
    StringBuilder out = new StringBuilder(text.length() + 16);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&#39;");
        default -> {
          if (c < 0x20 && c != '\n' && c != '\t' || c == 0x7F) {
            out.append('\uFFFD');
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.toString();
  }

  /**
   * Text for Markdown (a table cell or a list item): on one line, HTML markup as entities, and
   * Markdown's punctuation backslash-escaped so that it renders as written.
   */
  static String md(String text) {
    StringBuilder out = new StringBuilder(text.length() + 16);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '\n', '\r', '\t' -> out.append(' ');
        case '\\', '`', '*', '_', '{', '}', '[', ']', '(', ')', '#', '+', '!', '|', '~' ->
            out.append('\\').append(c);
        default -> out.append(c < 0x20 || c == 0x7F ? '\uFFFD' : c);
      }
    }
    return out.toString();
  }

  static String time(Instant at) {
    return TIME.format(at);
  }

  static String clock(Instant at) {
    return CLOCK.format(at);
  }

  static String percent(double share) {
    double p = 100 * share;
    return String.format(Locale.ROOT, p >= 10 || p == 0 ? "%.0f %%" : "%.1f %%", p);
  }

  static String number(double value) {
    return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, "%.3g", value);
  }

  static String score(double value) {
    return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, "%.1f", value);
  }

  static String count(long value) {
    return String.format(Locale.ROOT, "%,d", value);
  }
}
