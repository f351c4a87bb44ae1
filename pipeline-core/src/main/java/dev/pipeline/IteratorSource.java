package dev.pipeline;

import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/** A source over an iterator. */
final class IteratorSource<T> implements Source<T> {
  private final String id;
  private final Iterator<? extends T> items;
  private final @Nullable Function<? super T, String> idOf;
  private final Map<String, String> tag;
  private long position;

  IteratorSource(
      String id, Iterator<? extends T> items, @Nullable Function<? super T, String> idOf) {
    this.id = Objects.requireNonNull(id, "sourceId cannot be null");
    if (id.isBlank()) {
      throw new IllegalArgumentException("sourceId cannot be blank");
    }
    this.items = items;
    this.idOf = idOf;
    this.tag = Map.of(Envelope.SOURCE_ID, id);
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public @Nullable Envelope<T> next() {
    if (!items.hasNext()) {
      return null;
    }
    T item = items.next();
    position++;
    if (item == null) {
      throw new NullPointerException(
          "source '"
              + id
              + "' yielded a null item at position "
              + position
              + ": sources must not yield null");
    }
    String recordId = idOf == null ? id + "-" + position : idOf.apply(item);
    return Envelope.tagged(recordId, item, tag);
  }

  @Override
  public String toString() {
    return "Source[" + id + "]";
  }
}
