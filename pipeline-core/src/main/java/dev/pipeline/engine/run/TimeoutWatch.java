package dev.pipeline.engine.run;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the calls of stages with a timeout: interrupts a call past it, and abandons and replaces
 * a worker that ignores the interrupt.
 */
final class TimeoutWatch {
  private static final Logger LOG = LoggerFactory.getLogger(Run.class);

  private final Run run;

  TimeoutWatch(Run run) {
    this.run = run;
  }

  void watchTimeouts() {
    long shortest = Long.MAX_VALUE;
    for (RunStage stage : run.timed()) {
      Duration t = stage.def.options().timeout();
      if (t != null) {
        shortest = Math.min(shortest, saturatedNanos(t));
      }
    }
    // stages whose check failed, each logged once: the others' timeouts are still enforced
    Set<RunStage> failing = new HashSet<>();
    // poll often enough to catch an overdue call within a quarter of the shortest timeout
    long period =
        Math.max(
            TimeUnit.MILLISECONDS.toNanos(1),
            Math.min(shortest / 4, TimeUnit.MILLISECONDS.toNanos(50)));
    try {
      List<RunStage> watched = run.timed();
      while (!run.status.get().isDone()) {
        long now = run.clock.nanoTime();
        for (RunStage stage : watched) {
          Duration timeout = stage.def.options().timeout();
          if (timeout != null) {
            try {
              checkTimeouts(stage, saturatedNanos(timeout), now);
            } catch (Throwable e) {
              if (failing.add(stage)) {
                LOG.error(
                    "pipeline '{}': the timeout check of stage '{}' failed; the other stages'"
                        + " timeouts are still enforced",
                    run.pipeline,
                    stage.def.name(),
                    e);
              }
            }
          }
        }
        TimeUnit.NANOSECONDS.sleep(period);
      }
    } catch (InterruptedException e) {
      // the run ended
    } finally {
      run.threads.remove(Thread.currentThread());
    }
  }

  private void checkTimeouts(RunStage stage, long timeout, long now) {
    long grace = Math.max(timeout, TimeUnit.SECONDS.toNanos(1));
    for (WorkerSlot slot : stage.slots) {
      long state = slot.state.get();
      if (state > 0 && now - slot.startedAt > timeout) {
        if (slot.state.compareAndSet(state, -state)) {
          slot.timedOutAt = now;
          Thread worker = slot.thread;
          if (worker != null) {
            worker.interrupt();
          }
          slot.interruptedCall = state;
        }
      } else if (state < 0 && state != WorkerSlot.ABANDONED && now - slot.timedOutAt > grace) {
        if (slot.state.compareAndSet(state, WorkerSlot.ABANDONED)) {
          BatchWork work = slot.work;
          stage.slots.remove(slot);
          run.threads.remove(slot.thread);
          LOG.error(
              "pipeline '{}': stage '{}' ignored the interrupt {}ms after its timeout; abandoning its thread"
                  + " and starting a replacement worker",
              run.pipeline,
              stage.def.name(),
              TimeUnit.NANOSECONDS.toMillis(now - slot.timedOutAt));
          if (work != null) {
            work.abandoned = true;
          }
          if (stage.sink != null) { // the pipeline's sink or a route branch's
            run.delivery.replaceSinkCaller(stage, slot, work);
          } else {
            run.workers.start(stage, work);
          }
        }
      }
    }
  }

  /** {@code d} in nanoseconds, saturated at the bounds of a long instead of overflowing. */
  static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }
}
