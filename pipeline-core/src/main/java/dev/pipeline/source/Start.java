package dev.pipeline.source;

import dev.pipeline.internal.ErrorText;
import java.util.Objects;

/**
 * Where a file source starts reading: a byte offset and the number of the line there (so that
 * record ids, {@code sourceId-<line>}, go on after a seek). As a position: {@code
 * <kind>:<offset>:<line>}.
 */
record Start(long offset, long line) {
  static final Start BEGIN = new Start(0, 1);

  /** The most characters of a rejected position that its error repeats. */
  static final int SHOWN_CHARS = 100;

  String format(String kind) {
    return kind + ":" + offset + ":" + line;
  }

  /**
   * Reads a position a source of this kind gave.
   *
   * @throws NullPointerException if the position is null
   * @throws IllegalArgumentException if it is not one
   */
  static Start parse(String kind, String position) {
    Objects.requireNonNull(position, "position cannot be null");
    String prefix = kind + ":";
    if (!position.startsWith(prefix)) {
      throw rejected(kind, position, "it is not a position of a " + kind + " source");
    }
    int colon = position.indexOf(':', prefix.length());
    if (colon < 0) {
      throw rejected(kind, position, "it has no line number");
    }
    long offset = number(position, prefix.length(), colon);
    long line = number(position, colon + 1, position.length());
    if (offset < 0 || line < 1) {
      throw rejected(
          kind, position, "the offset and the line must be decimal numbers, the line from 1");
    }
    if (line - 1 > offset) {
      throw rejected(
          kind, position, "line " + line + " cannot start at byte " + offset + " (too early)");
    }
    return new Start(offset, line);
  }

  static IllegalArgumentException rejected(String kind, String position, String why) {
    return new IllegalArgumentException(
        "expected a position of a "
            + kind
            + " source ('"
            + kind
            + ":<byte offset>:<line number>'), got '"
            + shown(position)
            + "': "
            + why);
  }

  /** Text from outside, cut and escaped for an error message. */
  static String shown(String text) {
    return ErrorText.escape(ErrorText.cut(text, SHOWN_CHARS));
  }

  /** A decimal number of at most 18 digits, or -1. */
  private static long number(String text, int from, int to) {
    if (to <= from || to - from > 18) {
      return -1;
    }
    long n = 0;
    for (int i = from; i < to; i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      n = 10 * n + (c - '0');
    }
    return n;
  }
}
