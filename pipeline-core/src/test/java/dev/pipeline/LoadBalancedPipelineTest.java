package dev.pipeline;

import static dev.pipeline.StageName.TRANSLATION;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.metrics.ImplementationMetrics;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.InMemoryPipelineStore;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Load-balanced stages in whole pipelines on the in-memory store: records find their way around a
 * broken implementation, carry the name of the one that took them, and dead letters name it.
 */
class LoadBalancedPipelineTest {
  private static final String KEY = LoadBalancedStage.metadataKey(TRANSLATION);

  private final FakeClock clock = new FakeClock();
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();

  private static List<String> ids(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> "r" + i).toList();
  }

  private static Source<String> source(List<String> ids) {
    return Source.of("src", ids.iterator(), id -> id);
  }

  private static ImplementationMetrics metrics(List<ImplementationMetrics> all, String name) {
    return all.stream().filter(m -> m.name().equals(name)).findFirst().orElseThrow();
  }

  private static RetryPolicy retries(int max) {
    return RetryPolicy.exponential(Duration.ofMillis(10), Duration.ofMillis(100)).maxRetries(max);
  }

  @Test
  void theJavadocExampleRuns() {
    Stage<String, String> deepl = (s, c) -> "deepl:" + s;
    Stage<String, String> google = (s, c) -> "google:" + s;
    // as in LoadBalancedStage's class javadoc
    LoadBalancedStage<String, String> translate =
        LoadBalancedStage.<String, String>builder()
            .add("deepl", deepl)
            .add("google", google, o -> o.weight(3).circuitBreaker(CircuitBreaker.failureRate(0.5)))
            .policy(LoadBalancePolicy.leastLatency())
            .clock(clock) // the pipeline's
            .build();
    Pipeline<String, String> pipeline =
        Pipeline.builder("docs", String.class)
            .clock(clock)
            .stage(TRANSLATION, translate)
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(8)));

    assertThat(result.published()).isEqualTo(8);
    assertThat(sink)
        .allSatisfy(e -> assertThat(e.payload()).isEqualTo(e.metadata().get(KEY) + ":" + e.id()));
    assertThat(translate.metrics())
        .extracting(ImplementationMetrics::calls)
        .as("no call takes clock time, so every pick is a tie: round robin by weight, 1 to 3")
        .containsExactly(2L, 6L);
  }

  @Test
  void whenOneImplementationFailsEveryCallEveryRecordIsPublishedThroughTheOther() {
    LoadBalancedStage<String, String> translate =
        LoadBalancedStage.<String, String>builder()
            .add(
                "broken",
                (s, c) -> {
                  throw new IOException("503 from broken");
                },
                o ->
                    o.circuitBreaker(
                        CircuitBreaker.failureRate(0.5)
                            .minCalls(4)
                            .window(4)
                            .openFor(Duration.ofHours(1))))
            .add("working", (s, c) -> s.toUpperCase(Locale.ROOT))
            .clock(clock)
            .build();
    Pipeline<String, String> pipeline =
        Pipeline.builder("balanced", String.class)
            .store(InMemoryPipelineStore.create())
            .clock(clock)
            // more retries than "broken" can take calls before its circuit opens (4 failures,
            // and at most 3 more already let through by the other workers)
            .stage(TRANSLATION, translate, o -> o.concurrency(4).batchSize(8).retry(retries(10)))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(50)));

    assertThat(result.published()).isEqualTo(50);
    assertThat(result.deadLettered()).isZero();
    assertThat(sink).extracting(Envelope::payload).contains("R1", "R50");
    assertThat(sink)
        .as("each record names the implementation that translated it")
        .allSatisfy(e -> assertThat(e.metadata()).containsEntry(KEY, "working"));
    List<ImplementationMetrics> live = translate.metrics();
    ImplementationMetrics broken = metrics(live, "broken");
    assertThat(broken.circuit()).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(broken.failures()).isEqualTo(broken.calls()).isBetween(4L, 7L);
    assertThat(metrics(live, "working").calls()).isEqualTo(50);
    assertThat(metrics(live, "working").failures()).isZero();
    assertThat(result.metrics().stage("translation").errorsByType())
        .as("the stage counts the implementation's own error type")
        .containsExactly(Map.entry("IOException", broken.failures()));
    Outcomes.assertEachEndedOnce(pipeline, result, ids(50), sink);
  }

  @Test
  void aRecordNoImplementationTakesIsDeadLetteredNamingTheImplementationOfEachError() {
    Stage<String, String> deepl =
        (s, c) -> {
          if (s.equals("r3")) {
            throw new IOException("deepl cannot");
          }
          return "deepl:" + s;
        };
    Stage<String, String> google =
        (s, c) -> {
          if (s.equals("r3")) {
            throw new IOException("google cannot");
          }
          return "google:" + s;
        };
    LoadBalancedStage<String, String> translate =
        LoadBalancedStage.<String, String>builder()
            .add("deepl", deepl)
            .add("google", google)
            .clock(clock)
            .build();
    Pipeline<String, String> pipeline =
        Pipeline.builder("dead-lettered", String.class)
            .clock(clock)
            .stage(TRANSLATION, translate, o -> o.retry(retries(2)))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(6)));

    assertThat(result.published()).isEqualTo(5);
    assertThat(sink)
        .allSatisfy(e -> assertThat(e.payload()).isEqualTo(e.metadata().get(KEY) + ":" + e.id()));
    assertThat(sink)
        .as("calls were shared out")
        .extracting(e -> e.metadata().get(KEY))
        .contains("deepl", "google");
    DeadLetter r3 = Outcomes.deadLetter(pipeline, "r3");
    assertThat(r3.errors()).hasSize(3);
    List<String> named = new ArrayList<>();
    for (ErrorInfo error : r3.errors()) {
      String implementation = LoadBalancedStage.implementationOf(error).orElseThrow();
      assertThat(error.errorType()).isEqualTo("IOException");
      assertThat(error.message()).isEqualTo(implementation + " cannot");
      named.add(implementation);
    }
    assertThat(named)
        .as("each retry picks again, so the record tried both")
        .contains("deepl", "google");
    Outcomes.assertEachEndedOnce(pipeline, result, ids(6), sink);
  }

  @Test
  void whileEveryImplementationIsDownTheStagesOwnCircuitHoldsRecordsUntilOneRecovers() {
    long recoversAt = Duration.ofSeconds(20).toNanos();
    Stage<String, String> flaky =
        (s, c) -> {
          if (clock.nanoTime() < recoversAt) {
            throw new IOException("down");
          }
          return s;
        };
    CircuitBreaker each =
        CircuitBreaker.failureRate(0.5).minCalls(1).window(1).openFor(Duration.ofSeconds(1));
    LoadBalancedStage<String, String> translate =
        LoadBalancedStage.<String, String>builder()
            .add("a", flaky, o -> o.circuitBreaker(each))
            .add("b", flaky, o -> o.circuitBreaker(each))
            .clock(clock)
            .build();
    Pipeline<String, String> pipeline =
        Pipeline.builder("held", String.class)
            .clock(clock)
            .stage(
                TRANSLATION,
                translate,
                o ->
                    o.retry(retries(1))
                        .circuitBreaker(
                            CircuitBreaker.failureRate(0.5)
                                .minCalls(2)
                                .window(4)
                                .openFor(Duration.ofSeconds(5))
                                .halfOpenCalls(1))
                        .fallback(Fallback.hold())
                        .batchSize(1))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(20)));

    assertThat(result.metrics().stage("translation").resilience().held())
        .as("refusals of every implementation opened the stage's circuit, which held records")
        .isPositive();
    assertThat(result.published() + result.deadLettered()).isEqualTo(20);
    assertThat(result.published())
        .as("held records waited for an implementation to recover")
        .isPositive();
    assertThat(sink).allSatisfy(e -> assertThat(e.metadata()).containsKey(KEY));
    Outcomes.assertEachEndedOnce(pipeline, result, ids(20), sink);
  }

  @Test
  void aBatchStageRoutesWholeBatchesAndNamesTheImplementationOnRecordsItFailsAlone() {
    LoadBalancedBatchStage<String, String> translate =
        LoadBalancedBatchStage.<String, String>builder()
            .add(
                "broken",
                (inputs, c) -> {
                  throw new IOException("batch endpoint down");
                },
                o ->
                    o.circuitBreaker(
                        CircuitBreaker.failureRate(1.0)
                            .minCalls(2)
                            .window(2)
                            .openFor(Duration.ofHours(1))))
            .add(
                "working",
                (inputs, c) -> {
                  List<String> out = new ArrayList<>();
                  for (int i = 0; i < inputs.size(); i++) {
                    if (inputs.get(i).equals("r7")) {
                      c.fail(i, new IllegalArgumentException("untranslatable"));
                      out.add(null);
                    } else {
                      out.add("t:" + inputs.get(i));
                    }
                  }
                  return out;
                })
            .clock(clock)
            .build();
    Pipeline<String, String> pipeline =
        Pipeline.builder("batched", String.class)
            .clock(clock)
            .batchStage(
                TRANSLATION,
                translate,
                o ->
                    o.batchSize(4)
                        .retry(
                            RetryPolicy.exponential(Duration.ofMillis(10), Duration.ofMillis(100))
                                .maxRetries(10)
                                .abortOn(IllegalArgumentException.class)))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(12)));

    assertThat(result.published()).isEqualTo(11);
    assertThat(sink).allSatisfy(e -> assertThat(e.metadata()).containsEntry(KEY, "working"));
    DeadLetter r7 = Outcomes.deadLetter(pipeline, "r7");
    ErrorInfo last = r7.errors().get(r7.errors().size() - 1);
    assertThat(last.errorType()).isEqualTo("IllegalArgumentException");
    assertThat(LoadBalancedStage.implementationOf(last)).contains("working");
    ImplementationMetrics broken = metrics(translate.metrics(), "broken");
    assertThat(broken.circuit()).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(broken.calls()).isEqualTo(2);
    assertThat(metrics(translate.metrics(), "working").failures())
        .as("a record failed through the context is not a failed call")
        .isZero();
    Outcomes.assertEachEndedOnce(pipeline, result, ids(12), sink);
  }
}
