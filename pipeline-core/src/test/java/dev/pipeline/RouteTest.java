package dev.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.metrics.RouteMetrics;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.RecordStatus;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * A route sends each record down the first branch whose predicate it matches; branches join or end
 * at sinks of their own, every record ends once, and build() checks the route's graph.
 */
class RouteTest {
  private static final StageName ROUTE = StageName.of("by-kind");
  private static final StageName AFTER = StageName.of("after");
  private static final StageName NUMBERS = StageName.of("numbers");
  private static final StageName WORDS = StageName.of("words");
  private static final StageName REST = StageName.of("rest");

  private final FakeClock clock = new FakeClock();
  private final Queue<Envelope<String>> main = new ConcurrentLinkedQueue<>();
  private final Queue<Envelope<String>> side = new ConcurrentLinkedQueue<>();

  record Listing(String text, String lang, Integer price) {}

  /** The example of {@link Route}'s javadoc. */
  @Test
  void theClassExampleRuns() {
    Queue<Envelope<Listing>> reviewQueue = new ConcurrentLinkedQueue<>();
    Queue<Envelope<Listing>> index = new ConcurrentLinkedQueue<>();
    Stage<Listing, Listing> translator =
        (l, c) -> new Listing(l.text().toUpperCase(), "en", l.price());
    Route<Listing, Listing> byLanguage =
        Route.builder(Listing.class, Listing.class)
            .when(
                l -> l.lang().equals("en"),
                Route.<Listing>branch(StageName.of("english")).join(Listing.class))
            .when(
                l -> l.price() == null,
                Route.<Listing>branch(StageName.of("unpriced")).to(reviewQueue::addAll))
            .otherwise(
                Route.<Listing>branch(StageName.of("foreign"))
                    .stage(
                        StageName.TRANSLATION,
                        translator,
                        o ->
                            o.retry(
                                RetryPolicy.exponential(
                                        Duration.ofMillis(100), Duration.ofSeconds(5))
                                    .maxRetries(3)))
                    .join(Listing.class))
            .build();

    RunResult result =
        Pipeline.builder("listings", Listing.class)
            .stage(StageName.of("by-language"), byLanguage)
            .stage(StageName.INDEXING, (Listing l, StageContext c) -> l)
            .sink(index::addAll)
            .clock(clock)
            .build()
            .run(
                Source.of(
                    "listings",
                    List.of(
                            new Listing("house", "en", 10),
                            new Listing("maison", "fr", null),
                            new Listing("haus", "de", 20))
                        .iterator()));

    assertThat(result.published()).isEqualTo(3);
    assertThat(index)
        .extracting(Envelope::payload)
        .containsExactlyInAnyOrder(new Listing("house", "en", 10), new Listing("HAUS", "en", 20));
    assertThat(index)
        .extracting(e -> e.metadata().get("branch.by-language"))
        .containsExactlyInAnyOrder("english", "foreign");
    assertThat(reviewQueue)
        .extracting(Envelope::payload)
        .containsExactly(new Listing("maison", "fr", null));
    assertThat(reviewQueue.peek().metadata()).containsEntry("branch.by-language", "unpriced");
  }

  /** numbers → parsed and doubled, joining; words → their own sink; the rest → upper-cased. */
  private PipelineBuilder<String, String> routed(Route<String, String> route, int concurrency) {
    AtomicInteger ignored = new AtomicInteger();
    return Pipeline.builder("routed", String.class)
        .stage(ROUTE, route, o -> o.concurrency(concurrency).batchSize(16))
        .stage(
            AFTER,
            (String s, StageContext c) -> {
              ignored.incrementAndGet();
              return s + "!";
            })
        .sink(main::addAll)
        .clock(clock);
  }

  private Route<String, String> numbersWordsRest() {
    return Route.builder(String.class, String.class)
        .when(
            s -> s.chars().allMatch(Character::isDigit),
            Route.<String>branch(NUMBERS)
                .stage(StageName.of("parse"), (String s, StageContext c) -> Integer.parseInt(s))
                .stage(StageName.of("double"), (Integer n, StageContext c) -> String.valueOf(2 * n))
                .join(String.class))
        .when(
            s -> s.chars().allMatch(Character::isLetter),
            Route.<String>branch(WORDS)
                .stage(StageName.of("lower"), (String s, StageContext c) -> s.toLowerCase())
                .to(side::addAll))
        .otherwise(
            Route.<String>branch(REST)
                .stage(StageName.of("upper"), (String s, StageContext c) -> s.toUpperCase())
                .join(String.class))
        .build();
  }

  @Test
  void eachRecordTakesOneBranchJoiningOrEndingAtItsSinkAndEndsOnce() {
    List<String> payloads =
        IntStream.range(0, 600)
            .mapToObj(
                i ->
                    i % 3 == 0
                        ? String.valueOf(i)
                        : i % 3 == 1 ? "Word" + (char) ('a' + i % 26) : "x-" + i)
            .toList();
    Pipeline<String, String> pipeline = routed(numbersWordsRest(), 4).build();

    RunResult result = pipeline.run(Source.of("src", payloads.iterator()));

    List<String> ids = IntStream.rangeClosed(1, 600).mapToObj(i -> "src-" + i).toList();
    List<Envelope<?>> sunk = new ArrayList<>(main);
    sunk.addAll(side);
    Outcomes.assertEachEndedOnce(pipeline, result, ids, sunk);
    assertThat(main).hasSize(400);
    assertThat(side).hasSize(200);
    assertThat(side)
        .as("records ending at the branch's sink do not go on to the next stage")
        .allMatch(e -> e.payload().equals(e.payload().toLowerCase()) && !e.payload().endsWith("!"))
        .allMatch(e -> "words".equals(e.metadata().get(Route.metadataKey(ROUTE))));
    assertThat(main)
        .filteredOn(e -> "numbers".equals(e.metadata().get("branch.by-kind")))
        .hasSize(200)
        .allMatch(
            e ->
                e.payload().endsWith("!")
                    && e.payload().chars().filter(Character::isDigit).count() > 0);
    assertThat(main)
        .filteredOn(e -> "rest".equals(e.metadata().get("branch.by-kind")))
        .hasSize(200)
        .allMatch(e -> e.payload().startsWith("X-") && e.payload().endsWith("!"));
    assertThat(main).extracting(Envelope::payload).contains("0!", "6!", "1194!");

    RouteMetrics metrics = pipeline.metrics().route("by-kind");
    assertThat(metrics.branch("numbers").routed()).isEqualTo(200);
    assertThat(metrics.branch("words").routed()).isEqualTo(200);
    assertThat(metrics.branch("words").endsAtSink()).isTrue();
    assertThat(metrics.branch("rest").routed()).isEqualTo(200);
    assertThat(metrics.unmatched()).isZero();
    assertThat(pipeline.metrics().published()).isEqualTo(600);
  }

  @Test
  void aRecordMatchingNoBranchIsFilteredWithAReasonNamingTheRoute() {
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.startsWith("a"), Route.<String>branch(StageName.of("a")).join(String.class))
            .build();
    Pipeline<String, String> pipeline = routed(route, 1).build();

    RunResult result = pipeline.run(Source.of("src", List.of("apple", "banana").iterator()));

    assertThat(result.published()).isEqualTo(1);
    assertThat(result.filtered()).isEqualTo(1);
    assertThat(Outcomes.state(pipeline, "src-2").status()).isEqualTo(RecordStatus.FILTERED);
    assertThat(Outcomes.state(pipeline, "src-2").reason())
        .contains("route 'by-kind'", "matched no branch", "otherwise");
    assertThat(pipeline.metrics().route("by-kind").unmatched()).isEqualTo(1);
  }

  @Test
  void aPredicateThatThrowsDeadLettersThatRecordOnlyNamingTheRouteAndTheFix() {
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.charAt(3) == 'x',
                Route.<String>branch(StageName.of("fourth-x")).join(String.class))
            .otherwise(Route.<String>branch(REST).join(String.class))
            .build();
    Pipeline<String, String> pipeline = routed(route, 1).build();

    RunResult result = pipeline.run(Source.of("src", List.of("abcx", "ab", "abcd").iterator()));

    assertThat(result.published()).isEqualTo(2);
    assertThat(result.deadLettered()).isEqualTo(1);
    DeadLetter dead = Outcomes.deadLetter(pipeline, "src-2");
    assertThat(dead.stage()).isEqualTo("by-kind");
    assertThat(dead.lastError().errorType()).isEqualTo("BranchFailedException");
    assertThat(dead.lastError().message())
        .contains("predicate of branch 'fourth-x'", "route 'by-kind'", "src-2", "must not throw");
    assertThat(dead.payload(String.class)).isEqualTo("ab");
    assertThat(pipeline.metrics().route("by-kind").branch("fourth-x").failed()).isEqualTo(1);
  }

  @Test
  void aPredicateThatThrowsAnErrorOrACheckedExceptionIsABranchFailureToo() {
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> {
                  if (s.equals("assert")) {
                    throw new AssertionError("predicate's assertion");
                  }
                  if (s.equals("checked")) {
                    RouteTest.<RuntimeException>sneakyThrow(new IOException("checked, sneaky"));
                  }
                  return false;
                },
                Route.<String>branch(StageName.of("picky")).join(String.class))
            .otherwise(Route.<String>branch(REST).join(String.class))
            .build();
    Pipeline<String, String> pipeline = routed(route, 1).build();

    RunResult result =
        pipeline.run(Source.of("src", List.of("assert", "checked", "fine").iterator()));

    assertThat(result.published()).isOne();
    assertThat(result.deadLettered()).isEqualTo(2);
    for (String id : List.of("src-1", "src-2")) {
      DeadLetter dead = Outcomes.deadLetter(pipeline, id);
      assertThat(dead.lastError().errorType()).isEqualTo("BranchFailedException");
      assertThat(dead.lastError().message()).contains("predicate of branch 'picky'");
    }
    assertThat(pipeline.metrics().route("by-kind").branch("picky").failed()).isEqualTo(2);
  }

  @SuppressWarnings("unchecked")
  private static <E extends Throwable> void sneakyThrow(Throwable e) throws E {
    throw (E) e;
  }

  @Test
  void aBranchStageRetriesByItsOwnPolicyThenGivesUpNamingTheBranch() {
    AtomicInteger calls = new AtomicInteger();
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.startsWith("flaky"),
                Route.<String>branch(StageName.of("remote"))
                    .stage(
                        StageName.of("lookup"),
                        (String s, StageContext c) -> {
                          calls.incrementAndGet();
                          if (s.endsWith("never")) {
                            throw new IOException("service down");
                          }
                          if (calls.get() % 3 != 0) {
                            throw new IOException("busy");
                          }
                          return s + "-found";
                        },
                        o ->
                            o.retry(
                                RetryPolicy.exponential(
                                        Duration.ofMillis(10), Duration.ofMillis(40))
                                    .maxRetries(2)))
                    .join(String.class))
            .otherwise(Route.<String>branch(REST).join(String.class))
            .build();
    Pipeline<String, String> pipeline = routed(route, 1).build();

    RunResult result = pipeline.run(Source.of("src", List.of("flaky", "flaky-never").iterator()));

    assertThat(result.published()).isEqualTo(1);
    assertThat(main).extracting(Envelope::payload).containsExactly("flaky-found!");
    assertThat(calls.get()).as("3 calls each: the first and two retries").isEqualTo(6);
    assertThat(clock.sleeps()).as("backed off on the pipeline's clock").hasSize(4);
    DeadLetter dead = Outcomes.deadLetter(pipeline, "src-2");
    assertThat(dead.stage()).isEqualTo("by-kind");
    assertThat(dead.lastError().message())
        .contains(
            "stage 'lookup' of branch 'remote' of route 'by-kind'", "after 3 attempts", "retry");
    assertThat(dead.record().metadata())
        .as("names the branch it failed in")
        .containsEntry(Route.metadataKey(ROUTE), "remote");
    assertThat(pipeline.metrics().route("by-kind").branch("remote").failed()).isEqualTo(1);
  }

  @Test
  void aRecordTheRoutesCircuitRefusedNamesNoBranchThoughTheRecordBeforeItDid() {
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.startsWith("remote"),
                Route.<String>branch(StageName.of("remote"))
                    .stage(
                        StageName.of("lookup"),
                        (String s, StageContext c) -> {
                          if (s.startsWith("remote")) {
                            throw new IOException("service down");
                          }
                          return s;
                        })
                    .join(String.class))
            .otherwise(Route.<String>branch(REST).join(String.class))
            .build();
    Pipeline<String, String> pipeline =
        Pipeline.builder("refused", String.class)
            .stage(
                ROUTE,
                route,
                o ->
                    o.batchSize(1)
                        .retry(RetryPolicy.none())
                        .circuitBreaker(
                            CircuitBreaker.failureRate(0.5)
                                .minCalls(1)
                                .window(1)
                                .openFor(Duration.ofHours(1))))
            .sink(main::addAll)
            .clock(clock)
            .build();

    RunResult result = pipeline.run(Source.of("src", List.of("remote-1", "plain").iterator()));

    assertThat(result.deadLettered()).isEqualTo(2);
    assertThat(Outcomes.deadLetter(pipeline, "src-1").record().metadata())
        .containsEntry(Route.metadataKey(ROUTE), "remote");
    DeadLetter refused = Outcomes.deadLetter(pipeline, "src-2");
    assertThat(refused.lastError().errorType()).isEqualTo("CircuitOpenException");
    assertThat(refused.record().metadata())
        .as("the route never ran for it: no branch, and not the previous record's")
        .doesNotContainKey(Route.metadataKey(ROUTE));
  }

  @Test
  void aBranchStageFallbackPassesTheRecordOnDegradedAndAFilterNamesTheBranch() {
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.startsWith("drop"),
                Route.<String>branch(StageName.of("dropper"))
                    .<String>stage(
                        StageName.of("judge"),
                        (String s, StageContext c) -> {
                          throw RecordFilteredException.because("not wanted");
                        })
                    .join(String.class))
            .otherwise(
                Route.<String>branch(REST)
                    .<String>stage(
                        StageName.of("translate"),
                        (String s, StageContext c) -> {
                          throw new IOException("translator down");
                        },
                        o -> o.fallback(Fallback.skip()))
                    .join(String.class))
            .build();
    Pipeline<String, String> pipeline = routed(route, 1).build();

    RunResult result = pipeline.run(Source.of("src", List.of("drop-me", "keep").iterator()));

    assertThat(result.filtered()).isEqualTo(1);
    assertThat(Outcomes.state(pipeline, "src-1").reason())
        .isEqualTo("branch 'dropper' of route 'by-kind', stage 'judge': not wanted");
    assertThat(main).hasSize(1);
    assertThat(main.peek().payload()).isEqualTo("keep!");
    assertThat(main.peek().metadata()).containsEntry(Fallback.DEGRADED, "by-kind/rest/translate");
    RouteMetrics metrics = pipeline.metrics().route("by-kind");
    assertThat(metrics.branch("rest").degraded()).isEqualTo(1);
    assertThat(metrics.branch("dropper").filtered()).isEqualTo(1);
  }

  @Test
  void aRecordItsBranchSinkFailsOnIsDeadLetteredAtTheRouteWithItsInputAloneAndReprocessable() {
    Set<String> poison = ConcurrentHashMap.newKeySet();
    poison.add("bad");
    Queue<Envelope<String>> delivered = new ConcurrentLinkedQueue<>();
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.chars().allMatch(Character::isLetter),
                Route.<String>branch(WORDS)
                    .stage(StageName.of("upper"), (String s, StageContext c) -> s.toUpperCase())
                    .to(
                        records -> {
                          for (Envelope<String> e : records) {
                            if (poison.contains(e.payload().toLowerCase())) {
                              throw new IOException("refused " + e.payload());
                            }
                          }
                          delivered.addAll(records);
                        },
                        o -> o.retry(RetryPolicy.none())))
            .otherwise(Route.<String>branch(REST).join(String.class))
            .build();
    Pipeline<String, String> pipeline = routed(route, 1).build();

    RunResult result =
        pipeline.run(Source.of("src", List.of("good", "bad", "fine", "42").iterator()));

    assertThat(result.published()).isEqualTo(3);
    assertThat(result.deadLettered()).isEqualTo(1);
    assertThat(delivered).extracting(Envelope::payload).containsExactlyInAnyOrder("GOOD", "FINE");
    DeadLetter dead = Outcomes.deadLetter(pipeline, "src-2");
    assertThat(dead.stage()).as("dead-lettered at the route").isEqualTo("by-kind");
    assertThat(dead.payload(String.class)).as("as it entered the route").isEqualTo("bad");
    assertThat(dead.lastError().stage()).isEqualTo("by-kind/words/sink");
    assertThat(dead.lastError().message()).contains("refused BAD");
    assertThat(dead.record().metadata())
        .as("names its branch, as the records the branch's sink took do")
        .containsEntry(Route.metadataKey(ROUTE), "words");

    poison.clear();
    pipeline.deadLetters().reprocess(List.of("src-2"));
    RunResult again = pipeline.resume();

    assertThat(again.published()).isEqualTo(1);
    assertThat(delivered).extracting(Envelope::payload).contains("BAD");
    assertThat(Outcomes.state(pipeline, "src-2").status()).isEqualTo(RecordStatus.PUBLISHED);
  }

  @Test
  void aBranchSinksCircuitAlertsUnderItsPseudoStage() {
    Queue<Alert> alerts = new ConcurrentLinkedQueue<>();
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.chars().allMatch(Character::isLetter),
                Route.<String>branch(WORDS)
                    .to(
                        records -> {
                          throw new IOException("the word index is down");
                        },
                        o ->
                            o.retry(RetryPolicy.none())
                                .circuitBreaker(
                                    CircuitBreaker.failureRate(0.5)
                                        .minCalls(1)
                                        .window(1)
                                        .openFor(Duration.ofHours(1)))))
            .otherwise(Route.<String>branch(REST).join(String.class))
            .build();
    Pipeline<String, String> pipeline = routed(route, 1).alerts(alerts::add).build();

    RunResult result = pipeline.run(Source.of("src", List.of("word", "42").iterator()));

    assertThat(result.deadLettered()).isEqualTo(1);
    assertThat(result.published()).isEqualTo(1);
    assertThat(alerts)
        .filteredOn(a -> a.kind() == Alert.Kind.CIRCUIT_OPENED)
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.stage()).isEqualTo("by-kind/words/sink");
              assertThat(a.message()).contains("by-kind/words/sink", "went from CLOSED to OPEN");
            });
  }

  @Test
  void aRouteAsTheLastStageSendsJoiningRecordsToThePipelinesSink() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("last", String.class)
            .stage(ROUTE, numbersWordsRest())
            .sink(main::addAll)
            .clock(clock)
            .build();

    RunResult result = pipeline.run(Source.of("src", List.of("12", "abc", "?").iterator()));

    assertThat(result.published()).isEqualTo(3);
    assertThat(main).extracting(Envelope::payload).containsExactlyInAnyOrder("24", "?");
    assertThat(side).extracting(Envelope::payload).containsExactly("abc");
  }

  // ------------------------------------------------------------------ build() checks the graph

  private static String problemsOf(PipelineBuilder<?, ?> builder) {
    try {
      builder.build();
    } catch (PipelineConfigurationException e) {
      return String.join("\n", e.problems());
    }
    throw new AssertionError("build() accepted the pipeline");
  }

  private static PipelineBuilder<String, String> pipelineWith(Route<String, String> route) {
    return Pipeline.builder("checked", String.class).stage(ROUTE, route);
  }

  @Test
  void aBranchAfterOtherwiseIsUnreachable() {
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .otherwise(Route.<String>branch(REST).join(String.class))
            .when(s -> true, Route.<String>branch(WORDS).join(String.class))
            .otherwise(Route.<String>branch(NUMBERS).join(String.class))
            .build();

    assertThat(problemsOf(pipelineWith(route)))
        .contains(
            "route 'by-kind': branch 'words' comes after otherwise(...), so no record can reach it",
            "route 'by-kind': branch 'numbers' is a second otherwise(...)");
  }

  @Test
  void aBranchWithoutAnEndIsReported() {
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> true,
                Route.<String>branch(WORDS)
                    .stage(StageName.of("lower"), (String s, StageContext c) -> s.toLowerCase()))
            .otherwise(Route.<String>branch(REST).join(String.class))
            .build();

    assertThat(problemsOf(pipelineWith(route)))
        .contains("route 'by-kind': branch 'words' has no end; end it with join(Type.class)");
  }

  @Test
  @SuppressWarnings({"unchecked", "rawtypes"})
  void aBranchWhoseTypeDoesNotJoinIsReportedByItsClassToken() {
    // generics erased: a raw branch that joins as Integer into a route of Strings
    RouteBranch raw =
        Route.<String>branch(NUMBERS)
            .stage(StageName.of("parse"), (String s, StageContext c) -> Integer.parseInt(s));
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(s -> true, raw.join(Integer.class))
            .otherwise(Route.<String>branch(REST).join(String.class))
            .build();

    assertThat(problemsOf(pipelineWith(route)))
        .contains(
            "route 'by-kind': branch 'numbers' joins as java.lang.Integer, which is not the"
                + " route's output type java.lang.String");
  }

  @Test
  void namesGivenTwiceAcrossBranchesAndThePipelineAreReported() {
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> true,
                Route.<String>branch(WORDS)
                    .stage(StageName.of("clean"), (String s, StageContext c) -> s)
                    .join(String.class))
            .otherwise(
                Route.<String>branch(REST)
                    .stage(StageName.of("clean"), (String s, StageContext c) -> s)
                    .join(String.class))
            .build();
    PipelineBuilder<String, String> builder =
        Pipeline.builder("checked", String.class)
            .stage(REST, (String s, StageContext c) -> s)
            .stage(ROUTE, route);

    assertThat(problemsOf(builder))
        .contains(
            "route 'by-kind': the name 'clean' is given twice in the route",
            "route 'by-kind': the name 'rest' of a branch or branch stage is also the pipeline's"
                + " stage 'rest'");
  }

  @Test
  void aRouteWithSinksInsideABranchAndARouteWithoutBranchesAreReported() {
    Route<String, String> inner =
        Route.builder(String.class, String.class)
            .otherwise(Route.<String>branch(StageName.of("inner")).to(r -> {}))
            .build();
    Route<String, String> outer =
        Route.builder(String.class, String.class)
            .otherwise(
                Route.<String>branch(REST).stage(StageName.of("nested"), inner).join(String.class))
            .build();

    assertThat(problemsOf(pipelineWith(outer)))
        .contains(
            "stage 'nested' of branch 'rest' is a route with branches that end at sinks, which"
                + " only a route that is a stage of the pipeline may have");
    assertThat(problemsOf(pipelineWith(Route.builder(String.class, String.class).build())))
        .contains("route 'by-kind': the route has no branches");
  }

  @Test
  void branchOptionsThatBelongToTheRouteStageAreRefusedAtOnce() {
    RouteBranch<String, String> branch = Route.branch(WORDS);
    Stage<String, String> same = (s, c) -> s;

    assertThatThrownBy(
            () -> branch.stage(StageName.of("slow"), same, o -> o.timeout(Duration.ofSeconds(1))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("stage 'slow' of branch 'words'")
        .hasMessageContaining("set s.timeout(...) on the route stage");
    assertThatThrownBy(
            () -> branch.stage(StageName.of("held"), same, o -> o.fallback(Fallback.hold())))
        .hasMessageContaining("Fallback.hold()");
    assertThatThrownBy(() -> branch.stage(StageName.of("wide"), same, o -> o.concurrency(4)))
        .hasMessageContaining("concurrency and batch sizes are the route stage's");
    assertThatThrownBy(() -> branch.to(r -> {}, o -> o.concurrency(4)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the sink of branch 'words'")
        .hasMessageContaining(
            "retry, circuitBreaker, rateLimit, timeout, Fallback.hold() and codec only");
    RouteBranch<String, String> ended = branch.join(String.class);
    assertThatThrownBy(() -> ended.stage(StageName.of("late"), same))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("branch 'words' has ended (by joining)");
  }
}
