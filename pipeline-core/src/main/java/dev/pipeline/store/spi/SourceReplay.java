package dev.pipeline.store.spi;

import dev.pipeline.Envelope;
import java.util.List;
import java.util.Set;

/**
 * Reads again the records of a {@link SourceSpan}: what a run gives its store ({@link
 * RecordLedger#replayFrom}) for the seekable sources it reads, so that a batch kept as a span can
 * be claimed. Called from the store's claiming thread, never at the same time for one span.
 */
public interface SourceReplay {

  /** The ids of the sources this run can read again. */
  Set<String> sources();

  /**
   * What a span read again gave: its records, and the source's position after the last of them.
   *
   * @param records at most the span's count of records, fewer if the source ends before
   * @param end the source's position after them
   */
  record Replayed(List<Envelope<?>> records, String end) {}

  /**
   * Opens a reader of its own over the source, seeks it to the span's position and reads at most
   * the span's count of records, as the run's reader gave them to the store (metadata included).
   *
   * @throws IllegalArgumentException if the source is not one of {@link #sources()}
   * @throws Exception if the source cannot be opened, sought or read (the message names it)
   */
  Replayed read(SourceSpan span) throws Exception;
}
