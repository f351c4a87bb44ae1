package dev.pipeline.store;

import java.util.ArrayList;
import java.util.List;

/**
 * The in-memory store's lineage of one pipeline: the last {@code capacity} events, in a ring (the
 * oldest overwritten first). A record's lineage is found by a scan of the ring, which at the
 * default 100,000 events takes a millisecond or so: lineage is looked up by people, not by workers.
 *
 * <p>Thread-safe.
 */
final class LineageRing {
  private final LineageEvent[] events;
  private long written;

  LineageRing(int capacity) {
    this.events = new LineageEvent[capacity];
  }

  synchronized void append(List<LineageEvent> more) {
    if (events.length == 0) {
      return;
    }
    for (LineageEvent e : more) {
      events[(int) (written++ % events.length)] = e;
    }
  }

  synchronized List<LineageEvent> find(String recordId, int max) {
    List<LineageEvent> found = new ArrayList<>();
    long from = Math.max(0, written - events.length);
    for (long i = from; i < written && found.size() < max; i++) {
      LineageEvent e = events[(int) (i % events.length)];
      if (e.recordId().equals(recordId)) {
        found.add(e);
      }
    }
    return found;
  }
}
