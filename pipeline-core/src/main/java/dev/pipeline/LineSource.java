package dev.pipeline;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;

/**
 * A source over the lines of a UTF-8 byte stream, read by hand so that one bad line hurts only
 * itself: a line that is not valid UTF-8, or longer than the limit, is yielded as a record marked
 * {@link Envelope#SOURCE_ERROR} (dead-lettered at ingestion) and reading goes on with the next
 * line. Memory stays bounded by the line limit: past it, bytes are skipped up to the next line
 * break.
 *
 * <p>Lines end at {@code \n}, {@code \r} or {@code \r\n}, as for {@link
 * java.io.BufferedReader#readLine()}. Not thread-safe (a source is read by one thread).
 */
final class LineSource implements Source<String> {
  /** Raw bytes of a bad line shown in its error, at most. */
  static final int SHOWN_BYTES = 256;

  /** Bytes of an over-long line kept as its payload, at most. */
  static final int KEPT_BYTES = 1024;

  private static final int READ_BUFFER = 64 * 1024;

  private final String id;
  private final Callable<? extends InputStream> opener;
  private final int maxLineBytes;
  private final Map<String, String> tag;
  private final CharsetDecoder decoder =
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT);

  private @Nullable InputStream in;
  private final byte[] buffer = new byte[READ_BUFFER];
  private int position;
  private int limit;
  private boolean eof;
  private boolean skipLineFeed; // the last line ended with \r: a \n right after belongs to it
  private byte[] line = new byte[256];
  private int lineLength;
  private long lineBytes; // bytes of the current line, those skipped past the limit included
  private CharBuffer chars = CharBuffer.allocate(256);
  private long lineNumber;

  LineSource(String id, Callable<? extends InputStream> opener, int maxLineBytes) {
    this.id = Objects.requireNonNull(id, "sourceId cannot be null");
    if (id.isBlank()) {
      throw new IllegalArgumentException("sourceId cannot be blank");
    }
    this.opener = Objects.requireNonNull(opener, "opener cannot be null");
    if (maxLineBytes < 1 || maxLineBytes > Source.MAX_LINE_BYTES) {
      throw new IllegalArgumentException(
          "maxLineBytes must be between 1 and "
              + Source.MAX_LINE_BYTES
              + ", was "
              + maxLineBytes
              + " (Source.DEFAULT_MAX_LINE_BYTES is "
              + Source.DEFAULT_MAX_LINE_BYTES
              + ")");
    }
    this.maxLineBytes = maxLineBytes;
    this.tag = Map.of(Envelope.SOURCE_ID, id);
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public @Nullable Envelope<String> next() throws Exception {
    if (in == null) {
      in = Objects.requireNonNull(opener.call(), "the opener of source '" + id + "' gave null");
    }
    if (!readLine()) {
      return null;
    }
    lineNumber++;
    String recordId = id + "-" + lineNumber;
    if (lineBytes > maxLineBytes) {
      return unreadable(
          recordId,
          "has "
              + lineBytes
              + " bytes, more than the limit of "
              + maxLineBytes
              + "; it was not read whole: its payload is its first "
              + lineLength
              + " bytes");
    }
    decoder.reset();
    ByteBuffer bytes = ByteBuffer.wrap(line, 0, lineLength);
    if (chars.capacity() < lineLength) {
      chars = CharBuffer.allocate(Math.max(lineLength, 2 * chars.capacity()));
    }
    chars.clear();
    CoderResult result = decoder.decode(bytes, chars, true);
    if (!result.isError()) {
      result = decoder.flush(chars);
    }
    if (result.isError()) {
      return unreadable(
          recordId,
          "is not valid UTF-8 ("
              + result
              + " at byte "
              + bytes.position()
              + " of "
              + lineLength
              + "); its payload has U+FFFD for the bad bytes");
    }
    return Envelope.tagged(recordId, chars.flip().toString(), tag);
  }

  /** The line as a record marked {@link Envelope#SOURCE_ERROR}: why, and its first raw bytes. */
  private Envelope<String> unreadable(String recordId, String why) {
    return Envelope.tagged(recordId, lossy(), tag)
        .withMetadata(
            Envelope.SOURCE_ERROR,
            "line "
                + lineNumber
                + " of source '"
                + id
                + "' "
                + why
                + " (raw, Base64: "
                + shown()
                + ")");
  }

  /** The line with each malformed byte replaced by U+FFFD. */
  private String lossy() {
    return new String(line, 0, lineLength, StandardCharsets.UTF_8);
  }

  /** The line's first raw bytes in Base64, and how many of them. */
  private String shown() {
    int n = Math.min(lineLength, SHOWN_BYTES);
    String base64 = Base64.getEncoder().encodeToString(Arrays.copyOf(line, n));
    return n < lineBytes ? "first " + n + " bytes " + base64 : base64;
  }

  /**
   * Reads the next line into {@code line}: at most {@code maxLineBytes} bytes (or {@link
   * #KEPT_BYTES} of a line longer than that), counting them all in {@code lineBytes}.
   *
   * @return false at the end of the stream
   */
  private boolean readLine() throws IOException {
    lineLength = 0;
    lineBytes = 0;
    boolean any = false;
    while (true) {
      if (position == limit) {
        if (eof || !fill()) {
          return any;
        }
      }
      if (skipLineFeed) {
        skipLineFeed = false;
        if (buffer[position] == '\n') {
          position++;
          continue;
        }
      }
      any = true;
      int start = position;
      int end = start;
      while (end < limit && buffer[end] != '\n' && buffer[end] != '\r') {
        end++;
      }
      append(start, end - start);
      if (end < limit) {
        skipLineFeed = buffer[end] == '\r';
        position = end + 1;
        return true;
      }
      position = end;
    }
  }

  private boolean fill() throws IOException {
    InputStream stream = Objects.requireNonNull(in);
    int n = stream.read(buffer, 0, buffer.length);
    if (n < 0) {
      eof = true;
      return false;
    }
    position = 0;
    limit = n;
    return true;
  }

  /** Keeps the bytes while the line is within its limit; past it, only counts them. */
  private void append(int from, int count) {
    long total = lineBytes + count;
    int keep = total > maxLineBytes ? Math.min(maxLineBytes, KEPT_BYTES) : maxLineBytes;
    if (lineLength > keep) {
      lineLength = keep; // the line just went over its limit: keep only its first bytes
    }
    int copied = Math.max(0, Math.min(count, keep - lineLength));
    if (copied > 0) {
      if (line.length < lineLength + copied) {
        line =
            Arrays.copyOf(
                line, (int) Math.min(keep, Math.max(2L * line.length, lineLength + copied)));
      }
      System.arraycopy(buffer, from, line, lineLength, copied);
      lineLength += copied;
    }
    lineBytes = total;
  }

  @Override
  public void close() throws IOException {
    if (in != null) {
      in.close();
    }
  }

  @Override
  public String toString() {
    return "Source[" + id + "]";
  }
}
