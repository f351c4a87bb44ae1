package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import dev.pipeline.engine.run.Run;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.ErrorInfo;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The sink's options: retry, circuit breaker with hold, poison isolation, timeout. */
class SinkResilienceTest {
  private static final StageName SINK = StageName.of(Run.SINK_STEP);

  private final FakeClock clock = new FakeClock();
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();
  private final Queue<Alert> alerts = new ConcurrentLinkedQueue<>();
  private final AtomicInteger calls = new AtomicInteger();
  private final CountDownLatch release = new CountDownLatch(1);
  private final CountDownLatch entered = new CountDownLatch(1);
  private final CountDownLatch sawInterrupt = new CountDownLatch(1);
  private final AtomicReference<Thread> stuck = new AtomicReference<>();

  @AfterEach
  void releaseStuckCalls() {
    release.countDown();
  }

  private static List<String> ids(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> "r" + i).toList();
  }

  private static Source<String> source(List<String> ids) {
    return Source.of("src", ids.iterator(), id -> id);
  }

  private PipelineBuilder<String, String> builder(String name, int batchSize) {
    return Pipeline.builder(name, String.class)
        .clock(clock)
        .alerts(alerts::add)
        .stage(CLEANING, (String s) -> s, o -> o.batchSize(batchSize));
  }

  /** A sink whose first {@code failures} calls fail, as a database restarting under it does. */
  private Sink<String> downFor(int failures) {
    return records -> {
      if (calls.incrementAndGet() <= failures) {
        throw new IOException("connection refused: the database is restarting");
      }
      sink.addAll(records);
    };
  }

  /**
   * Hangs the calling sink until the test ends, carrying on through interrupts as bad code does.
   */
  private void hangIgnoringInterrupts() {
    stuck.set(Thread.currentThread());
    entered.countDown();
    while (release.getCount() > 0) {
      try {
        release.await();
      } catch (InterruptedException e) {
        sawInterrupt.countDown();
      }
    }
  }

  @Test
  void sinkThatFailsBrieflyIsRetriedByDefaultAndEveryRecordIsPublished() {
    Pipeline<String, String> pipeline = builder("sink-brief-outage", 1).sink(downFor(2)).build();

    RunResult result = pipeline.run(source(ids(5)));

    assertThat(result.published()).isEqualTo(5);
    assertThat(result.deadLettered()).isZero();
    assertThat(calls).as("two failed calls, then one per record").hasValue(7);
    assertThat(clock.sleeps())
        .as("the default retry's first waits, spent in the worker")
        .containsExactly(Duration.ofMillis(100), Duration.ofMillis(200));
    assertThat(Outcomes.state(pipeline, "r1").errors())
        .extracting(ErrorInfo::stage, ErrorInfo::attempt)
        .containsExactly(tuple("sink", 1), tuple("sink", 2));
    assertThat(sink)
        .filteredOn(e -> "true".equals(e.metadata().get(Envelope.REDELIVERED)))
        .extracting(Envelope::id)
        .as("a record handed again after a failed call (which may have written it) is flagged")
        .containsExactly("r1");
    Outcomes.assertEachEndedOnce(pipeline, result, ids(5), sink);
  }

  @Test
  void longerSinkOutageParksTheBatchInTheRetryQueueAndItsAttemptsGoOn() {
    Pipeline<String, String> pipeline = builder("sink-long-outage", 1).sink(downFor(6)).build();

    RunResult result = pipeline.run(source(ids(1)));

    assertThat(result.published()).isEqualTo(1);
    assertThat(result.deadLettered()).isZero();
    assertThat(calls).hasValue(7);
    assertThat(clock.sleeps())
        .as("waits up to a second in the worker; the next ones in the retry queue")
        .startsWith(
            Duration.ofMillis(100),
            Duration.ofMillis(200),
            Duration.ofMillis(400),
            Duration.ofMillis(800));
    assertThat(Outcomes.state(pipeline, "r1").errors())
        .extracting(ErrorInfo::attempt)
        .as("attempts count on across the retry queue, not from 1 again")
        .containsExactly(1, 2, 3, 4, 5, 6);
    Outcomes.assertEachEndedOnce(pipeline, result, ids(1), sink);
  }

  @Test
  void sinkRetriesThatRunOutDeadLetterTheBatchWithEveryError() {
    Pipeline<String, String> pipeline =
        builder("sink-down", 1)
            .sink(
                downFor(Integer.MAX_VALUE),
                s ->
                    s.retry(
                        RetryPolicy.exponential(Duration.ofMillis(10), Duration.ofMillis(10))
                            .maxRetries(2)))
            .build();

    RunResult result = pipeline.run(source(ids(2)));

    assertThat(result.deadLettered()).isEqualTo(2);
    DeadLetter dead = Outcomes.deadLetter(pipeline, "r1");
    assertThat(dead.stage()).isEqualTo("sink");
    assertThat(dead.errors()).extracting(ErrorInfo::attempt).containsExactly(1, 2, 3);
    assertThat(dead.lastError().message()).contains("the database is restarting");
    Outcomes.assertEachEndedOnce(pipeline, result, ids(2), sink);
  }

  @Test
  void sinkCircuitOpensHoldsTheRecordsAndClosesWithoutLosingAny() {
    Pipeline<String, String> pipeline =
        builder("sink-circuit", 1)
            .sink(
                downFor(2),
                s ->
                    s.circuitBreaker(
                            CircuitBreaker.failureRate(0.5)
                                .minCalls(2)
                                .window(2)
                                .openFor(Duration.ofSeconds(5))
                                .halfOpenCalls(1))
                        .fallback(Fallback.hold()))
            .build();

    RunResult result = pipeline.run(source(ids(10)));

    assertThat(result.published()).isEqualTo(10);
    assertThat(result.deadLettered()).isZero();
    assertThat(pipeline.circuitTransitions(SINK))
        .extracting(CircuitBreaker.Transition::to)
        .containsExactly(
            CircuitBreaker.State.OPEN, CircuitBreaker.State.HALF_OPEN, CircuitBreaker.State.CLOSED);
    assertThat(alerts)
        .filteredOn(a -> a.kind() == Alert.Kind.CIRCUIT_OPENED)
        .extracting(Alert::stage)
        .containsExactly("sink");
    assertThat(calls)
        .as("no call while the circuit was open: 2 failures, then one per record")
        .hasValue(12);
    Outcomes.assertEachEndedOnce(pipeline, result, ids(10), sink);
  }

  @Test
  void halvesOfASinkBatchWhoseCallFailedGoToTheSinkFlaggedRedelivered() {
    Queue<Envelope<String>> handed = new ConcurrentLinkedQueue<>();
    Pipeline<String, String> pipeline =
        builder("sink-half-written", 8)
            .sink(
                records -> {
                  handed.addAll(records);
                  if (calls.incrementAndGet() == 1) {
                    sink.addAll(records.subList(0, records.size() / 2)); // written, then fails
                    throw new IllegalArgumentException("column 'price' cannot hold 'NaN'");
                  }
                  sink.addAll(records);
                },
                s -> s.retry(RetryPolicy.none()))
            .build();

    RunResult result = pipeline.run(source(ids(8)));

    assertThat(result.published()).isEqualTo(8);
    assertThat(calls).as("the failed call, then its two halves").hasValue(3);
    assertThat(handed).hasSize(16);
    assertThat(handed.stream().skip(8))
        .as("each record handed again after the call that failed (and may have written it)")
        .allMatch(e -> "true".equals(e.metadata().get(Envelope.REDELIVERED)));
  }

  @Test
  void poisonRecordInASinkBatchIsDeadLetteredAloneAndTheRestArePublished() {
    Pipeline<String, String> pipeline =
        builder("sink-poison", 16)
            .sink(
                records -> {
                  calls.incrementAndGet();
                  if (records.stream().anyMatch(e -> e.id().equals("r5"))) {
                    throw new IllegalArgumentException("column 'price' cannot hold 'NaN'");
                  }
                  sink.addAll(records);
                })
            .build();

    RunResult result = pipeline.run(source(ids(16)));

    assertThat(Outcomes.deadLetters(pipeline))
        .extracting(DeadLetter::recordId)
        .containsExactly("r5");
    assertThat(Outcomes.deadLetter(pipeline, "r5").lastError().message())
        .isEqualTo("column 'price' cannot hold 'NaN'");
    assertThat(result.published()).isEqualTo(15);
    Outcomes.assertEachEndedOnce(pipeline, result, ids(16), sink);
  }

  @Test
  void sinkCallThatIgnoresTheInterruptIsAbandonedAndTheRunGoesOn() throws Exception {
    Duration timeout = Duration.ofMillis(100);
    List<String> ids = List.of("a1", "a2", "b1", "b2");
    Pipeline<String, String> pipeline =
        builder("sink-timeout", 2)
            .sink(
                records -> {
                  if (records.get(0).id().equals("a1")) {
                    hangIgnoringInterrupts();
                  }
                  sink.addAll(records);
                },
                s -> s.timeout(timeout).retry(RetryPolicy.none()))
            .build();

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      PipelineRun run = pipeline.start(Source.of("src", ids.iterator(), id -> id));
      Await.on(entered, "the sink call of batch a");
      clock.advance(timeout.plusMillis(1));
      Await.on(sawInterrupt, "the interrupt of the sink call");
      clock.advance(Duration.ofSeconds(1).plusMillis(1));
      result = Await.result(run);
      assertThat(log.text())
          .contains("pipeline 'sink-timeout': stage 'sink' ignored the interrupt");
    }

    assertThat(Outcomes.deadLetters(pipeline))
        .extracting(DeadLetter::recordId)
        .containsExactly("a1", "a2");
    assertThat(Outcomes.deadLetter(pipeline, "a1").lastError().message())
        .contains("ignored the interrupt");
    assertThat(sink).extracting(Envelope::id).containsExactly("b1", "b2");
    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    Outcomes.assertEachEndedOnce(pipeline, result, ids, sink);

    release.countDown();
    Await.ended(stuck.get());
  }

  @Test
  void hungSinkCallOfTheClaimerIsAbandonedAndANewClaimerEndsTheRun() throws Exception {
    Duration timeout = Duration.ofMillis(100);
    Pipeline<String, String> pipeline =
        builder("sink-timeout-claimer", 1)
            .sink(
                records -> {
                  if (calls.incrementAndGet() == 1) {
                    throw new IOException("connection refused"); // parked: back via the claimer
                  }
                  if (records.get(0).id().equals("r1")) {
                    hangIgnoringInterrupts();
                  }
                  sink.addAll(records);
                },
                s ->
                    s.timeout(timeout)
                        .retry(
                            RetryPolicy.exponential(Duration.ofSeconds(2), Duration.ofSeconds(2))
                                .maxRetries(1)))
            .build();

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      PipelineRun run = pipeline.start(source(ids(3)));
      Await.on(entered, "r1's second sink call, made by the claimer");
      assertThat(stuck.get().getName()).endsWith("-claimer");
      clock.advance(timeout.plusMillis(1));
      Await.on(sawInterrupt, "the interrupt of the sink call");
      clock.advance(Duration.ofSeconds(1).plusMillis(1));
      result = Await.result(run);
      assertThat(log.text()).contains("stage 'sink' ignored the interrupt");
    }

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(Outcomes.deadLetter(pipeline, "r1").lastError().message())
        .contains("ignored the interrupt");
    assertThat(sink).extracting(Envelope::id).containsExactly("r2", "r3");
    Outcomes.assertEachEndedOnce(pipeline, result, ids(3), sink);

    release.countDown();
    Await.ended(stuck.get());
  }

  @Test
  void sinkOptionsThatDoNotApplyToASinkFailAtBuild() {
    assertThatThrownBy(
            () ->
                builder("sink-bad-options", 1)
                    .sink(downFor(0), s -> s.concurrency(4).checkpoint().fallback(Fallback.skip()))
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("sink: concurrency and batch sizes do not apply")
        .hasMessageContaining("sink: checkpoint and codec do not apply")
        .hasMessageContaining("sink: a sink has no output to skip to");
    assertThatThrownBy(
            () ->
                builder("sink-hold-no-breaker", 1)
                    .sink(downFor(0), s -> s.fallback(Fallback.hold()))
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("the sink holds records while its circuit is open");
  }
}
