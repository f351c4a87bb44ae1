package dev.pipeline.store.spi;

import dev.pipeline.SeekableSource;
import dev.pipeline.store.StorableText;
import java.util.Objects;

/**
 * Where an ingested batch was read: {@code count} consecutive records of a {@link SeekableSource}
 * from {@code position} to {@code end}, in the order given to {@link RecordLedger#ingest(String,
 * java.util.List, String, java.time.Instant, SourceSpan)}. A durable store may keep the span
 * instead of the records' payloads and read them again through a {@link SourceReplay} when the
 * batch is claimed.
 *
 * @param sourceId the source's id
 * @param position the source's position before the first record
 * @param count how many records were read from there (the batch's size)
 * @param end the source's position after the last record: a source read again that ends the span
 *     elsewhere holds other data there (a file whose lines changed length, for example)
 */
public record SourceSpan(String sourceId, String position, int count, String end) {

  /** Checks the components. */
  public SourceSpan {
    Objects.requireNonNull(sourceId, "sourceId cannot be null");
    Objects.requireNonNull(position, "position cannot be null");
    Objects.requireNonNull(end, "end cannot be null");
    if (Math.max(position.length(), end.length()) > StorableText.MAX_ID_LENGTH) {
      throw new IllegalArgumentException(
          "a position is at most " + StorableText.MAX_ID_LENGTH + " characters");
    }
    if (count < 1) {
      throw new IllegalArgumentException("count must be at least 1, was " + count);
    }
  }
}
