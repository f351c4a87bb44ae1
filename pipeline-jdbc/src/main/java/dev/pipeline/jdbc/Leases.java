package dev.pipeline.jdbc;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The leases this worker holds, in memory: which token each of its records was leased under.
 *
 * <p>Each {@code ingest} or {@code claim} leases its records under a fresh random token, which the
 * database keeps in {@code lease_token}. Checkpoints and completions update a record only where the
 * owner and the token still match, so a worker whose record was taken over (a new token) is fenced
 * off. The heartbeat renews the leases of the tokens handed to the engine, until the engine is done
 * with their records: rows a lost round trip leased without the engine seeing them are not renewed
 * and soon free again.
 *
 * <p>A token that no checkpoint or completion has touched for {@code abandonAfter} is no longer
 * renewed (its records were most likely dropped by a cancelled or failed run), so its records
 * become claimable after one more lease.
 *
 * <p>Thread-safe.
 */
final class Leases {
  private final Map<String, PipelineLeases> pipelines = new ConcurrentHashMap<>();
  private final LongSupplier nanoTime;

  Leases(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
  }

  /** A fresh, non-zero token. Random, so that tokens of different workers never coincide. */
  static long newToken() {
    long token;
    do {
      token = ThreadLocalRandom.current().nextLong();
    } while (token == 0);
    return token;
  }

  private PipelineLeases of(String pipeline) {
    return pipelines.computeIfAbsent(pipeline, p -> new PipelineLeases());
  }

  /** Notes that these records are now held under a token. */
  void hold(String pipeline, Collection<String> ids, long token) {
    if (ids.isEmpty()) {
      return;
    }
    PipelineLeases p = of(pipeline);
    Held held = new Held(nanoTime.getAsLong());
    p.held.put(token, held);
    for (String id : ids) {
      held.open.incrementAndGet();
      Long previous = p.tokenById.put(id, token);
      if (previous != null && previous != token) {
        release(p, previous); // taken over by this very worker: the older copy is fenced
      }
    }
  }

  /** The token a record is held under, or null if this worker does not hold it. */
  @Nullable Long token(String pipeline, String id) {
    PipelineLeases p = pipelines.get(pipeline);
    return p == null ? null : p.tokenById.get(id);
  }

  /**
   * Whether this worker still processes a record: it holds it under a token that is renewed (not
   * given up as abandoned).
   */
  boolean isLive(String pipeline, String id) {
    PipelineLeases p = pipelines.get(pipeline);
    if (p == null) {
      return false;
    }
    Long token = p.tokenById.get(id);
    if (token == null) {
      return false;
    }
    Held held = p.held.get(token);
    return held != null && held.renew;
  }

  /** Notes that a token's records made progress. */
  void touch(String pipeline, long token) {
    PipelineLeases p = pipelines.get(pipeline);
    if (p != null) {
      Held held = p.held.get(token);
      if (held != null) {
        held.touched = nanoTime.getAsLong();
      }
    }
  }

  /** Forgets a record: completed, or refused. */
  void drop(String pipeline, String id, long token) {
    PipelineLeases p = pipelines.get(pipeline);
    if (p != null && p.tokenById.remove(id, token)) {
      release(p, token);
    }
  }

  private static void release(PipelineLeases p, long token) {
    Held held = p.held.get(token);
    if (held != null && held.open.decrementAndGet() <= 0) {
      p.held.remove(token, held);
    }
  }

  /** The pipelines with leases. */
  List<String> pipelines() {
    return new ArrayList<>(pipelines.keySet());
  }

  /**
   * The tokens of a pipeline to renew now; tokens idle for longer than {@code abandonAfterNanos}
   * are no longer renewed and are given to {@code abandoned}.
   */
  List<Long> toRenew(String pipeline, long abandonAfterNanos, List<Long> abandoned) {
    PipelineLeases p = pipelines.get(pipeline);
    if (p == null) {
      return List.of();
    }
    long now = nanoTime.getAsLong();
    List<Long> tokens = new ArrayList<>();
    for (Map.Entry<Long, Held> e : p.held.entrySet()) {
      Held held = e.getValue();
      if (held.renew && now - held.touched > abandonAfterNanos) {
        held.renew = false;
        abandoned.add(e.getKey());
      }
      if (held.renew) {
        tokens.add(e.getKey());
      }
    }
    return tokens;
  }

  /** The records of a pipeline held under these tokens, in id order. */
  List<String> ids(String pipeline, Collection<Long> tokens) {
    PipelineLeases p = pipelines.get(pipeline);
    if (p == null || tokens.isEmpty()) {
      return List.of();
    }
    Set<Long> wanted = new HashSet<>(tokens);
    List<String> ids = new ArrayList<>();
    p.tokenById.forEach(
        (id, token) -> {
          if (wanted.contains(token)) {
            ids.add(id);
          }
        });
    ids.sort(null);
    return ids;
  }

  /**
   * Every token this worker holds records of in a pipeline, renewed or not: its own claims must not
   * take those records back while the engine may still process them.
   */
  List<Long> tokens(String pipeline) {
    PipelineLeases p = pipelines.get(pipeline);
    return p == null ? List.of() : new ArrayList<>(p.held.keySet());
  }

  /** Forgets every lease of a pipeline and returns their tokens. */
  List<Long> releaseAll(String pipeline) {
    PipelineLeases p = pipelines.remove(pipeline);
    return p == null ? List.of() : new ArrayList<>(p.held.keySet());
  }

  /** How many records this worker holds in a pipeline. */
  int held(String pipeline) {
    PipelineLeases p = pipelines.get(pipeline);
    return p == null ? 0 : p.tokenById.size();
  }

  private static final class PipelineLeases {
    final Map<String, Long> tokenById = new ConcurrentHashMap<>();
    final Map<Long, Held> held = new ConcurrentHashMap<>();
  }

  private static final class Held {
    final AtomicInteger open = new AtomicInteger();
    volatile long touched;
    volatile boolean renew = true;

    Held(long now) {
      this.touched = now;
    }
  }
}
