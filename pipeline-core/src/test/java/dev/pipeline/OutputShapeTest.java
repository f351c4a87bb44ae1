package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.PUBLISHING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** The check of every stage's output against its declared shape, on by default. */
class OutputShapeTest {
  /** A stage output: {@code name} is required, {@code note} may be null, {@code rank} cannot be. */
  record Item(String id, String name, @Nullable String note, int rank) {}

  private final Queue<Envelope<Object>> sink = new ConcurrentLinkedQueue<>();

  private static List<String> ids(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> "r" + i).toList();
  }

  private static Source<String> source(int n) {
    return Source.of("src", ids(n).iterator(), id -> id);
  }

  /** r2's item has no name; every item has no note. */
  private static Item item(String id) {
    return new Item(id, id.equals("r2") ? null : "crane " + id, null, 1);
  }

  private Pipeline<String, Object> pipeline(
      String name, Stage<String, ?> stage, Consumer<StageOptions.Builder> options) {
    return pipeline(Pipeline.builder(name, String.class), stage, options);
  }

  @SuppressWarnings("unchecked")
  private Pipeline<String, Object> pipeline(
      PipelineBuilder<String, String> builder,
      Stage<String, ?> stage,
      Consumer<StageOptions.Builder> options) {
    return builder
        .stage(EXTRACTION, (Stage<String, Object>) stage, options)
        .stage(PUBLISHING, (Object o) -> o)
        .sink(sink::addAll)
        .build();
  }

  @Test
  void aNullInARequiredComponentDeadLettersTheRecordNamingStageRecordComponentAndFix() {
    Pipeline<String, Object> pipeline =
        pipeline("shape-null", (String id, StageContext c) -> item(id), o -> {});

    RunResult result = pipeline.run(source(3));

    DeadLetter dead = Outcomes.deadLetter(pipeline, "r2");
    assertThat(dead.stage()).isEqualTo("extraction");
    assertThat(dead.attempts()).isEqualTo(1);
    assertThat(dead.lastError().errorType()).isEqualTo("OutputShapeException");
    assertThat(dead.lastError().message())
        .contains("stage 'extraction' returned a Item whose required component 'name' is null")
        .contains("record 'r2'")
        .contains("annotate the component @Nullable")
        .contains("s.shapeCheck(false)");
    assertThat(dead.payload(String.class)).as("kept as it entered the stage").isEqualTo("r2");
    assertThat(sink)
        .as("a @Nullable component may be null, a primitive is never checked")
        .extracting(Envelope::id)
        .containsExactlyInAnyOrder("r1", "r3");
    assertThat(pipeline.metrics().stage("extraction").errorsByType())
        .containsEntry("OutputShapeException", 1L);
    Outcomes.assertEachEndedOnce(pipeline, result, ids(3), sink);
  }

  @Test
  void everyNullRequiredComponentIsNamed() {
    Pipeline<String, Object> pipeline =
        pipeline(
            "shape-all", (String id, StageContext c) -> new Item(null, null, null, 0), o -> {});

    pipeline.run(source(1));

    assertThat(Outcomes.deadLetter(pipeline, "r1").lastError().message())
        .contains("required components 'id', 'name' are null");
  }

  @Test
  void theCheckIsOffForAStageOrForThePipeline() {
    Pipeline<String, Object> stageOff =
        pipeline(
            "shape-stage-off", (String id, StageContext c) -> item(id), o -> o.shapeCheck(false));
    Pipeline<String, Object> pipelineOff =
        pipeline(
            Pipeline.builder("shape-pipeline-off", String.class).shapeChecks(false),
            (String id, StageContext c) -> item(id),
            o -> {});

    assertThat(stageOff.run(source(3)).published()).isEqualTo(2);
    assertThat(Outcomes.deadLetter(stageOff, "r2").stage())
        .as("the next stage that checks passes the record on and meets the null")
        .isEqualTo("publishing");
    sink.clear();
    assertThat(pipelineOff.run(source(3)).published()).isEqualTo(3);
    assertThat(sink).extracting(e -> ((Item) e.payload()).name()).containsNull();
  }

  @Test
  void aViolationFollowsTheStagesRetryPolicyAndFallbackAsANullOutputDoes() {
    RetryPolicy twice = RetryPolicy.exponential(Duration.ZERO, Duration.ZERO).maxRetries(2);
    Pipeline<String, Object> retried =
        pipeline("shape-retried", (String id, StageContext c) -> item(id), o -> o.retry(twice));
    Pipeline<String, Object> aborted =
        pipeline(
            "shape-aborted",
            (String id, StageContext c) -> item(id),
            o ->
                o.retry(
                    RetryPolicy.exponential(Duration.ZERO, Duration.ZERO)
                        .maxRetries(2)
                        .abortOn(OutputShapeException.class)));
    Pipeline<String, Object> skipped =
        pipeline(
            "shape-skipped",
            (String id, StageContext c) -> item(id),
            o -> o.fallback(Fallback.skip()));

    retried.run(source(3));
    aborted.run(source(3));
    RunResult skippedResult = skipped.run(source(3));

    assertThat(Outcomes.deadLetter(retried, "r2").attempts()).isEqualTo(3);
    assertThat(Outcomes.deadLetter(aborted, "r2").attempts()).isEqualTo(1);
    assertThat(skippedResult.deadLettered()).isZero();
    assertThat(sink).extracting(Envelope::payload).contains("r2"); // the input passed on
  }

  @Test
  void anExplicitOutputTypeIsEnforced() {
    Pipeline<String, Object> wrongType =
        pipeline(
            "shape-wrong-type",
            (String id, StageContext c) -> id.equals("r2") ? id : item("r1"),
            o -> o.outputType(Item.class));

    wrongType.run(source(3));

    assertThat(Outcomes.deadLetter(wrongType, "r2").lastError().message())
        .contains("returned an output of type java.lang.String where the stage declares")
        .contains(Item.class.getName());
    assertThat(sink).hasSize(2);
  }

  @Test
  void aBatchStageOutputWithoutItsShapeDeadLettersOnlyItsRecord() {
    Pipeline<String, Object> pipeline =
        Pipeline.builder("shape-batch", String.class)
            .batchStage(
                CLEANING,
                (List<String> ids, StageContext c) ->
                    ids.stream().map(OutputShapeTest::item).toList())
            .stage(PUBLISHING, (Object o) -> o)
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(4));

    assertThat(Outcomes.deadLetter(pipeline, "r2").lastError().message())
        .contains("stage 'cleaning' returned a Item whose required component 'name' is null");
    Outcomes.assertEachEndedOnce(pipeline, result, ids(4), sink);
    assertThat(sink).hasSize(3);
  }

  @Test
  void aSplitChildWithoutItsShapeDeadLettersItsParent() {
    Pipeline<String, Object> pipeline =
        Pipeline.builder("shape-split", String.class)
            .splitStage(EXTRACTION, (String id, StageContext c) -> List.of(item("r1"), item(id)))
            .stage(PUBLISHING, (Object o) -> o)
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(3));

    assertThat(result.deadLettered()).isEqualTo(1);
    assertThat(Outcomes.deadLetter(pipeline, "r2").lastError().message())
        .contains("returned child 1 of 2, a Item whose required component 'name' is null");
    assertThat(sink).hasSize(4);
  }

  @Test
  void anOutputCheckJudgesMapPayloadsAndStaysOnWithTheShapeCheckOff() {
    OutputCheck needsPrice =
        output ->
            output instanceof Map<?, ?> map && map.get("price") == null
                ? "/price: required property missing"
                : null;
    Pipeline<String, Object> pipeline =
        pipeline(
            "shape-map",
            (String id, StageContext c) ->
                id.equals("r2") ? Map.of("id", id) : Map.of("id", id, "price", 10),
            o -> o.shapeCheck(false).outputCheck(needsPrice));

    pipeline.run(source(3));

    assertThat(Outcomes.deadLetter(pipeline, "r2").lastError().message())
        .contains("stage 'extraction' returned an output its output check refuses:")
        .contains("/price: required property missing");
    assertThat(sink).hasSize(2);
  }

  @Test
  void aCheckThatThrowsFailsOnlyItsRecord() {
    Pipeline<String, Object> pipeline =
        pipeline(
            "shape-throws",
            (String id, StageContext c) -> id,
            o ->
                o.outputCheck(
                    output -> {
                      if (output.equals("r2")) {
                        throw new IllegalStateException("schema broken");
                      }
                      return null;
                    }));

    RunResult result = pipeline.run(source(3));

    assertThat(Outcomes.deadLetter(pipeline, "r2").lastError().message())
        .contains("the check threw java.lang.IllegalStateException: schema broken");
    Outcomes.assertEachEndedOnce(pipeline, result, ids(3), sink);
  }

  @Test
  void optionsRefuseANullTypeOrCheckAtBuild() {
    assertThatThrownBy(
            () ->
                pipeline(
                    "shape-null-options",
                    (String id, StageContext c) -> id,
                    o -> o.outputType(null).outputCheck(null)))
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("output type cannot be null")
        .hasMessageContaining("output check cannot be null");
    assertThatThrownBy(() -> StageOptions.of(o -> o.outputType(int.class)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("output type cannot be the primitive int")
        .hasMessageContaining("Integer.class");
  }

  @Test
  void stageOptionsSayWhatIsChecked() {
    StageOptions options = StageOptions.of(o -> o.outputType(Item.class).shapeCheck(false));

    assertThat(StageOptions.defaults().shapeCheck()).isTrue();
    assertThat(options.shapeCheck()).isFalse();
    assertThat(options.outputType()).isEqualTo(Item.class);
    assertThat(options.toString()).contains("shapeCheck=false", "outputType=");
    assertThat(options.outputCheck()).isNull();
  }
}
