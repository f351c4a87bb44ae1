package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.SeekableSource;
import dev.pipeline.Source;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.spi.SourceReplay;
import dev.pipeline.store.spi.SourceSpan;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@link SourceReplay} of a run: reads spans of the run's sources that {@link
 * SeekableSource#reopens()} again, each through a reader of its own, with the metadata the run's
 * reader adds ({@link Envelope#SOURCE_ID}).
 */
final class SourceReplays implements SourceReplay {
  private final Map<String, SeekableSource<Object>> sources = new LinkedHashMap<>();

  SourceReplays(List<Source<Object>> sources) {
    for (Source<Object> source : sources) {
      if (source instanceof SeekableSource<Object> s && s.reopens()) {
        this.sources.putIfAbsent(s.id(), s);
      }
    }
  }

  boolean isEmpty() {
    return sources.isEmpty();
  }

  @Override
  public Set<String> sources() {
    return sources.keySet();
  }

  @Override
  public Replayed read(SourceSpan span) throws Exception {
    SeekableSource<Object> source = sources.get(span.sourceId());
    if (source == null) {
      throw new IllegalArgumentException(
          "this run does not read source '" + ErrorText.loggable(span.sourceId()) + "'");
    }
    List<Envelope<?>> out = new ArrayList<>(span.count());
    try (SeekableSource<Object> again = source.reopen()) {
      again.seek(span.position());
      Envelope<Object> next;
      while (out.size() < span.count() && (next = again.next()) != null) {
        out.add(SourceReader.fromSource(next, source.id()));
      }
      return new Replayed(out, again.position());
    }
  }
}
