package dev.pipeline.source;

import dev.pipeline.Envelope;
import dev.pipeline.SeekableSource;
import dev.pipeline.internal.ErrorText;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import org.jspecify.annotations.Nullable;

/**
 * Every regular file of a directory whose name matches a glob, one after another in the order of
 * their names, each read by the same {@link FileFormat}. Names are listed when needed, at most
 * {@value #LISTED} at a time (the next ones after the file last read, so memory stays bounded and a
 * file added later with a name after it is read too). Links are never followed: a link is not
 * listed, and a file is opened refusing a link put in its place since it was listed.
 *
 * <p>A position is {@code dir:} (the start), {@code dir:after:<name>} (every file up to that name
 * read) or {@code dir:in:<name>:<position in that file>}, the name escaped by {@link FileNames}. A
 * file that cannot be opened (gone since it was listed, unreadable, a header that cannot be read,
 * shorter than the position in it) is one record marked {@link Envelope#SOURCE_ERROR} naming it,
 * with the id {@code <file source id>-0}, and reading goes on with the next file.
 *
 * <p>Not thread-safe (a source is read by one thread).
 */
final class DirectorySource<T> implements SeekableSource<T> {
  /** The most names listed at a time. */
  static final int LISTED = 1_000;

  /** The longest name, as written in a position, of a file read: positions are bounded. */
  static final int MAX_POSITION_NAME_CHARS = 800;

  private static final String START = "dir:";
  private static final String AFTER = "dir:after:";
  private static final String IN = "dir:in:";

  private final String id;
  private final Path dir;
  private final PathMatcher matcher;
  private final FileFormat<T> format;
  private final String kind; // of the positions within a file
  private final ArrayDeque<String> listed = new ArrayDeque<>();
  private @Nullable String current; // the file being read, or the last one read
  private boolean done; // current is read, or could not be
  private @Nullable Start pending; // where to start current, from a seek
  private @Nullable RecordReader<T> reader;
  private @Nullable ByteInput input;
  private boolean reading;

  DirectorySource(String id, Path dir, PathMatcher matcher, FileFormat<T> format) {
    this.id = id;
    this.dir = dir;
    this.matcher = matcher;
    this.format = format;
    this.kind = format.reader(id).kind();
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public @Nullable Envelope<T> next() throws Exception {
    reading = true;
    while (true) {
      String name = current;
      if (name != null && !done) {
        RecordReader<T> r = reader;
        if (r == null) {
          Start start = pending == null ? Start.BEGIN : pending;
          pending = null;
          Envelope<T> unopened = open(name, start);
          if (unopened != null) {
            done = true;
            return unopened;
          }
          r = Objects.requireNonNull(reader);
        }
        Envelope<T> record = r.read();
        if (record != null) {
          return record;
        }
        closeFile();
        done = true;
      }
      if (listed.isEmpty()) {
        listed.addAll(list(current));
      }
      String next = listed.poll();
      if (next == null) {
        return null;
      }
      current = next;
      done = false;
      int length = FileNames.forPosition(next).length();
      if (length > MAX_POSITION_NAME_CHARS) {
        done = true;
        return unreadableFile(
            next,
            "was not read: its name is "
                + length
                + " characters long as written in a position, more than "
                + MAX_POSITION_NAME_CHARS
                + " (rename it)");
      }
    }
  }

  @Override
  public boolean reopens() {
    return true;
  }

  /** The same directory, listed and read by a reader of its own. */
  @Override
  public SeekableSource<T> reopen() {
    return new DirectorySource<>(id, dir, matcher, format);
  }

  @Override
  public String position() {
    String name = current;
    if (name == null) {
      return START;
    }
    String shown = FileNames.forPosition(name);
    if (done) {
      return AFTER + shown;
    }
    RecordReader<T> r = reader;
    String inFile =
        r != null ? r.position() : (pending == null ? Start.BEGIN : pending).format(kind);
    return IN + shown + ":" + inFile;
  }

  @Override
  public void seek(String position) throws IOException {
    Objects.requireNonNull(position, "position cannot be null");
    if (reading) {
      throw new IllegalStateException(
          "source '"
              + id
              + "' cannot seek: it read records already (seek before the first next(), or make a"
              + " new source)");
    }
    String name;
    boolean after;
    Start start = null;
    if (position.equals(START)) {
      name = null;
      after = false;
    } else if (position.startsWith(AFTER)) {
      name = name(position, position.substring(AFTER.length()));
      after = true;
    } else if (position.startsWith(IN)) {
      String rest = position.substring(IN.length());
      int colon = rest.indexOf(':');
      if (colon < 0) {
        throw rejected(position, "it has no position within the file");
      }
      name = name(position, rest.substring(0, colon));
      after = false;
      try {
        start = Start.parse(kind, rest.substring(colon + 1));
      } catch (IllegalArgumentException e) {
        throw rejected(position, "its position within the file is wrong: " + e.getMessage());
      }
    } else {
      throw rejected(position, "it is not a position of a directory source");
    }
    closeFile();
    listed.clear();
    current = name;
    done = after;
    pending = start;
  }

  /** A file name from a position: one this source could have read, in its directory. */
  private String name(String position, String escaped) {
    String name;
    try {
      name = FileNames.fromPosition(escaped);
    } catch (IllegalArgumentException e) {
      throw rejected(position, "its file name is not escaped right (" + e.getMessage() + ")");
    }
    Path file;
    try {
      file = name.isEmpty() || name.indexOf('\0') >= 0 ? null : dir.resolve(name);
    } catch (InvalidPathException e) {
      file = null;
    }
    if (file == null
        || name.equals(".")
        || name.equals("..")
        || !dir.equals(file.getParent())
        || file.getFileName() == null
        || !name.equals(file.getFileName().toString())) {
      throw rejected(position, "its file name is not the name of a file in the directory");
    }
    if (!matcher.matches(file.getFileName())) {
      throw rejected(position, "its file name does not match the source's glob");
    }
    return name;
  }

  private IllegalArgumentException rejected(String position, String why) {
    return new IllegalArgumentException(
        "expected a position of directory source '"
            + id
            + "' ('dir:', 'dir:after:<file name>' or 'dir:in:<file name>:<"
            + kind
            + " position>'), got '"
            + Start.shown(position)
            + "': "
            + why);
  }

  /** Opens a file at a place; a record standing for it if it cannot be, else null. */
  private @Nullable Envelope<T> open(String name, Start start) throws IOException {
    Path file = dir.resolve(name);
    String fileId = fileSourceId(name);
    RecordReader<T> r = format.reader(fileId);
    ByteInput in;
    try {
      BasicFileAttributes attributes =
          Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (!attributes.isRegularFile()) {
        return unreadableFile(
            name, "was not read: it is no longer a regular file (links are not followed)");
      }
      in =
          ByteInput.of(
              FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS),
              "file '" + shown(name) + "' of directory source '" + id + "'");
    } catch (NoSuchFileException e) {
      return unreadableFile(
          name, "is gone: it was listed, then deleted or moved before it was opened");
    } catch (IOException e) {
      return unreadableFile(name, "could not be opened: " + describe(e));
    }
    try {
      r.begin(in, start);
    } catch (IOException | IllegalArgumentException e) {
      in.close();
      return unreadableFile(name, "could not be read: " + describe(e));
    } catch (RuntimeException e) {
      in.close();
      throw e;
    }
    reader = r;
    input = in;
    return null;
  }

  private Envelope<T> unreadableFile(String name, String why) {
    String fileId = fileSourceId(name);
    return Envelope.of(fileId + "-0", format.unreadable(name), fileId)
        .withMetadata(
            Envelope.SOURCE_ERROR,
            "file '"
                + shown(name)
                + "' of directory source '"
                + id
                + "' "
                + why
                + "; reading went on with the next file");
  }

  private String fileSourceId(String name) {
    return id + "/" + FileNames.forId(name);
  }

  /** The names after {@code after} (all if null), the first {@value #LISTED} of them, in order. */
  private List<String> list(@Nullable String after) throws IOException {
    PriorityQueue<String> last = new PriorityQueue<>(Comparator.reverseOrder());
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        Path fileName = entry.getFileName();
        if (fileName == null || !matcher.matches(fileName)) {
          continue;
        }
        String name = fileName.toString();
        if (after != null && name.compareTo(after) <= 0) {
          continue;
        }
        if (last.size() == LISTED && name.compareTo(last.element()) >= 0) {
          continue;
        }
        if (!regularFile(entry)) {
          continue;
        }
        last.add(name);
        if (last.size() > LISTED) {
          last.remove();
        }
      }
    } catch (DirectoryIteratorException e) {
      throw e.getCause();
    }
    List<String> names = new ArrayList<>(last);
    names.sort(null);
    return names;
  }

  private static boolean regularFile(Path entry) {
    try {
      return Files.readAttributes(entry, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
          .isRegularFile();
    } catch (IOException e) {
      return false; // gone while listed: not listed
    }
  }

  private void closeFile() throws IOException {
    ByteInput in = input;
    input = null;
    reader = null;
    if (in != null) {
      in.close();
    }
  }

  @Override
  public void close() throws IOException {
    closeFile();
  }

  private static String shown(String name) {
    return ErrorText.escape(ErrorText.cut(name, 300));
  }

  private static String describe(Exception e) {
    return MappedReader.describe(e);
  }

  @Override
  public String toString() {
    return "Source[" + id + ", " + dir + "]";
  }
}
