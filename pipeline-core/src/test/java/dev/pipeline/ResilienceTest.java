package dev.pipeline;

import static dev.pipeline.StageName.ANALYSIS;
import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.TRANSLATION;
import static dev.pipeline.StageName.VALIDATION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.engine.run.Run;
import dev.pipeline.metrics.ResilienceMetrics;
import dev.pipeline.metrics.RetryStats;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.resilience.TokenBucket;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.RecordStatus;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The resilience decorators in the engine: retry queue, fallbacks, circuits, limits, alerts. */
class ResilienceTest {
  private final FakeClock clock = new FakeClock();
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();
  private final Queue<Alert> alerts = new ConcurrentLinkedQueue<>();

  private static List<String> ids(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> "r" + i).toList();
  }

  private static Source<String> source(List<String> ids) {
    return Source.of("src", ids.iterator(), id -> id);
  }

  private PipelineBuilder<String, String> builder(String name) {
    return Pipeline.builder(name, String.class).clock(clock).alerts(alerts::add);
  }

  @Test
  void aLongRetryIsParkedInTheRetryQueueAndComesBackWithItsAttemptCount() {
    Map<String, List<Integer>> attempts = new ConcurrentHashMap<>();
    Pipeline<String, String> pipeline =
        builder("parked")
            .stage(
                CLEANING,
                (String s, StageContext c) -> {
                  attempts.computeIfAbsent(s, k -> new ArrayList<>()).add(c.attempt());
                  if (c.attempt() < 4) {
                    throw new IOException("flaky");
                  }
                  return s;
                },
                o ->
                    o.retry(
                        RetryPolicy.exponential(Duration.ofMillis(500), Duration.ofMinutes(1))
                            .maxRetries(5)))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(3)));

    // waits 500 ms and 1 s in the worker, then 2 s in the retry queue
    assertThat(result.parked()).isEqualTo(3);
    assertThat(result.resumed()).isEqualTo(3);
    assertThat(result.published()).isEqualTo(3);
    assertThat(result.unfinished()).isZero();
    assertThat(attempts.get("r2")).containsExactly(1, 2, 3, 4);
    assertThat(clock.sleeps()).contains(Duration.ofMillis(500), Duration.ofSeconds(1));
    assertThat(clock.sleeps()).doesNotContain(Duration.ofSeconds(2));
    assertThat(Outcomes.state(pipeline, "r2").errors())
        .as("errors before and after the park")
        .hasSize(3);
    assertThat(result.metrics().stage("cleaning").resilience().parked()).isEqualTo(3);
    assertThat(result.metrics().stage("cleaning").resilience().retriesByErrorType())
        .as("counted once per record, across the park")
        .containsExactly(Map.entry("IOException", new RetryStats(3, 0)));
    assertThat(sink)
        .allSatisfy(e -> assertThat(e.metadata()).doesNotContainKey(Run.RETRIED_ERRORS));
    Outcomes.assertEachEndedOnce(pipeline, result, ids(3), sink);
  }

  @Test
  void anExhaustedRecordIsDeadLetteredWithAnAlertAndRetryOutcomesByErrorType() {
    Pipeline<String, String> pipeline =
        builder("exhausted")
            .stage(
                CLEANING,
                (String s, StageContext c) -> {
                  if (s.equals("r2")) {
                    throw new IOException("down for good");
                  }
                  if (s.equals("r3") && c.attempt() == 1) {
                    throw new IOException("blip");
                  }
                  if (s.equals("r4")) {
                    throw new IllegalArgumentException("bad record");
                  }
                  return s;
                },
                o ->
                    o.retry(
                        RetryPolicy.exponential(Duration.ofMillis(10), Duration.ofMillis(100))
                            .maxRetries(2)
                            .abortOn(IllegalArgumentException.class)))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(4)));

    assertThat(Outcomes.deadLetters(pipeline))
        .extracting(DeadLetter::recordId)
        .containsExactlyInAnyOrder("r2", "r4");
    assertThat(alerts)
        .filteredOn(a -> a.kind() == Alert.Kind.DEAD_LETTER)
        .extracting(Alert::recordId)
        .containsExactlyInAnyOrder("r2", "r4");
    Alert r2 = alerts.stream().filter(a -> "r2".equals(a.recordId())).findFirst().orElseThrow();
    assertThat(r2.message()).contains("stage 'cleaning'", "3 attempts", "IOException", "reprocess");
    ResilienceMetrics resilience = result.metrics().stage("cleaning").resilience();
    assertThat(resilience.retriesByErrorType())
        .containsEntry("IOException", new RetryStats(1, 1))
        .containsEntry("IllegalArgumentException", new RetryStats(0, 1));
    assertThat(resilience.retriesByErrorType().get("IOException").successRate()).isEqualTo(0.5);
    Outcomes.assertEachEndedOnce(pipeline, result, ids(4), sink);
  }

  @Test
  void deadLettersAreReprocessedOnceAndDiscardedWithAReason() throws Exception {
    AtomicBoolean fixed = new AtomicBoolean();
    Pipeline<String, String> pipeline =
        builder("reprocess")
            .stage(CLEANING, (String s) -> s + "-clean")
            .stage(
                TRANSLATION,
                (String s) -> {
                  if (!fixed.get() && s.startsWith("r1")) {
                    throw new IllegalStateException("no dictionary for " + s);
                  }
                  return s + "-en";
                })
            .sink(sink::addAll)
            .build();
    List<String> ids = ids(30); // r1 and r10..r19 fail: 11 records
    RunResult first = pipeline.run(source(ids));
    assertThat(first.deadLettered()).isEqualTo(11);
    DeadLetters dl = pipeline.deadLetters();
    DeadLetter one = Outcomes.deadLetter(pipeline, "r1");
    assertThat(one.record().payload()).as("payload as it entered the stage").isEqualTo("r1-clean");
    assertThat(one.stage()).isEqualTo("translation");
    assertThat(
            dl.find(DeadLetterQuery.stage("translation").errorType("IllegalStateException"))
                .items())
        .hasSize(11);
    assertThat(dl.find(DeadLetterQuery.stage("cleaning")).items()).isEmpty();

    assertThat(dl.discard(List.of("r19", "r2"), "test data")).containsExactly("r19");
    fixed.set(true);
    // two operators send the same records back at once: each goes back once
    List<String> failed = List.of("r1", "r10", "r11", "r12", "r13", "r14", "r15");
    CountDownLatch go = new CountDownLatch(1);
    try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
      List<Future<Set<String>>> calls = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        calls.add(
            pool.submit(
                () -> {
                  go.await();
                  return dl.reprocess(failed);
                }));
      }
      go.countDown();
      Set<String> a = calls.get(0).get();
      Set<String> b = calls.get(1).get();
      List<String> both = new ArrayList<>(a);
      both.addAll(b);
      assertThat(both).as("each sent back by one call").containsExactlyInAnyOrderElementsOf(failed);
    }
    assertThat(dl.reprocessAll(DeadLetterQuery.all().limit(2)))
        .containsExactlyInAnyOrder("r16", "r17", "r18");
    sink.clear();

    RunResult again = pipeline.resume();

    assertThat(again.read()).isZero();
    assertThat(again.resumed()).isEqualTo(10);
    assertThat(again.published()).isEqualTo(10);
    assertThat(sink).extracting(Envelope::payload).contains("r1-clean-en", "r18-clean-en");
    assertThat(sink).extracting(Envelope::id).doesNotHaveDuplicates().hasSize(10);
    assertThat(Outcomes.deadLetters(pipeline)).isEmpty();
    assertThat(Outcomes.state(pipeline, "r19").status()).isEqualTo(RecordStatus.DISCARDED);
    assertThat(Outcomes.state(pipeline, "r19").reason()).isEqualTo("test data");
    assertThat(Outcomes.state(pipeline, "r1").status()).isEqualTo(RecordStatus.PUBLISHED);
    assertThat(Outcomes.state(pipeline, "r1").errors()).as("history kept").hasSize(1);
    assertThat(pipeline.store().counts("reprocess").get(RecordStatus.PUBLISHED)).isEqualTo(29);
  }

  @Test
  void aDeadLetterSentBackWithACorrectedPayloadIsProcessedWithIt() {
    Pipeline<String, String> pipeline =
        builder("edited")
            .stage(
                CLEANING,
                (String s) -> {
                  if (s.contains("bad")) {
                    throw new IllegalArgumentException("no price in '" + s + "'");
                  }
                  return s + "-clean";
                })
            .sink(sink::addAll)
            .build();
    pipeline.run(Source.of("r", List.of("good", "bad").iterator()));
    DeadLetters dl = pipeline.deadLetters();
    assertThat(Outcomes.deadLetter(pipeline, "r-2").record().payload()).isEqualTo("bad");

    assertThat(dl.reprocessEdited("r-2", "fixed")).isTrue();
    assertThat(dl.reprocessEdited("r-2", "twice")).as("no longer a dead letter").isFalse();
    assertThat(dl.reprocessEdited("r-1", "published")).as("not a dead letter").isFalse();
    sink.clear();
    RunResult again = pipeline.resume();

    assertThat(again.published()).isEqualTo(1);
    assertThat(sink).extracting(Envelope::payload).containsExactly("fixed-clean");
    assertThat(Outcomes.state(pipeline, "r-2").errors()).as("history kept").hasSize(1);
  }

  @Test
  void recordsTheSinkFailedOnAreSentBackToTheSinkOnly() {
    AtomicBoolean sinkDown = new AtomicBoolean(true);
    AtomicInteger stageCalls = new AtomicInteger();
    Pipeline<String, String> pipeline =
        builder("sink-reprocess")
            .stage(
                CLEANING,
                (String s) -> {
                  stageCalls.incrementAndGet();
                  return s + "-clean";
                })
            .sink(
                batch -> {
                  if (sinkDown.get()) {
                    throw new IOException("index unavailable");
                  }
                  sink.addAll(batch);
                })
            .build();

    RunResult first = pipeline.run(source(ids(5)));
    assertThat(first.deadLettered()).isEqualTo(5);
    assertThat(Outcomes.deadLetter(pipeline, "r1").stage()).isEqualTo("sink");
    sinkDown.set(false);
    assertThat(pipeline.deadLetters().reprocessAll(DeadLetterQuery.all())).hasSize(5);

    RunResult again = pipeline.resume();

    assertThat(again.published()).isEqualTo(5);
    assertThat(sink).extracting(Envelope::payload).contains("r1-clean", "r5-clean");
    assertThat(stageCalls.get()).as("the stage is not run again").isEqualTo(5);
  }

  @Test
  void holdParksRecordsWhileTheCircuitIsOpenWithoutUsingRetries() {
    AtomicInteger calls = new AtomicInteger();
    AtomicBoolean down = new AtomicBoolean(true);
    Instant outageEnds = FakeClock.START.plusSeconds(5);
    Pipeline<String, String> pipeline =
        builder("hold")
            .stage(
                ANALYSIS,
                (String s) -> {
                  calls.incrementAndGet();
                  if (clock.now().isBefore(outageEnds)) {
                    throw new IOException("enrichment service down");
                  }
                  down.set(false);
                  return s;
                },
                o ->
                    o.retry(
                            RetryPolicy.exponential(Duration.ofMillis(100), Duration.ofMillis(100))
                                .maxRetries(1))
                        .circuitBreaker(
                            CircuitBreaker.failureRate(0.5)
                                .minCalls(4)
                                .window(10)
                                .openFor(Duration.ofSeconds(2))
                                .halfOpenCalls(2))
                        .fallback(Fallback.hold())
                        .batchSize(1))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(50)));

    // the records that failed before the circuit opened (and trial calls that failed) used up
    // their retry; every record that met the open circuit waited it out
    assertThat(result.published() + result.deadLettered()).isEqualTo(50);
    assertThat(result.deadLettered()).isLessThanOrEqualTo(4 + 2L * transitions(pipeline));
    assertThat(result.published()).isGreaterThanOrEqualTo(40);
    List<CircuitBreaker.State> path =
        pipeline.circuitTransitions(ANALYSIS).stream().map(CircuitBreaker.Transition::to).toList();
    assertThat(path).startsWith(CircuitBreaker.State.OPEN, CircuitBreaker.State.HALF_OPEN);
    assertThat(path).endsWith(CircuitBreaker.State.CLOSED);
    List<CircuitBreaker.Transition> transitions = pipeline.circuitTransitions(ANALYSIS);
    for (int i = 1; i < transitions.size(); i++) {
      assertThat(transitions.get(i).from()).isEqualTo(transitions.get(i - 1).to());
    }
    assertThat(alerts)
        .extracting(Alert::kind)
        .contains(
            Alert.Kind.CIRCUIT_OPENED, Alert.Kind.CIRCUIT_HALF_OPEN, Alert.Kind.CIRCUIT_CLOSED);
    ResilienceMetrics resilience = result.metrics().stage("analysis").resilience();
    assertThat(resilience.held()).isPositive();
    assertThat(resilience.circuit()).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(calls.get())
        .as("held records are not called while the circuit is open")
        .isLessThan(50 + 4 * transitions.size() + 10);
    Outcomes.assertEachEndedOnce(pipeline, result, ids(50), sink);
  }

  private static int transitions(Pipeline<?, ?> pipeline) {
    return pipeline.circuitTransitions(ANALYSIS).size();
  }

  @Test
  void skipLetsRecordsPassAnOpenCircuitMarkedDegradedAndFunctionFallbacksMakeTheOutput() {
    CircuitBreaker alwaysOpen =
        CircuitBreaker.failureRate(0.5).minCalls(1).window(1).openFor(Duration.ofDays(1));
    Pipeline<String, String> pipeline =
        builder("skip")
            .<String>stage(
                TRANSLATION,
                (String s) -> {
                  throw new IOException("translator down");
                },
                o -> o.circuitBreaker(alwaysOpen).fallback(Fallback.skip()))
            .stage(
                VALIDATION,
                (String s) -> {
                  if (s.equals("r3")) {
                    throw new UncheckedIOException(new IOException("no data for r3"));
                  }
                  return s + "+";
                },
                o -> o.fallback(Fallback.<String, String>to((s, error, c) -> s + "?")))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(4)));

    assertThat(result.published()).isEqualTo(4);
    assertThat(sink)
        .extracting(Envelope::payload)
        .containsExactlyInAnyOrder("r1+", "r2+", "r3?", "r4+");
    assertThat(sink)
        .extracting(e -> e.metadata().get(Fallback.DEGRADED))
        .containsExactlyInAnyOrder(
            "translation", "translation", "translation,validation", "translation");
    assertThat(result.metrics().stage("translation").resilience().degraded()).isEqualTo(4);
    assertThat(result.metrics().stage("validation").resilience().degraded()).isEqualTo(1);
    assertThat(Outcomes.state(pipeline, "r3").errors())
        .as("the error that led to the fallback is kept")
        .extracting(e -> e.stage() + ":" + e.errorType())
        .contains("validation:UncheckedIOException");
  }

  @Test
  void aSourceRateLimitIsNeverExceededOnThePipelinesClock() {
    Map<String, Instant> emitted = new ConcurrentHashMap<>();
    Iterator<String> items = ids(400).iterator();
    Pipeline<String, String> pipeline =
        builder("limited-source")
            .rateLimitSource("scraper-a", TokenBucket.perSecond(20).burst(5))
            .stage(
                CLEANING,
                (String s) -> {
                  emitted.putIfAbsent(s, Instant.EPOCH);
                  return s;
                })
            .sink(sink::addAll)
            .build();
    Source<String> source =
        Source.of(
            "scraper-a",
            new Iterator<String>() {
              @Override
              public boolean hasNext() {
                return items.hasNext();
              }

              @Override
              public String next() {
                String id = items.next();
                emitted.put(id, clock.now());
                return id;
              }
            },
            id -> id);

    RunResult result = pipeline.run(source);

    assertThat(result.published()).isEqualTo(400);
    // the n-th record (from 1) may only have been taken once 5 + 20 * elapsed tokens existed; it
    // is read before its token is taken, so compare with the next record's read time
    List<Instant> times = ids(400).stream().map(emitted::get).toList();
    Instant start = times.get(0);
    for (int n = 1; n < times.size(); n++) {
      double elapsed = Duration.between(start, times.get(n)).toNanos() / 1e9;
      assertThat((double) n)
          .as("tokens taken before record %d", n + 1)
          .isLessThanOrEqualTo(5 + 20 * elapsed + 1e-6);
    }
    double total = Duration.between(start, times.get(399)).toNanos() / 1e9;
    assertThat(total).as("and it is not much slower than the limit").isLessThan(400 / 20.0);
  }

  @Test
  void anAdaptiveBatchSizeGrowsWhenLargerBatchesAreCheaperPerRecord() {
    AtomicInteger largest = new AtomicInteger();
    List<String> ids = ids(20_000);
    // A batch smaller than the size asked for (the queue ran dry) says nothing about the size: the
    // source must run ahead of the stage. Under load a descheduled source left the stage mostly
    // such batches (it grew to 72 only, in 1 of 30 runs of the suite at a load of 12; always with a
    // source slowed by 20 us a record). So each call ends once the source has read enough for the
    // next batch to be whole at the largest size (the reader holds a few records of its own between
    // the source and the queue).
    AtomicInteger read = new AtomicInteger();
    AtomicInteger taken = new AtomicInteger();
    Iterator<String> reading = ids.iterator();
    Iterator<String> counted =
        new Iterator<>() {
          @Override
          public boolean hasNext() {
            return reading.hasNext();
          }

          @Override
          public String next() {
            String id = reading.next();
            read.incrementAndGet();
            return id;
          }
        };
    Pipeline<String, String> pipeline =
        builder("adaptive-batch")
            .batchStage(
                ANALYSIS,
                (List<String> batch, StageContext c) -> {
                  // a remote call: 20 ms per call plus 0.1 ms per record
                  clock.advance(Duration.ofMillis(20).plus(Duration.ofMillis(batch.size() / 10)));
                  largest.accumulateAndGet(batch.size(), Math::max);
                  int ahead = Math.min(ids.size(), taken.addAndGet(batch.size()) + 256 + 16);
                  Await.until("the source read " + ahead, () -> read.get() >= ahead);
                  return batch;
                },
                o -> o.batchSize(4).adaptiveBatchSize(4, 256))
            .sink(sink::addAll)
            .queueCapacity(512)
            .build();

    RunResult result = pipeline.run(Source.of("src", counted, id -> id));

    assertThat(result.published()).isEqualTo(20_000);
    assertThat(largest.get()).as("grew from 4 to the largest size").isEqualTo(256);
    assertThat(result.metrics().stage("analysis").resilience().batchSize())
        .isGreaterThanOrEqualTo(64);
  }

  @Test
  void anAdaptiveRateLimitSlowsDownWhenTheStageFails() {
    TokenBucket bucket = TokenBucket.perSecond(100).burst(10).adaptive();
    Pipeline<String, String> pipeline =
        builder("adaptive-rate")
            .stage(
                CLEANING,
                (String s, StageContext c) -> {
                  clock.advance(Duration.ofMillis(5));
                  if (c.attempt() == 1) {
                    throw new IOException("overloaded");
                  }
                  return s;
                },
                o ->
                    o.rateLimit(bucket)
                        .retry(
                            RetryPolicy.exponential(Duration.ofMillis(1), Duration.ofMillis(1))
                                .maxRetries(1)))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(500)));

    assertThat(result.published()).isEqualTo(500);
    assertThat(result.metrics().stage("cleaning").resilience().ratePerSecond())
        .as("half the calls fail: the bound bucket cut its rate")
        .isLessThan(100)
        .isGreaterThan(0);
    assertThat(bucket.ratePerSecond()).as("the bucket given is not the one bound").isEqualTo(100);
  }

  @Test
  void holdWithoutACircuitBreakerFailsAtBuild() {
    assertThatThrownBy(
            () ->
                builder("hold-no-breaker")
                    .stage(CLEANING, (String s) -> s, o -> o.fallback(Fallback.hold()))
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("stage 'cleaning'")
        .hasMessageContaining("Fallback.hold()")
        .hasMessageContaining("CircuitBreaker.failureRate");
  }

  @Test
  void aBadAdaptiveBatchRangeFailsAtBuild() {
    assertThatThrownBy(
            () ->
                builder("bad-range")
                    .stage(CLEANING, (String s) -> s, o -> o.adaptiveBatchSize(10, 5))
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("stage 'cleaning'")
        .hasMessageContaining("1 <= min <= max");
  }

  @Test
  void anAlertListenerThatThrowsDoesNotStopThePipeline() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("bad-listener", String.class)
            .clock(clock)
            .alerts(
                a -> {
                  throw new IllegalStateException("pager down");
                })
            .alerts(alerts::add)
            .<String>stage(
                CLEANING,
                (String s) -> {
                  throw new IllegalArgumentException("bad");
                })
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(3)));

    assertThat(result.deadLettered()).isEqualTo(3);
    assertThat(alerts).hasSize(3);
  }
}
