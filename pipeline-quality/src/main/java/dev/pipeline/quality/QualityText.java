package dev.pipeline.quality;

/** Text from outside (values, expressions) cut and escaped before it goes into a message. */
final class QualityText {
  private QualityText() {}

  /**
   * {@code text} with control characters escaped, and the invisible ones that change how a line
   * reads (bidirectional overrides such as U+202E, zero-width characters, line and paragraph
   * separators), cut to {@code max} characters.
   */
  static String bounded(Object text, int max) {
    String s = String.valueOf(text);
    StringBuilder out = new StringBuilder(Math.min(s.length(), max) + 8);
    for (int i = 0; i < s.length(); i++) {
      if (out.length() >= max) {
        out.append("...(").append(s.length()).append(" chars)");
        break;
      }
      char c = s.charAt(i);
      if (c < 0x20
          || c == 0x7f
          || (c >= 0x80 && c < 0xa0)
          || Character.getType(c) == Character.FORMAT
          || c == '\u2028'
          || c == '\u2029') {
        out.append(String.format("\\u%04X", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
