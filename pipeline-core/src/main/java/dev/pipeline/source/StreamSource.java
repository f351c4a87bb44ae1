package dev.pipeline.source;

import dev.pipeline.Envelope;
import dev.pipeline.Source;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;

/**
 * A source over a stream, opened at the first read and closed with the source. It cannot seek, so
 * it is no {@link dev.pipeline.SeekableSource}. Not thread-safe (a source is read by one thread).
 */
final class StreamSource<T> implements Source<T> {
  private final String id;
  private final Callable<? extends InputStream> opener;
  private final RecordReader<T> reader;
  private @Nullable ByteInput input;

  StreamSource(String id, Callable<? extends InputStream> opener, RecordReader<T> reader) {
    this.id = id;
    this.opener = opener;
    this.reader = reader;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public @Nullable Envelope<T> next() throws Exception {
    if (input == null) {
      InputStream stream =
          Objects.requireNonNull(opener.call(), "the opener of source '" + id + "' gave null");
      ByteInput in = ByteInput.of(stream, "the stream of source '" + id + "'");
      input = in;
      reader.begin(in, Start.BEGIN);
    }
    return reader.read();
  }

  @Override
  public void close() throws IOException {
    if (input != null) {
      input.close();
    }
  }

  @Override
  public String toString() {
    return "Source[" + id + "]";
  }
}
