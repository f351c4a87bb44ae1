package dev.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Waiting on real concurrency: latches and polled conditions, each with a deadline. */
public final class Await {
  public static final Duration DEADLINE = Duration.ofSeconds(10);
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  private Await() {}

  /** Polls until the condition holds, failing after {@link #DEADLINE}. */
  public static void until(String what, BooleanSupplier condition) {
    until(what, DEADLINE, condition);
  }

  /** Polls until the condition holds, failing after {@code deadline}. */
  public static void until(String what, Duration deadline, BooleanSupplier condition) {
    long end = System.nanoTime() + deadline.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - end > 0) {
        throw new AssertionError("still waiting after " + deadline + " until " + what);
      }
      LockSupport.parkNanos(POLL_NANOS);
    }
  }

  /** Waits for the latch, failing after {@link #DEADLINE}. */
  public static void on(CountDownLatch latch, String what) throws InterruptedException {
    assertThat(latch.await(DEADLINE.toNanos(), TimeUnit.NANOSECONDS))
        .as("waited %s for %s", DEADLINE, what)
        .isTrue();
  }

  /** Waits until the thread has ended, failing after {@link #DEADLINE}. */
  public static void ended(Thread thread) throws InterruptedException {
    assertThat(thread.join(DEADLINE)).as("thread %s ended", thread).isTrue();
  }

  /** Waits for the run to end, failing after {@link #DEADLINE}. */
  public static RunResult result(PipelineRun run) throws InterruptedException {
    return run.await(DEADLINE)
        .orElseThrow(() -> new AssertionError("run still " + run.status() + " after " + DEADLINE));
  }

  /**
   * The items, then the end once {@code end} is open (failing after {@link #DEADLINE}): a source
   * over it keeps its run going, idle, until the test is done with it.
   */
  public static <T> Iterator<T> thenEndOn(Iterator<T> items, CountDownLatch end, String what) {
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        if (items.hasNext()) {
          return true;
        }
        try {
          on(end, what);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return false;
      }

      @Override
      public T next() {
        return items.next();
      }
    };
  }

  /** The items, the first of them once {@code start} is open (failing after {@link #DEADLINE}). */
  public static <T> Iterator<T> startingOn(Iterator<T> items, CountDownLatch start, String what) {
    return new Iterator<>() {
      private boolean started;

      @Override
      public boolean hasNext() {
        if (!started) {
          started = true;
          try {
            on(start, what);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return items.hasNext();
      }

      @Override
      public T next() {
        hasNext();
        return items.next();
      }
    };
  }
}
