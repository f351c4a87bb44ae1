package dev.pipeline.source;

import java.util.Arrays;

/**
 * The bytes of one record, bounded: bytes past the limit are counted, not kept, so memory stays
 * within the limit whatever the input. Not thread-safe.
 */
final class RecordBuffer {
  private final int max;
  byte[] data = new byte[256];

  /** Bytes kept, at most the limit. */
  int length;

  /** Bytes appended, those past the limit included. */
  long total;

  RecordBuffer(int max) {
    this.max = max;
  }

  void clear() {
    length = 0;
    total = 0;
  }

  /** Whether more bytes were appended than the limit allows. */
  boolean over() {
    return total > max;
  }

  int max() {
    return max;
  }

  void append(byte[] from, int offset, int count) {
    total += count;
    int copied = Math.min(count, max - length);
    if (copied <= 0) {
      return;
    }
    if (data.length < length + copied) {
      data = Arrays.copyOf(data, (int) Math.min(max, Math.max(2L * data.length, length + copied)));
    }
    System.arraycopy(from, offset, data, length, copied);
    length += copied;
  }

  void append(byte b) {
    total++;
    if (length < max) {
      if (length == data.length) {
        data = Arrays.copyOf(data, (int) Math.min(max, 2L * data.length));
      }
      data[length++] = b;
    }
  }

  /** Appends what another buffer kept, and counts what it did not keep. */
  void append(RecordBuffer other) {
    append(other.data, 0, other.length);
    total += other.total - other.length;
  }

  /** Goes back to an earlier length and total (dropping trailing bytes). */
  void truncate(int toLength, long toTotal) {
    length = Math.min(length, toLength);
    total = toTotal;
  }

  /** Whether the bytes are only spaces and tabs (or none). */
  boolean isBlank() {
    if (over()) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      if (data[i] != ' ' && data[i] != '\t') {
        return false;
      }
    }
    return true;
  }

  /** Whether the bytes, trailing spaces and tabs aside, are these. */
  boolean isLine(byte[] line) {
    if (over()) {
      return false;
    }
    int end = length;
    while (end > 0 && (data[end - 1] == ' ' || data[end - 1] == '\t')) {
      end--;
    }
    return Arrays.equals(data, 0, end, line, 0, line.length);
  }
}
