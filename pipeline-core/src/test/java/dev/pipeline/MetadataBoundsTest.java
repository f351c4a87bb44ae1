package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.RecordStatus;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * What a stage adds with {@link StageContext#putMetadata} travels with its record into every row,
 * error and lineage event: a key, value or number of entries out of bounds fails only the call that
 * added it, with an error naming the stage, the record and the fix.
 */
class MetadataBoundsTest {
  private static final String HUGE = "x".repeat(1_000_000);

  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();

  private static Source<String> source(int n) {
    return Source.of(
        "src", IntStream.rangeClosed(1, n).mapToObj(i -> "r" + i).iterator(), id -> id);
  }

  private Pipeline<String, String> hostile(String name, Stage<String, String> stage) {
    return Pipeline.builder(name, String.class)
        .stage(CLEANING, stage, s -> s.retry(RetryPolicy.none()))
        .sink(sink::addAll)
        .build();
  }

  @Test
  void aHugeValueFailsItsRecordOnlyWithAnErrorNamingTheStageTheRecordAndTheFix() {
    Pipeline<String, String> pipeline =
        hostile(
            "huge-value",
            (String s, StageContext c) -> {
              c.putMetadata("note", s.equals("r2") ? HUGE : "small");
              return s;
            });

    RunResult result = pipeline.run(source(3));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(sink).extracting(Envelope::id).containsExactly("r1", "r3");
    assertThat(sink).allSatisfy(e -> assertThat(e.metadata()).containsEntry("note", "small"));
    String error = Outcomes.deadLetter(pipeline, "r2").lastError().message();
    assertThat(error)
        .contains(
            "stage 'cleaning' cannot add metadata key 'note' to record 'r2'",
            "its value is 1000000 characters long, more than 4096",
            "keep large data in the payload");
    assertThat(error.length()).as("the error itself is bounded").isLessThan(2_000);
  }

  @Test
  void aLongKeyAnEmptyKeyAndTooManyKeysFailTheirRecordsOnly() {
    Pipeline<String, String> pipeline =
        hostile(
            "bad-keys",
            (String s, StageContext c) -> {
              switch (s) {
                case "r1" -> c.putMetadata("k".repeat(201), "v");
                case "r2" -> c.putMetadata("", "v");
                case "r3" -> {
                  for (int i = 0; ; i++) {
                    c.putMetadata("key-" + i, "v");
                  }
                }
                default -> {
                  // the most one call may add, one of them put twice
                  for (int i = 0; i < StageContext.MAX_METADATA_ENTRIES; i++) {
                    c.putMetadata("key-" + i, "v");
                  }
                  c.putMetadata("key-0", "again");
                  c.putMetadata("key-1", "y".repeat(StageContext.MAX_METADATA_VALUE_CHARS));
                }
              }
              return s;
            });

    RunResult result = pipeline.run(source(4));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(sink).extracting(Envelope::id).containsExactly("r4");
    assertThat(Outcomes.deadLetter(pipeline, "r1").lastError().message())
        .contains("the key is 201 characters long, more than 200");
    assertThat(Outcomes.deadLetter(pipeline, "r2").lastError().message())
        .contains("the key is empty");
    assertThat(Outcomes.deadLetter(pipeline, "r3").lastError().message())
        .contains("the call already added 64 keys, the most one call may add");
  }

  @Test
  void aBatchStagePuttingAHugeValueOnOneCallFailsOnlyTheRecordThatMadeIt() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("huge-in-batch", String.class)
            .batchStage(
                CLEANING,
                (List<String> batch, StageContext c) -> {
                  // the value grows with the record that makes it: only r5's call is refused
                  c.putMetadata("seen", batch.contains("r5") ? HUGE : "ok");
                  return batch;
                },
                s -> s.batchSize(8).retry(RetryPolicy.none()))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(8));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(sink).extracting(Envelope::id).hasSize(7).doesNotContain("r5");
    assertThat(Outcomes.state(pipeline, "r5").status()).isEqualTo(RecordStatus.DEAD_LETTER);
    assertThat(Outcomes.deadLetter(pipeline, "r5").lastError().message())
        .contains("stage 'cleaning' cannot add metadata key 'seen' to record 'r5'");
  }

  @Test
  void aSourceRecordWithMetadataOutOfBoundsIsDeadLetteredAtIngestionWithoutItAndTheOthersPass() {
    Map<String, String> many = new LinkedHashMap<>();
    for (int i = 0; i < 100_000; i++) {
      many.put("k" + i, "v");
    }
    Iterator<Envelope<String>> records =
        List.of(
                Envelope.of("ok", "a").withMetadata("note", "small"),
                Envelope.of("huge", "b").withMetadata("note", HUGE).withMetadata("kept", "yes"),
                // a source handing over a map of 100,000 entries
                Envelope.of("many", "c").withAllMetadata(many))
            .iterator();
    Source<String> source = sourceOf(records);
    Pipeline<String, String> pipeline =
        Pipeline.builder("source-metadata", String.class)
            .stage(CLEANING, (String s) -> s)
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source);

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(sink).extracting(Envelope::id).containsExactly("ok");
    dev.pipeline.store.DeadLetter huge = Outcomes.deadLetter(pipeline, "huge");
    assertThat(huge.lastError().message())
        .contains(
            "went to the dead letter queue without entering a stage",
            "its source 'src' gave it 1 metadata entries out of bounds",
            "keep large data in the payload");
    assertThat(huge.record().metadata()).containsEntry("kept", "yes").doesNotContainKey("note");
    dev.pipeline.store.DeadLetter tooMany = Outcomes.deadLetter(pipeline, "many");
    assertThat(tooMany.lastError().message()).contains("gave it 99936 metadata entries");
    assertThat(tooMany.record().metadata().size())
        .isLessThanOrEqualTo(StageContext.MAX_METADATA_ENTRIES + 2);
  }

  /** A stage adding the most one call may add, each key starting with {@code prefix}. */
  private static Stage<String, String> addsTheMost(String prefix) {
    return (s, c) -> {
      for (int i = 0; i < StageContext.MAX_METADATA_ENTRIES; i++) {
        c.putMetadata(prefix + i, "v");
      }
      return s;
    };
  }

  private static Source<String> sourceOf(Iterator<Envelope<String>> records) {
    return new Source<>() {
      @Override
      public String id() {
        return "src";
      }

      @Override
      public Envelope<String> next() {
        return records.hasNext() ? records.next() : null;
      }
    };
  }

  @Test
  void aRouteBranchStageAddingTheMostOneCallMayAddPassesWithTheRoutesOwnMark() {
    StageName route = StageName.of("by-kind");
    Route<String, String> byKind =
        Route.builder(String.class, String.class)
            .otherwise(
                Route.<String>branch(StageName.of("all"))
                    .stage(StageName.of("tag"), addsTheMost("key-"))
                    .join(String.class))
            .build();
    Pipeline<String, String> pipeline =
        Pipeline.builder("route-marks", String.class)
            .stage(route, byKind)
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(2));

    assertThat(result.published()).isEqualTo(2);
    assertThat(sink)
        .allSatisfy(
            e ->
                assertThat(e.metadata())
                    .containsEntry(Route.metadataKey(route), "all")
                    .containsKey("key-" + (StageContext.MAX_METADATA_ENTRIES - 1)));
  }

  @Test
  void aParallelStageJoinsWhatEachOfItsBranchesAddedThoughTogetherItIsMoreThanOneCallMayAdd() {
    Parallel<String, String> both =
        Parallel.join(
            Parallel.branch(StageName.of("left"), addsTheMost("key-")),
            Parallel.branch(StageName.of("right"), addsTheMost("right-")),
            (String left, String right) -> left);
    Pipeline<String, String> pipeline =
        Pipeline.builder("parallel-marks", String.class)
            .stage(StageName.of("both"), both)
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(2));

    assertThat(result.published()).isEqualTo(2);
    assertThat(sink)
        .allSatisfy(
            e ->
                assertThat(e.metadata())
                    .containsKeys("key-63", "right-63")
                    .hasSizeGreaterThanOrEqualTo(2 * StageContext.MAX_METADATA_ENTRIES));
  }

  @Test
  void aDegradedMarkThatWouldOutgrowAValueEndsInAnEllipsisAndItsRecordGoesOn() {
    String longMark = "s".repeat(StageContext.MAX_METADATA_VALUE_CHARS - 2);
    Iterator<Envelope<String>> one =
        List.of(Envelope.of("r1", "a").withMetadata(Fallback.DEGRADED, longMark)).iterator();
    Source<String> marked = sourceOf(one);
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .otherwise(
                Route.<String>branch(StageName.of("all"))
                    .stage(
                        StageName.of("flaky"),
                        (Stage<String, String>)
                            (s, c) -> {
                              throw new IllegalStateException("down");
                            },
                        o -> o.retry(RetryPolicy.none()).fallback(Fallback.skip()))
                    .join(String.class))
            .build();
    Pipeline<String, String> pipeline =
        Pipeline.builder("degraded-marks", String.class)
            .stage(StageName.of("by-kind"), route)
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(marked);

    assertThat(result.published()).isEqualTo(1);
    String mark = sink.peek().metadata().get(Fallback.DEGRADED);
    assertThat(mark)
        .endsWith(",...")
        .hasSizeLessThanOrEqualTo(StageContext.MAX_METADATA_VALUE_CHARS);
  }
}
