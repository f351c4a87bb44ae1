package dev.pipeline.source;

import dev.pipeline.Envelope;
import dev.pipeline.SeekableSource;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A source over one file, read through a {@link RecordReader}: opened at the first read or seek,
 * positioned by {@link FileChannel#position(long)}. Not thread-safe (a source is read by one
 * thread).
 */
final class FileSource<T> implements SeekableSource<T> {
  private final String id;
  private final Path file;
  private final boolean followLinks;
  private final FileFormat<T> format;
  private final RecordReader<T> reader;
  private @Nullable ByteInput input;
  private boolean reading;

  FileSource(String id, Path file, FileFormat<T> format, boolean followLinks) {
    this.id = id;
    this.file = file;
    this.format = format;
    this.reader = format.reader(id);
    this.followLinks = followLinks;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public @Nullable Envelope<T> next() throws Exception {
    reading = true;
    if (input == null) {
      open(Start.BEGIN);
    }
    return reader.read();
  }

  @Override
  public String position() {
    return input == null ? Start.BEGIN.format(reader.kind()) : reader.position();
  }

  @Override
  public boolean reopens() {
    return true;
  }

  /** The same file, read by a reader of its own: opened at its first read or seek. */
  @Override
  public SeekableSource<T> reopen() {
    return new FileSource<>(id, file, format, followLinks);
  }

  @Override
  public void seek(String position) throws IOException {
    if (reading) {
      throw new IllegalStateException(
          "source '"
              + id
              + "' cannot seek: it read records already (seek before the first next(), or make a"
              + " new source)");
    }
    Start start = Start.parse(reader.kind(), position);
    closeInput();
    open(start);
  }

  private void open(Start start) throws IOException {
    Set<OpenOption> options = new HashSet<>();
    options.add(StandardOpenOption.READ);
    if (!followLinks) {
      options.add(LinkOption.NOFOLLOW_LINKS);
    }
    FileChannel channel = FileChannel.open(file, options);
    ByteInput in = ByteInput.of(channel, "file '" + file + "'");
    try {
      reader.begin(in, start);
    } catch (IOException | RuntimeException e) {
      in.close();
      throw e;
    }
    input = in;
  }

  private void closeInput() throws IOException {
    ByteInput in = input;
    input = null;
    if (in != null) {
      in.close();
    }
  }

  @Override
  public void close() throws IOException {
    closeInput();
  }

  @Override
  public String toString() {
    return "Source[" + id + ", " + file + "]";
  }
}
