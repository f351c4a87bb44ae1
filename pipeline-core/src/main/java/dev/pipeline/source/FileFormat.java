package dev.pipeline.source;

import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * How one file (or stream) of text is turned into records: {@link #lines() lines}, {@link
 * #jsonLines JSON lines}, {@link #csv(CsvOptions) CSV rows}, {@link #paragraphs() paragraphs}, and
 * the text policy they share: the {@linkplain #charset(Charset) charset} (UTF-8 unless set), what
 * {@linkplain #onMalformedInput(CodingErrorAction) malformed bytes} do (unless set, the record is
 * reported), and the {@linkplain #maxRecordBytes(int) longest record}. Give it to {@link
 * FileSources} to read a file, a stream or a directory.
 *
 * <p>Every record's id is {@code sourceId + "-" + n}, n the line where the record starts (from 1),
 * so ids are stable across runs and go on after a seek. A record that cannot be read whole is not
 * dropped and does not stop the source: it is yielded marked {@link
 * dev.pipeline.Envelope#SOURCE_ERROR}, saying why, its line and byte offset and its first raw bytes
 * (Base64), goes to the dead letter queue at ingestion, and reading goes on with the next record.
 * Such a record is one with bytes the charset does not allow (unless they are replaced), one longer
 * than the limit (its payload is then its first {@value #KEPT_BYTES} bytes: the rest is skipped
 * without being held, so memory stays bounded whatever the input), or one the user's parser
 * rejects. A UTF-8 byte order mark at the start of the input is skipped.
 *
 * <p>Records are split on ASCII bytes (line breaks, separators, quotes), so the charset is UTF-8 or
 * a single-byte charset that keeps ASCII (ISO-8859-1, windows-1252, ...); UTF-16 and multi-byte
 * Asian charsets are refused (convert such files to UTF-8).
 *
 * <p>Immutable and thread-safe: the methods that change an option return a new format.
 *
 * @param <T> the payload type of the records
 */
public final class FileFormat<T> {
  /** The longest record unless told otherwise, in bytes: 1 MiB. */
  public static final int DEFAULT_MAX_RECORD_BYTES = 1 << 20;

  /** The largest record limit {@link #maxRecordBytes(int)} accepts: 256 MiB. */
  public static final int MAX_RECORD_BYTES = 1 << 28;

  /** The bytes of an over-long record kept as its payload, at most. */
  public static final int KEPT_BYTES = 1_024;

  /** The longest separator line of {@link #paragraphs(String)}, in characters. */
  public static final int MAX_SEPARATOR_CHARS = 256;

  private final TextPolicy text;
  private final Kind<T> kind;

  private FileFormat(TextPolicy text, Kind<T> kind) {
    this.text = text;
    this.kind = kind;
  }

  /** How a format reads: package-private, so every reader is one of this package's. */
  interface Kind<T> {
    RecordReader<T> reader(String sourceId, TextPolicy text);

    /** The payload of a record standing for input that could not be read (a file's name). */
    T unreadable(String text);

    String describe();
  }

  /**
   * Each line a record, empty lines included; lines end at LF, CR or CR LF. Positions are {@code
   * lines:<byte offset>:<line>}.
   */
  public static FileFormat<String> lines() {
    return new FileFormat<>(TextPolicy.DEFAULTS, new LinesKind("lines", false));
  }

  /**
   * Each JSON document on a line a record, as the user's parser (their Jackson or Gson) makes it;
   * lines of only spaces and tabs are skipped. A line the parser rejects (it throws, or returns
   * null) is a record marked {@link dev.pipeline.Envelope#SOURCE_ERROR} with the parser's message
   * (its first 1,000 characters). Positions are {@code json-lines:<byte offset>:<line>}.
   *
   * @param parser makes a payload of a line, e.g. {@code line -> mapper.readValue(line,
   *     Event.class)}
   * @param unreadable makes the payload of a line that could not be read or parsed from the line as
   *     read (bad bytes as U+FFFD; of an over-long line its first bytes), or of a file of a
   *     directory that could not be opened from its name: the payload kept with its dead letter
   *     (e.g. {@code Event::unparsed}, or {@code TextNode::valueOf} for a JSON tree). It must not
   *     return null (the source then fails)
   * @throws NullPointerException if an argument is null
   */
  public static <T> FileFormat<T> jsonLines(
      RecordParser<String, ? extends T> parser, Function<String, ? extends T> unreadable) {
    Objects.requireNonNull(parser, "parser cannot be null");
    Objects.requireNonNull(unreadable, "unreadable cannot be null");
    return new FileFormat<>(
        TextPolicy.DEFAULTS,
        new MappedKind<>(new LinesKind("json-lines", true), parser, unreadable, "parser"));
  }

  /**
   * Each row of delimited text a record: the list of its fields (RFC 4180 quoting; see {@link
   * CsvOptions}). Empty lines are no rows. Positions are {@code csv:<byte offset>:<line>}, a
   * record's id the line where its row starts.
   *
   * <p>A bad row is yielded marked {@link dev.pipeline.Envelope#SOURCE_ERROR}, with the fields
   * read, and reading goes on at the next row: a quote not closed before the end of the input (the
   * rest of the input is that row: the error says where the quote opened), a row or a field over
   * its limit (the bytes past the limit are skipped, still minding quotes), more fields than the
   * column limit, a character after a closing quote, a field that is not valid in the charset.
   *
   * @throws NullPointerException if the options are null
   */
  public static FileFormat<List<String>> csv(CsvOptions options) {
    Objects.requireNonNull(options, "options cannot be null");
    return new FileFormat<>(TextPolicy.DEFAULTS, new CsvKind<>(options, false));
  }

  /**
   * As {@link #csv(CsvOptions)}, the first row being a header: each later row a record mapping the
   * header's names to its fields, in the header's order. A row with another number of fields than
   * the header is bad (yielded marked {@link dev.pipeline.Envelope#SOURCE_ERROR}, its payload the
   * fields it has under their names). A header that cannot be read (bad bytes, too long, a name
   * twice) fails the source: no row can be read without it. Turn rows into your own type with
   * {@link #map}. Positions are {@code csv-header:<byte offset>:<line>}; a seek reads the header
   * again.
   *
   * @throws NullPointerException if the options are null
   */
  public static FileFormat<Map<String, String>> csvWithHeader(CsvOptions options) {
    Objects.requireNonNull(options, "options cannot be null");
    return new FileFormat<>(TextPolicy.DEFAULTS, new CsvKind<>(options, true));
  }

  /**
   * Records of several lines, separated by blank lines (lines of only spaces and tabs): each
   * record's payload is its lines joined by LF. Positions are {@code paragraphs:<byte
   * offset>:<line>}, a record's id the line of its first line.
   */
  public static FileFormat<String> paragraphs() {
    return new FileFormat<>(TextPolicy.DEFAULTS, new ParagraphsKind(null));
  }

  /**
   * Records of several lines, separated by a separator line (e.g. {@code "---"}; trailing spaces
   * and tabs of a line aside): each record's payload is its lines joined by LF, without blank lines
   * at its start and end; a record of only blank lines is no record.
   *
   * @throws NullPointerException if the separator is null
   * @throws IllegalArgumentException if the separator is blank, holds a line break, ends with a
   *     space or a tab, or is longer than {@value #MAX_SEPARATOR_CHARS} characters
   */
  public static FileFormat<String> paragraphs(String separatorLine) {
    Objects.requireNonNull(separatorLine, "separatorLine cannot be null");
    if (separatorLine.isBlank()
        || separatorLine.length() > MAX_SEPARATOR_CHARS
        || separatorLine.indexOf('\n') >= 0
        || separatorLine.indexOf('\r') >= 0
        || separatorLine.endsWith(" ")
        || separatorLine.endsWith("\t")) {
      throw new IllegalArgumentException(
          "separatorLine must be 1 to "
              + MAX_SEPARATOR_CHARS
              + " characters, not blank, without line breaks and not ending with a space or a tab,"
              + " was '"
              + Start.shown(separatorLine)
              + "' ("
              + separatorLine.length()
              + " characters); for blank lines use paragraphs()");
    }
    return new FileFormat<>(TextPolicy.DEFAULTS, new ParagraphsKind(separatorLine));
  }

  /**
   * This format with its records turned into another type by the user's function (a CSV row into an
   * order). A record the mapper rejects (it throws, or returns null) is marked {@link
   * dev.pipeline.Envelope#SOURCE_ERROR} with the mapper's message; the positions stay this
   * format's.
   *
   * @param mapper makes a payload of a record's
   * @param unreadable makes the payload of a record that could not be read or mapped from the one
   *     read: the payload kept with its dead letter. It must not return null (the source then
   *     fails)
   * @throws NullPointerException if an argument is null
   */
  public <R> FileFormat<R> map(
      RecordParser<? super T, ? extends R> mapper, Function<? super T, ? extends R> unreadable) {
    Objects.requireNonNull(mapper, "mapper cannot be null");
    Objects.requireNonNull(unreadable, "unreadable cannot be null");
    return new FileFormat<>(text, new MappedKind<>(kind, mapper, unreadable, "mapper"));
  }

  /**
   * This format reading another charset.
   *
   * @throws NullPointerException if the charset is null
   * @throws IllegalArgumentException if it is neither UTF-8 nor a single-byte charset that keeps
   *     ASCII
   */
  public FileFormat<T> charset(Charset charset) {
    Objects.requireNonNull(charset, "charset cannot be null");
    TextPolicy.checkCharset(charset);
    return new FileFormat<>(new TextPolicy(charset, text.replace(), text.maxRecordBytes()), kind);
  }

  /**
   * This format doing this with bytes its charset does not allow: {@link CodingErrorAction#REPORT}
   * (the default) yields the record marked {@link dev.pipeline.Envelope#SOURCE_ERROR}, to be
   * dead-lettered; {@link CodingErrorAction#REPLACE} reads it with U+FFFD for each bad byte.
   *
   * @throws NullPointerException if the action is null
   * @throws IllegalArgumentException if it is {@link CodingErrorAction#IGNORE}, which would drop
   *     bytes unseen
   */
  public FileFormat<T> onMalformedInput(CodingErrorAction action) {
    Objects.requireNonNull(action, "action cannot be null");
    if (action != CodingErrorAction.REPORT && action != CodingErrorAction.REPLACE) {
      throw new IllegalArgumentException(
          "onMalformedInput must be CodingErrorAction.REPORT (the record is dead-lettered, the"
              + " default) or REPLACE (U+FFFD for each bad byte), was "
              + action
              + ": it would drop bytes unseen");
    }
    return new FileFormat<>(
        new TextPolicy(text.charset(), action == CodingErrorAction.REPLACE, text.maxRecordBytes()),
        kind);
  }

  /**
   * This format with another record limit, in bytes ({@value #DEFAULT_MAX_RECORD_BYTES} unless
   * set): it bounds the memory a source holds.
   *
   * @throws IllegalArgumentException if it is not between 1 and {@value #MAX_RECORD_BYTES}
   */
  public FileFormat<T> maxRecordBytes(int maxRecordBytes) {
    if (maxRecordBytes < 1 || maxRecordBytes > MAX_RECORD_BYTES) {
      throw new IllegalArgumentException(
          "maxRecordBytes must be between 1 and "
              + MAX_RECORD_BYTES
              + ", was "
              + maxRecordBytes
              + " (FileFormat.DEFAULT_MAX_RECORD_BYTES is "
              + DEFAULT_MAX_RECORD_BYTES
              + ")");
    }
    return new FileFormat<>(new TextPolicy(text.charset(), text.replace(), maxRecordBytes), kind);
  }

  /** The charset it reads. */
  public Charset charset() {
    return text.charset();
  }

  /** What it does with bytes its charset does not allow: REPORT or REPLACE. */
  public CodingErrorAction onMalformedInput() {
    return text.replace() ? CodingErrorAction.REPLACE : CodingErrorAction.REPORT;
  }

  /** The longest record, in bytes. */
  public int maxRecordBytes() {
    return text.maxRecordBytes();
  }

  RecordReader<T> reader(String sourceId) {
    return kind.reader(sourceId, text);
  }

  T unreadable(String text) {
    return kind.unreadable(text);
  }

  @Override
  public String toString() {
    return "FileFormat["
        + kind.describe()
        + ", "
        + text.charset().name()
        + ", malformed input: "
        + onMalformedInput()
        + ", maxRecordBytes="
        + text.maxRecordBytes()
        + "]";
  }

  private record LinesKind(String name, boolean skipBlank) implements Kind<String> {
    @Override
    public RecordReader<String> reader(String sourceId, TextPolicy text) {
      return new LineReader(sourceId, text, name, skipBlank);
    }

    @Override
    public String unreadable(String text) {
      return text;
    }

    @Override
    public String describe() {
      return name;
    }
  }

  private record ParagraphsKind(@org.jspecify.annotations.Nullable String separator)
      implements Kind<String> {
    @Override
    public RecordReader<String> reader(String sourceId, TextPolicy text) {
      if (separator == null) {
        return new ParagraphReader(sourceId, text, null);
      }
      if (!text.charset().newEncoder().canEncode(separator)) {
        throw new IllegalArgumentException(
            "separatorLine '"
                + Start.shown(separator)
                + "' cannot be written in "
                + text.charset().name()
                + ": choose a separator of that charset");
      }
      return new ParagraphReader(sourceId, text, separator.getBytes(text.charset()));
    }

    @Override
    public String unreadable(String text) {
      return text;
    }

    @Override
    public String describe() {
      return separator == null
          ? "paragraphs"
          : "paragraphs separated by '" + Start.shown(separator) + "'";
    }
  }

  private record CsvKind<T>(CsvOptions options, boolean withHeader) implements Kind<T> {
    @Override
    @SuppressWarnings("unchecked") // T is List<String> without a header, Map<String, String> with
    public RecordReader<T> reader(String sourceId, TextPolicy text) {
      return (RecordReader<T>)
          (withHeader
              ? CsvReader.maps(sourceId, text, options)
              : CsvReader.lists(sourceId, text, options));
    }

    @Override
    @SuppressWarnings("unchecked")
    public T unreadable(String text) {
      return (T) (withHeader ? Map.of() : List.of());
    }

    @Override
    public String describe() {
      return (withHeader ? "csv with a header, " : "csv, ") + options;
    }
  }

  private record MappedKind<S, T>(
      Kind<S> raw,
      RecordParser<? super S, ? extends T> parser,
      Function<? super S, ? extends T> unreadable,
      String role)
      implements Kind<T> {
    @Override
    public RecordReader<T> reader(String sourceId, TextPolicy text) {
      return new MappedReader<>(raw.reader(sourceId, text), parser, unreadable, role);
    }

    @Override
    public T unreadable(String text) {
      T payload = unreadable.apply(raw.unreadable(text));
      return Objects.requireNonNull(
          payload, "the unreadable function returned null: it must make a payload");
    }

    @Override
    public String describe() {
      return raw.describe() + ", mapped";
    }
  }
}
