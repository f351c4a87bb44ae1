package dev.pipeline.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.OutputShapeException;
import dev.pipeline.Stage;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.testkit.StageResult.Outcome;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** A stage tested alone meets the check of its output's shape as it does in a pipeline. */
class StageTesterShapeTest {
  record Priced(String id, String currency, @Nullable String note, long cents) {}

  private static Priced priced(String id) {
    return new Priced(id, id.equals("bad") ? null : "EUR", null, 100);
  }

  /** A stage whose class declares its output type. */
  static final class Pricing implements Stage<String, Priced> {
    @Override
    public Priced process(String id, StageContext context) {
      return priced(id);
    }
  }

  @Test
  void aNullInARequiredComponentFailsTheRecordNamingStageRecordAndComponent() {
    StageResult<Priced> result =
        StageTester.of(StageTesterShapeTest::priced)
            .stageName(StageName.EXTRACTION)
            .run("listing-7", "bad");

    assertThat(result.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(result.failure())
        .isInstanceOf(OutputShapeException.class)
        .hasMessageContaining(
            "stage 'extraction' returned a Priced whose required component 'currency' is null")
        .hasMessageContaining("record 'listing-7'");
    assertThat(StageTester.of(StageTesterShapeTest::priced).run("good").isPassed()).isTrue();
  }

  @Test
  void theStagesOptionsDecideAsInAPipeline() {
    StageResult<Priced> off =
        StageTester.of(new Pricing()).options(o -> o.shapeCheck(false)).run("bad");
    StageResult<Priced> retried =
        StageTester.of(new Pricing())
            .retry(
                RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofSeconds(1)).maxRetries(2))
            .run("bad");
    StageResult<Priced> skipped =
        StageTester.of(new Pricing()).options(o -> o.fallback(Fallback.skip())).run("bad");

    assertThat(off.isPassed()).isTrue();
    assertThat(retried.attempts()).isEqualTo(3);
    assertThat(retried.errors()).allMatch(OutputShapeException.class::isInstance);
    assertThat(skipped.isPassed()).isTrue();
    assertThat(skipped.isDegraded()).isTrue();
  }

  @Test
  void aBatchStagesOutputFailsOnlyItsRecord() {
    List<StageResult<Priced>> results =
        StageTester.ofBatch(
                (List<String> ids, StageContext c) ->
                    ids.stream().map(StageTesterShapeTest::priced).toList())
            .runAll(List.of("a", "bad", "c"));

    assertThat(results)
        .extracting(StageResult::outcome)
        .containsExactly(Outcome.PASSED, Outcome.FAILED, Outcome.PASSED);
    assertThat(results.get(1).failure()).isInstanceOf(OutputShapeException.class);
  }

  @Test
  void aSplittersChildrenAreEachChecked() {
    StageResult<List<Priced>> result =
        StageTester.ofSplit((String id, StageContext c) -> List.of(priced("a"), priced(id)))
            .run("bad");

    assertThat(result.failure())
        .isInstanceOf(OutputShapeException.class)
        .hasMessageContaining("returned child 1 of 2, a Priced whose required component");
  }

  @Test
  void anOutputCheckAndADeclaredTypeApply() {
    StageResult<Object> refused =
        StageTester.of((String s) -> (Object) Map.of("id", s))
            .options(o -> o.outputCheck(out -> "/price: required property missing"))
            .run("crane");
    StageResult<Object> wrongType =
        StageTester.of((String s) -> (Object) s).options(o -> o.outputType(Priced.class)).run("x");

    assertThat(refused.failure())
        .isInstanceOf(OutputShapeException.class)
        .hasMessageContaining("its output check refuses: /price: required property missing");
    assertThat(wrongType.failure())
        .hasMessageContaining("an output of type java.lang.String where the stage declares");
  }
}
