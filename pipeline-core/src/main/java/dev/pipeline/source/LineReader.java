package dev.pipeline.source;

import dev.pipeline.Envelope;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * Each line a record; lines end at LF, CR or CR LF. Lines of spaces and tabs only are skipped or
 * kept, as told.
 */
final class LineReader extends TextReader<String> {
  private final boolean skipBlank;
  private final RecordBuffer bytes;

  LineReader(String sourceId, TextPolicy policy, String kind, boolean skipBlank) {
    super(sourceId, policy, kind);
    this.skipBlank = skipBlank;
    this.bytes = new RecordBuffer(policy.maxRecordBytes());
  }

  @Override
  String unit() {
    return "line";
  }

  @Override
  public @Nullable Envelope<String> read() throws IOException {
    ByteInput in = in();
    while (true) {
      in.settle();
      recordOffset = in.offset();
      recordLine = line;
      bytes.clear();
      if (!readLine(bytes)) {
        return null;
      }
      if (skipBlank && bytes.isBlank()) {
        continue;
      }
      if (bytes.over()) {
        int kept = text.cut(bytes.data, bytes.length, FileFormat.KEPT_BYTES);
        return unreadable(
            text.lossy(bytes.data, 0, kept),
            tooLong(bytes.total, kept),
            bytes.data,
            bytes.length,
            bytes.total);
      }
      String payload = text.decode(bytes.data, 0, bytes.length);
      if (text.badAt >= 0) {
        return unreadable(
            payload,
            malformed("is", text.badAt, bytes.length),
            bytes.data,
            bytes.length,
            bytes.total);
      }
      return record(payload);
    }
  }
}
