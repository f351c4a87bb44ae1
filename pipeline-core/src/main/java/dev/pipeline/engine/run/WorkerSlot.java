package dev.pipeline.engine.run;

import dev.pipeline.engine.CallGuard;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * One worker's place in a stage, shared with the timeout watchdog.
 *
 * <p>The call protocol is lock-free: the worker publishes the sequence number of its call in {@link
 * #state} before calling the stage; the watchdog marks an overdue call by negating it and then
 * interrupts the worker; if the call still does not return it marks the slot {@link #ABANDONED} and
 * starts a replacement worker. Whoever wins the compare-and-set decides the call's fate, so a call
 * is never both completed and abandoned.
 */
public final class WorkerSlot implements CallGuard {
  static final long ABANDONED = Long.MIN_VALUE;

  /** 0 idle; n &gt; 0 running call n; -n call n timed out; ABANDONED. */
  public final AtomicLong state = new AtomicLong();

  public volatile long startedAt;
  public volatile long timedOutAt;
  public volatile long interruptedCall;
  public volatile @Nullable Thread thread;

  /** The batch in hand, for a replacement to finish if this worker is abandoned. */
  volatile @Nullable BatchWork work;

  /**
   * A sink call's slot: what the calling thread does besides (claims records, or works at the last
   * stage), for its replacement to take over once it has finished the batch.
   */
  volatile @Nullable Runnable resume;

  private long calls; // worker thread only

  /** Marks the start of a call; returns its sequence number. */
  @Override
  public long begin(long now) {
    long call = ++calls;
    startedAt = now;
    state.set(call);
    return call;
  }

  /**
   * Marks the end of a call.
   *
   * @return true if it ended in time, false if it timed out (the interrupt is cleared)
   * @throws Abandoned if the watchdog gave up on this worker and replaced it
   */
  @Override
  public boolean end(long call) {
    if (state.compareAndSet(call, 0)) {
      return true;
    }
    // timed out: wait until the watchdog's interrupt has landed, so it cannot hit a later call
    while (interruptedCall != call) {
      if (state.get() == ABANDONED) {
        throw Abandoned.INSTANCE;
      }
      Thread.onSpinWait();
    }
    Thread.interrupted();
    if (!state.compareAndSet(-call, 0)) {
      throw Abandoned.INSTANCE;
    }
    return false;
  }

  boolean isAbandoned() {
    return state.get() == ABANDONED;
  }

  /** Unwinds an abandoned worker without touching the work a replacement now owns. */
  static final class Abandoned extends RuntimeException {
    private static final long serialVersionUID = 1L;
    static final Abandoned INSTANCE = new Abandoned();

    private Abandoned() {
      super("worker abandoned after a timeout", null, false, false);
    }
  }
}
