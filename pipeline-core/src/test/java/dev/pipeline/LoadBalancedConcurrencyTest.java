package dev.pipeline;

import static dev.pipeline.StageName.TRANSLATION;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.engine.run.CallContext;
import dev.pipeline.metrics.ImplementationMetrics;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Least in flight under real concurrency: many virtual threads, one implementation stuck. */
class LoadBalancedConcurrencyTest {
  private static final int CALLS = 1_000;

  private final FakeClock clock = new FakeClock();

  private CallContext context(String id) {
    CallContext context =
        new CallContext(
            "docs",
            TRANSLATION,
            LoggerFactory.getLogger("balanced"),
            clock,
            dev.pipeline.internal.ReferenceTables.none());
    context.reset(Envelope.<Object>of(id, id), 1);
    return context;
  }

  private static ImplementationMetrics metrics(LoadBalancedStage<?, ?> stage, String name) {
    return stage.metrics().stream().filter(m -> m.name().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void whileCallsAreStuckInOneImplementationNewCallsGoToTheOther() throws Exception {
    CountDownLatch unstick = new CountDownLatch(1);
    AtomicInteger stuckEntered = new AtomicInteger();
    LoadBalancedStage<String, String> stage =
        LoadBalancedStage.<String, String>builder()
            .add(
                "stuck",
                (s, c) -> {
                  stuckEntered.incrementAndGet();
                  unstick.await();
                  return "stuck:" + s;
                })
            .add("free", (s, c) -> "free:" + s)
            .clock(clock)
            .build();
    Queue<String> outputs = new ConcurrentLinkedQueue<>();
    Queue<Throwable> errors = new ConcurrentLinkedQueue<>();

    // the first call finds both idle and goes to the first added: it sticks
    Thread first = Thread.ofVirtual().start(() -> call(stage, "r0", outputs, errors));
    Await.until("a call is stuck", () -> stuckEntered.get() == 1);

    CountDownLatch go = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(CALLS);
    List<Thread> threads = new ArrayList<>();
    for (int i = 1; i <= CALLS; i++) {
      String id = "r" + i;
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      go.await();
                      call(stage, id, outputs, errors);
                    } catch (InterruptedException e) {
                      errors.add(e);
                    } finally {
                      done.countDown();
                    }
                  }));
    }
    go.countDown();
    // every call that went to "free" ends; those that went to "stuck" wait
    Await.until(
        "every call ended or is stuck",
        () -> done.getCount() == metrics(stage, "stuck").inFlight() - 1L);

    ImplementationMetrics stuck = metrics(stage, "stuck");
    ImplementationMetrics free = metrics(stage, "free");
    assertThat(stuck.inFlight())
        .as(
            "a call goes to 'stuck' only while 'free' has as many in flight, which its quick"
                + " calls never reach for long")
        .isLessThan(CALLS / 10);
    assertThat(free.calls()).isEqualTo(CALLS + 1L - stuck.inFlight());
    assertThat(free.inFlight()).isZero();

    unstick.countDown();
    Await.on(done, "every call ended");
    Await.ended(first);
    for (Thread thread : threads) {
      Await.ended(thread);
    }
    assertThat(errors).isEmpty();
    assertThat(outputs).hasSize(CALLS + 1);
    assertThat(stage.metrics()).extracting(ImplementationMetrics::inFlight).containsOnly(0);
    assertThat(metrics(stage, "stuck").succeeded() + metrics(stage, "free").succeeded())
        .isEqualTo(CALLS + 1L);
  }

  private void call(
      LoadBalancedStage<String, String> stage,
      String id,
      Queue<String> outputs,
      Queue<Throwable> errors) {
    try {
      outputs.add(stage.process(id, context(id)));
    } catch (Exception e) {
      errors.add(e);
    }
  }
}
