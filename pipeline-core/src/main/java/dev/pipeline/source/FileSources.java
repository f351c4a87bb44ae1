package dev.pipeline.source;

import dev.pipeline.SeekableSource;
import dev.pipeline.Source;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.StorableText;
import java.io.InputStream;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.regex.PatternSyntaxException;

/**
 * Ready-made sources over text: a file, a stream, or every file of a directory, each read in a
 * {@link FileFormat} (lines, CSV, JSON lines, paragraphs). Sources over files can say where they
 * stand and seek there ({@link SeekableSource}), so a run can resume from a kept position; a stream
 * cannot.
 *
 * {@snippet :
 * CsvOptions semicolons = CsvOptions.builder().separator(';').build();
 * FileFormat<Order> orders =
 *     FileFormat.csvWithHeader(semicolons)
 *         .charset(StandardCharsets.ISO_8859_1)
 *         .map(row -> Order.of(row), row -> Order.unreadable(row));
 * RunResult result = pipeline.run(FileSources.directory("inbox", inbox, "*.csv", orders));
 * }
 *
 * <p>Nothing is read or opened until the source's first {@code next()} or {@code seek()}. Stateless
 * and thread-safe; each source it makes is read by one thread, as every source is.
 */
public final class FileSources {
  /**
   * The longest source id, in characters: it starts every record id, which a store keeps up to
   * {@value StorableText#MAX_ID_LENGTH} characters.
   */
  public static final int MAX_SOURCE_ID_CHARS = 512;

  /** The longest glob of {@link #directory}, in characters. */
  public static final int MAX_GLOB_CHARS = 256;

  private FileSources() {}

  /**
   * A source over a file, opened at the first read or seek (a file that cannot be opened fails the
   * source: the run ends FAILED, naming it) and positioned by byte offset, not by reading what
   * comes before. Links are followed.
   *
   * <p>A position is {@code <kind>:<byte offset>:<line>} (e.g. {@code lines:1024:17}), the kind
   * being the format's; a source of another format or garbage is refused by {@code seek} with an
   * {@link IllegalArgumentException}, and so is an offset past the end of the file.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the source id is blank, longer than {@value
   *     #MAX_SOURCE_ID_CHARS} characters or holds what no store keeps (NUL, an unpaired surrogate)
   */
  public static <T> SeekableSource<T> file(String sourceId, Path file, FileFormat<T> format) {
    checkSourceId(sourceId);
    Objects.requireNonNull(file, "file cannot be null");
    Objects.requireNonNull(format, "format cannot be null");
    return new FileSource<>(sourceId, file, format, true);
  }

  /**
   * A source over a byte stream (a socket, a pipe, a download), opened by {@code opener} at the
   * first read and closed with the source. A stream cannot seek, so this source is no {@link
   * SeekableSource}: a durable run keeps the records it read instead of a position. An error
   * reading the stream fails the source.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the source id is blank, longer than {@value
   *     #MAX_SOURCE_ID_CHARS} characters or holds what no store keeps (NUL, an unpaired surrogate)
   */
  public static <T> Source<T> stream(
      String sourceId, Callable<? extends InputStream> opener, FileFormat<T> format) {
    checkSourceId(sourceId);
    Objects.requireNonNull(opener, "opener cannot be null");
    Objects.requireNonNull(format, "format cannot be null");
    return new StreamSource<>(sourceId, opener, format.reader(sourceId));
  }

  /**
   * A source over every regular file of a directory (not its subdirectories) whose name matches a
   * glob ({@code "*.csv"}, {@code "orders-*.{csv,txt}"}), read one after another in the order of
   * their names ({@link String#compareTo}), each in the format given. Names are listed when the
   * source needs them, a thousand at a time, so a huge directory is never listed into memory, and a
   * file added while the source reads, with a name after the one being read, is read too. Links are
   * never followed: a link is not read, even to a file inside the directory.
   *
   * <p>Each file's records are tagged with, and have ids starting with, {@code sourceId + "/" +
   * fileName} (a name longer than 200 characters is cut there, with a hash added), so ids stay
   * unique across files. A file that cannot be opened (it was deleted or moved after it was listed,
   * it cannot be read, its CSV header is bad) is one record marked {@link
   * dev.pipeline.Envelope#SOURCE_ERROR}, with the id {@code sourceId/fileName-0}, naming the file
   * and why, and reading goes on with the next file; its payload is the format's for input that
   * could not be read (the file's name for text, an empty list or map for CSV rows, what the user's
   * {@code unreadable} function makes of that for a mapped format). A directory that cannot be
   * listed fails the source.
   *
   * <p>A position is the current file's name and the position within it: {@code
   * dir:in:<name>:<position in the file>}, {@code dir:after:<name>} once a file is read whole, or
   * {@code dir:} at the start (names with {@code %}, {@code :} or characters that are not printable
   * written as {@code %XX} UTF-8 bytes). After a seek into a file that is gone, the source yields
   * one record marked {@link dev.pipeline.Envelope#SOURCE_ERROR} for it (the rest of it was never
   * read) and goes on with the next file.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the source id is blank, longer than {@value
   *     #MAX_SOURCE_ID_CHARS} characters or holds what no store keeps; if the glob is blank, longer
   *     than {@value #MAX_GLOB_CHARS} characters, holds a {@code /} or is not a glob
   */
  public static <T> SeekableSource<T> directory(
      String sourceId, Path directory, String glob, FileFormat<T> format) {
    checkSourceId(sourceId);
    Objects.requireNonNull(directory, "directory cannot be null");
    Objects.requireNonNull(glob, "glob cannot be null");
    Objects.requireNonNull(format, "format cannot be null");
    if (glob.isBlank() || glob.length() > MAX_GLOB_CHARS || glob.indexOf('/') >= 0) {
      throw new IllegalArgumentException(
          "glob must be 1 to "
              + MAX_GLOB_CHARS
              + " characters, not blank, without '/' (it matches the names of the files in the"
              + " directory, not paths), was '"
              + Start.shown(glob)
              + "'");
    }
    PathMatcher matcher;
    try {
      matcher = directory.getFileSystem().getPathMatcher("glob:" + glob);
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException(
          "glob '"
              + Start.shown(glob)
              + "' is not a glob: "
              + ErrorText.escape(ErrorText.cut(e.getDescription(), 200))
              + " at index "
              + e.getIndex(),
          e);
    }
    return new DirectorySource<>(sourceId, directory, matcher, format);
  }

  private static void checkSourceId(String sourceId) {
    Objects.requireNonNull(sourceId, "sourceId cannot be null");
    if (sourceId.isBlank()) {
      throw new IllegalArgumentException("sourceId cannot be blank");
    }
    if (sourceId.length() > MAX_SOURCE_ID_CHARS) {
      throw new IllegalArgumentException(
          "sourceId must be at most "
              + MAX_SOURCE_ID_CHARS
              + " characters, was "
              + sourceId.length()
              + ": it starts every record id, and a store keeps ids of up to "
              + StorableText.MAX_ID_LENGTH);
    }
    String problem = StorableText.idProblem(sourceId);
    if (problem != null) {
      throw new IllegalArgumentException(
          "sourceId '"
              + StorableText.escape(sourceId, 100)
              + "' cannot start a record id: it "
              + problem
              + " (no store keeps NUL or unpaired surrogates)");
    }
  }
}
