package dev.pipeline.source;

import dev.pipeline.Envelope;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * Records of several lines, separated by blank lines (spaces and tabs only) or by a separator line.
 * A record's payload is its lines joined by LF, without the blank lines before and after it; a
 * record with no line that is not blank is no record.
 */
final class ParagraphReader extends TextReader<String> {
  private final byte @Nullable [] separator;
  private final RecordBuffer lineBytes;
  private final RecordBuffer paragraph;

  /**
   * @param separator the separator line in the charset's bytes, or null: blank lines separate
   */
  ParagraphReader(String sourceId, TextPolicy policy, byte @Nullable [] separator) {
    super(sourceId, policy, "paragraphs");
    this.separator = separator;
    this.lineBytes = new RecordBuffer(policy.maxRecordBytes());
    this.paragraph = new RecordBuffer(policy.maxRecordBytes());
  }

  @Override
  String unit() {
    return "paragraph at line";
  }

  @Override
  public @Nullable Envelope<String> read() throws IOException {
    ByteInput in = in();
    paragraph.clear();
    boolean started = false;
    int contentLength = 0; // the paragraph up to its last line that is not blank
    long contentTotal = 0;
    while (true) {
      in.settle();
      long lineOffset = in.offset();
      long lineNumber = line;
      lineBytes.clear();
      if (!readLine(lineBytes)) {
        break;
      }
      boolean blank = lineBytes.isBlank();
      boolean ends = separator == null ? blank : lineBytes.isLine(separator);
      if (ends) {
        if (started) {
          break;
        }
        continue;
      }
      if (!started) {
        if (blank) {
          continue;
        }
        started = true;
        recordLine = lineNumber;
        recordOffset = lineOffset;
      } else {
        paragraph.append((byte) '\n');
      }
      paragraph.append(lineBytes);
      if (!blank) {
        contentLength = paragraph.length;
        contentTotal = paragraph.total;
      }
    }
    if (!started) {
      return null;
    }
    paragraph.truncate(contentLength, contentTotal);
    if (paragraph.over()) {
      int kept = text.cut(paragraph.data, paragraph.length, FileFormat.KEPT_BYTES);
      return unreadable(
          text.lossy(paragraph.data, 0, kept),
          tooLong(paragraph.total, kept),
          paragraph.data,
          paragraph.length,
          paragraph.total);
    }
    String payload = text.decode(paragraph.data, 0, paragraph.length);
    if (text.badAt >= 0) {
      return unreadable(
          payload,
          malformed("is", text.badAt, paragraph.length),
          paragraph.data,
          paragraph.length,
          paragraph.total);
    }
    return record(payload);
  }
}
