package dev.pipeline.engine.run;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * Wakes a thread that waits between rounds of work, without losing a wake that comes while it
 * works. {@link LockSupport#unpark}'s permit alone is lost whenever the woken thread parks for
 * anything else before its wait: a store call waiting for its result, a lock. The claimer is such a
 * thread: a wake from the last records' hand-on that came while it asked the store whether anything
 * was unfinished was taken by that call's wait, and the run ended only once the claimer's idle wait
 * ran out (up to {@link Run#MAX_IDLE_NANOS}). The telemetry's writer is another: a burst's wake
 * that came during its store write was lost until its next poll (up to a second), while the burst
 * filled its buffer.
 *
 * <p>So wakes are counted: the waiter notes the count before a round ({@link #seen}), and {@link
 * #await} returns at once if a wake came since.
 *
 * <p>Thread-safe; one waiter at a time.
 */
final class Wakeup {
  private final AtomicLong wakes = new AtomicLong();
  private volatile @Nullable Thread waiter;

  /** The wakes so far: what the waiter notes before a round of work, for {@link #await}. */
  long seen() {
    return wakes.get();
  }

  /** Wakes the waiter: its wait returns at once, or its next one if it is not waiting now. */
  void wake() {
    wakes.incrementAndGet();
    Thread t = waiter;
    if (t != null) {
      LockSupport.unpark(t);
    }
  }

  /**
   * Waits until a wake comes after the count {@code seen}, or {@code nanos} pass.
   *
   * @return whether a wake came (false: the time passed)
   * @throws InterruptedException if the waiting thread is interrupted
   */
  boolean await(long seen, long nanos) throws InterruptedException {
    // set before the count is read, and the count raised before the waker reads it: either this
    // thread sees the wake, or the waker sees this thread and unparks it
    waiter = Thread.currentThread();
    try {
      long deadline = System.nanoTime() + nanos;
      while (wakes.get() == seen) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        LockSupport.parkNanos(this, left);
        if (Thread.interrupted()) {
          throw new InterruptedException("woken by an interrupt");
        }
      }
      return true;
    } finally {
      waiter = null;
    }
  }
}
