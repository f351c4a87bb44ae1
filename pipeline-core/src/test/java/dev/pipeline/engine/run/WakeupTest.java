package dev.pipeline.engine.run;

import static java.lang.Thread.State.WAITING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Await;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class WakeupTest {
  private static final long A_DAY = TimeUnit.DAYS.toNanos(1);

  /**
   * The claimer's case: the last records' wake comes while it waits for a store call's result, a
   * wait that parks the thread. A wake kept only as the thread's permit would be taken by that
   * wait, and the idle wait after it would run its whole time (here a day: the test times out).
   */
  @Test
  @Timeout(30)
  void aWakeThatCameWhileTheWaiterWaitedForSomethingElseEndsItsNextWaitAtOnce() throws Exception {
    Wakeup wakeup = new Wakeup();
    long seen = wakeup.seen();
    // the "store call": it wakes the waiter once the waiter is parked in get(), waiting for it
    Thread waiter = Thread.currentThread();
    FutureTask<String> call =
        new FutureTask<>(
            () -> {
              Await.until("the waiter parks in get()", () -> waiter.getState() == WAITING);
              wakeup.wake();
              return "unfinished records";
            });
    Thread.ofVirtual().start(call);

    assertThat(call.get()).isEqualTo("unfinished records");
    assertThat(wakeup.await(seen, A_DAY)).as("woken, not timed out").isTrue();
  }

  @Test
  @Timeout(30)
  void aWakeDuringTheWaitEndsIt() throws Exception {
    Wakeup wakeup = new Wakeup();
    AtomicReference<Object> outcome = new AtomicReference<>();
    Thread waiter = waitingADay(wakeup, outcome);

    wakeup.wake();
    waiter.join();

    assertThat(outcome.get()).isEqualTo(true);
  }

  @Test
  void aWakeSeenBeforeTheRoundDoesNotEndTheWaitAfterIt() throws Exception {
    Wakeup wakeup = new Wakeup();
    wakeup.wake();
    long seen = wakeup.seen(); // the wake before this round was looked at already

    assertThat(wakeup.await(seen, TimeUnit.MILLISECONDS.toNanos(1)))
        .as("the time passed, no new wake")
        .isFalse();
  }

  @Test
  @Timeout(30)
  void anInterruptEndsTheWaitWithInterruptedException() throws Exception {
    Wakeup wakeup = new Wakeup();
    AtomicReference<Object> outcome = new AtomicReference<>();
    Thread waiter = waitingADay(wakeup, outcome);

    waiter.interrupt();
    waiter.join();

    assertThat(outcome.get()).isInstanceOf(InterruptedException.class);
  }

  /**
   * A thread waiting a day on {@code wakeup} from its count now, once it waits: its outcome (what
   * {@code await} returned, or the exception it threw) goes to {@code outcome}.
   */
  private static Thread waitingADay(Wakeup wakeup, AtomicReference<Object> outcome) {
    long seen = wakeup.seen();
    Thread waiter =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    outcome.set(wakeup.await(seen, A_DAY));
                  } catch (InterruptedException e) {
                    outcome.set(e);
                  }
                });
    Await.until("the waiter waits", () -> waiter.getState() == Thread.State.TIMED_WAITING);
    return waiter;
  }

  @Test
  void wakesWithNoWaiterAreCounted() {
    Wakeup wakeup = new Wakeup();
    long before = wakeup.seen();

    wakeup.wake();
    wakeup.wake();

    assertThat(wakeup.seen()).isEqualTo(before + 2);
  }
}
