package dev.pipeline.source;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Decodes a record's bytes under a {@link TextPolicy}: strictly (a bad byte is found and reported)
 * or replacing bad bytes with U+FFFD. One per source: a decoder holds state. Not thread-safe.
 */
final class TextDecoder {
  private final TextPolicy policy;
  private final CharsetDecoder strict;
  private CharBuffer chars = CharBuffer.allocate(256);

  /**
   * After {@link #decode}: the index, from the start of the decoded bytes, of the first byte that
   * is not valid, or -1 if all are (always -1 when the policy replaces them).
   */
  int badAt = -1;

  TextDecoder(TextPolicy policy) {
    this.policy = policy;
    this.strict =
        policy
            .charset()
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
  }

  /** The bytes as text; see {@link #badAt}. */
  String decode(byte[] bytes, int from, int length) {
    badAt = -1;
    if (length == 0) {
      return "";
    }
    if (ascii(bytes, from, length)) {
      // every allowed charset keeps ASCII, and Latin-1 decoding of ASCII is the fastest there is
      return new String(bytes, from, length, StandardCharsets.ISO_8859_1);
    }
    if (policy.replace()) {
      return new String(bytes, from, length, policy.charset());
    }
    strict.reset();
    if (chars.capacity() < length) {
      chars = CharBuffer.allocate(Math.max(length, 2 * chars.capacity()));
    }
    chars.clear();
    ByteBuffer in = ByteBuffer.wrap(bytes, from, length);
    CoderResult result = strict.decode(in, chars, true);
    if (!result.isError()) {
      result = strict.flush(chars);
    }
    if (result.isError()) {
      badAt = in.position() - from;
      return lossy(bytes, from, length);
    }
    return chars.flip().toString();
  }

  /** The bytes as text, each bad byte as U+FFFD. */
  String lossy(byte[] bytes, int from, int length) {
    return new String(bytes, from, length, policy.charset());
  }

  /**
   * How many of the first {@code max} of these bytes to keep so as not to cut a UTF-8 character in
   * two (a cut one would read as a bad byte).
   */
  int cut(byte[] bytes, int length, int max) {
    if (length <= max) {
      return length;
    }
    int end = max;
    if (policy.utf8()) {
      while (end > max - 3 && end > 0 && (bytes[end] & 0xC0) == 0x80) {
        end--; // bytes[end] continues a character: cut before the character's first byte
      }
      if ((bytes[end] & 0xC0) == 0x80) {
        end = max; // not UTF-8 there anyway
      }
    }
    return end;
  }

  String charsetName() {
    return policy.charset().name();
  }

  private static boolean ascii(byte[] bytes, int from, int length) {
    for (int i = from, end = from + length; i < end; i++) {
      if (bytes[i] < 0) {
        return false;
      }
    }
    return true;
  }
}
