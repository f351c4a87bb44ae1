package dev.pipeline;

import dev.pipeline.source.FileFormat;
import dev.pipeline.source.FileSources;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Where records come from: pulled one at a time as the pipeline has room, never loaded whole.
 *
 * <p>A source is read by one thread at a time; it need not be thread-safe. The pipeline closes it
 * when it is exhausted, fails or the run is cancelled.
 *
 * @param <T> the payload type
 */
public interface Source<T> extends AutoCloseable {

  /** The id of this source, kept with every record it yields (e.g. "scraper-a"). */
  String id();

  /**
   * The next record, or null when the source is exhausted.
   *
   * @throws Exception if the source cannot be read; the pipeline stops reading this source, logs
   *     and reports the error, and goes on with its other sources and the records already read; the
   *     run then ends {@link RunStatus#FAILED}, naming the source. A source that cannot read one
   *     record (but can go on) yields it marked {@link Envelope#SOURCE_ERROR} instead
   */
  @Nullable Envelope<T> next() throws Exception;

  /** Releases what the source holds. */
  @Override
  default void close() throws Exception {}

  /**
   * A source over an iterator, giving each item the id {@code sourceId + "-" + n} for n from 1:
   * stable as long as the iterator yields the same items in the same order.
   *
   * @throws NullPointerException if an argument is null
   */
  static <T> Source<T> of(String sourceId, Iterator<? extends T> items) {
    Objects.requireNonNull(items, "items cannot be null");
    return new IteratorSource<>(sourceId, items, null);
  }

  /**
   * A source over an iterator, taking each item's id from {@code idOf} (a natural key, or a hash of
   * the content).
   *
   * @throws NullPointerException if an argument is null
   */
  static <T> Source<T> of(
      String sourceId, Iterator<? extends T> items, Function<? super T, String> idOf) {
    Objects.requireNonNull(items, "items cannot be null");
    Objects.requireNonNull(idOf, "idOf cannot be null");
    return new IteratorSource<>(sourceId, items, idOf);
  }

  /** The longest line {@link #lines(String, Path)} reads unless told otherwise: 1 MiB. */
  int DEFAULT_MAX_LINE_BYTES = FileFormat.DEFAULT_MAX_RECORD_BYTES;

  /** The largest line limit {@link #lines(String, Path, int)} accepts: 256 MiB. */
  int MAX_LINE_BYTES = FileFormat.MAX_RECORD_BYTES;

  /**
   * A source over the lines of a UTF-8 text file, read lazily, with lines of up to {@link
   * #DEFAULT_MAX_LINE_BYTES}; see {@link #lines(String, Path, int)}.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the source id is blank, longer than {@value
   *     FileSources#MAX_SOURCE_ID_CHARS} characters or holds NUL or an unpaired surrogate
   */
  static SeekableSource<String> lines(String sourceId, Path file) {
    return lines(sourceId, file, DEFAULT_MAX_LINE_BYTES);
  }

  /**
   * A source over the lines of a UTF-8 text file, read lazily, that can give its position and seek
   * to one ({@code lines:<byte offset>:<line>}) by moving in the file, not by reading what comes
   * before. The file is opened at the first read or seek: a file that cannot be opened fails the
   * source. Lines are read as by {@link #lines(String, Callable, int)}; a UTF-8 byte order mark at
   * the start is skipped. The same as {@code FileSources.file(sourceId, file,
   * FileFormat.lines().maxRecordBytes(maxLineBytes))}: {@link dev.pipeline.source.FileSources} has
   * other formats (CSV, JSON lines, paragraphs), charsets and directories.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the source id is blank, longer than {@value
   *     FileSources#MAX_SOURCE_ID_CHARS} characters or holds NUL or an unpaired surrogate, or
   *     {@code maxLineBytes} is not between 1 and {@link #MAX_LINE_BYTES}
   */
  static SeekableSource<String> lines(String sourceId, Path file, int maxLineBytes) {
    Objects.requireNonNull(file, "file cannot be null");
    return FileSources.file(
        sourceId, file, FileFormat.lines().maxRecordBytes(checkMaxLineBytes(maxLineBytes)));
  }

  /**
   * A source over the lines of a UTF-8 byte stream, opened by {@code opener} at the first read and
   * closed with the source. Each line's id is {@code sourceId + "-" + lineNumber}, lines counted
   * from 1; lines end at {@code \n}, {@code \r} or {@code \r\n}.
   *
   * <p>A bad line hurts only itself: a line that is not valid UTF-8, or has more than {@code
   * maxLineBytes} bytes, is yielded marked {@link Envelope#SOURCE_ERROR} (with its line number, its
   * byte offset and its first raw bytes in Base64) and goes to the dead letter queue at ingestion,
   * and reading goes on with the next line. Its payload is the line with U+FFFD for each bad byte;
   * of a line over the limit, only its first bytes (at most 1,024): the rest is skipped unread into
   * memory, so memory stays bounded whatever the input. An error reading the stream fails the
   * source (the run then ends {@link RunStatus#FAILED}, naming it).
   *
   * <p>A stream cannot seek, so this source is not a {@link SeekableSource}: to resume a file from
   * a position, use {@link #lines(String, Path, int)}.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the source id is blank, longer than {@value
   *     FileSources#MAX_SOURCE_ID_CHARS} characters or holds NUL or an unpaired surrogate, or
   *     {@code maxLineBytes} is not between 1 and {@link #MAX_LINE_BYTES}
   */
  static Source<String> lines(
      String sourceId, Callable<? extends InputStream> opener, int maxLineBytes) {
    Objects.requireNonNull(opener, "opener cannot be null");
    return FileSources.stream(
        sourceId, opener, FileFormat.lines().maxRecordBytes(checkMaxLineBytes(maxLineBytes)));
  }

  private static int checkMaxLineBytes(int maxLineBytes) {
    if (maxLineBytes < 1 || maxLineBytes > MAX_LINE_BYTES) {
      throw new IllegalArgumentException(
          "maxLineBytes must be between 1 and "
              + MAX_LINE_BYTES
              + ", was "
              + maxLineBytes
              + " (Source.DEFAULT_MAX_LINE_BYTES is "
              + DEFAULT_MAX_LINE_BYTES
              + ")");
    }
    return maxLineBytes;
  }
}
