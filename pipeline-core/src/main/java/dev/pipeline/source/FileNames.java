package dev.pipeline.source;

import dev.pipeline.store.StorableText;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * File names as a directory source writes them into positions (printable, reversible) and record
 * ids (bounded, storable). Stateless.
 */
final class FileNames {
  /** A longer name, or one a store cannot keep, is cut in record ids, with a hash added. */
  static final int MAX_ID_CHARS = 200;

  private static final int CUT_ID_CHARS = 150;

  private FileNames() {}

  /**
   * The name with {@code %}, {@code :} and every character that is not printable (controls, format
   * and bidi characters, line and paragraph separators, spaces other than U+0020, unassigned and
   * private-use code points) written as {@code %XX} for each of its UTF-8 bytes; an unpaired
   * surrogate as {@code %uXXXX}.
   */
  static String forPosition(String name) {
    StringBuilder out = null;
    for (int i = 0; i < name.length(); ) {
      int c = name.codePointAt(i);
      int n = Character.charCount(c);
      if (escaped(c)) {
        if (out == null) {
          out = new StringBuilder(name.length() + 16).append(name, 0, i);
        }
        if (Character.getType(c) == Character.SURROGATE) {
          out.append(String.format(Locale.ROOT, "%%u%04X", c));
        } else {
          for (byte b : new String(Character.toChars(c)).getBytes(StandardCharsets.UTF_8)) {
            out.append(String.format(Locale.ROOT, "%%%02X", b & 0xFF));
          }
        }
      } else if (out != null) {
        out.appendCodePoint(c);
      }
      i += n;
    }
    return out == null ? name : out.toString();
  }

  /**
   * The name {@link #forPosition} wrote.
   *
   * @throws IllegalArgumentException if the text is not one it writes
   */
  static String fromPosition(String text) {
    if (text.indexOf('%') < 0) {
      return text;
    }
    StringBuilder out = new StringBuilder(text.length());
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int i = 0;
    while (i < text.length()) {
      char c = text.charAt(i);
      if (c != '%') {
        flush(bytes, out);
        out.append(c);
        i++;
      } else if (i + 1 < text.length() && text.charAt(i + 1) == 'u') {
        int code = hex(text, i + 2, 4);
        if (code < 0 || !Character.isSurrogate((char) code)) {
          throw new IllegalArgumentException("a bad %u escape at index " + i);
        }
        flush(bytes, out);
        out.append((char) code);
        i += 6;
      } else {
        int b = hex(text, i + 1, 2);
        if (b < 0) {
          throw new IllegalArgumentException("a bad % escape at index " + i);
        }
        bytes.write(b);
        i += 3;
      }
    }
    flush(bytes, out);
    return out.toString();
  }

  /**
   * The name as it is in record ids: itself if it is at most {@value #MAX_ID_CHARS} characters and
   * a store can keep it; otherwise its first characters (escaped), {@code ~} and 16 hex digits of
   * its SHA-256, so that two names stay two ids.
   */
  static String forId(String name) {
    if (name.length() <= MAX_ID_CHARS && StorableText.idProblem(name) == null) {
      return name;
    }
    byte[] digest;
    try {
      digest =
          MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_16BE));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
    return StorableText.escape(name, CUT_ID_CHARS) + "~" + HexFormat.of().formatHex(digest, 0, 8);
  }

  private static boolean escaped(int c) {
    if (c == '%' || c == ':') {
      return true;
    }
    return switch (Character.getType(c)) {
      case Character.CONTROL,
          Character.FORMAT,
          Character.LINE_SEPARATOR,
          Character.PARAGRAPH_SEPARATOR,
          Character.UNASSIGNED,
          Character.PRIVATE_USE,
          Character.SURROGATE ->
          true;
      case Character.SPACE_SEPARATOR -> c != ' ';
      default -> false;
    };
  }

  private static void flush(ByteArrayOutputStream bytes, StringBuilder out) {
    if (bytes.size() == 0) {
      return;
    }
    try {
      out.append(
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes.toByteArray())));
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("escaped bytes that are not UTF-8", e);
    }
    bytes.reset();
  }

  private static int hex(String text, int from, int digits) {
    if (from + digits > text.length()) {
      return -1;
    }
    int value = 0;
    for (int i = from; i < from + digits; i++) {
      int d = Character.digit(text.charAt(i), 16);
      if (d < 0) {
        return -1;
      }
      value = 16 * value + d;
    }
    return value;
  }
}
