package dev.pipeline.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.CircuitOpenException;
import dev.pipeline.Envelope;
import dev.pipeline.Parallel;
import dev.pipeline.Pipeline;
import dev.pipeline.Route;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.Stage;
import dev.pipeline.StageName;
import dev.pipeline.StageOptions;
import dev.pipeline.StageTimeoutException;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.resilience.TokenBucket;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.InMemoryPipelineStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A stage tested alone meets the policies it has in a pipeline, through the same call path. */
class StageTesterPoliciesTest {

  private static final Stage<String, String> ALWAYS_FAILS =
      (input, context) -> {
        throw new IllegalStateException("service down for " + input);
      };

  @Test
  void opensTheStagesCircuitAndRefusesCallsWithoutMakingThem() {
    AtomicInteger calls = new AtomicInteger();
    StageTester<String, String> tester =
        StageTester.<String, String>of(
                (input, context) -> {
                  calls.incrementAndGet();
                  throw new IllegalStateException("down");
                })
            .options(
                o ->
                    o.circuitBreaker(
                        CircuitBreaker.failureRate(0.5)
                            .minCalls(2)
                            .window(2)
                            .openFor(Duration.ofSeconds(30))));

    List<StageResult<String>> results = tester.runAll(List.of("a", "b", "c", "d"));

    assertThat(calls).hasValue(2);
    assertThat(results.get(2).failure())
        .isInstanceOf(CircuitOpenException.class)
        .hasMessageContaining("record 'record-3'");
    assertThat(results.get(3).failure()).isInstanceOf(CircuitOpenException.class);

    // the breaker keeps the tester's clock: after its open time, a trial call goes through
    tester.clock().advance(Duration.ofSeconds(31));
    tester.run("e");
    assertThat(calls).hasValue(3);
  }

  @Test
  void passesRecordsDegradedThroughTheFallbackWhileTheCircuitIsOpen() {
    StageTester<String, String> tester =
        StageTester.of(ALWAYS_FAILS)
            .options(
                o ->
                    o.circuitBreaker(CircuitBreaker.failureRate(1.0).minCalls(1).window(1))
                        .fallback(Fallback.<String, String>to((input, cause, context) -> "n/a")));

    StageResult<String> failed = tester.run("a");
    StageResult<String> refused = tester.run("b");

    assertThat(failed.isDegraded()).isTrue();
    assertThat(failed.output()).isEqualTo("n/a");
    assertThat(failed.errors()).singleElement().isInstanceOf(IllegalStateException.class);
    assertThat(refused.isDegraded()).isTrue();
    assertThat(refused.errors()).isEmpty();
    assertThat(refused.addedMetadata())
        .containsEntry(Fallback.DEGRADED, StageTester.DEFAULT_STAGE_NAME.value());
  }

  @Test
  void skipFallbackPassesTheInputOnAfterTheRetries() {
    StageResult<String> result =
        StageTester.of(ALWAYS_FAILS)
            .options(
                o ->
                    o.retry(
                            RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofSeconds(1))
                                .maxRetries(2))
                        .fallback(Fallback.skip()))
            .run("crane");

    assertThat(result.isDegraded()).isTrue();
    assertThat(result.output()).isEqualTo("crane");
    assertThat(result.attempts()).isEqualTo(3);
    assertThat(result.errors()).hasSize(3);
  }

  @Test
  void failsWithTheFallbacksErrorAfterTheStagesWhenTheFallbackFails() {
    StageResult<String> result =
        StageTester.of(ALWAYS_FAILS)
            .options(
                o ->
                    o.fallback(
                        Fallback.<String, String>to(
                            (input, cause, context) -> {
                              throw new IllegalArgumentException("no default either");
                            })))
            .run("crane");

    assertThat(result.isFailed()).isTrue();
    assertThat(result.isDegraded()).isFalse();
    assertThat(result.errors())
        .extracting(e -> e.getClass().getSimpleName())
        .containsExactly("IllegalStateException", "IllegalArgumentException");
  }

  @Test
  void timesOutACallThatRunsPastTheTimeoutOnTheTestersClock() {
    ManualClock clock = ManualClock.create();
    StageResult<String> result =
        StageTester.of(
                (String input, dev.pipeline.StageContext context) -> {
                  clock.advance(Duration.ofSeconds(3));
                  return input;
                })
            .clock(clock)
            .options(o -> o.timeout(Duration.ofSeconds(2)))
            .run("slow");

    assertThat(result.failure())
        .isInstanceOf(StageTimeoutException.class)
        .hasMessageContaining("timed out after 2000ms on record 'record-1'");
  }

  @Test
  void takesATokenPerRecordFromTheRateLimitOnTheTestersClock() {
    ManualClock clock = ManualClock.create();
    StageTester<String, String> tester =
        StageTester.of((String s) -> s)
            .clock(clock)
            .options(o -> o.rateLimit(TokenBucket.perSecond(1)));

    tester.runAll(List.of("a", "b", "c"));

    // a full bucket of one token, then a token a second: the tester waited on its clock
    assertThat(clock.elapsed()).isGreaterThanOrEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void retriesAWholeBatchCallThatFailedAsOneAsThePipelineDoes() {
    List<Integer> calls = new ArrayList<>();
    List<StageResult<String>> results =
        StageTester.ofBatch(
                (List<String> inputs, dev.pipeline.StageContext context) -> {
                  calls.add(inputs.size());
                  if (calls.size() == 1) {
                    throw new IllegalStateException("bulk endpoint busy");
                  }
                  return inputs;
                })
            .options(
                o ->
                    o.retry(
                        RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofSeconds(1))
                            .maxRetries(1)))
            .runAll(List.of("a", "b", "c"));

    assertThat(calls).containsExactly(3, 3);
    assertThat(results).extracting(StageResult::attempts).containsExactly(2, 2, 2);
    assertThat(results).extracting(StageResult::output).containsExactly("a", "b", "c");
  }

  @Test
  void endsARecordAloneAsThePipelineEndsIt() throws Exception {
    Stage<String, String> stage =
        (input, context) -> {
          if (input.startsWith("bad")) {
            throw new IllegalArgumentException("cannot parse " + input);
          }
          return input.toUpperCase(java.util.Locale.ROOT);
        };
    Consumer<StageOptions.Builder> options =
        o ->
            o.retry(
                    RetryPolicy.exponential(Duration.ofMillis(1), Duration.ofMillis(1))
                        .maxRetries(1))
                .fallback(Fallback.<String, String>to((input, cause, context) -> "fallback"));
    List<String> inputs = List.of("ok", "bad-1", "fine");

    List<StageResult<String>> alone =
        StageTester.of(stage).stageName(StageName.of("parse")).options(options).runAll(inputs);

    InMemoryPipelineStore store = InMemoryPipelineStore.create();
    List<Envelope<String>> published = new ArrayList<>();
    RunResult result =
        Pipeline.builder("parity", String.class)
            .stage(StageName.of("parse"), stage, options)
            .sink(published::addAll)
            .store(store)
            .build()
            .run(Source.of("in", inputs.iterator()));

    assertThat(result.status()).hasToString("COMPLETED");
    assertThat(alone).extracting(StageResult::output).containsExactly("OK", "fallback", "FINE");
    assertThat(published).extracting(Envelope::payload).containsExactly("OK", "fallback", "FINE");
    assertThat(alone.get(1).attempts()).isEqualTo(2);
    assertThat(store.deadLetters("parity", DeadLetterQuery.all()).items()).isEmpty();
  }

  @Test
  void refusesOptionsWithARetryPolicyOrAfterTheFirstRun() {
    assertThatThrownBy(
            () -> StageTester.of((String s) -> s).retry(RetryPolicy.none()).options(o -> {}))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("retry policy was already set");
    StageTester<String, String> ran = StageTester.of((String s) -> s);
    ran.run("a");
    assertThatThrownBy(() -> ran.options(o -> {}))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("before its first run");
  }

  @Test
  @Timeout(60) // unbound, the branch's retry would sleep an hour on the system clock: fail instead
  void aFanOutsBranchesRetryOnTheTestersClockAndKeepTheirCircuitAcrossRuns() {
    AtomicInteger translations = new AtomicInteger();
    Stage<String, String> flakyTranslation =
        (input, context) -> {
          if (translations.incrementAndGet() == 1) {
            throw new IllegalStateException("translation service busy");
          }
          return input.toUpperCase(java.util.Locale.ROOT);
        };
    AtomicInteger analyses = new AtomicInteger();
    Stage<String, Integer> failingAnalysis =
        (input, context) -> {
          analyses.incrementAndGet();
          throw new IllegalStateException("analysis down");
        };
    Parallel<String, String> fanOut =
        Parallel.join(
            Parallel.branch(
                StageName.of("translation"),
                flakyTranslation,
                o ->
                    o.retry(
                        RetryPolicy.exponential(Duration.ofHours(1), Duration.ofHours(1))
                            .maxRetries(1))),
            Parallel.branch(
                StageName.of("analysis"),
                failingAnalysis,
                o ->
                    o.fallback(Fallback.to((input, cause, context) -> -1))
                        .circuitBreaker(
                            CircuitBreaker.failureRate(0.5)
                                .minCalls(2)
                                .window(2)
                                .openFor(Duration.ofHours(2)))),
            (text, score) -> text + ":" + score);
    StageTester<String, String> tester = StageTester.of(fanOut);

    List<StageResult<String>> results = tester.runAll(List.of("a", "b", "c"));

    // the retry slept on the tester's clock, not the system's (an hour would hang the test)
    assertThat(tester.clock().sleeps()).contains(Duration.ofHours(1));
    assertThat(results).extracting(StageResult::output).containsExactly("A:-1", "B:-1", "C:-1");
    // the analysis circuit opened after two failed calls and stayed open for the third run
    assertThat(analyses).hasValue(2);
  }

  @Test
  @Timeout(60) // unbound, the branch stage's retry would sleep an hour on the system clock
  void aRoutesBranchStagesRetryOnTheTestersClockAndASinkBranchSaysToTestInAPipeline() {
    AtomicInteger lookups = new AtomicInteger();
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.startsWith("to-sink"),
                Route.<String>branch(StageName.of("side")).to(records -> {}))
            .otherwise(
                Route.<String>branch(StageName.of("main"))
                    .stage(
                        StageName.of("lookup"),
                        (String s, dev.pipeline.StageContext c) -> {
                          if (lookups.incrementAndGet() == 1) {
                            throw new IllegalStateException("lookup busy");
                          }
                          return s + "-found";
                        },
                        o ->
                            o.retry(
                                RetryPolicy.exponential(Duration.ofHours(1), Duration.ofHours(1))
                                    .maxRetries(1)))
                    .join(String.class))
            .build();
    StageTester<String, String> tester = StageTester.of(route);

    assertThat(tester.run("a").output()).isEqualTo("a-found");
    assertThat(tester.clock().sleeps()).contains(Duration.ofHours(1));
    assertThat(tester.run("to-sink").failure())
        .isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("branch 'side' of route")
        .hasMessageContaining("PipelineTester");
  }
}
