package dev.pipeline.examples.app;

import dev.pipeline.Envelope;
import dev.pipeline.Source;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Sources of scraped listing lines, read lazily. Each record's id is the listing id at the start of
 * its line (so a re-posted listing is recognised as a duplicate at ingestion), or {@code
 * source-lineNo} for a line without a usable id (it then fails parsing and is dead-lettered).
 */
public final class ListingLines {
  private static final int MAX_ID = 64;

  private ListingLines() {}

  /** A source over the lines of a UTF-8 file. */
  public static Source<ScrapedLine> file(Path file) {
    Objects.requireNonNull(file, "file cannot be null");
    String sourceId = file.getFileName().toString();
    return new ReaderSource(sourceId, () -> Files.newInputStream(file));
  }

  /** A source over a stream of UTF-8 lines, closed with the source. */
  public static Source<ScrapedLine> stream(String sourceId, StreamOpener opener) {
    return new ReaderSource(sourceId, opener);
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

  static Envelope<ScrapedLine> envelope(String sourceId, long lineNo, String text) {
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

  private static final class ReaderSource implements Source<ScrapedLine> {
    private final String sourceId;
    private final StreamOpener opener;
    private @Nullable BufferedReader reader;
    private long lineNo;

    ReaderSource(String sourceId, StreamOpener opener) {
      this.sourceId = Objects.requireNonNull(sourceId, "sourceId cannot be null");
      this.opener = Objects.requireNonNull(opener, "opener cannot be null");
    }

    @Override
    public String id() {
      return sourceId;
    }

    @Override
    public @Nullable Envelope<ScrapedLine> next() throws IOException {
      if (reader == null) {
        reader = new BufferedReader(new InputStreamReader(opener.open(), StandardCharsets.UTF_8));
      }
      String line = reader.readLine();
      if (line == null) {
        return null;
      }
      return envelope(sourceId, ++lineNo, line);
    }

    @Override
    public void close() throws IOException {
      if (reader != null) {
        reader.close();
      }
    }
  }
}
