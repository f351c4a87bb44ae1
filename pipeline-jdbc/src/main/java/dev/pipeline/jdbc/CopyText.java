package dev.pipeline.jdbc;

import dev.pipeline.store.StorableText;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;

/**
 * The data of one PostgreSQL {@code COPY ... FROM STDIN} in its text format, written straight as
 * UTF-8 bytes: no {@code StringBuilder} of the whole, no {@code String} made of it, no second copy
 * to encode it (a lineage append is a megabyte; those copies were a tenth of a lineage run's
 * samples). Text values are escaped as COPY reads them: backslash, tab, newline and carriage return
 * as {@code \\}, {@code \t}, {@code \n}, {@code \r}; null is {@code \N}. A value holding a NUL or
 * an unpaired surrogate, which PostgreSQL refuses or UTF-8 cannot encode, is written {@link
 * StorableText#escape escaped} instead, as {@link BulkAppend#storable} would give it.
 *
 * <p>One append's, on one thread: not thread-safe.
 */
final class CopyText {
  private static final byte[] NULL = {'\\', 'N'};
  private static final byte[] HEX =
      "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  /** 10 to the power of each place, 1 to 10^18. */
  private static final long[] POWERS = new long[19];

  static {
    POWERS[0] = 1;
    for (int i = 1; i < POWERS.length; i++) {
      POWERS[i] = POWERS[i - 1] * 10;
    }
  }

  private byte[] bytes;
  private int size;

  /** A buffer of the given bytes to start with: a reused one, or a fresh one of about the need. */
  CopyText(byte[] start) {
    this.bytes = start;
  }

  /** The buffer, to reuse for another append once this one's data was sent. */
  byte[] buffer() {
    return bytes;
  }

  /** The bytes written, as COPY's input. */
  InputStream stream() {
    return new ByteArrayInputStream(bytes, 0, size);
  }

  int size() {
    return size;
  }

  void tab() {
    ensure(1);
    bytes[size++] = '\t';
  }

  void newline() {
    ensure(1);
    bytes[size++] = '\n';
  }

  void nullValue() {
    ensure(2);
    bytes[size++] = NULL[0];
    bytes[size++] = NULL[1];
  }

  /** A number, in decimal. */
  void number(long value) {
    if (value < 0) {
      if (value == Long.MIN_VALUE) {
        ascii("-9223372036854775808");
        return;
      }
      ensure(1);
      bytes[size++] = '-';
      value = -value;
    }
    int digits = 1;
    while (digits < POWERS.length && value >= POWERS[digits]) {
      digits++; // compared, not divided: a hash has 19 digits
    }
    ensure(digits);
    int at = size + digits;
    while (value >= 100) { // two digits a division
      int pair = (int) (value % 100);
      value /= 100;
      bytes[--at] = (byte) ('0' + pair % 10);
      bytes[--at] = (byte) ('0' + pair / 10);
    }
    bytes[--at] = (byte) ('0' + value % 10);
    if (value >= 10) {
      bytes[--at] = (byte) ('0' + value / 10);
    }
    size += digits;
  }

  /**
   * The 64 bits as unsigned hexadecimal, without leading zeros: no byte of it needs an escape, so
   * each is written straight (a lineage event's hashes went through the escaping of a character
   * before: a call, a bounds check and a switch per digit).
   */
  void hex(long value) {
    int digits = Math.max(1, (67 - Long.numberOfLeadingZeros(value)) / 4);
    ensure(digits);
    for (int at = size + digits - 1; at >= size; at--) {
      bytes[at] = HEX[(int) value & 0xF];
      value >>>= 4;
    }
    size += digits;
  }

  /**
   * A point in time as {@code 2026-12-06 10:00:00.123456+00} (to the microsecond, truncated), which
   * PostgreSQL reads as {@code TIMESTAMPTZ}; years outside 1 to 9999 in ISO-8601, as {@code
   * Instant} writes them.
   */
  void time(Instant value) {
    LocalDateTime t = LocalDateTime.ofEpochSecond(value.getEpochSecond(), 0, ZoneOffset.UTC);
    if (t.getYear() < 1 || t.getYear() > 9999) {
      ascii(value.toString());
      return;
    }
    ensure(29);
    digits(t.getYear(), 4);
    bytes[size++] = '-';
    digits(t.getMonthValue(), 2);
    bytes[size++] = '-';
    digits(t.getDayOfMonth(), 2);
    bytes[size++] = ' ';
    digits(t.getHour(), 2);
    bytes[size++] = ':';
    digits(t.getMinute(), 2);
    bytes[size++] = ':';
    digits(t.getSecond(), 2);
    bytes[size++] = '.';
    digits(value.getNano() / 1_000, 6);
    bytes[size++] = '+';
    bytes[size++] = '0';
    bytes[size++] = '0';
  }

  /** Binary data as {@code bytea}'s hex form, its backslash doubled as COPY's text wants it. */
  void binary(byte[] value) {
    ensure(3 + 2 * value.length);
    bytes[size++] = '\\';
    bytes[size++] = '\\';
    bytes[size++] = 'x';
    for (byte b : value) {
      bytes[size++] = HEX[(b >> 4) & 0xF];
      bytes[size++] = HEX[b & 0xF];
    }
  }

  /** Text that needs no escape (digits, signs, letters of a number's form). */
  void ascii(String text) {
    ensure(text.length());
    for (int i = 0; i < text.length(); i++) {
      bytes[size++] = (byte) text.charAt(i);
    }
  }

  /** A text value, escaped for COPY (see the class's javadoc). */
  void text(CharSequence value) {
    int start = size;
    if (!escaped(value, 0, value.length())) {
      size = start; // rewound: the value is written in its storable form instead
      String storable = StorableText.escape(value.toString());
      escaped(storable, 0, storable.length());
    }
  }

  /**
   * A text value made in parts, each escaped for COPY as it comes; false, with nothing written, if
   * it holds a NUL or an unpaired surrogate (a pair split over two parts counts as unpaired): the
   * caller then writes its storable form with {@link #text}.
   */
  boolean parts(BulkAppend.Parts value) {
    int start = size;
    Escaping out = new Escaping();
    value.writeTo(out);
    if (out.refused) {
      size = start;
    }
    return !out.refused;
  }

  /** The parts of a value, escaped into this COPY data as they come. */
  private final class Escaping implements BulkAppend.TextOut {
    boolean refused;

    @Override
    public BulkAppend.TextOut append(char c) {
      ensure(2);
      switch (c) {
        case '\\' -> escape('\\');
        case '\t' -> escape('t'); // the packed fields' separator
        case '\n' -> escape('n'); // the packed lines' separator
        case '\r' -> escape('r');
        default -> {
          if (c > 0 && c < 0x80) {
            bytes[size++] = (byte) c;
          } else {
            refused |= !escaped(String.valueOf(c), 0, 1);
          }
        }
      }
      return this;
    }

    @Override
    public BulkAppend.TextOut append(CharSequence text, int from, int to) {
      refused |= !escaped(text, from, to);
      return this;
    }

    @Override
    public BulkAppend.TextOut append(long number) {
      number(number);
      return this;
    }

    @Override
    public BulkAppend.TextOut hex(long value) {
      CopyText.this.hex(value);
      return this;
    }
  }

  /**
   * Writes the characters from {@code from} to {@code to} escaped for COPY, in UTF-8; false, having
   * written part of them, if they hold a NUL or an unpaired surrogate.
   */
  private boolean escaped(CharSequence value, int from, int to) {
    int n = to;
    ensure(n - from + 16);
    for (int i = from; i < n; i++) {
      char c = value.charAt(i);
      if (c >= 0x80) {
        if (!Character.isSurrogate(c)) {
          ensure(3 + n - i);
          if (c < 0x800) {
            bytes[size++] = (byte) (0xC0 | (c >> 6));
          } else {
            bytes[size++] = (byte) (0xE0 | (c >> 12));
            bytes[size++] = (byte) (0x80 | ((c >> 6) & 0x3F));
          }
          bytes[size++] = (byte) (0x80 | (c & 0x3F));
          continue;
        }
        if (!Character.isHighSurrogate(c)
            || i + 1 == n
            || !Character.isLowSurrogate(value.charAt(i + 1))) {
          return false;
        }
        int cp = Character.toCodePoint(c, value.charAt(++i));
        ensure(4 + n - i);
        bytes[size++] = (byte) (0xF0 | (cp >> 18));
        bytes[size++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
        bytes[size++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
        bytes[size++] = (byte) (0x80 | (cp & 0x3F));
        continue;
      }
      byte escape =
          switch (c) {
            case '\\' -> '\\';
            case '\t' -> 't';
            case '\n' -> 'n';
            case '\r' -> 'r';
            case '\0' -> 0;
            default -> -1;
          };
      if (escape < 0) {
        bytes[size++] = (byte) c;
      } else if (escape == 0) {
        return false;
      } else {
        ensure(2 + n - i);
        bytes[size++] = '\\';
        bytes[size++] = escape;
      }
    }
    return true;
  }

  private void escape(char c) {
    bytes[size++] = '\\';
    bytes[size++] = (byte) c;
  }

  private void digits(int value, int count) {
    for (int at = size + count - 1; at >= size; at--) {
      bytes[at] = (byte) ('0' + value % 10);
      value /= 10;
    }
    size += count;
  }

  /** Room for at least this many more bytes. */
  private void ensure(int more) {
    if (size + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
    }
  }
}
