package dev.pipeline.source;

import dev.pipeline.Envelope;
import java.io.IOException;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Rows of delimited text, as RFC 4180 reads them: fields split by the separator, a field in quotes
 * may hold separators, line breaks and doubled quotes; rows end at LF, CR or CR LF outside quotes;
 * empty lines are no rows. A quote inside a field that does not start with one is a plain
 * character. Each row is a list of its fields, or, with a header row, a map from the header's
 * names.
 *
 * <p>A bad row is a record marked {@link Envelope#SOURCE_ERROR} (its fields as far as they could be
 * read) and reading goes on at the next row: a quote not closed before the end of the input (the
 * rest of the input is then that row), a row over the record limit (its bytes past the limit are
 * skipped, still quote-aware, so the next row starts where it should), a field over the field
 * limit, more fields than the column limit, a character after a closing quote, a field count unlike
 * the header's, a field that is not valid in the charset.
 */
final class CsvReader<T> extends TextReader<T> {
  private static final int START = 0; // at the start of a field
  private static final int PLAIN = 1; // in a field without quotes
  private static final int QUOTED = 2; // in the quoted part of a field
  private static final int CLOSED =
      3; // after a quote in the quoted part: the end, or a doubled one

  private final byte separator;
  private final byte quote;
  private final int maxFieldBytes;
  private final int maxColumns;
  private final boolean withHeader;
  private final RecordBuffer content;
  private int[] ends = new int[16]; // where each field ends in content
  private long fields; // fields of the row, those past maxColumns included
  private long fieldStart; // content.total where the field being read starts
  private final byte[] raw = new byte[SHOWN_BYTES];
  private int rawLength;
  private @Nullable String problem;
  private boolean unclosed;
  private long quoteLine;
  private long quoteOffset;
  private long rowEnd; // the offset of the row's line break, or of the end of the input
  private @Nullable Header header;

  private CsvReader(
      String sourceId, TextPolicy policy, CsvOptions options, boolean withHeader, String kind) {
    super(sourceId, policy, kind);
    this.separator = (byte) options.separator();
    this.quote = (byte) options.quote();
    this.maxFieldBytes = options.maxFieldBytes();
    this.maxColumns = options.maxColumns();
    this.withHeader = withHeader;
    this.content = new RecordBuffer(policy.maxRecordBytes());
  }

  /** Rows as lists of their fields; no header. */
  static CsvReader<List<String>> lists(String sourceId, TextPolicy policy, CsvOptions options) {
    return new CsvReader<>(sourceId, policy, options, false, "csv");
  }

  /** Rows as maps from the names of the header, the first row. */
  static CsvReader<Map<String, String>> maps(
      String sourceId, TextPolicy policy, CsvOptions options) {
    return new CsvReader<>(sourceId, policy, options, true, "csv-header");
  }

  @Override
  String unit() {
    return "row at line";
  }

  @Override
  public void begin(ByteInput in, Start start) throws IOException {
    if (!withHeader) {
      super.begin(in, start);
      return;
    }
    // a header source reads its header first, wherever it starts
    super.begin(in, Start.BEGIN);
    readHeader();
    if (start.offset() != 0) {
      if (start.offset() < in.offset()) {
        throw new IllegalArgumentException(
            "the position's byte offset "
                + start.offset()
                + " is inside the header row of source '"
                + sourceId
                + "' (bytes 0 to "
                + in.offset()
                + "): the position was taken from other data");
      }
      in.seek(start.offset());
      line = start.line();
    }
  }

  @Override
  public @Nullable Envelope<T> read() throws IOException {
    if (withHeader && header == null) {
      return null; // an empty input: no header, no rows
    }
    if (!skipEmptyLines()) {
      return null;
    }
    parseRow();
    return row();
  }

  /** Skips empty lines; false at the end of the input. */
  private boolean skipEmptyLines() throws IOException {
    ByteInput in = in();
    while (true) {
      in.settle();
      if (in.pos == in.limit && !in.fill()) {
        return false;
      }
      byte b = in.buf[in.pos];
      if (b != '\n' && b != '\r') {
        recordOffset = in.offset();
        recordLine = line;
        return true;
      }
      in.pos++;
      line++;
      if (b == '\r') {
        in.afterCr();
      }
    }
  }

  private void readHeader() throws IOException {
    if (!skipEmptyLines()) {
      return;
    }
    parseRow();
    Envelope<T> row = row();
    String why = row.metadata().get(Envelope.SOURCE_ERROR);
    if (why != null) {
      throw new BadHeaderException("the header, " + why + ": no row can be read without it");
    }
    @SuppressWarnings("unchecked")
    List<String> names = (List<String>) row.payload();
    Map<String, Integer> index = new HashMap<>();
    for (int i = 0; i < names.size(); i++) {
      Integer before = index.putIfAbsent(names.get(i), i);
      if (before != null) {
        throw new BadHeaderException(
            "the header, "
                + where()
                + ", names column '"
                + Start.shown(names.get(i))
                + "' twice (fields "
                + (before + 1)
                + " and "
                + (i + 1)
                + "): a row cannot be a map unless its columns have distinct names");
      }
    }
    header = new Header(names.toArray(String[]::new), index, recordLine);
  }

  /** Reads a row from its first byte to its line break (read, not kept) or the end of input. */
  private void parseRow() throws IOException {
    ByteInput in = in();
    content.clear();
    fields = 0;
    fieldStart = 0;
    rawLength = 0;
    problem = null;
    unclosed = false;
    int state = START;
    boolean afterCr = false; // in the quoted part, the last byte was a CR
    while (true) {
      if (in.pos == in.limit && !in.fill()) {
        rowEnd = in.offset();
        if (state == QUOTED) {
          unclosed = true;
        }
        endField();
        return;
      }
      byte[] buf = in.buf;
      int p = in.pos;
      int limit = in.limit;
      if (state == START) {
        if (buf[p] == quote) {
          keepRaw(buf, p, 1);
          quoteLine = line;
          quoteOffset = in.offset();
          in.pos = p + 1;
          state = QUOTED;
          afterCr = false;
        } else {
          state = PLAIN;
        }
      } else if (state == PLAIN) {
        int end = p;
        while (end < limit) {
          byte b = buf[end];
          if (b == separator || b == '\n' || b == '\r') {
            break;
          }
          end++;
        }
        content.append(buf, p, end - p);
        keepRaw(buf, p, end - p);
        in.pos = end;
        if (end < limit) {
          byte b = buf[end];
          if (b == separator) {
            keepRaw(buf, end, 1);
            in.pos = end + 1;
            endField();
            state = START;
          } else {
            rowEnd = in.offset();
            in.pos = end + 1;
            endField();
            lineBreak(b);
            return;
          }
        }
      } else if (state == QUOTED) {
        int end = p;
        while (end < limit) {
          byte b = buf[end];
          if (b == quote || b == '\n' || b == '\r') {
            break;
          }
          end++;
        }
        if (end > p) {
          content.append(buf, p, end - p);
          keepRaw(buf, p, end - p);
          afterCr = false;
        }
        in.pos = end;
        if (end < limit) {
          byte b = buf[end];
          keepRaw(buf, end, 1);
          in.pos = end + 1;
          if (b == quote) {
            state = CLOSED;
          } else {
            content.append(b); // a line break inside quotes is part of the field
            if (b == '\r' || !afterCr) {
              line++;
            }
            afterCr = b == '\r';
          }
        }
      } else { // CLOSED
        byte b = buf[p];
        if (b == quote) {
          content.append(quote);
          keepRaw(buf, p, 1);
          in.pos = p + 1;
          state = QUOTED;
          afterCr = false;
        } else if (b == separator) {
          keepRaw(buf, p, 1);
          in.pos = p + 1;
          endField();
          state = START;
        } else if (b == '\n' || b == '\r') {
          rowEnd = in.offset();
          in.pos = p + 1;
          endField();
          lineBreak(b);
          return;
        } else {
          note(
              "has "
                  + describe(b)
                  + " after the closing quote of field "
                  + (fields + 1)
                  + ": a quoted field ends at a separator or at the end of the row");
          state = PLAIN;
        }
      }
    }
  }

  private void lineBreak(byte b) throws IOException {
    line++;
    if (b == '\r') {
      in().afterCr();
    }
  }

  private void endField() {
    long bytes = content.total - fieldStart;
    if (bytes > maxFieldBytes) {
      note(
          "has "
              + bytes
              + " bytes in field "
              + (fields + 1)
              + ", more than the field limit of "
              + maxFieldBytes);
    }
    if (fields < maxColumns) {
      if (ends.length == fields) {
        ends = Arrays.copyOf(ends, (int) Math.min(maxColumns, 2L * ends.length));
      }
      ends[(int) fields] = content.length;
    } else if (fields == maxColumns) {
      note("has more than " + maxColumns + " fields, the column limit");
    }
    fields++;
    fieldStart = content.total;
  }

  private void note(String why) {
    if (problem == null) {
      problem = why;
    }
  }

  private void keepRaw(byte[] buf, int from, int count) {
    int n = Math.min(count, raw.length - rawLength);
    if (n > 0) {
      System.arraycopy(buf, from, raw, rawLength, n);
      rawLength += n;
    }
  }

  /** The row just parsed as a record. */
  private Envelope<T> row() {
    long rowBytes = rowEnd - recordOffset;
    boolean tooLong = rowBytes > policy.maxRecordBytes();
    int keptEnd = content.length;
    if (content.over()) {
      keptEnd = text.cut(content.data, content.length, FileFormat.KEPT_BYTES);
    }
    String why = null;
    if (unclosed) {
      why =
          "has a quote, opened at line "
              + quoteLine
              + " (byte "
              + quoteOffset
              + "), that is not closed before the end of the input: the rest of the input, "
              + rowBytes
              + " bytes, is this row";
    } else if (tooLong) {
      why =
          "has "
              + rowBytes
              + " bytes, more than the limit of "
              + policy.maxRecordBytes()
              + "; it was not read whole: its payload is the fields of its first "
              + keptEnd
              + " bytes";
    } else if (problem != null) {
      why = problem;
    } else if (header != null && fields != header.size()) {
      why =
          "has "
              + fields
              + " fields where the header (line "
              + header.line
              + ") has "
              + header.size();
    }
    int n = (int) Math.min(fields, maxColumns);
    String[] values = new String[n];
    int count = 0;
    int from = 0;
    for (int i = 0; i < n; i++) {
      if (from >= keptEnd && keptEnd < content.length) {
        break; // the rest was not kept
      }
      int to = Math.min(ends[i], keptEnd);
      values[count++] = text.decode(content.data, from, to - from);
      if (text.badAt >= 0 && why == null) {
        why = malformed("has field " + (i + 1), text.badAt, to - from);
      }
      from = to;
    }
    if (count < n) {
      values = Arrays.copyOf(values, count);
    }
    T payload = payload(values, why == null);
    if (why == null) {
      return record(payload);
    }
    return unreadable(payload, why, raw, rawLength, rowBytes);
  }

  @SuppressWarnings("unchecked") // T is List<String> without a header, Map<String, String> with
  private T payload(String[] values, boolean good) {
    Header names = header;
    if (names == null) {
      return (T) Collections.unmodifiableList(Arrays.asList(values));
    }
    if (good) {
      return (T) new RowMap(names.names, names.index, values);
    }
    Map<String, String> some = new LinkedHashMap<>();
    for (int i = 0; i < Math.min(values.length, names.size()); i++) {
      some.put(names.names[i], values[i]);
    }
    return (T) Collections.unmodifiableMap(some);
  }

  private static String describe(byte b) {
    if (b >= 0x21 && b <= 0x7E) {
      return "'" + (char) b + "'";
    }
    return String.format(java.util.Locale.ROOT, "byte 0x%02X", b & 0xFF);
  }

  /** The names of a header row. */
  private static final class Header {
    final String[] names;
    final Map<String, Integer> index;
    final long line;

    Header(String[] names, Map<String, Integer> index, long line) {
      this.names = names;
      this.index = Objects.requireNonNull(index);
      this.line = line;
    }

    int size() {
      return names.length;
    }
  }
}
