package dev.pipeline.jdbc;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * One writer at a time for writes that would otherwise wait on each other's row locks (a run's sink
 * callers all update the few batches their records came from): a caller that finds a write under
 * way queues its own, and whoever writes next takes every queued write into one call of the writer,
 * one transaction. Each caller gets that call's result, or its failure, and returns only once its
 * write is committed; a caller alone writes at once. Thread-safe.
 *
 * @param <R> a caller's write
 * @param <T> what a call of the writer returns to every caller whose write it took
 */
final class CombinedWrites<R, T> {
  private final Function<List<R>, T> writer;
  private final ReentrantLock writing = new ReentrantLock();
  private final Queue<Pending<R, T>> queued = new ConcurrentLinkedQueue<>();

  CombinedWrites(Function<List<R>, T> writer) {
    this.writer = writer;
  }

  /** A queued write; its outcome is set, under {@code writing}, by the call that took it. */
  private static final class Pending<R, T> {
    final R write;
    boolean done;
    @Nullable T result;
    @Nullable Throwable failure;

    Pending(R write) {
      this.write = write;
    }
  }

  /** How many writes wait to be taken (for tests). */
  int queued() {
    return queued.size();
  }

  /**
   * Writes {@code write}, with those of other callers queued meanwhile, and returns the result of
   * the writer's call that took it.
   *
   * @throws RuntimeException what that call threw
   */
  T write(R write) {
    Pending<R, T> mine = new Pending<>(write);
    queued.add(mine);
    writing.lock();
    try {
      if (!mine.done) { // not taken by the writer before: it is still queued, so this call takes it
        List<Pending<R, T>> taken = new ArrayList<>();
        for (Pending<R, T> p; (p = queued.poll()) != null; ) {
          taken.add(p);
        }
        List<R> writes = new ArrayList<>(taken.size());
        taken.forEach(p -> writes.add(p.write));
        T result = null;
        Throwable failure = null;
        try {
          result = writer.apply(writes);
        } catch (RuntimeException | Error e) {
          failure = e;
        }
        for (Pending<R, T> p : taken) {
          p.result = result;
          p.failure = failure;
          p.done = true;
        }
      }
    } finally {
      writing.unlock();
    }
    Throwable failure = mine.failure;
    if (failure instanceof RuntimeException e) {
      throw e;
    }
    if (failure instanceof Error e) {
      throw e;
    }
    return Objects.requireNonNull(mine.result, "the writer returned null");
  }
}
