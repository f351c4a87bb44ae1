package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.INGESTION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.pipeline.metrics.ReferenceDataMetrics;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.ErrorInfo;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Reference data as a pipeline declares it, its stages look it up and its metrics count it. */
class ReferenceDataPipelineTest {
  private final FakeClock clock = new FakeClock();
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();

  private static final ReferenceData<String, String> MAKES =
      ReferenceData.named("manufacturers")
          .build(alias -> alias.startsWith("cat") ? "Caterpillar" : null);

  private static Source<String> source(String... ids) {
    return Source.of("src", List.of(ids).iterator(), id -> id);
  }

  /** The make of an alias, or of "id:alias". */
  private static String make(String alias, StageContext context) {
    String key = alias.substring(alias.indexOf(':') + 1);
    return context.reference(MAKES).find(key).orElse("unknown");
  }

  @Test
  void stagesLookUpReferenceDataDeclaredOnThePipelineAndTheRunCountsIt() {
    try (Pipeline<String, String> pipeline =
        Pipeline.builder("makes", String.class)
            .referenceData(MAKES)
            .stage(CLEANING, ReferenceDataPipelineTest::make)
            .stage(EXTRACTION, (String make, StageContext c) -> make + "/" + c.stage())
            .sink(sink::addAll)
            .clock(clock)
            .build()) {

      RunResult result = pipeline.run(source("1:cat-1", "2:acme", "3:cat-1", "4:cat-1", "5:acme"));

      assertThat(sink).extracting(Envelope::payload).hasSize(5).contains("Caterpillar/extraction");
      ReferenceDataMetrics m = result.metrics().referenceData("manufacturers");
      assertThat(m.stages()).containsExactly("cleaning", "extraction");
      assertThat(m.loads()).isEqualTo(2);
      assertThat(m.misses()).isEqualTo(2);
      assertThat(m.hits()).isEqualTo(3);
      assertThat(result.summary())
          .contains("reference data")
          .containsPattern("manufacturers\\s+2\\s+3\\s+2\\s+60\\.0%\\s+2\\s+0");
      assertThat(pipeline.metrics().referenceData())
          .extracting("name")
          .containsExactly("manufacturers");
    }
  }

  @Test
  void aLoaderFailureIsRetriedByTheStagesPolicyThenDeadLetteredNamingTheReferenceData() {
    AtomicInteger calls = new AtomicInteger();
    ReferenceData<String, Long> rates =
        ReferenceData.named("eur-rates")
            .build(
                (String code) -> {
                  calls.incrementAndGet();
                  throw new IOException("rate service unavailable");
                });
    try (Pipeline<String, String> pipeline =
        Pipeline.builder("rates", String.class)
            .stage(
                CLEANING,
                (String code, StageContext c) -> code + "=" + c.reference(rates).get(code),
                s ->
                    s.referenceData(rates)
                        .retry(
                            RetryPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(1))
                                .maxRetries(2)))
            .sink(sink::addAll)
            .clock(clock)
            .build()) {

      RunResult result = pipeline.run(source("USD"));

      assertThat(result.deadLettered()).isOne();
      assertThat(calls).as("nothing cached between the attempts").hasValue(3);
      DeadLetter dead =
          pipeline.deadLetters().find(DeadLetterQuery.all()).items().stream()
              .findFirst()
              .orElseThrow();
      assertThat(dead.attempts()).isEqualTo(3);
      assertThat(dead.errors())
          .extracting(ErrorInfo::errorType)
          .containsOnly("ReferenceDataException");
      assertThat(dead.lastError().message())
          .isEqualTo(
              "stage 'cleaning' could not load from reference data 'eur-rates' key 'USD':"
                  + " java.io.IOException: rate service unavailable");
      assertThat(result.metrics().referenceData("eur-rates").loadFailures()).isEqualTo(3);
    }
  }

  @Test
  void aLoaderThatRecoversLetsTheRetriedRecordThrough() {
    AtomicInteger calls = new AtomicInteger();
    ReferenceData<String, Long> rates =
        ReferenceData.named("eur-rates")
            .build(
                (String code) -> {
                  if (calls.incrementAndGet() == 1) {
                    throw new IOException("rate service unavailable");
                  }
                  return 9_200L;
                });
    try (Pipeline<String, String> pipeline =
        Pipeline.builder("rates", String.class)
            .referenceData(rates)
            .stage(
                CLEANING,
                (String code, StageContext c) -> code + "=" + c.reference(rates).get(code),
                s ->
                    s.retry(RetryPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(1))))
            .sink(sink::addAll)
            .clock(clock)
            .build()) {

      RunResult result = pipeline.run(source("USD"));

      assertThat(result.published()).isOne();
      assertThat(sink).extracting(Envelope::payload).containsExactly("USD=9200");
      assertThat(clock.sleeps()).containsExactly(Duration.ofMillis(100));
    }
  }

  @Test
  void referenceDataDeclaredOnAStageIsForThatStageAlone() {
    try (Pipeline<String, String> pipeline =
        Pipeline.builder("scoped", String.class)
            .stage(CLEANING, ReferenceDataPipelineTest::make, s -> s.referenceData(MAKES))
            .stage(EXTRACTION, ReferenceDataPipelineTest::make)
            .sink(sink::addAll)
            .clock(clock)
            .build()) {

      RunResult result = pipeline.run(source("cat"));

      assertThat(result.deadLettered()).isOne();
      DeadLetter dead =
          pipeline.deadLetters().find(DeadLetterQuery.all()).items().stream()
              .findFirst()
              .orElseThrow();
      assertThat(dead.stage()).isEqualTo("extraction");
      assertThat(dead.lastError().message())
          .isEqualTo(
              "stage 'extraction' looked up reference data 'manufacturers', which pipeline"
                  + " 'scoped' declares for stages [cleaning] only; declare it on this stage's"
                  + " options too (s.referenceData(...)), or once for every stage on the pipeline's"
                  + " builder");
      assertThat(result.metrics().referenceData("manufacturers").stages())
          .containsExactly("cleaning");
    }
  }

  @Test
  void stagesThatDeclareTheSameReferenceDataShareOneCache() {
    try (Pipeline<String, String> pipeline =
        Pipeline.builder("shared", String.class)
            .stage(CLEANING, ReferenceDataPipelineTest::make, s -> s.referenceData(MAKES))
            .stage(EXTRACTION, (String in, StageContext c) -> in, s -> s.concurrency(2))
            .stage(
                StageName.of("again"), ReferenceDataPipelineTest::make, s -> s.referenceData(MAKES))
            .sink(sink::addAll)
            .clock(clock)
            .build()) {

      RunResult result = pipeline.run(source("cat", "caterpillar"));

      ReferenceDataMetrics m = result.metrics().referenceData("manufacturers");
      assertThat(m.stages()).containsExactly("cleaning", "again");
      assertThat(m.loads()).as("cat, caterpillar, then Caterpillar at 'again'").isEqualTo(3);
      assertThat(m.hits()).as("Caterpillar a second time at 'again'").isOne();
      assertThat(sink).extracting(Envelope::payload).containsOnly("unknown");
      assertThat(result.metrics().referenceData()).hasSize(1);
    }
  }

  @Test
  void buildReportsEveryReferenceDataConflictNamingIt() {
    ReferenceData<String, String> twin = ReferenceData.named("manufacturers").build(k -> k);
    ReferenceData<String, String> phrases = ReferenceData.named("phrases").build(k -> k);
    ReferenceData<String, String> rates = ReferenceData.named("rates").build(k -> k);

    PipelineConfigurationException e =
        catchThrowableOfType(
            PipelineConfigurationException.class,
            () ->
                Pipeline.builder("conflicts", String.class)
                    .referenceData(MAKES)
                    .referenceData(phrases)
                    .referenceData(phrases)
                    .stage(INGESTION, (String s) -> s, s -> s.referenceData(twin))
                    .stage(CLEANING, (String s) -> s, s -> s.referenceData(phrases))
                    .stage(
                        EXTRACTION,
                        (String s) -> s,
                        s -> s.referenceData(rates).referenceData(rates).referenceData(null))
                    .sink(sink::addAll, s -> s.referenceData(rates))
                    .build());

    assertThat(e.problems())
        .containsExactlyInAnyOrder(
            "sink: reference data does not apply to the sink, which has no context to look it up"
                + " from; declare it on the stages that use it",
            "stage 'extraction': reference data 'rates' is added twice to this stage; add it once",
            "stage 'extraction': reference data cannot be null: leave it out",
            "reference data 'phrases' is declared twice on the pipeline; declare it once",
            "reference data name 'manufacturers' is declared twice, by two different declarations"
                + " (the pipeline and stage 'ingestion'); give each its own name, or declare the"
                + " same ReferenceData object",
            "reference data 'phrases' is declared on the pipeline, which reaches every stage, and"
                + " again on stage 'cleaning'; remove one of the two");
  }

  @Test
  void declarationsCheckTheirSettingsWithTheAllowedRange() {
    assertThatThrownBy(() -> ReferenceData.named("rates").maximumSize(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "reference data 'rates': maximumSize must be between 1 and 100000000 entries, was 0");
    assertThatThrownBy(() -> ReferenceData.named("rates").expireAfterWrite(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "reference data 'rates': expireAfterWrite must be between PT0.001S and PT8760H (365"
                + " days), was PT0S; leave it unset for none");
    assertThatThrownBy(() -> ReferenceData.named("rates").refreshAfterWrite(Duration.ofDays(400)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("refreshAfterWrite must be between PT0.001S and PT8760H");
    assertThatThrownBy(
            () ->
                ReferenceData.named("rates")
                    .expireAfterWrite(Duration.ofMinutes(10))
                    .refreshAfterWrite(Duration.ofMinutes(10))
                    .build(k -> k))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "reference data 'rates' is refreshed after PT10M but expires after PT10M: its entries"
                + " would expire before they are refreshed; make refreshAfterWrite shorter than"
                + " expireAfterWrite");
    assertThatThrownBy(() -> ReferenceData.named("rates").maximumSize(5).maximumSize(6))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("reference data 'rates': maximumSize was already set");
    assertThatThrownBy(() -> ReferenceData.named(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("reference data name must have 1 to 100 characters");
    assertThatThrownBy(() -> ReferenceData.named("a\nb"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("U+000A at position 1");
    assertThatThrownBy(() -> ReferenceData.named("rates").build(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("loader cannot be null");
    assertThatThrownBy(() -> Pipeline.builder("p", String.class).referenceData(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("data cannot be null");
  }

  @Test
  void aDeclarationSaysWhatItIs() {
    ReferenceData<String, String> rates =
        ReferenceData.named("rates")
            .maximumSize(50)
            .expireAfterWrite(Duration.ofHours(1))
            .refreshAfterWrite(Duration.ofMinutes(5))
            .buildBulk(keys -> java.util.Map.of());

    assertThat(rates.name()).isEqualTo("rates");
    assertThat(rates.maximumSize()).isEqualTo(50);
    assertThat(rates.isBulk()).isTrue();
    assertThat(rates.bulkLoader()).isNotNull();
    assertThat(rates)
        .hasToString(
            "ReferenceData[rates, maximumSize=50, expireAfterWrite=PT1H, refreshAfterWrite=PT5M,"
                + " bulk]");
    assertThat(MAKES.maximumSize()).isEqualTo(ReferenceData.DEFAULT_MAXIMUM_SIZE);
    assertThat(MAKES.expireAfterWrite()).isNull();
    assertThat(MAKES.bulkLoader()).isNull();
  }
}
