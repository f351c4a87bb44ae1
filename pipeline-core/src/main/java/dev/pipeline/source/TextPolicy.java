package dev.pipeline.source;

import java.nio.charset.Charset;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.StandardCharsets;

/**
 * How a source turns bytes into text: the charset, whether malformed bytes are replaced (else the
 * record is reported), and the longest record in bytes.
 */
record TextPolicy(Charset charset, boolean replace, int maxRecordBytes) {
  static final TextPolicy DEFAULTS =
      new TextPolicy(StandardCharsets.UTF_8, false, FileFormat.DEFAULT_MAX_RECORD_BYTES);

  boolean utf8() {
    return charset.equals(StandardCharsets.UTF_8);
  }

  /**
   * Checks that records can be split on the raw bytes of this charset: line breaks, separators and
   * quotes are ASCII bytes, and in UTF-8 or a single-byte charset that keeps ASCII such a byte is
   * never part of another character (in UTF-16, Shift_JIS or GBK it can be).
   *
   * @throws IllegalArgumentException if it cannot
   */
  static Charset checkCharset(Charset charset) {
    if (charset.equals(StandardCharsets.UTF_8)) {
      return charset;
    }
    boolean keepsAscii = charset.canEncode();
    if (keepsAscii) {
      CharsetEncoder encoder = charset.newEncoder();
      keepsAscii = encoder.maxBytesPerChar() == 1f;
      byte[] ascii = new byte[128];
      for (int i = 0; i < ascii.length; i++) {
        ascii[i] = (byte) i;
      }
      String decoded = new String(ascii, charset);
      for (int i = 0; keepsAscii && i < ascii.length; i++) {
        keepsAscii = decoded.length() == ascii.length && decoded.charAt(i) == i;
      }
    }
    if (!keepsAscii) {
      throw new IllegalArgumentException(
          "charset "
              + charset.name()
              + " is not supported: records are split on ASCII bytes (line breaks, separators,"
              + " quotes), so the charset must be UTF-8 or a single-byte charset that keeps ASCII"
              + " (US-ASCII, ISO-8859-1, windows-1252, ...); convert the input to UTF-8 first");
    }
    return charset;
  }
}
