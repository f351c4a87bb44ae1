package dev.pipeline.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineRun;
import dev.pipeline.ReferenceData;
import dev.pipeline.Route;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.TokenBucket;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.testkit.ManualClock;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MockClock;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.simple.SimpleConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PipelineMeterBinderTest {
  private static final StageName LOOKUP = StageName.of("lookup");
  private static final StageName GUARDED = StageName.of("guarded");
  private static final ReferenceData<String, Integer> LENGTHS =
      ReferenceData.named("lengths").build((String key) -> key.length());

  private final ManualClock clock = ManualClock.create();
  private final MockClock registryClock = new MockClock();
  private final SimpleMeterRegistry registry =
      new SimpleMeterRegistry(SimpleConfig.DEFAULT, registryClock);

  /** Looks each record's first letter up; the guarded stage fails records starting with "bad". */
  private Pipeline<String, String> pipeline(String name) {
    return Pipeline.builder(name, String.class)
        .stage(
            LOOKUP,
            (String s, StageContext context) ->
                s + context.reference(LENGTHS).get(s.substring(0, 1)))
        .stage(
            GUARDED,
            (String s) -> {
              if (s.startsWith("bad")) {
                throw new IllegalStateException("service refuses " + s);
              }
              return s;
            },
            o ->
                o.circuitBreaker(
                        CircuitBreaker.failureRate(0.5)
                            .minCalls(4)
                            .window(4)
                            .openFor(Duration.ofMinutes(5)))
                    .rateLimit(TokenBucket.perSecond(1_000).burst(1_000)))
        .referenceData(LENGTHS)
        .sink(batch -> {})
        .clock(clock)
        .build();
  }

  private static Source<String> source(List<String> ids) {
    return Source.of("src", ids.iterator(), id -> id);
  }

  private double gauge(String name, String... tags) {
    return registry.get(name).tags(tags).gauge().value();
  }

  private double functionCounter(String name, String... tags) {
    return registry.get(name).tags(tags).functionCounter().count();
  }

  @Test
  void gaugesShowTheStoreTheCircuitTheRateAndTheCaches() {
    Pipeline<String, String> pipeline = pipeline("gauged");
    PipelineMeterBinder.of(pipeline).bindTo(registry);

    assertThat(gauge("pipeline.circuit.state", "stage", "guarded", "state", "closed")).isOne();
    assertThat(gauge("pipeline.circuit.state", "stage", "guarded", "state", "open")).isZero();
    assertThat(gauge("pipeline.rate_limit.rate", "stage", "guarded")).isEqualTo(1_000);
    assertThat(registry.find("pipeline.circuit.state").tags("stage", "lookup").gauges())
        .as("no circuit gauge for a stage without a breaker")
        .isEmpty();
    assertThat(gauge("pipeline.queue.depth", "pipeline", "gauged", "stage", "lookup")).isZero();
    assertThat(gauge("pipeline.dead_letters", "pipeline", "gauged")).isZero();

    RunResult result =
        pipeline.run(source(List.of("bad-1", "bad-2", "bad-3", "bad-4", "a1", "b1")));
    registryClock.add(Duration.ofSeconds(2)); // past the snapshot taken before the run

    assertThat(result.deadLettered()).isEqualTo(6);
    assertThat(gauge("pipeline.circuit.state", "stage", "guarded", "state", "open"))
        .as("four failures in a window of four opened the circuit")
        .isOne();
    assertThat(gauge("pipeline.circuit.state", "stage", "guarded", "state", "closed")).isZero();
    assertThat(gauge("pipeline.dead_letters", "pipeline", "gauged")).isEqualTo(6);
    assertThat(gauge("pipeline.retry_queue", "pipeline", "gauged")).isZero();
    assertThat(gauge("pipeline.records.in_flight", "pipeline", "gauged")).isZero();
    assertThat(gauge("pipeline.stage.batch.size", "stage", "lookup"))
        .isEqualTo(pipeline.options(LOOKUP).batchSize());
    assertThat(functionCounter("pipeline.cache.gets", "cache", "lengths", "result", "miss"))
        .as("one load per first letter: b, a")
        .isEqualTo(2);
    assertThat(functionCounter("pipeline.cache.gets", "cache", "lengths", "result", "hit"))
        .isEqualTo(4);
    assertThat(functionCounter("pipeline.cache.loads", "cache", "lengths", "result", "success"))
        .isEqualTo(2);
    assertThat(functionCounter("pipeline.cache.loads", "cache", "lengths", "result", "failure"))
        .isZero();
    assertThat(registry.get("pipeline.cache.load.duration").functionTimer().count()).isEqualTo(2);
    assertThat(gauge("pipeline.cache.size", "cache", "lengths")).isEqualTo(2);
  }

  @Test
  void gaugesReadOneSnapshotUntilItIsOlderThanTheMaximumAge() {
    Pipeline<String, String> pipeline = pipeline("cached");
    PipelineMeterBinder.of(pipeline, Duration.ofSeconds(10)).bindTo(registry);
    pipeline.run(source(List.of("bad-1", "bad-2")));
    assertThat(gauge("pipeline.dead_letters", "pipeline", "cached")).isEqualTo(2);

    pipeline.deadLetters().discard(List.of("bad-1"), "checked by hand");
    registryClock.add(Duration.ofSeconds(9));
    double withinAge = gauge("pipeline.dead_letters", "pipeline", "cached");
    registryClock.add(Duration.ofSeconds(2));
    double pastAge = gauge("pipeline.dead_letters", "pipeline", "cached");

    assertThat(withinAge).as("the snapshot of 9 s ago is still read").isEqualTo(2);
    assertThat(pastAge).as("a new snapshot after 11 s").isOne();
    assertThat(pipeline.deadLetters().find(DeadLetterQuery.all()).items()).hasSize(1);
  }

  @Test
  void queueDepthIsReadWhileARunIsBusy() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("busy", Integer.class)
            .stage(
                StageName.of("slow"),
                (Integer i) -> {
                  release.await();
                  return i;
                },
                o -> o.batchSize(1))
            .sink(batch -> {})
            .build();
    PipelineMeterBinder.of(pipeline, Duration.ZERO).bindTo(registry);

    PipelineRun run =
        pipeline.start(
            Source.of("numbers", IntStream.range(0, 100).boxed().iterator(), i -> "n" + i));
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      double depth = 0;
      while (depth < 10 && System.nanoTime() < deadline) {
        depth = gauge("pipeline.queue.depth", "pipeline", "busy", "stage", "slow");
        Thread.onSpinWait();
      }
      assertThat(depth).as("records wait in front of the blocked stage").isGreaterThanOrEqualTo(10);
      assertThat(gauge("pipeline.records.in_flight", "pipeline", "busy")).isGreaterThan(0);
    } finally {
      release.countDown();
    }
    assertThat(run.await().published()).isEqualTo(100);
    assertThat(gauge("pipeline.queue.depth", "pipeline", "busy", "stage", "slow")).isZero();
  }

  @Test
  void tagsNameOnlyThePipelineItsStagesAndCachesAndCloseRemovesEveryMeter() {
    Pipeline<String, String> pipeline = pipeline("tidy");
    PipelineMeterBinder binder = PipelineMeterBinder.of(pipeline);
    binder.bindTo(registry);
    List<String> ids = IntStream.range(0, 500).mapToObj(i -> "a-record-" + i).toList();
    pipeline.run(source(ids));
    registry.getMeters().forEach(m -> m.measure().forEach(ms -> {})); // every gauge read

    Set<String> tagValues =
        registry.getMeters().stream()
            .flatMap(m -> m.getId().getTags().stream())
            .map(Tag::getValue)
            .collect(Collectors.toSet());
    assertThat(tagValues)
        .doesNotContainAnyElementsOf(ids)
        .containsOnly(
            "tidy",
            "lookup",
            "guarded",
            "sink",
            "store",
            "lengths",
            "closed",
            "open",
            "half_open",
            "hit",
            "miss",
            "success",
            "failure");

    binder.close();

    assertThat(registry.getMeters().stream().map(Meter::getId)).isEmpty();
  }

  @Test
  void theSinksAndTheStoreHaveUtilizationGaugesAndABranchSinkItsPolicyGauges() {
    StageName wordSink = StageName.branchSink(StageName.of("by-kind"), StageName.of("words"));
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(
                s -> s.startsWith("w"),
                Route.<String>branch(StageName.of("words"))
                    .to(
                        records -> clock.advance(Duration.ofSeconds(1)), // a slow index
                        o ->
                            o.circuitBreaker(CircuitBreaker.failureRate(0.5))
                                .rateLimit(TokenBucket.perSecond(500).burst(500))))
            .otherwise(Route.<String>branch(StageName.of("rest")).join(String.class))
            .build();
    Pipeline<String, String> pipeline =
        Pipeline.builder("routed", String.class)
            .stage(StageName.of("by-kind"), route, o -> o.batchSize(1))
            .sink(batch -> {})
            .clock(clock)
            .build();
    PipelineMeterBinder.of(pipeline).bindTo(registry);

    assertThat(pipeline.branchSinks()).containsExactly(wordSink);
    assertThat(gauge("pipeline.circuit.state", "stage", wordSink.value(), "state", "closed"))
        .isOne();
    assertThat(gauge("pipeline.rate_limit.rate", "stage", wordSink.value())).isEqualTo(500);
    assertThat(gauge("pipeline.stage.utilization", "stage", wordSink.value()))
        .as("no run yet")
        .isZero();

    pipeline.run(source(List.of("w1", "w2", "w3", "x1")));
    registryClock.add(Duration.ofSeconds(2)); // past the snapshot taken before the run

    PipelineMetrics metrics = pipeline.metrics();
    assertThat(metrics.bottleneck().orElseThrow().stage())
        .as("each call of the branch's sink took a second")
        .isEqualTo(wordSink.value());
    for (String stage : List.of("by-kind", "sink", wordSink.value(), "store")) {
      assertThat(gauge("pipeline.stage.utilization", "stage", stage))
          .as(stage)
          .isEqualTo(metrics.stage(stage).utilization());
    }
  }

  @Test
  void aSnapshotAgeOutOfRangeIsRefusedWithTheRange() {
    Pipeline<String, String> pipeline = pipeline("ages");

    assertThatThrownBy(() -> PipelineMeterBinder.of(pipeline, Duration.ofHours(2)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "maxSnapshotAge must be between 0 and PT1H (0 takes a snapshot at every gauge read),"
                + " but was PT2H");
    assertThatThrownBy(() -> PipelineMeterBinder.of(pipeline, Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
