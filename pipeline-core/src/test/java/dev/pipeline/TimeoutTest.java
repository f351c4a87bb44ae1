package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.PUBLISHING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Timeouts run on the fake clock: the watchdog polls in real time but reads the clock, so a call
 * times out exactly when the test moves the clock past its deadline.
 */
class TimeoutTest {
  private static final Duration TIMEOUT = Duration.ofMillis(100);
  private static final Duration PAST_TIMEOUT = TIMEOUT.plusMillis(1);
  private static final Duration PAST_GRACE = Duration.ofSeconds(1).plusMillis(1);
  private static final List<String> IDS = List.of("r1", "r2", "r3", "r4", "r5");

  private final FakeClock clock = new FakeClock();
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();
  private final CountDownLatch entered = new CountDownLatch(1);
  private final CountDownLatch release = new CountDownLatch(1);
  private final Map<String, Thread> threadOf = new ConcurrentHashMap<>();
  private final Map<String, Boolean> interruptedOnEntry = new ConcurrentHashMap<>();

  @AfterEach
  void releaseStuckCalls() {
    release.countDown();
  }

  private static Source<String> source() {
    return Source.of("src", IDS.iterator(), id -> id);
  }

  private PipelineBuilder<String, String> timed(
      String name, Stage<String, String> slowOnR2, RetryPolicy retry) {
    return Pipeline.builder(name, String.class)
        .stage(
            CLEANING,
            (String s, StageContext context) -> {
              threadOf.put(s, Thread.currentThread());
              interruptedOnEntry.put(s, Thread.currentThread().isInterrupted());
              if (s.equals("r2")) {
                entered.countDown();
                return slowOnR2.process(s, context);
              }
              return s;
            },
            o -> o.timeout(TIMEOUT).batchSize(10).retry(retry))
        .stage(PUBLISHING, (String s) -> s)
        .sink(sink::addAll)
        .clock(clock);
  }

  @Test
  void interruptibleCallPastItsTimeoutIsInterruptedAndDeadLettered() throws Exception {
    CountDownLatch interrupted = new CountDownLatch(1);
    Pipeline<String, String> pipeline =
        timed(
                "timeout-interrupt",
                (s, context) -> {
                  try {
                    release.await();
                  } catch (InterruptedException e) {
                    interrupted.countDown();
                    throw e;
                  }
                  return s;
                },
                RetryPolicy.none())
            .build();

    PipelineRun run = pipeline.start(source());
    Await.on(entered, "r2's call");
    clock.advance(PAST_TIMEOUT);
    Await.on(interrupted, "the interrupt of r2's call");
    RunResult result = Await.result(run);

    DeadLetter dead = Outcomes.deadLetter(pipeline, "r2");
    assertThat(dead.lastError().errorType()).isEqualTo("StageTimeoutException");
    assertThat(dead.lastError().message())
        .contains("stage 'cleaning' timed out after 100ms on record 'r2'")
        .contains("was interrupted");
    assertThat(sink).extracting(Envelope::id).containsExactly("r1", "r3", "r4", "r5");
    assertThat(result.metrics().stage("cleaning").errorsByType())
        .containsExactly(Map.entry("StageTimeoutException", 1L));
    Outcomes.assertEachEndedOnce(pipeline, result, IDS, sink);
  }

  @Test
  void interruptOfATimedOutCallDoesNotLeakIntoTheNextCall() throws Exception {
    Pipeline<String, String> pipeline =
        timed(
                "timeout-no-leak",
                (s, context) -> {
                  release.await();
                  return s;
                },
                RetryPolicy.none())
            .build();

    PipelineRun run = pipeline.start(source());
    Await.on(entered, "r2's call");
    clock.advance(PAST_TIMEOUT);
    RunResult result = Await.result(run);

    assertThat(threadOf.get("r3")).isSameAs(threadOf.get("r2"));
    assertThat(interruptedOnEntry)
        .containsEntry("r3", false)
        .containsEntry("r4", false)
        .containsEntry("r5", false);
    assertThat(sink).extracting(Envelope::id).containsExactly("r1", "r3", "r4", "r5");
    assertThat(result.deadLettered()).isOne();
  }

  @Test
  void timedOutCallIsRetriedWhenThePolicyAllows() throws Exception {
    Pipeline<String, String> pipeline =
        timed(
                "timeout-retry",
                (s, context) -> {
                  if (context.attempt() == 1) {
                    release.await();
                  }
                  return s;
                },
                RetryPolicy.exponential(Duration.ofMillis(10), Duration.ofMillis(10)))
            .build();

    PipelineRun run = pipeline.start(source());
    Await.on(entered, "r2's call");
    clock.advance(PAST_TIMEOUT);
    RunResult result = Await.result(run);

    RecordState r2 = Outcomes.state(pipeline, "r2");
    assertThat(r2.status()).isEqualTo(RecordStatus.PUBLISHED);
    assertThat(r2.errors())
        .extracting(ErrorInfo::errorType)
        .containsExactly("StageTimeoutException");
    Outcomes.assertEachEndedOnce(pipeline, result, IDS, sink);
  }

  @Test
  void callThatIgnoresTheInterruptIsAbandonedAndAReplacementFinishesTheBatch() throws Exception {
    CountDownLatch sawInterrupt = new CountDownLatch(1);
    AtomicReference<Thread> stuck = new AtomicReference<>();
    Pipeline<String, String> pipeline =
        timed(
                "timeout-abandon",
                (s, context) -> {
                  stuck.set(Thread.currentThread());
                  while (true) {
                    try {
                      release.await();
                      return s;
                    } catch (InterruptedException e) {
                      sawInterrupt.countDown(); // and carry on waiting, as badly written code does
                    }
                  }
                },
                RetryPolicy.none())
            .build();

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      PipelineRun run = pipeline.start(source());
      Await.on(entered, "r2's call");
      clock.advance(PAST_TIMEOUT);
      Await.on(sawInterrupt, "the interrupt of r2's call");
      clock.advance(PAST_GRACE);
      result = Await.result(run);
      assertThat(log.text())
          .contains("stage 'cleaning' ignored the interrupt")
          .contains("starting a replacement worker");
    }

    assertThat(stuck.get().isAlive()).as("the abandoned thread is still stuck").isTrue();
    DeadLetter dead = Outcomes.deadLetter(pipeline, "r2");
    assertThat(dead.lastError().errorType()).isEqualTo("StageTimeoutException");
    assertThat(dead.lastError().message()).contains("ignored the interrupt");
    assertThat(sink).extracting(Envelope::id).containsExactly("r1", "r3", "r4", "r5");
    assertThat(threadOf.get("r3")).isNotSameAs(stuck.get());
    assertThat(interruptedOnEntry).containsEntry("r3", false);
    Outcomes.assertEachEndedOnce(pipeline, result, IDS, sink);

    release.countDown();
    Await.ended(stuck.get());
  }

  @Test
  void batchCallThatIgnoresTheInterruptIsAbandonedWithItsBatch() throws Exception {
    CountDownLatch sawInterrupt = new CountDownLatch(1);
    CountDownLatch batchEntered = new CountDownLatch(1);
    AtomicReference<Thread> stuck = new AtomicReference<>();
    List<String> ids = List.of("a1", "a2", "b1", "b2");
    Pipeline<String, String> pipeline =
        Pipeline.builder("timeout-abandon-batch", String.class)
            .batchStage(
                CLEANING,
                (List<String> inputs, StageContext context) -> {
                  if (inputs.contains("a1")) {
                    stuck.set(Thread.currentThread());
                    batchEntered.countDown();
                    while (release.getCount() > 0) {
                      try {
                        release.await();
                      } catch (InterruptedException e) {
                        sawInterrupt.countDown();
                      }
                    }
                  }
                  return inputs;
                },
                o -> o.timeout(TIMEOUT).batchSize(2))
            .sink(sink::addAll)
            .clock(clock)
            .build();

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      PipelineRun run = pipeline.start(Source.of("src", ids.iterator(), id -> id));
      Await.on(batchEntered, "the call of batch a");
      clock.advance(PAST_TIMEOUT);
      Await.on(sawInterrupt, "the interrupt of batch a's call");
      clock.advance(PAST_GRACE);
      result = Await.result(run);
      assertThat(log.text()).contains("pipeline 'timeout-abandon-batch': stage 'cleaning' ignored");
    }

    assertThat(Outcomes.deadLetters(pipeline))
        .extracting(DeadLetter::recordId)
        .containsExactly("a1", "a2");
    assertThat(Outcomes.deadLetter(pipeline, "a2").lastError().message())
        .contains("ignored the interrupt");
    assertThat(sink).extracting(Envelope::id).containsExactly("b1", "b2");
    Outcomes.assertEachEndedOnce(pipeline, result, ids, sink);

    release.countDown();
    Await.ended(stuck.get());
  }

  @Test
  void callWithinItsTimeoutIsNeverInterrupted() throws Exception {
    Pipeline<String, String> pipeline =
        timed(
                "timeout-within",
                (s, context) -> {
                  clock.advance(TIMEOUT.minusMillis(1)); // slow, but in time
                  return s;
                },
                RetryPolicy.none())
            .build();

    RunResult result = Await.result(pipeline.start(source()));

    assertThat(sink).extracting(Envelope::id).containsExactlyElementsOf(IDS);
    Outcomes.assertEachEndedOnce(pipeline, result, IDS, sink);
  }
}
