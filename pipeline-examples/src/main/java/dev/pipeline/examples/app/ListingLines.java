package dev.pipeline.examples.app;

import dev.pipeline.Envelope;
import dev.pipeline.Source;
import dev.pipeline.examples.listings.ListingParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Objects;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;

/**
 * Sources of scraped listing lines, read lazily. Each record's id is the listing id at the start of
 * its line (so a re-posted listing is recognised as a duplicate at ingestion), or {@code
 * source-lineNo} for a line without a usable id (it then fails parsing and is dead-lettered).
 */
public final class ListingLines {
  private static final int MAX_ID = 64;

  private ListingLines() {}

  /**
   * The longest line read, in bytes: room for {@link ListingParser#MAX_LINE_LENGTH} characters of
   * up to four bytes each. A longer line is not read into memory: it is dead-lettered at ingestion,
   * with its length and first bytes (see {@link Source#lines(String, Callable, int)}).
   */
  public static final int MAX_LINE_BYTES = 4 * ListingParser.MAX_LINE_LENGTH;

  /**
   * A source over the lines of a UTF-8 file, named after the file.
   *
   * @throws NullPointerException if {@code file} is null
   */
  public static Source<ScrapedLine> file(Path file) {
    Objects.requireNonNull(file, "file cannot be null");
    String sourceId = file.getFileName().toString();
    return new LineSource(Source.lines(sourceId, file, MAX_LINE_BYTES));
  }

  /**
   * A source over a stream of UTF-8 lines, closed with the source.
   *
   * @throws NullPointerException if an argument is null
   */
  public static Source<ScrapedLine> stream(String sourceId, StreamOpener opener) {
    Objects.requireNonNull(opener, "opener cannot be null");
    return new LineSource(Source.lines(sourceId, opener::open, MAX_LINE_BYTES));
  }

  /** A source over lines from an iterator (a generator, for instance). */
  public static Source<ScrapedLine> lines(String sourceId, Iterator<String> lines) {
    Objects.requireNonNull(lines, "lines cannot be null");
    return new Source<>() {
      private long lineNo;

      @Override
      public String id() {
        return sourceId;
      }

      @Override
      public @Nullable Envelope<ScrapedLine> next() {
        if (!lines.hasNext()) {
          return null;
        }
        return envelope(sourceId, ++lineNo, lines.next());
      }
    };
  }

  /**
   * The record of one line, as {@link #lines(String, Iterator)} makes it: for a reader that splits
   * an input into parts and keeps each line's number in the whole input.
   */
  public static Envelope<ScrapedLine> envelope(String sourceId, long lineNo, String text) {
    return Envelope.of(
        idOf(sourceId, lineNo, text), new ScrapedLine(sourceId, lineNo, text), sourceId);
  }

  /** The listing id before the first '|', if it looks like one; else a positional id. */
  static String idOf(String sourceId, long lineNo, String text) {
    int bar = text.indexOf('|');
    if (bar > 0 && bar <= MAX_ID + 2) {
      String id = text.substring(0, bar).strip();
      if (!id.isEmpty() && id.chars().allMatch(ListingLines::idChar)) {
        return id;
      }
    }
    return sourceId + "-line-" + lineNo;
  }

  private static boolean idChar(int c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || c == '-'
        || c == '_'
        || c == '.'
        || c == ':';
  }

  /** Opens the stream a source reads. */
  @FunctionalInterface
  public interface StreamOpener {
    /** Opens the stream. */
    InputStream open() throws IOException;
  }

  /**
   * Scraped lines over the core line source, which reads each line bounded and decodes it strictly:
   * a line it could not read whole stays marked {@link Envelope#SOURCE_ERROR} (with a positional
   * id, its text being no listing) and is dead-lettered at ingestion.
   */
  private static final class LineSource implements Source<ScrapedLine> {
    private final Source<String> lines;
    private long lineNo;

    LineSource(Source<String> lines) {
      this.lines = lines;
    }

    @Override
    public String id() {
      return lines.id();
    }

    @Override
    public @Nullable Envelope<ScrapedLine> next() throws Exception {
      Envelope<String> line = lines.next();
      if (line == null) {
        return null;
      }
      lineNo++; // the core source yields every line, unreadable ones too
      String error = line.metadata().get(Envelope.SOURCE_ERROR);
      if (error == null) {
        return envelope(id(), lineNo, line.payload());
      }
      return Envelope.of(
              id() + "-line-" + lineNo, new ScrapedLine(id(), lineNo, line.payload()), id())
          .withMetadata(Envelope.SOURCE_ERROR, error);
    }

    @Override
    public void close() throws Exception {
      lines.close();
    }
  }
}
