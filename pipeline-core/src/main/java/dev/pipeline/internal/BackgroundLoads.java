package dev.pipeline.internal;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executor a pipeline's reference data caches load, refresh and tidy up on: one virtual thread
 * per task, each tracked until it ends, so that closing the pipeline can stop the loads under way
 * instead of leaving them to call a loader whose resources the host is closing.
 *
 * <p>Closing does not end the executor for good: a closed pipeline may run again, and its caches
 * then load on new threads. Thread-safe.
 */
final class BackgroundLoads implements Executor {
  private static final Logger LOG = LoggerFactory.getLogger(BackgroundLoads.class);

  private final String owner;
  private final ThreadFactory threads;
  private final Set<Thread> running = ConcurrentHashMap.newKeySet();
  private volatile boolean closing;

  BackgroundLoads(String owner) {
    this.owner = owner;
    this.threads = Thread.ofVirtual().name(owner + "-reference-", 0).factory();
  }

  @Override
  public void execute(Runnable task) {
    Objects.requireNonNull(task, "task cannot be null");
    Thread thread =
        threads.newThread(
            () -> {
              try {
                task.run();
              } finally {
                running.remove(Thread.currentThread());
              }
            });
    running.add(thread); // before it starts, so that its own removal comes after
    thread.start();
  }

  /** Whether {@link #close} is stopping the tasks: their failures are expected then. */
  boolean closing() {
    return closing;
  }

  /** Tasks running now. */
  int running() {
    return running.size();
  }

  /**
   * Interrupts the tasks under way and waits for them to end, at most {@code wait} of real time (a
   * loader that ignores interrupts is left to end on its own, and said so).
   */
  void close(Duration wait) {
    closing = true;
    try {
      for (Thread thread : running) {
        thread.interrupt();
      }
      long deadline = System.nanoTime() + wait.toNanos();
      for (Thread thread : running) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || !thread.join(Duration.ofNanos(left))) {
          break;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      closing = false;
    }
    int left = running.size();
    if (left > 0) {
      LOG.warn(
          "{}: {} reference data loads were still running {} after they were interrupted at"
              + " close; their loaders ignore interrupts, and they are left to end on their own",
          owner,
          left,
          wait);
    }
  }
}
