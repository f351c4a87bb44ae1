package dev.pipeline.source;

import dev.pipeline.Envelope;
import java.io.IOException;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What the readers of text share: the input, the line count, the decoder, and the making of records
 * and of the records marked {@link Envelope#SOURCE_ERROR}. Not thread-safe.
 */
abstract class TextReader<T> implements RecordReader<T> {
  /** Raw bytes of a bad record shown in its error, at most. */
  static final int SHOWN_BYTES = 256;

  final String sourceId;
  final TextPolicy policy;
  final TextDecoder text;
  private final String kind;
  private @Nullable ByteInput input;

  /** The number of the next line to read, from 1. */
  long line = 1;

  /** The line where the record last read starts. */
  long recordLine;

  /** The byte offset where the record last read starts. */
  long recordOffset;

  TextReader(String sourceId, TextPolicy policy, String kind) {
    this.sourceId = sourceId;
    this.policy = policy;
    this.text = new TextDecoder(policy);
    this.kind = kind;
  }

  @Override
  public final String kind() {
    return kind;
  }

  @Override
  public void begin(ByteInput in, Start start) throws IOException {
    this.input = in;
    if (start.offset() == 0) {
      skipBom(in);
    } else {
      in.seek(start.offset());
    }
    line = start.line();
  }

  final void skipBom(ByteInput in) throws IOException {
    if (policy.utf8()) {
      in.skipUtf8Bom();
    }
  }

  final ByteInput in() {
    return Objects.requireNonNull(input, "begin() comes first");
  }

  @Override
  public String position() {
    return new Start(in().offset(), line).format(kind);
  }

  /** "line", "row at line", "paragraph at line". */
  abstract String unit();

  @Override
  public final String where() {
    return unit() + " " + recordLine + " of source '" + sourceId + "'";
  }

  @Override
  public final long recordOffset() {
    return recordOffset;
  }

  /**
   * Reads the rest of a line into a buffer, up to its line break (read, not kept) or the end of the
   * input, and counts it.
   *
   * @return false at the end of the input, no line there
   */
  final boolean readLine(RecordBuffer into) throws IOException {
    ByteInput in = in();
    in.settle();
    boolean any = false;
    while (true) {
      if (in.pos == in.limit && !in.fill()) {
        if (any) {
          line++;
        }
        return any;
      }
      any = true;
      byte[] buf = in.buf;
      int start = in.pos;
      int end = start;
      int limit = in.limit;
      while (end < limit && buf[end] != '\n' && buf[end] != '\r') {
        end++;
      }
      into.append(buf, start, end - start);
      if (end < limit) {
        in.pos = end + 1;
        line++;
        if (buf[end] == '\r') {
          in.afterCr();
        }
        return true;
      }
      in.pos = end;
    }
  }

  final Envelope<T> record(T payload) {
    return Envelope.of(sourceId + "-" + recordLine, payload, sourceId);
  }

  /**
   * A record marked {@link Envelope#SOURCE_ERROR}: where it is, why, and its first raw bytes.
   *
   * @param raw the record's first bytes, of which {@code rawLength} are kept
   * @param rawTotal the record's bytes in all
   */
  final Envelope<T> unreadable(T payload, String why, byte[] raw, int rawLength, long rawTotal) {
    return record(payload)
        .withMetadata(
            Envelope.SOURCE_ERROR,
            where()
                + " "
                + why
                + "; it starts at byte "
                + recordOffset
                + " (raw, Base64: "
                + shown(raw, rawLength, rawTotal)
                + ")");
  }

  /** Why an over-long record is unreadable. */
  final String tooLong(long bytes, int kept) {
    return "has "
        + bytes
        + " bytes, more than the limit of "
        + policy.maxRecordBytes()
        + "; it was not read whole: its payload is its first "
        + kept
        + " bytes";
  }

  /** Why a record with bad bytes is unreadable. */
  final String malformed(String what, int badAt, int length) {
    return what
        + " not valid "
        + text.charsetName()
        + " (byte "
        + (badAt + 1)
        + " of its "
        + length
        + " is not): its payload has U+FFFD for the bad bytes";
  }

  private static String shown(byte[] raw, int rawLength, long rawTotal) {
    int n = Math.min(rawLength, SHOWN_BYTES);
    String base64 = Base64.getEncoder().encodeToString(Arrays.copyOf(raw, n));
    return n < rawTotal ? "first " + n + " bytes " + base64 : base64;
  }
}
