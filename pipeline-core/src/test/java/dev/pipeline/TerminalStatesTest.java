package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.INGESTION;
import static dev.pipeline.StageName.PUBLISHING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class TerminalStatesTest {
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();

  private static List<String> ids(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> "r" + i).toList();
  }

  /** A source whose payload is the record's id, so stages can decide by it. */
  private static Source<String> source(List<String> ids) {
    return Source.of("src", ids.iterator(), id -> id);
  }

  private Pipeline<String, String> pipeline(String name, StageFunction<String, String> stage) {
    return Pipeline.builder(name, String.class)
        .stage(INGESTION, (String s) -> s)
        .stage(CLEANING, stage)
        .stage(PUBLISHING, (String s) -> s)
        .sink(sink::addAll)
        .build();
  }

  @Test
  void publishedRecordsReachTheSinkAndEndPublishedAtTheLastStage() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("published", String.class)
            .stage(CLEANING, String::strip)
            .stage(PUBLISHING, (String s) -> s.toUpperCase(Locale.ROOT))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(Source.of("src", List.of(" a", "b ", " c ").iterator()));

    assertThat(sink).extracting(Envelope::payload).containsExactly("A", "B", "C");
    assertThat(sink).extracting(Envelope::id).containsExactly("src-1", "src-2", "src-3");
    assertThat(sink).allSatisfy(e -> assertThat(e.sourceId()).isEqualTo("src"));
    RecordState state = Outcomes.state(pipeline, "src-2");
    assertThat(state.status()).isEqualTo(RecordStatus.PUBLISHED);
    assertThat(state.stage()).isEqualTo("publishing");
    assertThat(state.errors()).isEmpty();
    Outcomes.assertEachEndedOnce(pipeline, result, List.of("src-1", "src-2", "src-3"), sink);
  }

  @Test
  void filteredRecordEndsFilteredWithItsReason() {
    Pipeline<String, String> pipeline =
        pipeline(
            "filtered",
            s -> {
              if (s.equals("r2")) {
                throw RecordFilteredException.because("listing without a price");
              }
              return s;
            });

    RunResult result = pipeline.run(source(ids(3)));

    RecordState state = Outcomes.state(pipeline, "r2");
    assertThat(state.status()).isEqualTo(RecordStatus.FILTERED);
    assertThat(state.reason()).isEqualTo("listing without a price");
    assertThat(state.stage()).isEqualTo("cleaning");
    assertThat(state.errors()).isEmpty();
    assertThat(sink).extracting(Envelope::id).containsExactly("r1", "r3");
    assertThat(result.filtered()).isOne();
    assertThat(Outcomes.deadLetters(pipeline)).isEmpty();
    Outcomes.assertEachEndedOnce(pipeline, result, ids(3), sink);
  }

  @Test
  void failingRecordIsDeadLetteredAndTheOthersGoOn() {
    Pipeline<String, String> pipeline =
        pipeline(
            "exception",
            s -> {
              if (s.equals("r2")) {
                throw new IOException("price service down");
              }
              return s;
            });

    RunResult result = pipeline.run(source(ids(5)));

    assertThat(sink).extracting(Envelope::id).containsExactly("r1", "r3", "r4", "r5");
    DeadLetter dead = Outcomes.deadLetter(pipeline, "r2");
    assertThat(dead.stage()).isEqualTo("cleaning");
    assertThat(dead.attempts()).isOne();
    assertThat(dead.lastError().errorType()).isEqualTo("IOException");
    assertThat(dead.lastError().exceptionClass()).isEqualTo("java.io.IOException");
    assertThat(dead.lastError().message()).isEqualTo("price service down");
    assertThat(dead.lastError().stackTrace()).contains("price service down");
    RecordState state = Outcomes.state(pipeline, "r2");
    assertThat(state.status()).isEqualTo(RecordStatus.DEAD_LETTER);
    assertThat(state.lastError()).isEqualTo(dead.lastError());
    Outcomes.assertEachEndedOnce(pipeline, result, ids(5), sink);
  }

  @Test
  void assertionErrorDeadLettersOnlyItsRecord() {
    Pipeline<String, String> pipeline =
        pipeline(
            "assertion",
            s -> {
              if (s.equals("r3")) {
                throw new AssertionError("broken invariant");
              }
              return s;
            });

    RunResult result = pipeline.run(source(ids(5)));

    assertThat(Outcomes.deadLetter(pipeline, "r3").lastError().errorType())
        .isEqualTo("AssertionError");
    assertThat(result.published()).isEqualTo(4);
    Outcomes.assertEachEndedOnce(pipeline, result, ids(5), sink);
  }

  @Test
  void stackOverflowDeadLettersOnlyItsRecord() {
    Pipeline<String, String> pipeline =
        pipeline("overflow", s -> s.equals("r1") ? String.valueOf(recurse(0)) : s);

    RunResult result = pipeline.run(source(ids(3)));

    DeadLetter dead = Outcomes.deadLetter(pipeline, "r1");
    assertThat(dead.lastError().errorType()).isEqualTo("StackOverflowError");
    assertThat(dead.lastError().stackTrace().length()).isLessThan(ErrorInfo.MAX_STACK_TRACE + 100);
    assertThat(sink).extracting(Envelope::id).containsExactly("r2", "r3");
    Outcomes.assertEachEndedOnce(pipeline, result, ids(3), sink);
  }

  private static int recurse(int depth) {
    return recurse(depth + 1) + 1;
  }

  @Test
  void nullOutputIsDeadLetteredWithAMessageThatSaysWhatToDo() {
    Pipeline<String, String> pipeline = pipeline("null", s -> s.equals("r2") ? null : s);

    RunResult result = pipeline.run(source(ids(3)));

    DeadLetter dead = Outcomes.deadLetter(pipeline, "r2");
    assertThat(dead.lastError().errorType()).isEqualTo("StageException");
    assertThat(dead.lastError().message())
        .contains("stage 'cleaning' returned null for record 'r2'")
        .contains("RecordFilteredException.because");
    Outcomes.assertEachEndedOnce(pipeline, result, ids(3), sink);
  }

  @Test
  void sinkFailureDeadLettersTheRecordItFailsOnAtTheSinkStep() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("sink-failure", String.class)
            .stage(CLEANING, (String s) -> s, o -> o.batchSize(2))
            .sink(
                records -> {
                  if (records.stream().anyMatch(e -> e.id().equals("r3"))) {
                    throw new IOException("index unavailable");
                  }
                  sink.addAll(records);
                },
                s -> s.retry(RetryPolicy.none()))
            .build();

    RunResult result = pipeline.run(source(ids(5)));

    // the failed batch [r3, r4] is halved: r4 passes alone, r3 fails alone
    assertThat(sink).extracting(Envelope::id).containsExactly("r1", "r2", "r4", "r5");
    DeadLetter dead = Outcomes.deadLetter(pipeline, "r3");
    assertThat(dead.stage()).isEqualTo("sink");
    assertThat(dead.lastError().message()).isEqualTo("index unavailable");
    Outcomes.assertEachEndedOnce(pipeline, result, ids(5), sink);
  }

  @Test
  void deadLetterKeepsTheRecordAsItEnteredTheFailingStage() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("dead-payload", String.class)
            .stage(
                CLEANING,
                (String s, StageContext context) -> {
                  context.putMetadata("lang", "de");
                  return s + "-clean";
                })
            .<String>stage(
                EXTRACTION,
                (String s) -> {
                  throw new IllegalStateException("no price in " + s);
                })
            .sink(sink::addAll)
            .build();

    pipeline.run(source(ids(1)));

    DeadLetter dead = Outcomes.deadLetter(pipeline, "r1");
    assertThat(dead.stage()).isEqualTo("extraction");
    assertThat(dead.record().payload()).isEqualTo("r1-clean");
    assertThat(dead.record().metadata()).containsEntry("lang", "de").containsEntry("source", "src");
  }

  @Test
  void stageMetadataTravelsWithTheRecordToTheSink() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("metadata", String.class)
            .stage(
                CLEANING,
                (String s, StageContext context) -> {
                  context.putMetadata("lang", "en");
                  return s;
                })
            .stage(EXTRACTION, (String s, StageContext context) -> context.metadata().get("lang"))
            .sink(sink::addAll)
            .build();

    pipeline.run(source(ids(2)));

    assertThat(sink).extracting(Envelope::payload).containsExactly("en", "en");
    assertThat(sink).allSatisfy(e -> assertThat(e.metadata()).containsEntry("lang", "en"));
  }

  @Test
  void eachRecordReachesTheSinkWithItsOwnMetadataAndTheHandOversToken() {
    // records with the same metadata share one marked map at the sink: one given other entries in
    // between (and those after it) must still get their own
    Pipeline<String, String> pipeline =
        Pipeline.builder("own-metadata", String.class)
            .stage(
                CLEANING,
                (String s, StageContext context) -> {
                  if (s.equals("r3") || s.equals("r4") || s.equals("r7")) {
                    context.putMetadata("mark", "m-" + s);
                  }
                  return s;
                })
            .sink(sink::addAll)
            .build();

    pipeline.run(source(ids(8)));

    assertThat(sink).extracting(Envelope::id).hasSize(8);
    for (Envelope<String> e : sink) {
      assertThat(e.sourceId()).isEqualTo("src");
      assertThat(e.fencingToken()).isPresent();
      if (List.of("r3", "r4", "r7").contains(e.id())) {
        assertThat(e.metadata()).containsEntry("mark", "m-" + e.id()).hasSize(3);
      } else {
        assertThat(e.metadata()).doesNotContainKey("mark").hasSize(2);
      }
    }
  }

  @Test
  void aStageForgingTheFencingTokenFailsThatRecordOnly() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("forged-token", String.class)
            .stage(
                CLEANING,
                (String s, StageContext context) -> {
                  if (s.equals("r2")) {
                    context.putMetadata(Envelope.FENCING_TOKEN, "9999999999");
                  }
                  return s;
                })
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(3)));

    assertThat(result.published()).isEqualTo(2);
    assertThat(sink).extracting(Envelope::id).containsExactly("r1", "r3");
    assertThat(Outcomes.deadLetter(pipeline, "r2").lastError().message())
        .contains("metadata key 'fencing-token' is written by the engine only");
  }

  @Test
  void everyRecordEndsInExactlyOneTerminalStateUnderMixedOutcomes() {
    Pipeline<Integer, String> pipeline =
        Pipeline.builder("mixed", Integer.class)
            .stage(INGESTION, (Integer i) -> i * 2)
            .stage(
                CLEANING,
                (Integer i) -> {
                  if (i % 10 == 0) {
                    throw RecordFilteredException.because("multiple of ten");
                  }
                  if (i % 7 == 0) {
                    throw new IllegalStateException("seven " + i);
                  }
                  if (i % 13 == 0) {
                    return null;
                  }
                  if (i % 17 == 0) {
                    throw new AssertionError("seventeen " + i);
                  }
                  return i;
                },
                o -> o.concurrency(4).batchSize(16))
            .stage(
                EXTRACTION,
                (Integer i, StageContext c) -> c.recordId() + "=" + i,
                o -> o.batchSize(5))
            .sink(sink::addAll)
            .build();
    List<Integer> items = IntStream.range(0, 10_000).boxed().toList();

    RunResult result = pipeline.run(Source.of("s", items.iterator(), i -> "r" + i));

    assertThat(result.read()).isEqualTo(10_000);
    assertThat(result.filtered()).isEqualTo(items.stream().filter(i -> i % 5 == 0).count());
    assertThat(sink).allSatisfy(e -> assertThat(e.payload()).startsWith(e.id() + "="));
    Outcomes.assertEachEndedOnce(pipeline, result, items.stream().map(i -> "r" + i).toList(), sink);
  }

  // ------------------------------------------------------------------ batch stages

  private Pipeline<String, String> batchPipeline(String name, BatchStage<String, String> stage) {
    return Pipeline.builder(name, String.class)
        .batchStage(CLEANING, stage, o -> o.batchSize(4))
        .stage(PUBLISHING, (String s) -> s)
        .sink(sink::addAll)
        .build();
  }

  @Test
  void batchStageFiltersAndFailsSingleRecordsByIndex() {
    Pipeline<String, String> pipeline =
        batchPipeline(
            "batch-by-index",
            (inputs, context) -> {
              List<String> out = new ArrayList<>(inputs);
              for (int i = 0; i < inputs.size(); i++) {
                if (inputs.get(i).equals("r2")) {
                  context.filter(i, "spam");
                  out.set(i, null);
                } else if (inputs.get(i).equals("r3")) {
                  context.fail(i, new IllegalArgumentException("bad currency"));
                  out.set(i, null);
                }
              }
              return out;
            });

    RunResult result = pipeline.run(source(ids(6)));

    assertThat(Outcomes.state(pipeline, "r2").reason()).isEqualTo("spam");
    assertThat(Outcomes.deadLetter(pipeline, "r3").lastError().message()).isEqualTo("bad currency");
    assertThat(sink).extracting(Envelope::id).containsExactly("r1", "r4", "r5", "r6");
    Outcomes.assertEachEndedOnce(pipeline, result, ids(6), sink);
  }

  @Test
  void batchStageReturningTheWrongNumberOfOutputsIsSplitUntilTheCulpritIsAlone() {
    Pipeline<String, String> pipeline =
        batchPipeline(
            "batch-size",
            (inputs, context) -> inputs.contains("r6") ? inputs.subList(1, inputs.size()) : inputs);

    RunResult result = pipeline.run(source(ids(8)));

    // [r5..r8] fails, then [r5, r6]; r5, r7 and r8 pass in the halves
    assertThat(sink)
        .extracting(Envelope::id)
        .containsExactlyInAnyOrder("r1", "r2", "r3", "r4", "r5", "r7", "r8");
    assertThat(Outcomes.deadLetter(pipeline, "r6").lastError().message())
        .contains("batch stage 'cleaning' returned 0 outputs for 1 inputs")
        .contains("return one output per input");
    assertThat(Outcomes.deadLetters(pipeline))
        .extracting(DeadLetter::recordId)
        .containsExactly("r6");
    assertThat(result.metrics().stage("cleaning").resilience().batchSplits()).isEqualTo(2);
    Outcomes.assertEachEndedOnce(pipeline, result, ids(8), sink);
  }

  @Test
  void batchStageThrowingIsHalvedUntilThePoisonRecordIsAloneAndOnlyItIsDeadLettered() {
    Pipeline<String, String> pipeline =
        batchPipeline(
            "batch-throws",
            (inputs, context) -> {
              if (inputs.contains("r1")) {
                throw new IOException("bulk call failed");
              }
              return inputs;
            });

    RunResult result = pipeline.run(source(ids(8)));

    assertThat(sink)
        .extracting(Envelope::id)
        .containsExactlyInAnyOrder(ids(8).subList(1, 8).toArray(String[]::new));
    assertThat(Outcomes.deadLetters(pipeline))
        .extracting(DeadLetter::recordId)
        .containsExactly("r1");
    assertThat(Outcomes.deadLetter(pipeline, "r1").errors())
        .as("the failed halves leave no error on the records that passed")
        .hasSize(1);
    Outcomes.assertEachEndedOnce(pipeline, result, ids(8), sink);
  }

  @Test
  void batchStageNullWithoutFilterOrFailIsDeadLettered() {
    Pipeline<String, String> pipeline =
        batchPipeline(
            "batch-null",
            (inputs, context) -> {
              List<String> out = new ArrayList<>(inputs);
              Collections.replaceAll(out, "r2", null);
              return out;
            });

    RunResult result = pipeline.run(source(ids(4)));

    assertThat(Outcomes.deadLetter(pipeline, "r2").lastError().message())
        .contains("returned null for record 'r2'");
    Outcomes.assertEachEndedOnce(pipeline, result, ids(4), sink);
  }

  @Test
  void batchStageFilteringTheWholeCallFiltersEveryRecordOfIt() {
    Pipeline<String, String> pipeline =
        batchPipeline(
            "batch-filter-all",
            (inputs, context) -> {
              if (inputs.contains("r1")) {
                throw RecordFilteredException.because("stale feed");
              }
              return inputs;
            });

    RunResult result = pipeline.run(source(ids(6)));

    for (String id : List.of("r1", "r2", "r3", "r4")) {
      assertThat(Outcomes.state(pipeline, id).reason()).isEqualTo("stale feed");
    }
    Outcomes.assertEachEndedOnce(pipeline, result, ids(6), sink);
  }

  @Test
  void batchStageMetadataReachesItsOutputs() {
    Pipeline<String, String> pipeline =
        batchPipeline(
            "batch-metadata",
            (inputs, context) -> {
              context.putMetadata("batch", String.valueOf(inputs.size()));
              return Arrays.asList(inputs.toArray(String[]::new));
            });

    pipeline.run(source(ids(4)));

    assertThat(sink)
        .hasSize(4)
        .allSatisfy(e -> assertThat(e.metadata()).containsEntry("batch", "4"));
  }
}
