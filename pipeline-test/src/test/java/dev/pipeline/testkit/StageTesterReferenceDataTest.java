package dev.pipeline.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.BatchStage;
import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.ReferenceData;
import dev.pipeline.ReferenceDataException;
import dev.pipeline.Source;
import dev.pipeline.Stage;
import dev.pipeline.StageName;
import dev.pipeline.metrics.ReferenceDataMetrics;
import dev.pipeline.resilience.RetryPolicy;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A stage tested alone reaches the same reference data as in a pipeline. */
class StageTesterReferenceDataTest {
  private final AtomicInteger loads = new AtomicInteger();
  private final ReferenceData<String, String> makes =
      ReferenceData.named("manufacturers")
          .expireAfterWrite(Duration.ofHours(1))
          .refreshAfterWrite(Duration.ofMinutes(10))
          .build(
              alias -> {
                int load = loads.incrementAndGet();
                return alias.equals("cat") ? "Caterpillar#" + load : null;
              });
  private final Stage<String, String> make =
      (alias, context) -> context.reference(makes).find(alias).orElse("unknown");

  @Test
  void aStageTestedAloneGetsWhatItGetsInAPipeline() {
    StageTester<String, String> tester = StageTester.of(make).withReferenceData(makes);

    List<String> alone = new ArrayList<>();
    for (StageResult<String> r : tester.runAll(List.of("cat", "acme", "cat"))) {
      alone.add(r.output());
    }
    loads.set(0);
    List<Envelope<String>> published = new ArrayList<>();
    try (Pipeline<String, String> pipeline =
        Pipeline.builder("makes", String.class)
            .stage(StageName.CLEANING, make, s -> s.referenceData(makes))
            .sink(published::addAll)
            .build()) {
      pipeline.run(Source.of("src", List.of("cat", "acme", "cat#2").iterator(), s -> s));
    }

    assertThat(alone).containsExactly("Caterpillar#1", "unknown", "Caterpillar#1");
    assertThat(published)
        .extracting(Envelope::payload)
        .containsExactlyInAnyOrder("Caterpillar#1", "unknown", "unknown");
    ReferenceDataMetrics m = tester.referenceMetrics().get(0);
    assertThat(m.name()).isEqualTo("manufacturers");
    assertThat(m.stages()).containsExactly(StageTester.DEFAULT_STAGE_NAME.value());
    assertThat(m.loads()).isEqualTo(2);
    assertThat(m.hits()).isOne();
    assertThat(m.misses()).isEqualTo(2);
  }

  @Test
  void expiryAndRefreshRunOnTheTestersClock() {
    ManualClock clock = ManualClock.create();
    StageTester<String, String> tester = StageTester.of(make).withReferenceData(makes).clock(clock);

    assertThat(tester.run("cat").output()).isEqualTo("Caterpillar#1");
    clock.advance(Duration.ofMinutes(5));
    assertThat(tester.run("cat").output()).isEqualTo("Caterpillar#1");
    clock.advance(Duration.ofMinutes(6));
    assertThat(tester.run("cat").output())
        .as("refreshed on the calling thread before the lookup returned")
        .isEqualTo("Caterpillar#2");
    clock.advance(Duration.ofHours(2));
    assertThat(tester.run("cat").output()).as("expired, loaded again").isEqualTo("Caterpillar#3");

    ReferenceDataMetrics m = tester.referenceMetrics().get(0);
    assertThat(m.refreshes()).isOne();
    assertThat(m.loads()).isEqualTo(3);
  }

  @Test
  void aFailingLoaderIsRetriedByTheTestersPolicyAsInAPipeline() {
    AtomicInteger calls = new AtomicInteger();
    ReferenceData<String, Long> rates =
        ReferenceData.named("eur-rates")
            .build(
                code -> {
                  if (calls.incrementAndGet() < 3) {
                    throw new IOException("rate service unavailable");
                  }
                  return 9_200L;
                });
    ManualClock clock = ManualClock.create();

    StageResult<Long> result =
        StageTester.of((String code, dev.pipeline.StageContext c) -> c.reference(rates).get(code))
            .withReferenceData(rates)
            .retry(RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1)))
            .clock(clock)
            .run("USD");

    assertThat(result.output()).isEqualTo(9_200L);
    assertThat(result.attempts()).isEqualTo(3);
    assertThat(result.errors())
        .hasSize(2)
        .allSatisfy(
            e ->
                assertThat(e)
                    .isInstanceOf(ReferenceDataException.class)
                    .hasMessage(
                        "stage 'stage-under-test' could not load from reference data 'eur-rates'"
                            + " key 'USD': java.io.IOException: rate service unavailable"));
    assertThat(clock.sleeps()).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2));
  }

  @Test
  void aBatchStageLooksUpTheKeysOfItsBatchAtOnce() {
    List<Integer> bulkCalls = new ArrayList<>();
    ReferenceData<String, Integer> lengths =
        ReferenceData.named("lengths")
            .buildBulk(
                words -> {
                  bulkCalls.add(words.size());
                  Map<String, Integer> found = new java.util.HashMap<>();
                  words.forEach(w -> found.put(w, w.length()));
                  return found;
                });
    BatchStage<String, Integer> measure =
        (words, context) -> {
          Map<String, Integer> known = context.reference(lengths).getAll(words);
          return words.stream().map(known::get).toList();
        };

    List<StageResult<Integer>> results =
        StageTester.ofBatch(measure)
            .withReferenceData(lengths)
            .runAll(List.of("a", "bb", "ccc", "bb"));

    assertThat(results).extracting(StageResult::output).containsExactly(1, 2, 3, 2);
    assertThat(bulkCalls).containsExactly(3);
  }

  @Test
  void reachingReferenceDataNotGivenToTheTesterSaysHowToGiveIt() {
    StageResult<String> result = StageTester.of(make).run("cat");

    assertThat(result.isFailed()).isTrue();
    assertThat(result.failure())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "stage 'stage-under-test' looked up reference data 'manufacturers', which the"
                + " StageTester of pipeline 'test' does not declare; give it to the tester with"
                + " StageTester.withReferenceData(...)");
    assertThat(loads).hasValue(0);
  }

  @Test
  void referenceDataIsGivenOnceAndBeforeTheFirstRun() {
    ReferenceData<String, String> twin = ReferenceData.named("manufacturers").build(k -> k);
    StageTester<String, String> tester = StageTester.of(make).withReferenceData(makes);

    assertThatThrownBy(() -> tester.withReferenceData(makes))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("reference data 'manufacturers' was already added");
    assertThatThrownBy(() -> tester.withReferenceData(twin))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith(
            "reference data name 'manufacturers' is given twice, by two different declarations");
    assertThatThrownBy(() -> tester.withReferenceData((ReferenceData<?, ?>) null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("data cannot hold null");
    assertThat(tester.referenceMetrics()).isEmpty();
    tester.run("cat");
    ReferenceData<String, String> late = ReferenceData.named("late").build(k -> k);
    assertThatThrownBy(() -> tester.withReferenceData(late))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("reference data must be added before the tester's first run");
  }

  @Test
  void aPipelineTesterRunsStagesWithTheirReferenceData() {
    PipelineTester<String, String> tester =
        PipelineTester.forPipeline(
            "makes", String.class, p -> p.referenceData(makes).stage(StageName.CLEANING, make));

    PipelineTestResult<String> result = tester.run(List.of("cat", "acme"));

    assertThat(result.published())
        .containsEntry("record-1", "Caterpillar#1")
        .containsEntry("record-2", "unknown");
    assertThat(result.runResult().metrics().referenceData("manufacturers").loads()).isEqualTo(2);
  }
}
