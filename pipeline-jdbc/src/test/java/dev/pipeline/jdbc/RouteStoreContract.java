package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.PipelineRun;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.Route;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Routing by data on a durable store: records a route sends to a branch's sink are noted as
 * delivered, fenced and published there; records its branches fail are dead letters at the route
 * stage naming the branch; a run cut short resumes, delivering again (flagged) what the branch's
 * sink may have seen.
 */
abstract class RouteStoreContract extends DatabaseContract {
  private static final PayloadCodec<String> STRING = PayloadCodec.string();
  private static final StageName ROUTE = StageName.of("by-kind");

  private final Queue<Envelope<String>> main = new ConcurrentLinkedQueue<>();
  private final Queue<Envelope<String>> side = new ConcurrentLinkedQueue<>();

  @BeforeEach
  void clearSinks() {
    main.clear(); // the class's tests share its instance
    side.clear();
  }

  private JdbcPipelineStore open() {
    JdbcPipelineStore store = build(database.builder().workerId("w1"));
    return store;
  }

  /**
   * digits → "numbers", joining (a stage that fails on "13"s); letters → "words", ending at {@code
   * side} through {@code sideSink}; the rest → "rest", joining.
   */
  private Pipeline<String, String> routed(
      JdbcPipelineStore store, dev.pipeline.Sink<String> sideSink) {
    return routed(store, sideSink, o -> o.retry(RetryPolicy.none()));
  }

  /** As {@link #routed(JdbcPipelineStore, dev.pipeline.Sink)}, with the side sink's options. */
  private Pipeline<String, String> routed(
      JdbcPipelineStore store,
      dev.pipeline.Sink<String> sideSink,
      java.util.function.Consumer<dev.pipeline.StageOptions.Builder> sideOptions) {
    return builder(store, sideSink, sideOptions).build();
  }

  /**
   * As {@link #routed(JdbcPipelineStore, dev.pipeline.Sink, java.util.function.Consumer)}, with
   * every wait of a retry spent in the store's retry queue.
   */
  private Pipeline<String, String> parking(
      JdbcPipelineStore store,
      dev.pipeline.Sink<String> sideSink,
      java.util.function.Consumer<dev.pipeline.StageOptions.Builder> sideOptions) {
    return builder(store, sideSink, sideOptions).retryQueueAfter(Duration.ZERO).build();
  }

  private PipelineBuilder<String, String> builder(
      JdbcPipelineStore store,
      dev.pipeline.Sink<String> sideSink,
      java.util.function.Consumer<dev.pipeline.StageOptions.Builder> sideOptions) {
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.chars().allMatch(Character::isDigit),
                Route.<String>branch(StageName.of("numbers"))
                    .stage(
                        StageName.of("check"),
                        (String s, StageContext c) -> {
                          if (s.contains("13")) {
                            throw new IllegalStateException("unlucky " + s);
                          }
                          if (s.endsWith("7")) {
                            throw RecordFilteredException.because("sevens are filtered");
                          }
                          return "n" + s;
                        })
                    .join(String.class))
            .when(
                s -> s.chars().allMatch(Character::isLetter),
                Route.<String>branch(StageName.of("words"))
                    .stage(StageName.of("lower"), (String s, StageContext c) -> s.toLowerCase())
                    .to(sideSink, sideOptions))
            .otherwise(Route.<String>branch(StageName.of("rest")).join(String.class))
            .build();
    return Pipeline.builder(pipeline, String.class)
        .store(store)
        .inputCodec(STRING)
        .stage(ROUTE, route, o -> o.batchSize(8).codec(STRING))
        .stage(StageName.of("after"), (String s, StageContext c) -> s + "!", o -> o.batchSize(8))
        .sink(main::addAll);
  }

  private static List<String> inputs(int n) {
    return IntStream.range(0, n)
        .mapToObj(
            i ->
                switch (i % 3) {
                  case 0 -> String.valueOf(i);
                  case 1 -> "Word" + (char) ('a' + i % 26) + (char) ('a' + i / 26 % 26);
                  default -> "x-" + i;
                })
        .toList();
  }

  @Test
  void routedRecordsArePublishedAtTheirSinksAndDeadLetteredAtTheRouteNamingTheBranch() {
    JdbcPipelineStore store = open();
    List<String> inputs = new ArrayList<>(inputs(300));
    inputs.add("Poison");
    Pipeline<String, String> p =
        routed(
            store,
            records -> {
              for (Envelope<String> e : records) {
                if (e.payload().equals("poison")) {
                  throw new IOException("the side sink refuses " + e.payload());
                }
              }
              side.addAll(records);
            });

    RunResult result = p.run(Source.of("src", inputs.iterator()));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    Map<String, String> byId = new HashMap<>();
    for (int i = 0; i < inputs.size(); i++) {
      byId.put("src-" + (i + 1), inputs.get(i));
    }
    long unlucky = byId.values().stream().filter(s -> s.matches("\\d*13\\d*")).count();
    long sevens =
        byId.values().stream()
            .filter(s -> s.matches("\\d+") && !s.contains("13"))
            .filter(s -> s.endsWith("7"))
            .count();
    assertThat(result.deadLettered()).isEqualTo(unlucky + 1);
    assertThat(result.filtered()).isEqualTo(sevens);
    assertThat(side).hasSize(100);
    assertThat(main).hasSize((int) (inputs.size() - 101 - unlucky - sevens));
    assertThat(result.published()).isEqualTo(side.size() + main.size());
    assertThat(store.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(result.published());
    assertThat(store.counts(pipeline).get(RecordStatus.DEAD_LETTER)).isEqualTo(unlucky + 1);
    assertThat(store.counts(pipeline).get(RecordStatus.FILTERED)).isEqualTo(sevens);
    assertThat(store.hasUnfinished(pipeline)).isFalse();
    assertThat(side)
        .as("delivered to the branch's sink with the fencing token, never past the route")
        .allMatch(e -> e.fencingToken().isPresent() && !e.payload().endsWith("!"))
        .allMatch(e -> "words".equals(e.metadata().get("branch.by-kind")));
    assertThat(main)
        .allMatch(e -> e.payload().endsWith("!"))
        .allMatch(e -> List.of("numbers", "rest").contains(e.metadata().get("branch.by-kind")));

    List<DeadLetter> dead = store.deadLetters(pipeline, DeadLetterQuery.all()).items();
    assertThat(dead).hasSize((int) unlucky + 1).allMatch(d -> d.stage().equals("by-kind"));
    DeadLetter branchFailed =
        dead.stream().filter(d -> d.record().payload().equals("213")).findFirst().orElseThrow();
    assertThat(branchFailed.lastError().errorType()).isEqualTo("BranchFailedException");
    assertThat(branchFailed.lastError().message())
        .contains("stage 'check' of branch 'numbers' of route 'by-kind'", "unlucky 213");
    DeadLetter sinkFailed =
        dead.stream()
            .filter(d -> d.lastError().stage().equals("by-kind/words/sink"))
            .findFirst()
            .orElseThrow();
    assertThat(sinkFailed.record().payload()).as("as it entered the route").isEqualTo("Poison");
    assertThat(sinkFailed.lastError().message()).contains("the side sink refuses poison");
    assertThat(sinkFailed.record().metadata())
        .as("names its branch, as the records the branch's sink took do")
        .containsEntry("branch.by-kind", "words");

    RunResult again = p.run(Source.of("src", inputs.iterator()));
    assertThat(again.duplicates()).isEqualTo(inputs.size());
    assertThat(again.published()).isZero();
  }

  @Test
  void aBranchSinkCallPastItsTimeoutIsRetriedAndTheSinkIsAStageOfItsOwnInTheMetrics()
      throws Exception {
    JdbcPipelineStore store = open();
    CountDownLatch never = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    Pipeline<String, String> p =
        routed(
            store,
            records -> {
              if (calls.incrementAndGet() == 1) {
                never.await(); // the watchdog interrupts it past the timeout
              }
              side.addAll(records);
            },
            o ->
                o.timeout(Duration.ofMillis(200))
                    .retry(
                        RetryPolicy.exponential(Duration.ofMillis(10), Duration.ofMillis(10))
                            .maxRetries(2)));
    List<String> inputs = inputs(30);
    java.time.Instant from = java.time.Instant.now().minusSeconds(1);

    RunResult result = p.run(Source.of("src", inputs.iterator()));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(side).extracting(Envelope::id).doesNotHaveDuplicates().hasSize(10);
    assertThat(side)
        .filteredOn(e -> "true".equals(e.metadata().get(Envelope.REDELIVERED)))
        .as("the batch whose call timed out is handed again, flagged")
        .isNotEmpty();
    StageName sink = StageName.branchSink(ROUTE, StageName.of("words"));
    var metrics = p.metrics().stage(sink.value());
    assertThat(metrics.passed()).isEqualTo(10);
    assertThat(metrics.errorsByType()).containsEntry("StageTimeoutException", 1L);
    assertThat(p.metricsHistory(sink, from, java.time.Instant.now().plusSeconds(1)))
        .as("its windows are stored under its name")
        .isNotEmpty()
        .allMatch(w -> w.stage().equals("by-kind/words/sink"));
    assertThat(store.hasUnfinished(pipeline)).isFalse();
  }

  @Test
  void aRunCutShortResumesAndTheBranchSinkGetsAgainFlaggedWhatItMayHaveSeen() throws Exception {
    JdbcPipelineStore store = open();
    CountDownLatch inSecondCall = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    List<String> inputs =
        IntStream.range(0, 40)
            .mapToObj(i -> "Word" + (char) ('a' + i % 26) + (char) ('a' + i / 26))
            .toList();
    Pipeline<String, String> cut =
        routed(
            store,
            records -> {
              if (calls.incrementAndGet() == 2) {
                inSecondCall.countDown();
                new CountDownLatch(1).await(); // until the cancel interrupts it
              }
              side.addAll(records);
            });
    PipelineRun running = cut.start(Source.of("src", inputs.iterator()));
    assertThat(inSecondCall.await(1, TimeUnit.MINUTES)).isTrue();
    running.cancel();
    RunResult first = running.await(Duration.ofMinutes(1)).orElseThrow();
    assertThat(first.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(store.hasUnfinished(pipeline)).isTrue();
    List<String> seen = side.stream().map(Envelope::id).toList();
    cut.close();

    Pipeline<String, String> resumed = routed(store, side::addAll);
    RunResult second = resumed.resume();

    assertThat(second.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(store.hasUnfinished(pipeline)).isFalse();
    assertThat(store.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(inputs.size());
    assertThat(side)
        .as("each record taken once: the cancelled run ended what the branch's sink took")
        .hasSize(inputs.size());
    assertThat(side.stream().map(Envelope::id).distinct().count()).isEqualTo(inputs.size());
    assertThat(side)
        .filteredOn(e -> !seen.contains(e.id()))
        .as("the records of the call the cancel cut short come again, flagged")
        .isNotEmpty()
        .anyMatch(e -> "true".equals(e.metadata().get(Envelope.REDELIVERED)));
    assertThat(side)
        .as("resumed records still take their branch")
        .allMatch(e -> "words".equals(e.metadata().get("branch.by-kind")));
  }

  private static final String WORD_SINK = "by-kind/words/sink";

  /** The ids of the records {@link #inputs} sends down the "words" branch. */
  private static List<String> wordIds(List<String> inputs) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < inputs.size(); i++) {
      if (inputs.get(i).chars().allMatch(Character::isLetter)) {
        ids.add("src-" + (i + 1));
      }
    }
    return ids;
  }

  /**
   * A pipeline whose words' sink refuses every call (noting the ids in {@code tried}), with a codec
   * for what it is given and a retry policy whose every wait parks the records.
   */
  private Pipeline<String, String> refusingWords(
      JdbcPipelineStore store, Set<String> tried, Duration wait, int retries) {
    return parking(
        store,
        records -> {
          records.forEach(e -> tried.add(e.id()));
          throw new IOException("the word index is down");
        },
        o -> o.codec(STRING).retry(RetryPolicy.exponential(wait, wait).maxRetries(retries)));
  }

  /** Asserts that each record ended once, the words at the side sink and none at the main one. */
  private void assertEachEndedOnce(JdbcPipelineStore store, List<String> inputs) {
    List<String> words = wordIds(inputs);
    assertThat(side)
        .extracting(Envelope::id)
        .as("each word delivered once, to its branch's sink")
        .containsExactlyInAnyOrderElementsOf(words);
    assertThat(main).extracting(Envelope::id).doesNotContainAnyElementsOf(words);
    assertThat(side)
        .allMatch(e -> e.payload().equals(e.payload().toLowerCase()) && !e.payload().endsWith("!"))
        .allMatch(e -> e.fencingToken().isPresent());
    assertThat(store.hasUnfinished(pipeline)).isFalse();
    for (String id : words) {
      assertThat(store.find(pipeline, id).orElseThrow().status())
          .as("record %s", id)
          .isEqualTo(RecordStatus.PUBLISHED);
    }
    long ended =
        store.counts(pipeline).counts().entrySet().stream()
            .filter(e -> e.getKey().isTerminal())
            .mapToLong(Map.Entry::getValue)
            .sum();
    assertThat(ended).as("one terminal state per record").isEqualTo(inputs.size());
  }

  @Test
  void aRecordParkedAtABranchSinkSurvivesARestartAndIsDeliveredToThatSinkOnce()
      throws InterruptedException {
    List<String> inputs = inputs(30);
    List<String> words = wordIds(inputs);
    Set<String> tried = ConcurrentHashMap.newKeySet();
    JdbcPipelineStore first = open();
    // parked for 4 s after each failure: long enough to see them all parked at once
    Pipeline<String, String> down = refusingWords(first, tried, Duration.ofSeconds(4), 100);
    PipelineRun running = down.start(Source.of("src", inputs.iterator()));
    awaitParked(first, words);
    assertThat(tried).as("the first process tried each word once").hasSameElementsAs(words);
    running.cancel();
    assertThat(running.await(Duration.ofMinutes(1)).orElseThrow().status())
        .isEqualTo(RunStatus.CANCELLED);
    down.close();
    first.close();
    side.clear();

    JdbcPipelineStore second = open(); // a new process: nothing kept in memory
    for (String id : words) {
      RecordState state = second.find(pipeline, id).orElseThrow();
      assertThat(state.status()).as("record %s", id).isEqualTo(RecordStatus.RETRY_WAIT);
      assertThat(state.stage()).isEqualTo(WORD_SINK);
    }
    Pipeline<String, String> up = parking(second, side::addAll, o -> o.codec(STRING));
    RunResult resumed = up.resume();

    assertThat(resumed.status()).isEqualTo(RunStatus.COMPLETED);
    assertEachEndedOnce(second, inputs);
    assertThat(side)
        .as("handed again after the failed call, still naming the branch")
        .allMatch(e -> "true".equals(e.metadata().get(Envelope.REDELIVERED)))
        .allMatch(e -> "words".equals(e.metadata().get("branch.by-kind")));
    assertThat(up.metrics().stage(WORD_SINK).passed()).isEqualTo(words.size());
  }

  /** Waits until every record of {@code ids} is in the retry queue at the words' sink at once. */
  private void awaitParked(JdbcPipelineStore store, List<String> ids) {
    TestDatabase.await(
        Duration.ofMinutes(1),
        "the words parked at their branch's sink",
        () ->
            ids.stream()
                .map(id -> store.find(pipeline, id).orElse(null))
                .allMatch(
                    state ->
                        state != null
                            && state.status() == RecordStatus.RETRY_WAIT
                            && state.stage().equals(WORD_SINK)));
  }

  @Test
  void aBranchSinksDeadLetterFromTheRetryQueueGoesBackToThatSinkAfterARestart() {
    List<String> inputs = inputs(30);
    List<String> words = wordIds(inputs);
    Set<String> tried = ConcurrentHashMap.newKeySet();
    JdbcPipelineStore first = open();
    Pipeline<String, String> down = refusingWords(first, tried, Duration.ofMillis(10), 2);

    RunResult result = down.run(Source.of("src", inputs.iterator()));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(tried).hasSameElementsAs(words);
    List<DeadLetter> dead =
        first.deadLetters(pipeline, DeadLetterQuery.all()).items().stream()
            .filter(d -> words.contains(d.record().id()))
            .toList();
    assertThat(dead).hasSize(words.size());
    assertThat(dead)
        .as("came back from the retry queue: kept at the sink's step, as the sink was given it")
        .allMatch(d -> d.stage().equals(WORD_SINK))
        .allMatch(d -> d.record().payload().equals(d.record().payload().toString().toLowerCase()))
        .allMatch(d -> d.lastError().attempt() == 3);
    down.close();
    first.close();

    JdbcPipelineStore second = open();
    Pipeline<String, String> up = parking(second, side::addAll, o -> o.codec(STRING));
    assertThat(up.deadLetters().reprocess(words)).hasSize(words.size());
    main.clear();
    RunResult again = up.resume();

    assertThat(again.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(again.published()).isEqualTo(words.size());
    assertThat(main).as("none reached the pipeline's sink").isEmpty();
    assertEachEndedOnce(second, inputs);
  }

  @Test
  void aBranchSinksCircuitHoldsItsRecordsInTheDurableRetryQueueWithItsCodec() {
    List<String> inputs = inputs(60);
    AtomicInteger calls = new AtomicInteger();
    JdbcPipelineStore store = open();
    Pipeline<String, String> p =
        parking(
            store,
            records -> {
              if (calls.incrementAndGet() <= 2) {
                throw new IOException("the word index is restarting");
              }
              side.addAll(records);
            },
            o ->
                o.codec(STRING)
                    .retry(RetryPolicy.none())
                    .circuitBreaker(
                        CircuitBreaker.failureRate(0.5)
                            .minCalls(2)
                            .window(2)
                            .openFor(Duration.ofMillis(200))
                            .halfOpenCalls(1))
                    .fallback(Fallback.hold()));

    RunResult result = p.run(Source.of("src", inputs.iterator()));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(p.metrics().stage(WORD_SINK).resilience().held()).isPositive();
    assertThat(p.circuitTransitions(StageName.branchSink(ROUTE, StageName.of("words"))))
        .extracting(CircuitBreaker.Transition::to)
        .contains(CircuitBreaker.State.OPEN, CircuitBreaker.State.CLOSED);
    List<String> deadWords =
        store.deadLetters(pipeline, DeadLetterQuery.all()).items().stream()
            .map(d -> d.record().id())
            .filter(wordIds(inputs)::contains)
            .toList();
    assertThat(side)
        .extracting(Envelope::id)
        .as("the words of the two failed calls are dead letters; the held ones came back")
        .doesNotHaveDuplicates()
        .doesNotContainAnyElementsOf(deadWords)
        .hasSize(wordIds(inputs).size() - deadWords.size());
    assertThat(store.hasUnfinished(pipeline)).isFalse();
  }

  @Test
  void aSinkOfABranchWithoutStagesParksWithTheRoutesInputCodecUnlessItNamesOne() {
    List<String> inputs = inputs(30);
    List<String> words = wordIds(inputs);
    Set<String> tried = ConcurrentHashMap.newKeySet();
    JdbcPipelineStore store = open();
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.chars().allMatch(Character::isLetter),
                Route.<String>branch(StageName.of("words"))
                    .to(
                        records -> {
                          records.forEach(e -> tried.add(e.id()));
                          throw new IOException("the word index is down");
                        },
                        o ->
                            o.retry(
                                RetryPolicy.exponential(
                                        Duration.ofMillis(10), Duration.ofMillis(10))
                                    .maxRetries(2))))
            .otherwise(Route.<String>branch(StageName.of("rest")).join(String.class))
            .build();
    Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .inputCodec(STRING)
            .retryQueueAfter(Duration.ZERO)
            .stage(ROUTE, route, o -> o.batchSize(8).codec(STRING))
            .sink(main::addAll)
            .build();
    StageName sink = StageName.branchSink(ROUTE, StageName.of("words"));
    assertThat(p.options(sink).codec()).as("the route's input codec").isSameAs(STRING);

    RunResult result = p.run(Source.of("src", inputs.iterator()));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(tried).hasSameElementsAs(words);
    List<DeadLetter> dead =
        store.deadLetters(pipeline, DeadLetterQuery.all()).items().stream()
            .filter(d -> words.contains(d.record().id()))
            .toList();
    assertThat(dead)
        .as("came back from the retry queue, decoded with the route's input codec")
        .hasSize(words.size())
        .allMatch(d -> d.stage().equals(WORD_SINK))
        .allMatch(d -> d.lastError().attempt() == 3)
        .allMatch(d -> inputs.contains(d.record().payload().toString()));
    p.close();
  }
}
