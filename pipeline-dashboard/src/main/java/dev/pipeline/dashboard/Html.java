package dev.pipeline.dashboard;

import java.util.Locale;

/**
 * Writes HTML with every piece of outside text escaped. Text is cut to a bound before it is
 * written, and control characters and bidirectional overrides are shown as {@code \\uXXXX}, so a
 * record id or an error message can neither inject markup nor forge what the page says.
 */
final class Html {
  /** The longest text written from one outside value unless a caller sets its own bound. */
  static final int MAX_TEXT = 2_000;

  /** The longest href written: a path, a pipeline's name and the longest encoded record id. */
  static final int MAX_HREF = 1_000 + Paths.MAX_FORM_ID;

  private final StringBuilder out = new StringBuilder(8_192);

  /** Appends trusted markup written by this module (never outside text). */
  Html raw(String markup) {
    out.append(markup);
    return this;
  }

  /** Appends outside text, escaped and cut to {@link #MAX_TEXT} characters. */
  Html text(Object value) {
    return text(value, MAX_TEXT);
  }

  /** Appends outside text, escaped and cut to {@code max} characters. */
  Html text(Object value, int max) {
    escape(String.valueOf(value), max, out);
    return this;
  }

  /** Appends a start tag {@code <tag class="css">} (class and tag are the module's own). */
  Html open(String tag, String css) {
    out.append('<').append(tag);
    if (!css.isEmpty()) {
      out.append(" class=\"").append(css).append('"');
    }
    out.append('>');
    return this;
  }

  /** Appends {@code <tag>escaped text</tag>}. */
  Html element(String tag, Object value) {
    out.append('<').append(tag).append('>');
    text(value);
    out.append("</").append(tag).append('>');
    return this;
  }

  /**
   * Appends a link whose href and label are escaped; the href is never cut below what a page's path
   * and a URL-encoded record id take.
   */
  Html link(String href, Object label) {
    out.append("<a href=\"");
    escape(href, MAX_HREF, out);
    out.append("\">");
    text(label);
    out.append("</a>");
    return this;
  }

  @Override
  public String toString() {
    return out.toString();
  }

  /** Escapes text for an element's content or a quoted attribute value. */
  static String escape(String text) {
    StringBuilder out = new StringBuilder(text.length() + 16);
    escape(text, MAX_TEXT, out);
    return out.toString();
  }

  /**
   * Whether every character of the text reaches the browser as itself: no control character but tab
   * and line feed, no U+2028/U+2029 and no unpaired surrogate, which {@link #text} shows as {@code
   * \\uXXXX}. A form field may hold only such text, or what it sends back differs.
   */
  static boolean writesAsIs(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c != '\n' && c != '\t' && rewritten(text, i)) {
        return false;
      }
    }
    return true;
  }

  private static boolean rewritten(String text, int i) {
    char c = text.charAt(i);
    return Character.isISOControl(c)
        || c == '\u2028'
        || c == '\u2029'
        || (c >= '\u202A' && c <= '\u202E') // bidirectional embeddings and overrides
        || (c >= '\u2066' && c <= '\u2069') // bidirectional isolates
        || (Character.isSurrogate(c) && !pairAt(text, i));
  }

  private static void escape(String text, int max, StringBuilder out) {
    int end = Math.min(text.length(), max);
    if (end < text.length() && Character.isHighSurrogate(text.charAt(end - 1))) {
      end--; // never split a pair
    }
    for (int i = 0; i < end; i++) {
      char c = text.charAt(i);
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&#39;");
        case '\n', '\t' -> out.append(c);
        default -> {
          if (rewritten(text, i)) {
            out.append(String.format(Locale.ROOT, "\\u%04X", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    if (end < text.length()) {
      out.append("… (").append(text.length() - end).append(" more characters)");
    }
  }

  private static boolean pairAt(String text, int i) {
    char c = text.charAt(i);
    if (Character.isHighSurrogate(c)) {
      return i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1));
    }
    return i > 0 && Character.isHighSurrogate(text.charAt(i - 1));
  }
}
