package dev.pipeline.source;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A row of a CSV file with a header, as a map in the header's order: its values, and the header's
 * names and index shared by every row (no hash table per row). Unmodifiable.
 */
final class RowMap extends AbstractMap<String, String> {
  private final String[] names;
  private final Map<String, Integer> index;
  private final String[] values;

  RowMap(String[] names, Map<String, Integer> index, String[] values) {
    this.names = names;
    this.index = index;
    this.values = values;
  }

  @Override
  public @Nullable String get(@Nullable Object key) {
    Integer i = index.get(key);
    return i == null ? null : values[i];
  }

  @Override
  public boolean containsKey(@Nullable Object key) {
    return index.containsKey(key);
  }

  @Override
  public int size() {
    return values.length;
  }

  @Override
  public Set<Entry<String, String>> entrySet() {
    return new AbstractSet<>() {
      @Override
      public Iterator<Entry<String, String>> iterator() {
        return new Iterator<>() {
          private int next;

          @Override
          public boolean hasNext() {
            return next < values.length;
          }

          @Override
          public Entry<String, String> next() {
            if (next >= values.length) {
              throw new NoSuchElementException();
            }
            int i = next++;
            return new SimpleImmutableEntry<>(names[i], values[i]);
          }
        };
      }

      @Override
      public int size() {
        return values.length;
      }
    };
  }
}
