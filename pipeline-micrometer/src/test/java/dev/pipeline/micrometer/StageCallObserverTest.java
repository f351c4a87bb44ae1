package dev.pipeline.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageCallListener;
import dev.pipeline.StageName;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.testkit.ManualClock;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationView;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class StageCallObserverTest {
  private static final StageName CLEANING = StageName.of("cleaning");
  private static final StageName ANALYSIS = StageName.of("analysis");

  private final ManualClock clock = ManualClock.create();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final TestObservationRegistry observations = TestObservationRegistry.create();
  private final List<String> published = new CopyOnWriteArrayList<>();

  /** Cleaning takes 5 ms of the clock; drops "drop-*"; fails "bad-*" for good, "flaky-*" once. */
  private Pipeline<String, String> pipeline(StageCallObserver observer, String name) {
    Set<String> failedOnce = ConcurrentHashMap.newKeySet();
    return Pipeline.builder(name, String.class)
        .stage(
            CLEANING,
            (String s) -> {
              clock.advance(Duration.ofMillis(5));
              if (s.startsWith("drop")) {
                throw RecordFilteredException.because("not wanted");
              }
              if (s.startsWith("bad")) {
                throw new IllegalArgumentException("bad record " + s);
              }
              if (s.startsWith("flaky") && failedOnce.add(s)) {
                throw new IllegalStateException("first try fails");
              }
              return s;
            },
            o ->
                o.retry(
                    RetryPolicy.exponential(Duration.ofMillis(1), Duration.ofMillis(1))
                        .maxRetries(1)))
        .stage(ANALYSIS, (String s) -> s.toUpperCase(Locale.ROOT))
        .sink(batch -> batch.stream().map(Envelope::payload).forEach(published::add))
        .retryQueueAfter(Duration.ofMinutes(1))
        .clock(clock)
        .callListener(observer)
        .build();
  }

  private static Source<String> source(List<String> ids) {
    return Source.of("src", ids.iterator(), id -> id);
  }

  private Timer timer(String pipeline, String stage, String outcome) {
    return meters
        .get(StageCallObserver.DURATION)
        .tags("pipeline", pipeline, "stage", stage, "outcome", outcome)
        .timer();
  }

  private double records(String stage, String outcome) {
    return meters
        .get(StageCallObserver.RECORDS)
        .tags("pipeline", "observed", "stage", stage, "outcome", outcome)
        .counter()
        .count();
  }

  @Test
  void callsAreTimedOnThePipelineClockAndRecordsCountedByOutcome() {
    StageCallObserver observer = StageCallObserver.create(meters);
    Pipeline<String, String> pipeline = pipeline(observer, "observed");

    RunResult result = pipeline.run(source(List.of("a", "b", "drop-1", "bad-1", "flaky-1")));

    assertThat(result.published()).isEqualTo(3);
    assertThat(timer("observed", "cleaning", "passed").count())
        .as("a, b, and flaky-1's retry")
        .isEqualTo(3);
    assertThat(timer("observed", "cleaning", "filtered").count()).isEqualTo(1);
    assertThat(timer("observed", "cleaning", "failed").count())
        .as("bad-1 twice (one retry), flaky-1 once")
        .isEqualTo(3);
    assertThat(timer("observed", "cleaning", "passed").totalTime(TimeUnit.MILLISECONDS))
        .as("each call took 5 ms of the pipeline's clock")
        .isEqualTo(15.0);
    assertThat(timer("observed", "cleaning", "cancelled").count()).isZero();
    assertThat(timer("observed", "analysis", "passed").count()).isEqualTo(3);
    assertThat(meters.get(StageCallObserver.DURATION).tags("stage", "sink").timers())
        .as("the sink's calls are timed too")
        .isNotEmpty();
    assertThat(records("cleaning", "passed")).isEqualTo(3);
    assertThat(records("cleaning", "failed")).isEqualTo(3);
    assertThat(records("sink", "passed")).isEqualTo(3);
    assertThat(
            meters
                .get(StageCallObserver.ERRORS)
                .tags("stage", "cleaning", "error", "IllegalArgumentException")
                .counter()
                .count())
        .isEqualTo(2);
    assertThat(
            meters
                .get(StageCallObserver.ERRORS)
                .tags("stage", "cleaning", "error", "IllegalStateException")
                .counter()
                .count())
        .isEqualTo(1);

    pipeline.run(source(List.of("c", "d")));

    assertThat(timer("observed", "cleaning", "passed").count())
        .as("counted across runs: meters are monotonic")
        .isEqualTo(5);
  }

  @Test
  void noMeterIsTaggedWithARecordSoSeriesStayBoundedHoweverManyRecordsPass() {
    StageCallObserver observer = StageCallObserver.create(meters, observations);
    Pipeline<String, String> pipeline = pipeline(observer, "bounded");
    List<String> few = List.of("a", "drop-1", "bad-1", "flaky-1");

    pipeline.run(source(few));
    List<Meter.Id> afterFew = meters.getMeters().stream().map(Meter::getId).toList();
    List<String> many =
        IntStream.range(0, 2_000)
            .mapToObj(i -> (i % 3 == 0 ? "drop-" : i % 7 == 0 ? "bad-" : "rec-") + i)
            .toList();
    pipeline.run(source(many));

    assertThat(meters.getMeters().stream().map(Meter::getId))
        .as("2,000 more records with ids of their own add no series")
        .containsExactlyInAnyOrderElementsOf(afterFew);
    Set<String> tagValues =
        meters.getMeters().stream()
            .flatMap(m -> m.getId().getTags().stream())
            .map(Tag::getValue)
            .collect(Collectors.toSet());
    assertThat(tagValues)
        .as("no record id is a tag value")
        .doesNotContainAnyElementsOf(many)
        .doesNotContainAnyElementsOf(few);
  }

  @Test
  void eachCallIsAnObservationThatTheStagesOwnObservationsNestIn() {
    StageCallObserver observer = StageCallObserver.create(meters, observations);
    Map<String, ObservationView> parentSeenInStage = new ConcurrentHashMap<>();
    Pipeline<String, String> pipeline =
        Pipeline.builder("traced", String.class)
            .stage(
                CLEANING,
                (String s) -> {
                  // what an instrumented client called from the stage would do
                  Observation child =
                      Observation.createNotStarted("http.client.requests", observations).start();
                  ObservationView parent = child.getContextView().getParentObservation();
                  if (parent != null) {
                    parentSeenInStage.put(s, parent);
                  }
                  child.stop();
                  if (s.startsWith("bad")) {
                    throw new IllegalArgumentException("bad");
                  }
                  return s;
                })
            .sink(batch -> {})
            .clock(clock)
            .callListener(observer)
            .build();

    String hostile = "bad\nline\u001B[2J" + "x".repeat(500);
    pipeline.run(source(List.of("a", hostile)));

    TestObservationRegistryAssert.assertThat(observations)
        .hasNumberOfObservationsWithNameEqualTo(StageCallObserver.OBSERVATION, 3)
        .forAllObservationsWithNameEqualTo(
            StageCallObserver.OBSERVATION,
            o ->
                o.hasLowCardinalityKeyValue("pipeline", "traced")
                    .hasLowCardinalityKeyValueWithKey("stage")
                    .hasLowCardinalityKeyValueWithKey("outcome")
                    .hasHighCardinalityKeyValueWithKey("pipeline.record.id")
                    .doesNotHaveLowCardinalityKeyValueWithKey("pipeline.record.id"))
        .hasAnObservation(
            o ->
                o.hasContextualNameEqualTo("cleaning")
                    .hasLowCardinalityKeyValue("outcome", "failed")
                    .hasError())
        .hasAnObservation(
            o ->
                o.hasContextualNameEqualTo("sink")
                    .hasLowCardinalityKeyValue("outcome", "passed")
                    .hasHighCardinalityKeyValue("pipeline.records", "1"));
    assertThat(parentSeenInStage.get("a"))
        .as("the stage's own observation has the call's as its parent")
        .isNotNull()
        .satisfies(
            parent -> {
              StageCallContext context = (StageCallContext) parent.getContextView();
              assertThat(context.call().stage()).isEqualTo("cleaning");
              assertThat(context.call().firstRecordId()).isEqualTo("a");
            });
    TestObservationRegistryAssert.assertThat(observations)
        .hasHandledContextsThatSatisfy(
            contexts -> {
              StageCallContext failed =
                  contexts.stream()
                      .filter(StageCallContext.class::isInstance)
                      .map(StageCallContext.class::cast)
                      .filter(c -> c.outcome() == StageCallListener.Outcome.FAILED)
                      .findFirst()
                      .orElseThrow();
              assertThat(failed.getHighCardinalityKeyValue("pipeline.record.id").getValue())
                  .as("cut and escaped: no line break or terminal escape")
                  .startsWith("bad\\nline\\u001B[2J")
                  .doesNotContain("\n", "\u001B")
                  .hasSizeLessThan(StageCallObserver.MAX_RECORD_ID_CHARS + 40);
            });
  }

  @Test
  void theTracedErrorIsBoundedMaskedAndEscapedAndKeepsTheType() {
    StageCallObserver observer = StageCallObserver.create(meters, observations);
    Pipeline<String, String> pipeline =
        Pipeline.builder("traced-errors", String.class)
            .stage(
                CLEANING,
                (String s) -> {
                  if (s.isEmpty()) {
                    return s;
                  }
                  throw new IllegalStateException(
                      "cannot reach jdbc:postgresql://db/orders?password=hunter2\r\nforged"
                          + "x".repeat(100_000),
                      new RuntimeException("Authorization: Bearer abcdefgh12345678"));
                },
                o -> o.retry(RetryPolicy.none()))
            .sink(batch -> {})
            .clock(clock)
            .callListener(observer)
            .build();

    pipeline.run(source(List.of("a")));

    TestObservationRegistryAssert.assertThat(observations)
        .hasHandledContextsThatSatisfy(
            contexts -> {
              Throwable error =
                  contexts.stream()
                      .filter(StageCallContext.class::isInstance)
                      .map(Observation.Context::getError)
                      .filter(e -> e != null)
                      .findFirst()
                      .orElseThrow();
              assertThat(error).isInstanceOf(ObservedError.class).hasNoCause();
              assertThat(((ObservedError) error).errorType())
                  .isEqualTo(IllegalStateException.class.getName());
              assertThat(error.getMessage())
                  .startsWith(
                      "cannot reach jdbc:postgresql://db/orders?password=***\\r\\nforgedxxx")
                  .doesNotContain("hunter2", "\r", "\n")
                  .hasSizeLessThan(ObservedError.MAX_MESSAGE_CHARS + 40);
              assertThat(error.toString())
                  .startsWith("java.lang.IllegalStateException: cannot reach");
              assertThat(error.getStackTrace())
                  .as("the original's frames")
                  .anyMatch(f -> f.getClassName().startsWith(getClass().getName()));
            });
  }

  @Test
  void errorTypesBeyondTheLimitAreCountedAsOther() throws ReflectiveOperationException {
    StageCallObserver observer = StageCallObserver.create(meters);
    StageCallListener.Call call = new StageCallListener.Call("p", "s", 1, "r");
    List<Class<? extends Throwable>> types =
        List.of(
            IllegalArgumentException.class,
            IllegalStateException.class,
            UnsupportedOperationException.class,
            ArithmeticException.class,
            ArrayStoreException.class,
            ClassCastException.class,
            IndexOutOfBoundsException.class,
            NegativeArraySizeException.class,
            NullPointerException.class,
            SecurityException.class,
            java.util.NoSuchElementException.class,
            java.util.ConcurrentModificationException.class,
            java.io.IOException.class,
            java.io.EOFException.class,
            java.io.FileNotFoundException.class,
            java.net.SocketException.class,
            java.net.SocketTimeoutException.class,
            java.net.UnknownHostException.class,
            java.net.ConnectException.class,
            java.util.concurrent.TimeoutException.class,
            java.util.concurrent.CancellationException.class,
            java.util.concurrent.RejectedExecutionException.class,
            java.nio.BufferOverflowException.class,
            java.nio.BufferUnderflowException.class,
            java.util.EmptyStackException.class,
            java.util.InputMismatchException.class,
            IllegalMonitorStateException.class,
            IllegalCallerException.class,
            ArrayIndexOutOfBoundsException.class,
            StringIndexOutOfBoundsException.class,
            NumberFormatException.class,
            InterruptedException.class,
            CloneNotSupportedException.class,
            ClassNotFoundException.class,
            InstantiationException.class,
            IllegalAccessException.class,
            NoSuchFieldException.class,
            NoSuchMethodException.class,
            ReflectiveOperationException.class,
            Exception.class,
            RuntimeException.class,
            Throwable.class);
    for (Class<? extends Throwable> type : types) {
      Throwable error = type.getConstructor().newInstance();
      observer.callEnded(call, null, StageCallListener.Outcome.FAILED, 1, error);
    }

    assertThat(types).hasSize(StageCallObserver.MAX_ERROR_TYPES + 10);
    assertThat(meters.get(StageCallObserver.ERRORS).counters())
        .as("the first 32 types, and other")
        .hasSize(StageCallObserver.MAX_ERROR_TYPES + 1);
    assertThat(meters.get(StageCallObserver.ERRORS).tags("error", "other").counter().count())
        .as("the 10 error types past the limit")
        .isEqualTo(10);
  }
}
