package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.PUBLISHING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.StatusCounts;
import dev.pipeline.store.StorableText;
import java.io.IOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class MergeStageTest {
  private static final StageName MERGE = StageName.of("merge");

  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();

  /** An "archive" is its files' names joined by commas. */
  private static List<String> files(String archive) {
    return archive.isEmpty() ? List.of() : Arrays.asList(archive.split(","));
  }

  private static Source<String> archives(String... archives) {
    return Source.of("zip", List.of(archives).iterator());
  }

  /** Upper-cases a file; "skip" is filtered, "bad" fails. */
  private static String read(String file) throws IOException {
    if (file.equals("skip")) {
      throw RecordFilteredException.because("not a listing");
    }
    if (file.equals("bad")) {
      throw new IOException("unreadable file");
    }
    return file.toUpperCase(Locale.ROOT);
  }

  @Test
  void theChildrenOfASplitAreMergedIntoOneRecordPerParentInTheSplitsOrder() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("merge", String.class)
            .stage(CLEANING, String::strip)
            .splitStage(EXTRACTION, (String archive, StageContext c) -> files(archive))
            .stage(PUBLISHING, MergeStageTest::read, s -> s.retry(RetryPolicy.none()))
            .mergeStage(MERGE, (List<String> parts, StageContext c) -> String.join("+", parts))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(archives(" a,b,c ", "skip,bad,d", "x"));

    assertThat(sink)
        .extracting(Envelope::id, Envelope::payload)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("zip-1/merged", "A+B+C"),
            org.assertj.core.groups.Tuple.tuple("zip-2/merged", "D"),
            org.assertj.core.groups.Tuple.tuple("zip-3/merged", "X"));
    Envelope<String> first =
        sink.stream().filter(e -> e.id().equals("zip-1/merged")).findFirst().orElseThrow();
    assertThat(first.sourceId()).as("the parent's metadata").isEqualTo("zip");
    assertThat(first.metadata())
        .doesNotContainKeys(Envelope.PARENT_ID, Envelope.SPLIT_SIZE)
        .as("a merged record is its parent's continuation, not a child");

    RecordState child = Outcomes.state(pipeline, "zip-1/1");
    assertThat(child.status()).isEqualTo(RecordStatus.MERGED);
    assertThat(child.stage()).isEqualTo("merge");
    assertThat(child.reason()).isEqualTo("merged into 'zip-1/merged'");
    assertThat(Outcomes.state(pipeline, "zip-2/0").status()).isEqualTo(RecordStatus.FILTERED);
    DeadLetter dead = Outcomes.deadLetter(pipeline, "zip-2/1");
    assertThat(dead.parentId()).isEqualTo("zip-2");
    assertThat(dead.stage()).isEqualTo("publishing");
    assertThat(Outcomes.state(pipeline, "zip-2/merged").status()).isEqualTo(RecordStatus.PUBLISHED);
    assertThat(Outcomes.state(pipeline, "zip-1").status()).isEqualTo(RecordStatus.SPLIT);

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.split()).isEqualTo(3);
    assertThat(result.children()).isEqualTo(7);
    assertThat(result.merged()).isEqualTo(5);
    assertThat(result.mergedRecords()).isEqualTo(3);
    assertThat(result.published()).isEqualTo(3);
    assertThat(result.filtered()).isOne();
    assertThat(result.deadLettered()).isOne();
    assertThat(result.unfinished()).isZero();
    assertThat(result.summary()).contains("5 merged into 3 records");
    StatusCounts counts = pipeline.store().counts(pipeline.name());
    assertThat(counts.get(RecordStatus.MERGED)).isEqualTo(5);
    assertThat(counts.get(RecordStatus.SPLIT)).isEqualTo(3);
    assertThat(counts.get(RecordStatus.PUBLISHED)).isEqualTo(3);
    assertThat(counts.get(RecordStatus.READY) + counts.get(RecordStatus.IN_PROGRESS)).isZero();
  }

  @Test
  void aGroupCompletedByAChildEndingOnTheWayIsMergedThereAndOneWithNoPartsMakesNoRecord() {
    // the last child to end is the one filtered: only its ending can complete the group
    AtomicInteger calls = new AtomicInteger();
    Pipeline<String, String> pipeline =
        Pipeline.builder("merge-absent", String.class)
            .splitStage(EXTRACTION, (String archive, StageContext c) -> files(archive))
            .stage(PUBLISHING, MergeStageTest::read, s -> s.retry(RetryPolicy.none()))
            .mergeStage(
                MERGE,
                (List<String> parts, StageContext c) -> {
                  calls.incrementAndGet();
                  return c.recordId() + "=" + String.join("+", parts);
                })
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(archives("a,skip", "skip,bad"));

    assertThat(sink)
        .extracting(Envelope::payload)
        .as("a group of only absent parts makes no record")
        .containsExactly("zip-1/merged=A");
    assertThat(calls).hasValue(1);
    assertThat(result.mergedRecords()).isOne();
    assertThat(result.merged()).isOne();
    assertThat(result.filtered()).isEqualTo(2);
    assertThat(result.deadLettered()).isOne();
    assertThat(result.unfinished()).isZero();
    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
  }

  @Test
  void siblingsDeliveredByManyWorkersAtOnceAreMergedOnceEachWithEveryPartInOrder() {
    int parents = 300;
    int width = 7;
    Map<String, AtomicInteger> merges = new ConcurrentHashMap<>();
    Pipeline<String, String> pipeline =
        Pipeline.builder("merge-race", String.class)
            .splitStage(
                EXTRACTION,
                (String n, StageContext c) ->
                    IntStream.range(0, width).mapToObj(i -> n + "." + i).toList())
            .stage(
                PUBLISHING,
                (String part) -> {
                  Thread.onSpinWait();
                  return part;
                },
                s -> s.concurrency(8).batchSize(1))
            .mergeStage(
                MERGE,
                (List<String> parts, StageContext c) -> {
                  merges.computeIfAbsent(c.recordId(), k -> new AtomicInteger()).incrementAndGet();
                  return String.join(",", parts);
                },
                s -> s.concurrency(6).batchSize(1))
            .sink(sink::addAll)
            .build();

    RunResult result =
        pipeline.run(
            Source.of("n", IntStream.range(0, parents).mapToObj(Integer::toString).iterator()));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.mergedRecords()).isEqualTo(parents);
    assertThat(result.merged()).isEqualTo((long) parents * width);
    assertThat(sink).hasSize(parents);
    assertThat(merges.values()).allSatisfy(n -> assertThat(n).hasValue(1));
    for (Envelope<String> merged : sink) {
      String n = merged.payload().substring(0, merged.payload().indexOf('.'));
      String expected =
          IntStream.range(0, width).mapToObj(i -> n + "." + i).collect(Collectors.joining(","));
      assertThat(merged.payload()).isEqualTo(expected);
    }
  }

  @Test
  void aGroupThatCannotBeMergedSendsItsChildrenInHandToTheDeadLettersAndMergesWhenSentBack() {
    Set<String> broken = ConcurrentHashMap.newKeySet();
    broken.add("zip-1/merged");
    Pipeline<String, String> pipeline =
        Pipeline.builder("merge-fails", String.class)
            .splitStage(EXTRACTION, (String archive, StageContext c) -> files(archive))
            .mergeStage(
                MERGE,
                (List<String> parts, StageContext c) -> {
                  if (broken.contains(c.recordId())) {
                    throw new IllegalStateException("cannot join " + parts);
                  }
                  return String.join("+", parts);
                },
                s -> s.retry(RetryPolicy.none()))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(archives("a,b"));

    assertThat(sink).isEmpty();
    List<DeadLetter> dead = Outcomes.deadLetters(pipeline);
    assertThat(dead).isNotEmpty();
    assertThat(dead).allSatisfy(d -> assertThat(d.stage()).isEqualTo("merge"));
    assertThat(dead.get(0).lastError().message()).contains("cannot join [a, b]");
    assertThat(result.deadLettered() + result.merged()).isEqualTo(2);

    broken.clear();
    pipeline.deadLetters().reprocess(List.of(dead.get(0).recordId()));
    RunResult again = pipeline.resume();

    assertThat(sink).extracting(Envelope::payload).containsExactly("a+b");
    assertThat(again.mergedRecords()).isOne();
    assertThat(Outcomes.state(pipeline, dead.get(0).recordId()).status())
        .isEqualTo(RecordStatus.MERGED);
  }

  @Test
  void aChildSentBackAfterItsGroupWasMergedWithoutItIsFilteredAsLate() {
    Set<String> failing = ConcurrentHashMap.newKeySet();
    failing.add("b");
    Pipeline<String, String> pipeline =
        joiningUnlessFailing("merge-late", InMemoryPipelineStore.builder().build(), failing);
    pipeline.run(archives("a,b,c"));
    assertThat(sink).extracting(Envelope::payload).containsExactly("a+c");

    failing.clear();
    RunResult again = sendBackAndSeeItComeLate(pipeline, "zip-1/1", "zip-1/1");

    assertThat(again.mergedRecords()).as("the merged record is not made again").isZero();
    assertThat(sink).hasSize(1);
  }

  /**
   * Splits an archive into its files, passes each on unless it is one of {@code failing} (a dead
   * letter, without a retry), and joins the files read with "+".
   */
  private Pipeline<String, String> joiningUnlessFailing(
      String name, InMemoryPipelineStore store, Set<String> failing) {
    return Pipeline.builder(name, String.class)
        .store(store)
        .splitStage(EXTRACTION, (String archive, StageContext c) -> files(archive))
        .stage(
            PUBLISHING,
            (String file) -> {
              if (failing.contains(file)) {
                throw new IOException("unreadable " + file);
              }
              return file;
            },
            s -> s.retry(RetryPolicy.none()))
        .mergeStage(MERGE, (List<String> parts, StageContext c) -> String.join("+", parts))
        .sink(sink::addAll)
        .build();
  }

  /**
   * The in-memory store forgets the oldest completed records beyond {@code retainCompleted}, and
   * keeps complete groups up to as many groups. A group kept while its merged record was forgotten
   * would merge again for a dead letter sent back and publish the record a second time: the store
   * keeps a merged record as long as its group.
   */
  @Test
  void aMergedRecordIsRememberedAsLongAsItsGroupSoALateChildDoesNotPublishItTwice() {
    Set<String> failing = ConcurrentHashMap.newKeySet();
    failing.add("b");
    Pipeline<String, String> pipeline =
        joiningUnlessFailing(
            "merge-retained", InMemoryPipelineStore.builder().retainCompleted(8).build(), failing);
    pipeline.run(archives("a,b,c"));
    // archives split into no records end FILTERED and make no group: they push the oldest
    // completed records out of the store, and not the group
    String[] empty = new String[20];
    Arrays.fill(empty, "");
    pipeline.run(Source.of("more", List.of(empty).iterator()));
    assertThat(pipeline.store().find(pipeline.name(), "zip-1/0")).as("forgotten").isEmpty();
    assertThat(pipeline.store().find(pipeline.name(), "zip-1/merged"))
        .as("kept with its group")
        .isPresent();

    failing.clear();
    RunResult again = sendBackAndSeeItComeLate(pipeline, "zip-1/1", "zip-1/1");

    assertThat(again.mergedRecords()).as("found stored").isZero();
    assertThat(sink).extracting(Envelope::payload).containsExactly("a+c");

    String[] merged = new String[20];
    Arrays.fill(merged, "x");
    pipeline.run(Source.of("later", List.of(merged).iterator()));
    assertThat(pipeline.store().find(pipeline.name(), "zip-1/merged"))
        .as("newer groups pushed its group out, then it went")
        .isEmpty();
  }

  /**
   * Sends the dead letter {@code deadId} back and resumes; checks that {@code lateId} (the dead
   * letter, or the record its inner group made) reached the merge stage after its group was merged
   * without it, so it ends FILTERED as late. Returns the resumed run.
   */
  private static RunResult sendBackAndSeeItComeLate(
      Pipeline<String, String> pipeline, String deadId, String lateId) {
    pipeline.deadLetters().reprocess(List.of(deadId));
    RunResult again = pipeline.resume();
    RecordState late = Outcomes.state(pipeline, lateId);
    assertThat(late.status()).as(lateId).isEqualTo(RecordStatus.FILTERED);
    assertThat(late.reason()).isEqualTo(dev.pipeline.engine.Merges.LATE);
    return again;
  }

  @Test
  void aStageSettingTheSplitSizeFailsItsRecordOnlyNamingTheFix() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("merge-stray", String.class)
            .splitStage(EXTRACTION, (String archive, StageContext c) -> files(archive))
            .stage(
                PUBLISHING,
                (String file, StageContext c) -> {
                  c.putMetadata(Envelope.SPLIT_SIZE, "many");
                  return file;
                })
            .mergeStage(MERGE, (List<String> parts, StageContext c) -> String.join("+", parts))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(archives("a"));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.deadLettered()).isOne();
    DeadLetter dead = Outcomes.deadLetter(pipeline, "zip-1/0");
    assertThat(dead.stage()).isEqualTo(PUBLISHING.value());
    assertThat(dead.lastError().message())
        .contains(
            "metadata key 'split-size' is written by the engine only", "use a key of your own");
  }

  @Test
  void aStageSettingTheParentDeadLettersOnlyItsRecordInNestedPairs() {
    // a forged parent placed the record in a group that was not its own: with a blank one the
    // engine threw and the whole run failed; the stage may not set it now, so its record fails
    // there and is an absent part of its own group
    Pipeline<String, String> pipeline =
        Pipeline.builder("merge-forged", String.class)
            .splitStage(StageName.of("folders"), (String a, StageContext c) -> folders(a))
            .splitStage(EXTRACTION, (String folder, StageContext c) -> files(folder))
            .stage(
                PUBLISHING,
                (String file, StageContext c) -> {
                  if (file.equals("forged")) {
                    c.putMetadata(Envelope.PARENT_ID, " ");
                  }
                  return file;
                })
            .mergeStage(
                StageName.of("folder"),
                (List<String> parts, StageContext c) -> String.join("+", parts))
            .mergeStage(MERGE, (List<String> parts, StageContext c) -> String.join("|", parts))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(archives("a,forged;b", "c;d"));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.deadLettered()).isOne();
    assertThat(Outcomes.deadLetter(pipeline, "zip-1/0/1").lastError().message())
        .contains("metadata key 'parent' is written by the engine only");
    assertThat(sink)
        .extracting(Envelope::id, Envelope::payload)
        .contains(org.assertj.core.groups.Tuple.tuple("zip-2/merged", "c|d"));
    assertThat(sink)
        .extracting(Envelope::id)
        .as("an inner group's record goes to the outer merge, not the sink")
        .doesNotContain("zip-1/0/merged");
  }

  @Test
  void aSplitWhoseMergedIdWouldBeTooLongDeadLettersTheParent() {
    String id = "p".repeat(StorableText.MAX_ID_LENGTH - 3);
    Pipeline<String, String> pipeline =
        Pipeline.builder("merge-long", String.class)
            .splitStage(EXTRACTION, (String archive, StageContext c) -> files(archive))
            .mergeStage(MERGE, (List<String> parts, StageContext c) -> String.join("+", parts))
            .sink(sink::addAll)
            .build();

    RunResult result =
        pipeline.run(
            new Source<>() {
              private final Iterator<Envelope<String>> one =
                  List.of(Envelope.of(id, "a")).iterator();

              @Override
              public String id() {
                return "ids";
              }

              @Override
              public Envelope<String> next() {
                return one.hasNext() ? one.next() : null;
              }
            });

    assertThat(result.deadLettered()).isOne();
    assertThat(Outcomes.deadLetter(pipeline, id).lastError().message())
        .contains("merged record's id", "shorter ids");
  }

  @Test
  void buildRefusesAMergeWithoutASplitBeforeItAFallbackOrASplitOnADurableStoreWithoutCodecs() {
    assertThatThrownBy(
            () ->
                Pipeline.builder("no-split", String.class)
                    .mergeStage(MERGE, (List<String> parts, StageContext c) -> "x")
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("merge stage 'merge' has no split stage before it");
    assertThatThrownBy(
            () ->
                Pipeline.builder("fallback", String.class)
                    .splitStage(EXTRACTION, (String a, StageContext c) -> files(a))
                    .mergeStage(
                        MERGE,
                        (List<String> parts, StageContext c) -> "x",
                        s -> s.fallback(Fallback.skip()))
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("merge stage 'merge' has a fallback");
    assertThatThrownBy(
            () ->
                Pipeline.builder("twice", String.class)
                    .splitStage(EXTRACTION, (String a, StageContext c) -> files(a))
                    .mergeStage(MERGE, (List<String> parts, StageContext c) -> "x")
                    .mergeStage(StageName.of("again"), (List<String> parts, StageContext c) -> "y")
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("merge stage 'again' has no split stage before it");
  }

  /** An "archive of folders": folders separated by semicolons, a folder's files by commas. */
  private static List<String> folders(String archive) {
    return Arrays.asList(archive.split(";", -1));
  }

  /**
   * split, split, merge, merge: folders are split into files, read ("skip" filtered, "bad" fails),
   * each folder's files joined with "+", then "drop" folders filtered and the archive's folders
   * joined with "|"; {@code broken} names the folders whose join fails.
   */
  private Pipeline<String, String> nested(String name, Set<String> broken) {
    return Pipeline.builder(name, String.class)
        .splitStage(StageName.of("folders"), (String a, StageContext c) -> folders(a))
        .splitStage(EXTRACTION, (String folder, StageContext c) -> files(folder))
        .stage(PUBLISHING, MergeStageTest::read, s -> s.retry(RetryPolicy.none()))
        .mergeStage(
            StageName.of("folder"),
            (List<String> parts, StageContext c) -> {
              if (broken.contains(c.recordId())) {
                throw new IllegalStateException("cannot join " + parts);
              }
              return String.join("+", parts);
            },
            s -> s.retry(RetryPolicy.none()))
        .stage(
            StageName.of("drop"),
            (String folder, StageContext c) -> {
              if (folder.equals("DROP")) {
                throw RecordFilteredException.because("dropped folder");
              }
              return folder;
            })
        .mergeStage(MERGE, (List<String> parts, StageContext c) -> String.join("|", parts))
        .sink(sink::addAll)
        .build();
  }

  /** Asserts that every record the store holds ended once, and the run's counts add up. */
  private static void assertEachEndedOnce(Pipeline<?, ?> pipeline, RunResult result) {
    StatusCounts counts = pipeline.store().counts(pipeline.name());
    long terminal =
        counts.counts().entrySet().stream()
            .filter(e -> e.getKey().isTerminal())
            .mapToLong(Map.Entry::getValue)
            .sum();
    long all = counts.counts().values().stream().mapToLong(Long::longValue).sum();
    assertThat(terminal).as("every record in a terminal state").isEqualTo(all);
    assertThat(result.unfinished()).isZero();
    assertThat(result.read() + result.children() + result.mergedRecords())
        .isEqualTo(
            result.published()
                + result.filtered()
                + result.deadLettered()
                + result.split()
                + result.merged());
  }

  @Test
  void nestedPairsMergeLevelByLevelAndAGroupThatMakesNoRecordIsAbsentOneLevelOut() {
    Pipeline<String, String> pipeline = nested("merge-nested", Set.of());

    RunResult result =
        pipeline.run(
            archives(
                "a,b;c", // two folders
                "skip;d,bad;x", // a folder of filtered files, a dead letter inside one
                "e;", // an empty folder: split into no records, between the two splits
                "skip", // nothing at all
                "y;drop")); // a folder filtered between the two merges

    assertThat(sink)
        .extracting(Envelope::id, Envelope::payload)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("zip-1/merged", "A+B|C"),
            org.assertj.core.groups.Tuple.tuple("zip-2/merged", "D|X"),
            org.assertj.core.groups.Tuple.tuple("zip-3/merged", "E"),
            org.assertj.core.groups.Tuple.tuple("zip-5/merged", "Y"));
    assertThat(sink)
        .allSatisfy(
            e ->
                assertThat(e.metadata())
                    .doesNotContainKeys(
                        Envelope.PARENT_ID, Envelope.SPLIT_SIZE, Envelope.OUTER_SPLIT_SIZES));
    assertThat(Outcomes.state(pipeline, "zip-1/0/1").status()).isEqualTo(RecordStatus.MERGED);
    assertThat(Outcomes.state(pipeline, "zip-1/0/1").reason())
        .isEqualTo("merged into 'zip-1/0/merged'");
    RecordState inner = Outcomes.state(pipeline, "zip-1/0/merged");
    assertThat(inner.status()).isEqualTo(RecordStatus.MERGED);
    assertThat(inner.stage()).isEqualTo("merge");
    assertThat(inner.reason()).isEqualTo("merged into 'zip-1/merged'");
    assertThat(Outcomes.state(pipeline, "zip-1/0").status()).isEqualTo(RecordStatus.SPLIT);
    assertThat(Outcomes.state(pipeline, "zip-3/1").status()).isEqualTo(RecordStatus.FILTERED);
    assertThat(Outcomes.state(pipeline, "zip-5/1/merged").status())
        .isEqualTo(RecordStatus.FILTERED);
    assertThat(Outcomes.deadLetter(pipeline, "zip-2/1/1").parentId()).isEqualTo("zip-2/1");
    assertThat(result.mergedRecords()).as("inner 7, outer 4").isEqualTo(11);
    assertThat(result.published()).isEqualTo(4);
    assertThat(result.deadLettered()).isOne();
    assertEachEndedOnce(pipeline, result);
  }

  @Test
  void anInnerGroupThatCannotBeMergedIsAbsentOutsideAndItsRecordComesLateWhenSentBack() {
    Set<String> broken = ConcurrentHashMap.newKeySet();
    broken.add("zip-1/0/merged");
    Pipeline<String, String> pipeline = nested("merge-nested-fails", broken);

    RunResult result = pipeline.run(archives("a,b;c"));

    assertThat(sink).extracting(Envelope::payload).containsExactly("C");
    List<DeadLetter> dead = Outcomes.deadLetters(pipeline);
    assertThat(dead).isNotEmpty().allSatisfy(d -> assertThat(d.stage()).isEqualTo("folder"));
    assertEachEndedOnce(pipeline, result);

    broken.clear();
    RunResult again = sendBackAndSeeItComeLate(pipeline, dead.get(0).recordId(), "zip-1/0/merged");

    assertThat(again.mergedRecords()).as("the inner group merged again, the outer not").isOne();
    assertThat(sink).hasSize(1);
  }

  @Test
  void buildPairsMergeStagesWithSplitStagesAsBracketsNamingAMergeLeftOver() {
    assertThat(nested("brackets", Set.of()).stages()).hasSize(6);
    assertThatThrownBy(
            () ->
                Pipeline.builder("three", String.class)
                    .splitStage(StageName.of("folders"), (String a, StageContext c) -> folders(a))
                    .splitStage(EXTRACTION, (String f, StageContext c) -> files(f))
                    .mergeStage(StageName.of("folder"), (List<String> p, StageContext c) -> "x")
                    .mergeStage(MERGE, (List<String> p, StageContext c) -> "y")
                    .mergeStage(StageName.of("again"), (List<String> p, StageContext c) -> "z")
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("merge stage 'again' has no split stage before it")
        .hasMessageNotContaining("merge stage 'merge' has");
  }
}
