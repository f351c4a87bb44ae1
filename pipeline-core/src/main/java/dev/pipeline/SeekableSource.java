package dev.pipeline;

/**
 * A source that can say where it stands and start again from there: a file read by offset, a query
 * read in keyset pages, a log read by offset. A durable run can then keep the position reached
 * instead of every record read, and a resumed run reads on from the last position the store kept,
 * as a Spring Batch reader resumes from its execution context or a Kafka consumer from its
 * committed offset.
 *
 * <p>A position is opaque text that only the same kind of source, over the same data, reads back.
 * It is at most {@link #MAX_POSITION_CHARS} characters, printable, and never holds a secret (it is
 * stored and shown). Record ids must follow from the data and the position alone (for example the
 * source id and the line number), so that records read again after a {@link #seek(String)} keep the
 * ids they had.
 *
 * <p>The sources over files of {@link dev.pipeline.source.FileSources} are seekable ones (and so is
 * {@link Source#lines(String, java.nio.file.Path)}); a source over a stream is not, since a stream
 * can only be read again from its start.
 *
 * @param <T> the payload type
 */
public interface SeekableSource<T> extends Source<T> {

  /** The longest position a source may give, in characters: as long as a record id may be. */
  int MAX_POSITION_CHARS = dev.pipeline.store.StorableText.MAX_ID_LENGTH;

  /**
   * Where the record that {@link #next()} returns next starts: after the last record returned, or
   * the start of the data before any was read. Cheap: called once per batch.
   */
  String position();

  /**
   * Moves to a position an earlier {@link #position()} of a source over the same data gave, before
   * the first {@link #next()}.
   *
   * @throws IllegalArgumentException if the position is not one this kind of source gives (the
   *     message says what it expected, without repeating more than a bounded part of the input)
   * @throws IllegalStateException if records were already read
   * @throws Exception if the data cannot be opened at that position
   */
  void seek(String position) throws Exception;

  /**
   * Whether {@link #reopen()} opens a second reader over the same data. A durable store then keeps
   * each batch read from this source as the position of its first record and its record count,
   * instead of every record's encoded payload, and reads the batch again through such a reader when
   * it is claimed (after a crash, or by another worker). False by default: the store keeps the
   * payloads of such a source's records.
   */
  default boolean reopens() {
    return false;
  }

  /**
   * A second, independent reader over the same data, not yet read (seek it, then read it), which
   * another thread may use while this source is read; the caller closes it. Record ids must come
   * out as this source gives them, so that the store can tell when the data changed.
   *
   * @throws UnsupportedOperationException if {@link #reopens()} is false
   * @throws Exception if the data cannot be opened again
   */
  default SeekableSource<T> reopen() throws Exception {
    throw new UnsupportedOperationException("source '" + id() + "' cannot be opened again");
  }
}
