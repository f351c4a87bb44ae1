package dev.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.RecordStatus;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A route branch's sink has what the pipeline's sink has: its timeout (an abandoned call's records
 * dead-lettered, the run going on), retries that park in the store's retry queue at the sink's own
 * step and come back to it, {@code Fallback.hold()}, its circuit, and its own stage in the metrics
 * and the metrics history under {@code <route>/<branch>/sink}.
 */
class BranchSinkTest {
  private static final StageName ROUTE = StageName.of("by-kind");
  private static final StageName WORDS = StageName.of("words");
  private static final StageName REST = StageName.of("rest");
  private static final StageName WORD_SINK = StageName.branchSink(ROUTE, WORDS);

  private final FakeClock clock = new FakeClock();
  private final Queue<Envelope<String>> words = new ConcurrentLinkedQueue<>();
  private final Queue<Envelope<String>> main = new ConcurrentLinkedQueue<>();
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

  /** Words ("w..." payloads) go to the branch's sink, upper-cased; the rest joins. */
  private PipelineBuilder<String, String> routed(
      String name, Sink<String> wordSink, java.util.function.Consumer<StageOptions.Builder> o) {
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.startsWith("w"),
                Route.<String>branch(WORDS)
                    .stage(StageName.of("upper"), (String s, StageContext c) -> s.toUpperCase())
                    .to(wordSink, o))
            .otherwise(Route.<String>branch(REST).join(String.class))
            .build();
    return Pipeline.builder(name, String.class)
        .clock(clock)
        .alerts(alerts::add)
        .stage(ROUTE, route, s -> s.batchSize(1))
        .sink(main::addAll);
  }

  /** A sink whose first {@code failures} calls fail, as a service restarting under it does. */
  private Sink<String> downFor(int failures) {
    return records -> {
      if (calls.incrementAndGet() <= failures) {
        throw new IOException("connection refused: the word index is restarting");
      }
      words.addAll(records);
    };
  }

  private static Source<String> source(List<String> payloads) {
    return Source.of("src", payloads.iterator());
  }

  private static List<String> ids(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> "src-" + i).toList();
  }

  private List<Envelope<String>> sunk() {
    List<Envelope<String>> all = new ArrayList<>(words);
    all.addAll(main);
    return all;
  }

  @Test
  void aLongerOutageParksTheRecordAtTheBranchSinksStepAndItsAttemptsGoOnThere() {
    Pipeline<String, String> pipeline = routed("branch-long-outage", downFor(6), o -> {}).build();

    RunResult result = pipeline.run(source(List.of("w1", "x1")));

    assertThat(result.published()).isEqualTo(2);
    assertThat(result.deadLettered()).isZero();
    assertThat(calls).as("six failed calls, then one").hasValue(7);
    assertThat(clock.sleeps())
        .as("the sink's default retry: waits up to a second in the worker, then the retry queue")
        .startsWith(
            Duration.ofMillis(100),
            Duration.ofMillis(200),
            Duration.ofMillis(400),
            Duration.ofMillis(800));
    assertThat(Outcomes.state(pipeline, "src-1").errors())
        .extracting(ErrorInfo::stage, ErrorInfo::attempt)
        .as("attempts count on across the retry queue, at the branch sink's step")
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("by-kind/words/sink", 1),
            org.assertj.core.groups.Tuple.tuple("by-kind/words/sink", 2),
            org.assertj.core.groups.Tuple.tuple("by-kind/words/sink", 3),
            org.assertj.core.groups.Tuple.tuple("by-kind/words/sink", 4),
            org.assertj.core.groups.Tuple.tuple("by-kind/words/sink", 5),
            org.assertj.core.groups.Tuple.tuple("by-kind/words/sink", 6));
    assertThat(words).extracting(Envelope::payload).containsExactly("W1");
    assertThat(words.peek().metadata())
        .as("handed again after failed calls")
        .containsEntry(Envelope.REDELIVERED, "true")
        .containsEntry(Route.metadataKey(ROUTE), "words");
    StageMetrics sink = pipeline.metrics().stage(WORD_SINK.value());
    assertThat(sink.resilience().parked()).as("parked once or more").isPositive();
    assertThat(sink.passed()).isEqualTo(1);
    assertThat(sink.retries()).isEqualTo(6);
    assertThat(pipeline.metrics().stage("sink").recordsIn())
        .as("the pipeline's sink got the other record only")
        .isEqualTo(1);
    Outcomes.assertEachEndedOnce(pipeline, result, ids(2), sunk());
  }

  @Test
  void aRecordThatCameBackFromTheRetryQueueAndFailsIsADeadLetterAtTheSinksStepAndGoesBackThere() {
    AtomicInteger failing = new AtomicInteger(Integer.MAX_VALUE);
    Sink<String> flaky =
        records -> {
          if (failing.getAndDecrement() > 0) {
            throw new IOException("the word index is down");
          }
          words.addAll(records);
        };
    Pipeline<String, String> pipeline =
        routed(
                "branch-parked-dead",
                flaky,
                o ->
                    o.retry(
                        RetryPolicy.exponential(Duration.ofSeconds(2), Duration.ofSeconds(2))
                            .maxRetries(1)))
            .build();

    RunResult result = pipeline.run(source(List.of("w1")));

    assertThat(result.deadLettered()).isEqualTo(1);
    assertThat(clock.sleeps())
        .as("a 2 s wait is over retryQueueAfter (1 s): parked, none spent in the worker")
        .doesNotContain(Duration.ofSeconds(2));
    DeadLetter dead = Outcomes.deadLetter(pipeline, "src-1");
    assertThat(dead.stage())
        .as("its route input is not known after the retry queue: kept at the sink's step")
        .isEqualTo("by-kind/words/sink");
    assertThat(dead.payload(String.class)).as("as the sink was given it").isEqualTo("W1");
    assertThat(dead.errors()).extracting(ErrorInfo::attempt).containsExactly(1, 2);
    assertThat(pipeline.metrics().stage(WORD_SINK.value()).failed()).isEqualTo(1);

    failing.set(0);
    pipeline.deadLetters().reprocess(List.of("src-1"));
    RunResult again = pipeline.resume();

    assertThat(again.published()).isEqualTo(1);
    assertThat(words).extracting(Envelope::payload).containsExactly("W1");
    assertThat(Outcomes.state(pipeline, "src-1").status()).isEqualTo(RecordStatus.PUBLISHED);
  }

  @Test
  void aBranchSinksCircuitHoldsTheRecordsInTheRetryQueueAndClosesWithoutLosingAny() {
    Pipeline<String, String> pipeline =
        routed(
                "branch-hold",
                downFor(2),
                o ->
                    o.retry(RetryPolicy.none())
                        .circuitBreaker(
                            CircuitBreaker.failureRate(0.5)
                                .minCalls(2)
                                .window(2)
                                .openFor(Duration.ofSeconds(5))
                                .halfOpenCalls(1))
                        .fallback(Fallback.hold()))
            .build();
    List<String> payloads = IntStream.rangeClosed(1, 10).mapToObj(i -> "w" + i).toList();

    RunResult result = pipeline.run(source(payloads));

    assertThat(result.published()).as("the two failed calls' records went on").isEqualTo(8);
    assertThat(result.deadLettered()).isEqualTo(2);
    assertThat(pipeline.circuitTransitions(StageName.of("by-kind/words/sink")))
        .extracting(CircuitBreaker.Transition::to)
        .containsExactly(
            CircuitBreaker.State.OPEN, CircuitBreaker.State.HALF_OPEN, CircuitBreaker.State.CLOSED);
    assertThat(calls)
        .as("no call while the circuit was open: 2 failures, then one per record")
        .hasValue(10);
    StageMetrics sink = pipeline.metrics().stage(WORD_SINK.value());
    assertThat(sink.resilience().held()).isPositive();
    assertThat(sink.resilience().circuit()).isEqualTo(CircuitBreaker.State.CLOSED);
    Outcomes.assertEachEndedOnce(pipeline, result, ids(10), sunk());
  }

  @Test
  void aBranchSinkCallPastItsTimeoutIsInterruptedAndRetried() throws Exception {
    Duration timeout = Duration.ofMillis(100);
    Sink<String> slowOnce =
        records -> {
          if (calls.incrementAndGet() == 1) {
            entered.countDown();
            release.await(); // interrupted by the watchdog
          }
          words.addAll(records);
        };
    Pipeline<String, String> pipeline =
        routed(
                "branch-timeout",
                slowOnce,
                o ->
                    o.timeout(timeout)
                        .retry(
                            RetryPolicy.exponential(Duration.ofMillis(10), Duration.ofMillis(10))
                                .maxRetries(1)))
            .build();

    PipelineRun run = pipeline.start(source(List.of("w1")));
    Await.on(entered, "the first call of the branch's sink");
    clock.advance(timeout.plusMillis(1));
    RunResult result = Await.result(run);

    assertThat(result.published()).isEqualTo(1);
    assertThat(Outcomes.state(pipeline, "src-1").errors())
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.stage()).isEqualTo("by-kind/words/sink");
              assertThat(e.errorType()).isEqualTo(StageTimeoutException.class.getSimpleName());
            });
    assertThat(pipeline.metrics().stage(WORD_SINK.value()).errorsByType())
        .containsKey(StageTimeoutException.class.getSimpleName());
  }

  @Test
  void aBranchSinkCallThatIgnoresTheInterruptIsAbandonedAndTheRunGoesOn() throws Exception {
    Duration timeout = Duration.ofMillis(100);
    Sink<String> hangsOnW1 =
        records -> {
          if (records.get(0).payload().equals("W1")) {
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
          words.addAll(records);
        };
    Pipeline<String, String> pipeline =
        routed("branch-hung", hangsOnW1, o -> o.timeout(timeout).retry(RetryPolicy.none())).build();

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      PipelineRun run = pipeline.start(source(List.of("w1", "w2", "x1")));
      Await.on(entered, "the sink call of w1");
      clock.advance(timeout.plusMillis(1));
      Await.on(sawInterrupt, "the interrupt of the sink call");
      clock.advance(Duration.ofSeconds(1).plusMillis(1));
      result = Await.result(run);
      assertThat(log.text())
          .contains("pipeline 'branch-hung': stage 'by-kind/words/sink' ignored the interrupt");
    }

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    DeadLetter dead = Outcomes.deadLetter(pipeline, "src-1");
    assertThat(dead.stage())
        .as("at the route, as the branch sink's dead letters are")
        .isEqualTo("by-kind");
    assertThat(dead.payload(String.class)).isEqualTo("w1");
    assertThat(dead.lastError().message()).contains("ignored the interrupt");
    assertThat(words).extracting(Envelope::payload).containsExactly("W2");
    assertThat(main).extracting(Envelope::payload).containsExactly("x1");
    Outcomes.assertEachEndedOnce(pipeline, result, ids(3), sunk());

    release.countDown();
    Await.ended(stuck.get());
  }

  @Test
  void aBranchSinkIsAStageOfItsOwnInTheMetricsAndTheMetricsHistory() {
    Pipeline<String, String> pipeline = routed("branch-metrics", words::addAll, o -> {}).build();
    Instant from = clock.now();

    RunResult result = pipeline.run(source(List.of("w1", "x1", "w2", "w3")));

    assertThat(result.published()).isEqualTo(4);
    PipelineMetrics metrics = pipeline.metrics();
    assertThat(metrics.branchSinks())
        .singleElement()
        .satisfies(
            s -> {
              assertThat(s.stage()).isEqualTo("by-kind/words/sink");
              assertThat(s.recordsIn()).isEqualTo(3);
              assertThat(s.passed()).isEqualTo(3);
            });
    assertThat(metrics.stage("sink").recordsIn()).isEqualTo(1);
    assertThat(metrics.table()).contains("by-kind/words/sink");
    List<StageWindow> windows =
        pipeline.metricsHistory(WORD_SINK, from, clock.now().plusSeconds(1));
    assertThat(windows).isNotEmpty();
    assertThat(windows.stream().mapToLong(StageWindow::recordsIn).sum()).isEqualTo(3);
    assertThat(pipeline.options(WORD_SINK).retryPolicy())
        .as("a branch's sink has the pipeline's sink's default retry")
        .isEqualTo(PipelineBuilder.DEFAULT_SINK_RETRY);
  }

  @Test
  void aBranchSinksNameIsAValidStageNameThatNoStageOrBranchMayTake() {
    assertThat(StageName.of("by-kind/words/sink")).isEqualTo(WORD_SINK);
    assertThat(WORD_SINK.isBranchSink()).isTrue();
    assertThat(WORD_SINK.isCanonical()).isFalse();
    assertThat(ROUTE.isBranchSink()).isFalse();
    assertThat(StageName.of("sink").isBranchSink()).isFalse();
    for (String bad : List.of("by-kind/words", "by-kind/words/stage", "By/words/sink", "a//sink")) {
      assertThatThrownBy(() -> StageName.of(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("<route>/<branch>/sink");
    }

    assertThatThrownBy(
            () -> Pipeline.builder("named", String.class).stage(WORD_SINK, (String s) -> s).build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("is named 'by-kind/words/sink', the form of a route branch's sink");
    Route<String, String> branchNamedLikeASink =
        Route.builder(String.class, String.class)
            .otherwise(Route.<String>branch(WORD_SINK).join(String.class))
            .build();
    assertThatThrownBy(
            () ->
                Pipeline.builder("named", String.class).stage(ROUTE, branchNamedLikeASink).build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("has the form of a route branch's sink's name");
  }

  @Test
  void holdingAtABranchSinkNeedsACircuitAndAStoreThatCanKeepItsRecords() {
    Sink<String> any = words::addAll;
    assertThatThrownBy(
            () -> routed("hold-no-circuit", any, o -> o.fallback(Fallback.hold())).build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("the sink 'by-kind/words/sink' holds records")
        .hasMessageContaining("has no circuit breaker");
    ForwardingStore durable =
        new ForwardingStore(InMemoryPipelineStore.create()) {
          @Override
          public boolean isDurable() {
            return true;
          }

          @Override
          public boolean hasRetryQueue() {
            return true;
          }
        };
    assertThatThrownBy(
            () ->
                routed(
                        "hold-durable",
                        any,
                        o ->
                            o.circuitBreaker(CircuitBreaker.failureRate(0.5))
                                .fallback(Fallback.hold()))
                    .store(durable)
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("the durable store has no codec for what the sink is given")
        .hasMessageContaining("add s.codec(...) to the sink's options");
    assertThat(
            routed(
                    "hold-durable-codec",
                    any,
                    o ->
                        o.circuitBreaker(CircuitBreaker.failureRate(0.5))
                            .fallback(Fallback.hold())
                            .codec(dev.pipeline.store.PayloadCodec.string()))
                .store(durable)
                .build())
        .as("with a codec for what the sink is given, a durable store can keep its records")
        .isNotNull();
    assertThatThrownBy(() -> Route.<String>branch(WORDS).to(any, o -> o.fallback(Fallback.skip())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("timeout, Fallback.hold() and codec only");
  }
}
