package dev.pipeline.jdbc;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;

/**
 * When the database last confirmed each lease this worker holds: the time at which the statement
 * that wrote or renewed it was sent, by two clocks. The database's expiry is its clock at that
 * statement plus the lease, so the lease holds at least until then plus the lease by this worker's
 * clock, whatever pause or outage came after. A lease confirmed longer ago than {@code vouchNanos}
 * (a margin under the lease) by either clock is doubtful: the worker must ask the database before
 * it works on the record or hands it to the sink. Both clocks are read because neither counts every
 * pause: {@link System#nanoTime()} (CLOCK_MONOTONIC) stands still while the machine is suspended or
 * a virtual machine is frozen, and the wall clock may be set back.
 *
 * <p>The heartbeat's renewals are not counted: it skips rows other transactions hold and does not
 * say which it renewed.
 *
 * <p>Thread-safe.
 */
final class Confirmations {
  /**
   * A moment by both clocks.
   *
   * @param nanos by {@link System#nanoTime()}
   * @param millis by the wall clock, in milliseconds since the epoch
   */
  record Sent(long nanos, long millis) {
    private static Sent later(Sent a, Sent b) {
      return new Sent(a.nanos - b.nanos < 0 ? b.nanos : a.nanos, Math.max(a.millis, b.millis));
    }
  }

  private final Map<String, Map<String, Sent>> pipelines = new ConcurrentHashMap<>();
  private final long vouchNanos;
  private final long vouchMillis;
  private final LongSupplier nanoTime;
  private final LongSupplier wallMillis;
  private final ToIntFunction<String> held;

  /**
   * @param nanoTime the monotonic clock, {@link System#nanoTime()}
   * @param wallMillis the wall clock, {@link System#currentTimeMillis()}
   * @param held how many records this worker holds in a pipeline, to bound the entries kept of
   *     records it let go of by a path that does not forget them
   */
  Confirmations(
      long vouchNanos, LongSupplier nanoTime, LongSupplier wallMillis, ToIntFunction<String> held) {
    this.vouchNanos = vouchNanos;
    this.vouchMillis = TimeUnit.NANOSECONDS.toMillis(vouchNanos);
    this.nanoTime = nanoTime;
    this.wallMillis = wallMillis;
    this.held = held;
  }

  /** Now, by both clocks: read just before a statement that writes or renews leases is sent. */
  Sent now() {
    return new Sent(nanoTime.getAsLong(), wallMillis.getAsLong());
  }

  /**
   * Notes that the leases of these records were written or renewed by a statement sent at {@code
   * at}.
   */
  void confirm(String pipeline, Collection<String> ids, Sent at) {
    if (ids.isEmpty()) {
      return;
    }
    Map<String, Sent> p = pipelines.computeIfAbsent(pipeline, k -> new ConcurrentHashMap<>());
    for (String id : ids) {
      p.merge(id, at, Sent::later);
    }
    int limit = 2 * held.applyAsInt(pipeline) + 1024;
    if (p.size() > limit) {
      // records completed or given back: forget those not confirmed for two vouching periods
      long old = nanoTime.getAsLong() - 2 * vouchNanos;
      p.values().removeIf(t -> t.nanos - old < 0);
    }
  }

  /** Forgets records this worker let go of. */
  void forget(String pipeline, Collection<String> ids) {
    Map<String, Sent> p = pipelines.get(pipeline);
    if (p != null) {
      for (String id : ids) {
        p.remove(id);
      }
    }
  }

  /** Forgets every record of a pipeline. */
  void forgetAll(String pipeline) {
    pipelines.remove(pipeline);
  }

  /** The ids among these whose lease was not confirmed within the vouching period. */
  List<String> doubtful(String pipeline, Collection<String> ids) {
    Map<String, Sent> p = pipelines.get(pipeline);
    Sent now = now();
    List<String> doubtful = null;
    for (String id : ids) {
      Sent at = p == null ? null : p.get(id);
      if (at == null || now.nanos - at.nanos > vouchNanos || now.millis - at.millis > vouchMillis) {
        if (doubtful == null) {
          doubtful = new ArrayList<>();
        }
        doubtful.add(id);
      }
    }
    return doubtful == null ? List.of() : doubtful;
  }

  /** How long ago the oldest confirmation among these records was, in nanos (0 if none). */
  long oldest(String pipeline, Collection<String> ids) {
    Map<String, Sent> p = pipelines.get(pipeline);
    Sent now = now();
    long oldest = 0;
    for (String id : ids) {
      Sent at = p == null ? null : p.get(id);
      if (at != null) {
        long wall = TimeUnit.MILLISECONDS.toNanos(now.millis - at.millis);
        oldest = Math.max(oldest, Math.max(now.nanos - at.nanos, wall));
      }
    }
    return oldest;
  }
}
