package dev.pipeline.internal;

/**
 * Text written as a JSON string, safe wherever the library puts JSON: in a database column, in an
 * HTTP response, inside an HTML page's {@code <script>}. Besides what JSON requires ({@code "},
 * {@code \} and the C0 controls), it escapes DEL, U+2028 and U+2029 (line breaks to JavaScript),
 * {@code <}, {@code >} and {@code &} (so {@code </script>} or markup in a value cannot end a script
 * or be read as HTML), and unpaired surrogates (which have no UTF-8 form, so a database could not
 * store them): each as a {@code \}{@code uXXXX} escape, which a JSON reader turns back into the
 * same character, so the text reads back exactly.
 *
 * <p>Stateless and thread-safe.
 */
public final class JsonText {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private JsonText() {}

  /**
   * The text as a JSON string, quotes included.
   *
   * @throws NullPointerException if the text is null
   */
  public static String quote(String text) {
    StringBuilder out = new StringBuilder(text.length() + 2);
    quote(text, out);
    return out.toString();
  }

  /**
   * Appends the text as a JSON string, quotes included.
   *
   * @throws NullPointerException if an argument is null
   */
  public static void quote(String text, StringBuilder out) {
    out.append('"');
    int n = text.length();
    int clean = 0; // the start of the run not yet appended: most text has nothing to escape
    for (int i = 0; i < n; i++) {
      char c = text.charAt(i);
      String escape =
          switch (c) {
            case '"' -> "\\\"";
            case '\\' -> "\\\\";
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            default -> null;
          };
      if (escape == null && !needsUnicodeEscape(text, i, c)) {
        continue;
      }
      out.append(text, clean, i);
      if (escape != null) {
        out.append(escape);
      } else {
        out.append("\\u")
            .append(HEX[c >> 12])
            .append(HEX[(c >> 8) & 0xF])
            .append(HEX[(c >> 4) & 0xF])
            .append(HEX[c & 0xF]);
      }
      clean = i + 1;
    }
    out.append(text, clean, n).append('"');
  }

  private static boolean needsUnicodeEscape(String text, int i, char c) {
    if (c < 0x20 || c == 0x7F || c == '<' || c == '>' || c == '&' || c == 0x2028 || c == 0x2029) {
      return true;
    }
    if (Character.isHighSurrogate(c)) {
      return i + 1 >= text.length() || !Character.isLowSurrogate(text.charAt(i + 1));
    }
    return Character.isLowSurrogate(c)
        && (i == 0 || !Character.isHighSurrogate(text.charAt(i - 1)));
  }
}
