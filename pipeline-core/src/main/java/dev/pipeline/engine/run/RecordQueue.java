package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * The bounded queue in front of a stage. Records move in and out in bulk, one lock acquisition per
 * batch, so the hand-off costs a few nanoseconds per record; a full queue blocks its producers,
 * which is the pipeline's back-pressure and keeps memory flat.
 *
 * <p>Thread-safe. Uses a {@link ReentrantLock}, not {@code synchronized}, so that waiting virtual
 * threads do not pin their carriers.
 */
final class RecordQueue {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition notEmpty = lock.newCondition();
  private final Condition notFull = lock.newCondition();
  private final int capacity;
  // items.size(), written under the lock after each change
  private volatile int depth;

  // guarded by lock
  private final ArrayDeque<Envelope<Object>> items;
  private int producers;
  private int waiting; // takers waiting for records
  private boolean cancelled;

  RecordQueue(int capacity, int producers) {
    this.capacity = capacity;
    this.items = new ArrayDeque<>(Math.min(capacity, 4096));
    this.producers = producers;
  }

  /**
   * Adds records, waiting while the queue is full. A batch is added whole once there is any room,
   * so the queue may hold up to one batch more than its capacity; it never deadlocks on a batch
   * larger than the capacity.
   *
   * @return false if the queue was cancelled and the records were not added
   */
  boolean put(List<Envelope<Object>> batch) throws InterruptedException {
    if (batch.isEmpty()) {
      return true;
    }
    lock.lockInterruptibly();
    try {
      while (items.size() >= capacity && !cancelled) {
        notFull.await();
      }
      if (cancelled) {
        return false;
      }
      items.addAll(batch);
      depth = items.size();
      notEmpty.signal();
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes up to {@code max} records, waiting while the queue is empty and producers remain.
   *
   * @return the records, or null once every producer is done and the queue is drained, or the queue
   *     is cancelled
   */
  @Nullable List<Envelope<Object>> take(int max) throws InterruptedException {
    return take(max, false);
  }

  /**
   * Takes up to {@code max} records as {@link #take(int)} does; if {@code share}, no more than this
   * taker's share of what waits, counting the takers waiting beside it, so that records handed on
   * at once are spread over idle workers rather than taken by the first.
   */
  @Nullable List<Envelope<Object>> take(int max, boolean share) throws InterruptedException {
    return take(max, share, 0, 0);
  }

  /**
   * Takes up to {@code max} records as {@link #take(int, boolean)} does, but once records wait and
   * fewer than {@code floor} of them, waits up to {@code lingerNanos} more for the floor (less if
   * the producers finish or the queue is cancelled): a taker whose every batch costs a store write
   * pays it for more records at once.
   */
  @Nullable List<Envelope<Object>> take(int max, boolean share, int floor, long lingerNanos)
      throws InterruptedException {
    lock.lockInterruptibly();
    try {
      while (items.isEmpty()) {
        if (producers == 0 || cancelled) {
          return null;
        }
        waiting++;
        try {
          notEmpty.await();
        } finally {
          waiting--;
        }
      }
      // never more than the producers may put before they wait for room: they would wait too
      int want = Math.min(floor, Math.min(max, capacity));
      long left = lingerNanos;
      while (items.size() < want && producers > 0 && !cancelled && left > 0) {
        left = notEmpty.awaitNanos(left);
      }
      if (cancelled) {
        return null;
      }
      int n = Math.min(max, items.size());
      if (share && waiting > 0) {
        n = Math.min(n, Math.ceilDiv(items.size(), waiting + 1));
      }
      List<Envelope<Object>> batch = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        batch.add(items.pollFirst());
      }
      depth = items.size();
      if (!items.isEmpty()) {
        notEmpty.signal(); // chain the wake-up to the next taker
      }
      notFull.signal();
      return batch;
    } finally {
      lock.unlock();
    }
  }

  /** One producer is done; when the last is, takers drain the queue and then get null. */
  void producerDone() {
    lock.lock();
    try {
      producers--;
      if (producers == 0) {
        notEmpty.signalAll();
      }
    } finally {
      lock.unlock();
    }
  }

  /** Wakes everyone and refuses further records; returns the records that were waiting. */
  List<Envelope<Object>> cancel() {
    lock.lock();
    try {
      cancelled = true;
      List<Envelope<Object>> left = new ArrayList<>(items);
      items.clear();
      depth = 0;
      notEmpty.signalAll();
      notFull.signalAll();
      return left;
    } finally {
      lock.unlock();
    }
  }

  /** The records the queue holds before a producer waits (it may hold one batch more). */
  int capacity() {
    return capacity;
  }

  /**
   * The records waiting, as last written under the lock: read without it, so a reader that polls it
   * (the source's batcher, per record) does not contend with the stage's takers.
   */
  int size() {
    return depth;
  }
}
