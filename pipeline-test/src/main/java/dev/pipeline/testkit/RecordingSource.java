package dev.pipeline.testkit;

import dev.pipeline.Envelope;
import dev.pipeline.Source;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.jspecify.annotations.Nullable;

/** A source that notes the id of every record it yields, so a test can account for each. */
final class RecordingSource<T> implements Source<T> {
  private final Source<T> source;
  private final ConcurrentLinkedQueue<String> ids = new ConcurrentLinkedQueue<>();

  RecordingSource(Source<T> source) {
    this.source = source;
  }

  @Override
  public String id() {
    return source.id();
  }

  @Override
  public @Nullable Envelope<T> next() throws Exception {
    Envelope<T> next = source.next();
    if (next != null) {
      ids.add(next.id());
    }
    return next;
  }

  @Override
  public void close() throws Exception {
    source.close();
  }

  /** The ids yielded so far, in order, repeats included. */
  List<String> ids() {
    return List.copyOf(ids);
  }
}
