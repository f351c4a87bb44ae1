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
  private static final DateTimeFormatter CLOCK_SECONDS =
      DateTimeFormatter.ofPattern("HH:mm:ss", Locale.ROOT).withZone(ZoneOffset.UTC);

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

  /** {@code text} cut to {@code max} characters with an ellipsis, for a plot's label. */
  static String clip(String text, int max) {
    if (text.length() <= max) {
      return text;
    }
    int end = max - 1;
    if (Character.isHighSurrogate(text.charAt(end - 1))) {
      end--;
    }
    return text.substring(0, end) + "…";
  }

  /** Text for HTML element content and attribute values: markup characters as entities. */
  static String html(String text) {
    return escape(text, false);
  }

  /**
   * Text for Markdown (a table cell or a list item): on one line, HTML markup as entities, and the
   * punctuation that makes emphasis, code, links, tables, headings and lists backslash-escaped, so
   * that it renders as written. (Parentheses need no escape: no link can open without a bracket.)
   */
  static String md(String text) {
    boolean lead = !text.isEmpty() && (text.charAt(0) == '-' || text.charAt(0) == '=');
    return lead ? "\\" + escape(text, true) : escape(text, true);
  }

  /**
   * Markup characters as entities and control characters as U+FFFD; for Markdown also line breaks
   * and tabs as spaces and Markdown's punctuation backslash-escaped.
   */
  private static String escape(String text, boolean markdown) {
    StringBuilder out = new StringBuilder(text.length() + 16);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '"' -> out.append(markdown ? "\"" : "&quot;");
        case '\'' -> out.append(markdown ? "'" : "&#39;");
        case '\n', '\r', '\t' -> out.append(markdown ? ' ' : c == '\r' ? '\uFFFD' : c);
        case '\\', '`', '*', '_', '{', '}', '[', ']', '#', '+', '|', '~' -> {
          if (markdown) {
            out.append('\\');
          }
          out.append(c);
        }
        default -> out.append(c < 0x20 || c == 0x7F ? '\uFFFD' : c);
      }
    }
    return out.toString();
  }

  static String time(Instant at) {
    return TIME.format(at);
  }

  /** The time of day, with seconds unless they are 0. */
  static String clock(Instant at) {
    return (at.getEpochSecond() % 60 == 0 ? CLOCK : CLOCK_SECONDS).format(at);
  }

  static String percent(double share) {
    double p = 100 * share;
    return String.format(Locale.ROOT, p >= 10 || p == 0 ? "%.0f %%" : "%.1f %%", p);
  }

  /** Three significant digits; whole numbers from 1,000 on; an exponent only below 0.001. */
  static String number(double value) {
    if (!Double.isFinite(value)) {
      return Double.isNaN(value) ? "n/a" : value > 0 ? "∞" : "-∞";
    }
    double magnitude = Math.abs(value);
    if (magnitude >= 1000) {
      return String.format(Locale.ROOT, "%,.0f", value);
    }
    return String.format(Locale.ROOT, magnitude >= 0.001 || value == 0 ? "%.3g" : "%.2e", value);
  }

  static String score(double value) {
    return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, "%.1f", value);
  }

  static String count(long value) {
    return String.format(Locale.ROOT, "%,d", value);
  }
}
