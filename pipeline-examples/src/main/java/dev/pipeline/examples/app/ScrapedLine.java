package dev.pipeline.examples.app;

import dev.pipeline.Sized;
import java.util.Objects;

/**
 * One line as a scraper delivered it, with where it came from: the payload the equipment pipeline
 * ingests. Immutable.
 *
 * @param sourceId the scraper or file it came from
 * @param lineNo its 1-based line number there
 * @param text the line, without its terminator
 */
public record ScrapedLine(String sourceId, long lineNo, String text) implements Sized {

  /** Checks the components. */
  public ScrapedLine {
    Objects.requireNonNull(sourceId, "sourceId cannot be null");
    Objects.requireNonNull(text, "text cannot be null");
  }

  @Override
  public long sizeInBytes() {
    return text.length();
  }
}
