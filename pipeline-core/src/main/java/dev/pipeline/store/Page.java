package dev.pipeline.store;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One page of a listing.
 *
 * @param items the items of this page
 * @param nextCursor where the next page starts, or null if this is the last
 * @param <T> the item type
 */
public record Page<T>(List<T> items, @Nullable String nextCursor) {

  /** Copies the items. */
  public Page {
    items = List.copyOf(items);
  }

  /** Whether there is a next page. */
  public boolean hasNext() {
    return nextCursor != null;
  }
}
