package dev.pipeline.bench;

import dev.pipeline.Envelope;
import dev.pipeline.SeekableSource;
import dev.pipeline.examples.app.ListingLines;
import dev.pipeline.examples.app.ScrapedLine;
import dev.pipeline.examples.listings.ListingGenerator;
import java.util.Iterator;
import org.jspecify.annotations.Nullable;

/**
 * The generated lines of {@link DurableWork#source(int)} as a seekable source, as a file of them
 * would be: its position is the number of lines read ({@code "line:N"}), a seek generates and skips
 * that many, and {@link #reopen()} gives a second reader over the same lines. So a durable run
 * keeps its batches as source spans, as it does for a file, and Spring Batch's reader keeps the
 * same kind of position.
 */
final class GeneratedLines implements SeekableSource<ScrapedLine> {
  private static final String PREFIX = "line:";

  private final int lines;
  private final Iterator<String> generated;
  private long read;

  GeneratedLines(int lines) {
    this.lines = lines;
    this.generated = new ListingGenerator(ListingGenerator.DEFAULT_SEED).lines(lines);
  }

  @Override
  public String id() {
    return DurableWork.SOURCE_ID;
  }

  @Override
  public @Nullable Envelope<ScrapedLine> next() {
    if (!generated.hasNext()) {
      return null;
    }
    return ListingLines.envelope(DurableWork.SOURCE_ID, ++read, generated.next());
  }

  @Override
  public String position() {
    return PREFIX + read;
  }

  @Override
  public void seek(String position) {
    if (read > 0) {
      throw new IllegalStateException("source '" + id() + "' read records already");
    }
    if (!position.startsWith(PREFIX)) {
      throw new IllegalArgumentException("expected a position 'line:N'");
    }
    long n = Long.parseLong(position.substring(PREFIX.length()));
    while (read < n && generated.hasNext()) {
      generated.next();
      read++;
    }
  }

  @Override
  public boolean reopens() {
    return true;
  }

  @Override
  public SeekableSource<ScrapedLine> reopen() {
    return new GeneratedLines(lines);
  }
}
