package dev.pipeline;

import static dev.pipeline.StageName.ANALYSIS;
import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.INGESTION;
import static dev.pipeline.StageName.PUBLISHING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.InMemoryPipelineStore;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PipelineBuilderTest {
  private static final StageFunction<String, String> SAME = s -> s;

  private static PipelineBuilder<String, String> builder() {
    return Pipeline.builder("listings", String.class);
  }

  /** Builds and returns the single problem reported. */
  private static String problemOf(PipelineBuilder<?, ?> builder) {
    PipelineConfigurationException e = configurationError(builder::build);
    assertThat(e.problems()).hasSize(1);
    assertThat(e.getMessage()).startsWith("pipeline 'listings' is not valid (1 problem):");
    return e.problems().get(0);
  }

  private static PipelineConfigurationException configurationError(ThrowingCallable build) {
    Throwable thrown = catchThrowable(build);
    assertThat(thrown).isInstanceOf(PipelineConfigurationException.class);
    return (PipelineConfigurationException) thrown;
  }

  private static PipelineBuilder<String, String> withOptions(Consumer<StageOptions.Builder> o) {
    return builder().stage(INGESTION, SAME).stage(CLEANING, SAME, o);
  }

  @Test
  void validPipelineKeepsItsStagesAndOptions() {
    Pipeline<String, Integer> pipeline =
        builder()
            .stage(INGESTION, SAME)
            .stage(CLEANING, String::length, o -> o.concurrency(4).batchSize(16))
            .build();

    assertThat(pipeline.name()).isEqualTo("listings");
    assertThat(pipeline.stages()).containsExactly(INGESTION, CLEANING);
    assertThat(pipeline.options(CLEANING).concurrency()).isEqualTo(4);
    assertThat(pipeline.options(CLEANING).batchSize()).isEqualTo(16);
    assertThat(pipeline.options(INGESTION).concurrency())
        .isEqualTo(StageOptions.DEFAULT_CONCURRENCY);
    assertThat(pipeline.options(INGESTION).timeout()).isNull();
    assertThatThrownBy(() -> pipeline.options(PUBLISHING))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("has no stage 'publishing'");
  }

  @Test
  void duplicateStageNameFailsAtBuild() {
    String problem = problemOf(builder().stage(CLEANING, SAME).stage(CLEANING, SAME));

    assertThat(problem)
        .contains("stage 'cleaning' is added twice (as stage #2)")
        .contains("StageName.of(");
  }

  @Test
  void zeroConcurrencyFailsAtBuild() {
    assertThat(problemOf(withOptions(o -> o.concurrency(0))))
        .isEqualTo(
            "stage 'cleaning': concurrency must be between 1 and 10000 workers, was 0; for more"
                + " throughput raise the batch size instead");
  }

  @Test
  void zeroBatchSizeFailsAtBuild() {
    assertThat(problemOf(withOptions(o -> o.batchSize(0))))
        .isEqualTo(
            "stage 'cleaning': batch size must be between 1 and 100000 records, was 0; e.g."
                + " batchSize(512)");
  }

  @ParameterizedTest
  @ValueSource(longs = {0, -1})
  void timeoutThatIsNotPositiveFailsAtBuild(long millis) {
    assertThat(problemOf(withOptions(o -> o.timeout(Duration.ofMillis(millis)))))
        .startsWith("stage 'cleaning': timeout must be between 1 ms and 7 days")
        .contains("leave it unset for no timeout");
  }

  @Test
  void concurrencyTooLargeToStartFailsAtBuild() {
    assertThat(problemOf(withOptions(o -> o.concurrency(Integer.MAX_VALUE))))
        .startsWith("stage 'cleaning': concurrency must be between 1 and 10000 workers, was")
        .contains("2147483647");
  }

  @Test
  void batchSizeTooLargeToAllocateFailsAtBuild() {
    assertThat(problemOf(withOptions(o -> o.batchSize(Integer.MAX_VALUE))))
        .startsWith("stage 'cleaning': batch size must be between 1 and 100000 records, was")
        .contains("2147483647");
  }

  @Test
  void adaptiveBatchSizeAboveTheLimitFailsAtBuild() {
    assertThat(problemOf(withOptions(o -> o.adaptiveBatchSize(8, Integer.MAX_VALUE))))
        .startsWith("stage 'cleaning': adaptive batch size needs 1 <= min <= max <= 100000")
        .contains("max 2147483647");
  }

  @ParameterizedTest
  @ValueSource(strings = {"PT0.000999S", "PT168H0.001S", "PT2562047H"})
  void timeoutOutsideOneMillisecondToSevenDaysFailsAtBuild(String timeout) {
    assertThat(problemOf(withOptions(o -> o.timeout(Duration.parse(timeout)))))
        .isEqualTo(
            "stage 'cleaning': timeout must be between 1 ms and 7 days (StageOptions.MIN_TIMEOUT"
                + " and MAX_TIMEOUT), was "
                + Duration.parse(timeout)
                + ": leave it unset for no timeout");
  }

  @Test
  void timeoutTooLargeForNanosecondsFailsAtBuild() {
    assertThat(problemOf(withOptions(o -> o.timeout(Duration.ofSeconds(Long.MAX_VALUE)))))
        .startsWith("stage 'cleaning': timeout must be between 1 ms and 7 days");
  }

  @Test
  void limitsThemselvesAreAccepted() {
    Pipeline<String, String> pipeline =
        withOptions(
                o ->
                    o.concurrency(StageOptions.MAX_CONCURRENCY)
                        .batchSize(StageOptions.MAX_BATCH_SIZE)
                        .timeout(StageOptions.MAX_TIMEOUT))
            .build();

    assertThat(pipeline.options(CLEANING).concurrency()).isEqualTo(10_000);
    assertThat(
            withOptions(o -> o.timeout(StageOptions.MIN_TIMEOUT))
                .build()
                .options(CLEANING)
                .timeout())
        .isEqualTo(Duration.ofMillis(1));
  }

  @Test
  void nullTimeoutFailsAtBuild() {
    assertThat(problemOf(withOptions(o -> o.timeout(null))))
        .startsWith("stage 'cleaning': timeout cannot be null")
        .contains("leave it unset");
  }

  @Test
  void nullRetryPolicyFailsAtBuild() {
    assertThat(problemOf(withOptions(o -> o.retry(null))))
        .isEqualTo(
            "stage 'cleaning': retry policy cannot be null: leave it unset or use RetryPolicy.none()");
  }

  @Test
  void nullFunctionFailsAtBuild() {
    StageFunction<String, String> none = null;

    assertThat(problemOf(builder().stage(INGESTION, SAME).stage(CLEANING, none)))
        .startsWith("stage 'cleaning': the stage function is null")
        .contains("pass the function");
  }

  @Test
  void nullBatchFunctionFailsAtBuild() {
    BatchStage<String, String> none = null;

    assertThat(problemOf(builder().batchStage(CLEANING, none)))
        .startsWith("stage 'cleaning': the stage function is null");
  }

  @Test
  void nullOptionsLambdaFailsAtBuild() {
    Consumer<StageOptions.Builder> none = null;

    assertThat(problemOf(builder().stage(CLEANING, SAME, none)))
        .isEqualTo("stage 'cleaning': the options lambda is null; leave it out for the defaults");
  }

  @Test
  void nullStageNameFailsAtBuild() {
    assertThat(problemOf(builder().stage(INGESTION, SAME).stage(null, SAME)))
        .startsWith("stage #2: the stage name is null")
        .contains("StageName.of(");
  }

  @Test
  void canonicalStageOutOfOrderFailsAtBuild() {
    String problem = problemOf(builder().stage(EXTRACTION, SAME).stage(CLEANING, SAME));

    assertThat(problem)
        .startsWith("stage 'cleaning' comes after 'extraction'")
        .contains("move it before 'extraction'")
        .contains("StageName.of(");
  }

  @Test
  void pipelineWithoutStagesFailsAtBuild() {
    assertThat(problemOf(builder())).contains("no stages").contains("stage(...)");
  }

  @Test
  void everyProblemIsReportedAtOnce() {
    PipelineConfigurationException e =
        configurationError(
            () ->
                builder()
                    .stage(EXTRACTION, SAME, o -> o.concurrency(0).batchSize(-1))
                    .stage(CLEANING, SAME)
                    .stage(CLEANING, SAME, o -> o.timeout(Duration.ZERO))
                    .build());

    assertThat(e.problems())
        .containsExactly(
            "stage 'extraction': concurrency must be between 1 and 10000 workers, was 0; for more"
                + " throughput raise the batch size instead",
            "stage 'extraction': batch size must be between 1 and 100000 records, was -1; e.g."
                + " batchSize(512)",
            "stage 'cleaning': timeout must be between 1 ms and 7 days (StageOptions.MIN_TIMEOUT"
                + " and MAX_TIMEOUT), was PT0S: leave it unset for no timeout",
            "stage 'cleaning' comes after 'extraction', but the canonical stages run in the order"
                + " [ingestion, cleaning, extraction, analysis, translation, validation, indexing,"
                + " publishing]; move it before 'extraction', or name it yourself with"
                + " StageName.of(\"...\")",
            "stage 'cleaning' is added twice (as stage #3); give the second one its own name with"
                + " StageName.of(\"...\")");
    assertThat(e.getMessage()).contains("(5 problems)");
  }

  @Test
  void userNamedStagesMayStandAnywhere() {
    Pipeline<String, String> pipeline =
        builder()
            .stage(StageName.of("fetch"), SAME)
            .stage(INGESTION, SAME)
            .stage(StageName.of("dedupe"), SAME)
            .stage(CLEANING, SAME)
            .stage(ANALYSIS, SAME)
            .stage(StageName.of("enrich"), SAME)
            .stage(PUBLISHING, SAME)
            .stage(StageName.of("notify"), SAME)
            .build();

    assertThat(pipeline.stages())
        .extracting(StageName::value)
        .containsExactly(
            "fetch",
            "ingestion",
            "dedupe",
            "cleaning",
            "analysis",
            "enrich",
            "publishing",
            "notify");
  }

  @Test
  void settingAStoreClockOrSinkTwiceIsRejectedAtOnce() {
    PipelineBuilder<String, String> b =
        builder()
            .stage(CLEANING, SAME)
            .store(InMemoryPipelineStore.create())
            .clock(new FakeClock())
            .sink(records -> {});

    assertThatThrownBy(() -> b.store(InMemoryPipelineStore.create()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("store was already set");
    assertThatThrownBy(() -> b.clock(new FakeClock()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("clock was already set");
    assertThatThrownBy(() -> b.sink(records -> {}))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("sink was already set");
  }

  @Test
  void badBuilderArgumentsAreRejectedAtOnce() {
    assertThatThrownBy(() -> builder().queueCapacity(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("queueCapacity must be between 1 and 10000000 records, was 0");
    assertThatThrownBy(() -> builder().queueCapacity(Integer.MAX_VALUE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(
            "queueCapacity must be between 1 and 10000000 records, was 2147483647");
    assertThatThrownBy(() -> builder().retryQueueAfter(Duration.ofSeconds(Long.MAX_VALUE)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("retryQueueAfter must be between PT0S and PT24H (a day), was PT");
    assertThatThrownBy(() -> builder().store(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("store cannot be null");
    assertThatThrownBy(() -> builder().sink(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("sink cannot be null");
    assertThatThrownBy(() -> Pipeline.builder(" ", String.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("pipeline name cannot be blank");
    assertThatThrownBy(() -> Pipeline.builder("p", null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("inputType cannot be null");
  }

  @Test
  void aPipelineNameNoStoreCanKeepIsRefusedAtBuildOnEveryStoreWithTheAllowedLength() {
    // the JDBC store refused a name over 200 characters when the pipeline was built on it; the
    // in-memory store took it, so a pipeline tested in memory failed only when moved to a database
    String longName = "p".repeat(Pipeline.MAX_NAME_CHARS + 1);
    assertThatThrownBy(() -> Pipeline.builder(longName, String.class).stage(CLEANING, SAME).build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("is 201 characters long; use 1 to 200 characters");
    assertThatThrownBy(
            () -> Pipeline.builder("p\uD800q", String.class).stage(CLEANING, SAME).build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("cannot be kept by a store", "1 to 200 characters");
    assertThat(
            Pipeline.builder("p".repeat(Pipeline.MAX_NAME_CHARS), String.class)
                .stage(CLEANING, SAME)
                .build()
                .name())
        .hasSize(200);
  }

  @Test
  void runWithoutSourcesIsRejected() {
    Pipeline<String, String> pipeline = builder().stage(CLEANING, SAME).build();

    assertThatThrownBy(() -> pipeline.start(List.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "give at least one source; to process only what the store holds, call resume()");
  }

  @Test
  void builtPipelineRegistersItsStagesInTheStore() {
    InMemoryPipelineStore store = InMemoryPipelineStore.create();
    builder()
        .stage(INGESTION, SAME)
        .stage(
            CLEANING,
            SAME,
            o ->
                o.timeout(Duration.ofMillis(1_500))
                    .retry(RetryPolicy.exponential(Duration.ofMillis(1), Duration.ofSeconds(1)))
                    .checkpoint())
        .store(store)
        .build();

    assertThat(store.stages("listings"))
        .satisfiesExactly(
            ingestion -> {
              assertThat(ingestion.name()).isEqualTo("ingestion");
              assertThat(ingestion.order()).isEqualTo(1);
              assertThat(ingestion.timeoutSeconds()).isNull();
              assertThat(ingestion.maxRetries()).isZero();
            },
            cleaning -> {
              assertThat(cleaning.order()).isEqualTo(2);
              assertThat(cleaning.timeoutSeconds()).isEqualTo(1L);
              assertThat(cleaning.maxRetries()).isEqualTo(3);
              assertThat(cleaning.checkpoint()).isTrue();
              assertThat(cleaning.retryPolicy()).startsWith("RetryPolicy.exponential(");
            });
  }
}
