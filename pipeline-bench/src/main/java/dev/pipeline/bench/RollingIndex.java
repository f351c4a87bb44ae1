package dev.pipeline.bench;

import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.ListingIndex;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Where the real-work target publishes: a {@link ListingIndex} replaced by a fresh one every {@code
 * shardSize} listings, as a downstream consumer would take an index segment away.
 *
 * <p>Why: a single index of a million listings holds gigabytes, and a young collector copying that
 * growing live set made the run mostly GC pauses (18 s of a 55 s run at 400k listings), the same in
 * loop and pipeline, and nothing to do with either. Re-posted duplicates come from a window of the
 * last 512 lines, so nearly all still meet their original in the same shard.
 *
 * <p>Thread-safe.
 */
final class RollingIndex {
  static final int SHARD_SIZE = 20_000;

  private final AtomicReference<ListingIndex> current = new AtomicReference<>(new ListingIndex());
  private final AtomicLong offered = new AtomicLong();

  /** Publishes into the current shard; true if its id was new there. */
  boolean publish(IndexedListing listing) {
    if (offered.incrementAndGet() % SHARD_SIZE == 0) {
      current.set(new ListingIndex());
    }
    return current.get().publish(listing);
  }
}
