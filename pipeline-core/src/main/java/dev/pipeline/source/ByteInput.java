package dev.pipeline.source;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import org.jspecify.annotations.Nullable;

/**
 * The bytes of a file or a stream, read through one buffer, with the offset of each byte in the
 * input. Readers scan {@link #buf} between {@link #pos} and {@link #limit} themselves (a loop over
 * an array, not a call per byte). Not thread-safe.
 */
final class ByteInput implements Closeable {
  static final int BUFFER = 64 * 1024;

  final byte[] buf = new byte[BUFFER];

  /** The next byte to read in {@link #buf}. */
  int pos;

  /** The end of the bytes read into {@link #buf}. */
  int limit;

  private long base; // offset in the input of buf[0]
  private boolean eof;
  private boolean pendingLf; // the last line break was CR: an LF right after it belongs to it
  private final @Nullable FileChannel file;
  private final @Nullable InputStream stream;
  private final @Nullable ByteBuffer window;
  private final String name;

  private ByteInput(@Nullable FileChannel file, @Nullable InputStream stream, String name) {
    this.file = file;
    this.stream = stream;
    this.window = file == null ? null : ByteBuffer.wrap(buf);
    this.name = name;
  }

  /** A file's bytes, from its start: it can {@link #seek}. */
  static ByteInput of(FileChannel file, String name) {
    return new ByteInput(file, null, name);
  }

  /** A stream's bytes: it cannot seek. */
  static ByteInput of(InputStream stream, String name) {
    return new ByteInput(null, stream, name);
  }

  /** The offset in the input of the next byte to read. */
  long offset() {
    return base + pos;
  }

  /**
   * Reads more bytes, keeping the unread ones.
   *
   * @return false at the end of the input (no byte was added)
   */
  boolean fill() throws IOException {
    if (eof) {
      return false;
    }
    if (pos > 0) {
      int rest = limit - pos;
      System.arraycopy(buf, pos, buf, 0, rest);
      base += pos;
      pos = 0;
      limit = rest;
    }
    if (limit == buf.length) {
      return true; // full of unread bytes: nothing to add, and not the end
    }
    int n;
    do {
      n = read(limit, buf.length - limit);
    } while (n == 0);
    if (n < 0) {
      eof = true;
      return false;
    }
    limit += n;
    return true;
  }

  private int read(int from, int length) throws IOException {
    if (file != null) {
      ByteBuffer w = window;
      w.limit(from + length).position(from);
      return file.read(w);
    }
    return stream.read(buf, from, length);
  }

  /**
   * A CR ended a line. On a file, an LF right after it is read now, so that the offset after the
   * line is a clean place to resume; on a stream it is skipped at the next read instead, so that a
   * line is not held back until the writer sends more.
   */
  void afterCr() throws IOException {
    pendingLf = true;
    if (file != null) {
      settle();
    }
  }

  /** Skips the LF of a CR LF whose CR ended the last line. */
  void settle() throws IOException {
    if (pendingLf) {
      pendingLf = false;
      if ((pos < limit || fill()) && buf[pos] == '\n') {
        pos++;
      }
    }
  }

  /** Skips a UTF-8 byte order mark at the start of the input. */
  void skipUtf8Bom() throws IOException {
    if (offset() != 0) {
      return;
    }
    while (limit - pos < 3 && fill()) {
      // a read may give fewer bytes than asked
    }
    if (limit - pos >= 3
        && buf[pos] == (byte) 0xEF
        && buf[pos + 1] == (byte) 0xBB
        && buf[pos + 2] == (byte) 0xBF) {
      pos += 3;
    }
  }

  /**
   * Moves to an offset of a file.
   *
   * @throws IllegalArgumentException if the offset is past the end of the file
   */
  void seek(long offset) throws IOException {
    FileChannel channel = file;
    if (channel == null) {
      throw new IllegalStateException("a stream cannot seek: " + name);
    }
    long size = channel.size();
    if (offset > size) {
      throw new IllegalArgumentException(
          "the position's byte offset "
              + offset
              + " is past the end of "
              + name
              + " ("
              + size
              + " bytes): the position was taken from other data");
    }
    channel.position(offset);
    base = offset;
    pos = 0;
    limit = 0;
    eof = false;
    pendingLf = false;
  }

  @Override
  public void close() throws IOException {
    if (file != null) {
      file.close();
    } else if (stream != null) {
      stream.close();
    }
  }
}
