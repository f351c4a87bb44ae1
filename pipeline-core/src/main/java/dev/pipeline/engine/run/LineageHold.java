package dev.pipeline.engine.run;

import dev.pipeline.store.LineageEvent;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The telemetry writer's lineage events held by record until the record ends (at the sink, or
 * filtered, dead-lettered, split, merged or parked), so that a store that writes a row per record
 * per append (the JDBC store's {@code record_traces}) writes about one row per record rather than
 * one per record per poll: each row costs the database a heap tuple and two b-tree entries,
 * whatever its length. A record still going on is written after {@link #HOLD_POLLS} of the writer's
 * polls (a slow stage, a pipeline without a sink), or at once when more than {@link #MAX_HELD}
 * events are held, the eldest first.
 *
 * <p>Not thread-safe: used by whoever holds the telemetry's write lock.
 */
final class LineageHold {
  /** Polls of the writer (100 ms each) a going-on record's events are held at most. */
  static final int HOLD_POLLS = 10;

  /** Events held at most; past it the eldest records' are written. */
  static final int MAX_HELD = 50_000;

  // records going on, the eldest first (by the poll their first event arrived in)
  private final LinkedHashMap<String, Open> open = new LinkedHashMap<>();
  private final List<LineageEvent> ready = new ArrayList<>();
  private int held;

  /** A going-on record's events, in order. */
  private static final class Open {
    final long since;
    final List<LineageEvent> events = new ArrayList<>(12);

    Open(long since) {
      this.since = since;
    }
  }

  /**
   * Adds a batch's events, handed on in that order: the first {@code goingOn} of them are of
   * records that go on to another event (the batch's outputs at a stage that hands them on), the
   * rest of records that end there.
   */
  void add(LineageBatch batch, long poll) {
    List<LineageEvent> events = batch.events();
    for (int i = 0; i < events.size(); i++) {
      LineageEvent e = events.get(i);
      boolean ends = i >= batch.goingOn();
      Open o = open.get(e.recordId());
      if (o == null) {
        if (ends) {
          ready.add(e);
          continue;
        }
        o = new Open(poll);
        open.put(e.recordId(), o);
      }
      o.events.add(e);
      held++;
      if (ends) {
        open.remove(e.recordId());
        release(o);
      }
    }
  }

  /**
   * The events to write now, each record's together and in order: those of records that ended, and
   * of records held since {@link #HOLD_POLLS} polls before {@code poll}, or beyond {@link
   * #MAX_HELD}; with {@code all}, every event held.
   */
  List<LineageEvent> take(long poll, boolean all) {
    Iterator<Open> eldest = open.values().iterator();
    while (eldest.hasNext()) {
      Open o = eldest.next();
      if (!all && poll - o.since < HOLD_POLLS && held <= MAX_HELD) {
        break;
      }
      eldest.remove();
      release(o);
    }
    if (ready.isEmpty()) {
      return List.of();
    }
    List<LineageEvent> taken = new ArrayList<>(ready);
    ready.clear();
    return taken;
  }

  /** Whether any event is held. */
  boolean isEmpty() {
    return ready.isEmpty() && open.isEmpty();
  }

  private void release(Open o) {
    ready.addAll(o.events);
    held -= o.events.size();
  }
}
