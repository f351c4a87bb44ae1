package dev.pipeline;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Objects;
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
   *     and reports the error, and goes on with its other sources and the records already read
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

  /**
   * A source over the lines of a UTF-8 text file, read lazily; each line's id is {@code sourceId +
   * "-" + lineNumber}.
   *
   * @throws NullPointerException if an argument is null
   */
  static Source<String> lines(String sourceId, Path file) {
    Objects.requireNonNull(file, "file cannot be null");
    return new Source<>() {
      private @Nullable BufferedReader reader;
      private long lineNumber;

      @Override
      public String id() {
        return sourceId;
      }

      @Override
      public @Nullable Envelope<String> next() throws IOException {
        if (reader == null) {
          reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
        }
        String line = reader.readLine();
        if (line == null) {
          return null;
        }
        lineNumber++;
        return Envelope.of(sourceId + "-" + lineNumber, line, sourceId);
      }

      @Override
      public void close() {
        if (reader != null) {
          try {
            reader.close();
          } catch (IOException e) {
            throw new UncheckedIOException("could not close " + file, e);
          }
        }
      }
    };
  }
}
