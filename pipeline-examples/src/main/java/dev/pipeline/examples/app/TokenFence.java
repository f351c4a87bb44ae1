package dev.pipeline.examples.app;

import dev.pipeline.Envelope;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The highest fencing token written per record id ({@link Envelope#fencingToken()}); a write with a
 * lower one comes from a worker that lost the record to another (it was paused past its lease while
 * the other delivered the record) and is refused. A sink that stores its records elsewhere keeps
 * the token beside each one (a column of the row) and makes the same test in its write.
 *
 * <p>Thread-safe.
 */
final class TokenFence {
  private final ConcurrentHashMap<String, Long> highest = new ConcurrentHashMap<>();
  private final LongAdder refused = new LongAdder();

  /**
   * Whether a record may be written: it has no token, or one no lower than any written before under
   * its id. A record admitted raises its id's token.
   */
  boolean admit(Envelope<?> record) {
    OptionalLong token = record.fencingToken();
    if (token.isEmpty()) {
      return true;
    }
    long mine = token.getAsLong();
    if (highest.merge(record.id(), mine, Math::max) > mine) {
      refused.increment();
      return false;
    }
    return true;
  }

  /** How many writes were refused as stale. */
  long refused() {
    return refused.sum();
  }
}
