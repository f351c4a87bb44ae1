package dev.pipeline.source;

import dev.pipeline.Envelope;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/** Turns the bytes of one input into records of one kind. Not thread-safe. */
interface RecordReader<T> {

  /** The kind of position it gives, e.g. "lines". */
  String kind();

  /**
   * Starts reading an input (fresh, at its offset 0) at a place a position gave.
   *
   * @throws IllegalArgumentException if the input has no such place
   * @throws IOException if the input cannot be read
   */
  void begin(ByteInput in, Start start) throws IOException;

  /** The next record, or null at the end of the input. */
  @Nullable Envelope<T> read() throws Exception;

  /** Where the next record starts, as a position of {@link #kind()}; only after {@link #begin}. */
  String position();

  /** The last record read, for an error message: "line 5 of source 'orders'". */
  String where();

  /** The byte offset where the last record read starts. */
  long recordOffset();
}
