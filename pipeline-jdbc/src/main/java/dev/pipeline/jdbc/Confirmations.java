package dev.pipeline.jdbc;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;

/**
 * When the database last confirmed each lease this worker holds: the time ({@link
 * System#nanoTime()}) at which the statement that wrote or renewed it was sent. The database's
 * expiry is its clock at that statement plus the lease, so the lease holds at least until then plus
 * the lease by this worker's clock, whatever pause or outage came after. A lease confirmed longer
 * ago than {@code vouchNanos} (a margin under the lease) is doubtful: the worker must ask the
 * database before it works on the record or hands it to the sink.
 *
 * <p>The heartbeat's renewals are not counted: it skips rows other transactions hold and does not
 * say which it renewed.
 *
 * <p>Thread-safe.
 */
final class Confirmations {
  private final Map<String, Map<String, Long>> pipelines = new ConcurrentHashMap<>();
  private final long vouchNanos;
  private final LongSupplier nanoTime;
  private final ToIntFunction<String> held;

  /**
   * @param held how many records this worker holds in a pipeline, to bound the entries kept of
   *     records it let go of by a path that does not forget them
   */
  Confirmations(long vouchNanos, LongSupplier nanoTime, ToIntFunction<String> held) {
    this.vouchNanos = vouchNanos;
    this.nanoTime = nanoTime;
    this.held = held;
  }

  /**
   * Notes that the leases of these records were written or renewed by a statement sent at {@code
   * at}.
   */
  void confirm(String pipeline, Collection<String> ids, long at) {
    if (ids.isEmpty()) {
      return;
    }
    Map<String, Long> p = pipelines.computeIfAbsent(pipeline, k -> new ConcurrentHashMap<>());
    for (String id : ids) {
      p.merge(id, at, Math::max);
    }
    int limit = 2 * held.applyAsInt(pipeline) + 1024;
    if (p.size() > limit) {
      // records completed or given back: forget those not confirmed for two vouching periods
      long old = nanoTime.getAsLong() - 2 * vouchNanos;
      p.values().removeIf(t -> t - old < 0);
    }
  }

  /** Forgets records this worker let go of. */
  void forget(String pipeline, Collection<String> ids) {
    Map<String, Long> p = pipelines.get(pipeline);
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
    Map<String, Long> p = pipelines.get(pipeline);
    long now = nanoTime.getAsLong();
    List<String> doubtful = null;
    for (String id : ids) {
      Long at = p == null ? null : p.get(id);
      if (at == null || now - at > vouchNanos) {
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
    Map<String, Long> p = pipelines.get(pipeline);
    long now = nanoTime.getAsLong();
    long oldest = 0;
    for (String id : ids) {
      Long at = p == null ? null : p.get(id);
      if (at != null) {
        oldest = Math.max(oldest, now - at);
      }
    }
    return oldest;
  }
}
