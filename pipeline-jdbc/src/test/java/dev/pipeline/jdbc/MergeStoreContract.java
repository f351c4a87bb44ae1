package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Envelope;
import dev.pipeline.MergeFunction;
import dev.pipeline.Pipeline;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.StatusCounts;
import dev.pipeline.store.spi.MergeOutcome;
import dev.pipeline.store.spi.MergePart;
import dev.pipeline.store.spi.MergedGroup;
import dev.pipeline.store.spi.StageDescriptor;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Merge groups on a durable store: parts counted once per index whoever gives them and however
 * often, absent parts, late arrivals, the last siblings given by several workers at once, a worker
 * dying inside the merge window, and a pipeline of split, stage and merge whose every record ends
 * once.
 */
abstract class MergeStoreContract extends DatabaseContract {
  private static final PayloadCodec<String> STRING = PayloadCodec.string();
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final StageName MERGE = StageName.of("merge");
  // extraction (split) -> reading -> merge: the merge stage's input is a String
  private static final List<StageDescriptor> STAGES =
      List.of(
          new StageDescriptor("extraction", 1, "Split", null, "none", 0, false, STRING),
          new StageDescriptor("reading", 2, "Read", null, "none", 0, false, STRING),
          new StageDescriptor("merge", 3, "Merge", null, "none", 0, false, STRING));

  private final Queue<Envelope<String>> sunk = new ConcurrentLinkedQueue<>();

  @BeforeEach
  void clearSinks() {
    sunk.clear();
  }

  private JdbcPipelineStore open(String worker) {
    return open(database.builder().workerId(worker));
  }

  private JdbcPipelineStore open(JdbcPipelineStoreBuilder builder) {
    JdbcPipelineStore store = build(builder);
    store.register(pipeline, STAGES);
    store.unregister(pipeline);
    return store;
  }

  private static MergePart part(String parent, int index, int size, boolean absent) {
    String id = parent + "/" + index;
    return new MergePart(id, parent, index, size, absent ? null : Envelope.of(id, "p" + index));
  }

  /** An archive's files: its name split at commas. */
  private static List<String> files(String archive) {
    return Arrays.asList(archive.split(","));
  }

  /** A file read: "skip" is filtered, "bad" fails; the rest upper-cased. */
  private static String read(String file) {
    if (file.equals("skip")) {
      throw RecordFilteredException.because("not a listing");
    }
    if (file.equals("bad")) {
      throw new IllegalStateException("unreadable");
    }
    return file.toUpperCase(java.util.Locale.ROOT);
  }

  private Pipeline<String, String> merging(
      JdbcPipelineStore store, MergeFunction<String, String> merger) {
    return merging(store, merger, MergeStoreContract::read);
  }

  private Pipeline<String, String> merging(
      JdbcPipelineStore store,
      MergeFunction<String, String> merger,
      java.util.function.UnaryOperator<String> reader) {
    return Pipeline.builder(pipeline, String.class)
        .store(store)
        .inputCodec(STRING)
        .splitStage(
            StageName.EXTRACTION, (String a, StageContext c) -> files(a), o -> o.codec(STRING))
        .stage(
            StageName.of("reading"),
            (String f, StageContext c) -> reader.apply(f),
            o -> o.codec(STRING).retry(RetryPolicy.none()))
        .mergeStage(MERGE, merger, o -> o.codec(STRING))
        .sink(sunk::addAll)
        .build();
  }

  private static String join(List<String> parts, StageContext context) {
    return String.join("+", parts);
  }

  @Test
  void aSplitsChildrenAreMergedAndEveryRecordEndsOnceInTheStoreCountsAndStatusView() {
    JdbcPipelineStore store = open("w1");
    Pipeline<String, String> p = merging(store, MergeStoreContract::join);
    List<String> archives = List.of("a,b,c", "skip,bad,d", "x", "skip,bad");

    RunResult result = p.run(Source.of("zip", archives.iterator()));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(sunk)
        .extracting(Envelope::id, Envelope::payload)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("zip-1/merged", "A+B+C"),
            org.assertj.core.groups.Tuple.tuple("zip-2/merged", "D"),
            org.assertj.core.groups.Tuple.tuple("zip-3/merged", "X"));
    assertThat(result.merged()).isEqualTo(5);
    assertThat(result.mergedRecords()).isEqualTo(3);
    RecordState child = store.find(pipeline, "zip-1/2").orElseThrow();
    assertThat(child.status()).isEqualTo(RecordStatus.MERGED);
    assertThat(child.reason()).isEqualTo("merged into 'zip-1/merged'");
    assertThat(child.parentId()).isEqualTo("zip-1");
    assertThat(
            database.query(
                "SELECT status FROM "
                    + database.table("pipeline_status")
                    + " WHERE pipeline = ? AND record_id = ?",
                pipeline,
                "zip-1/2"))
        .as("the status view")
        .containsExactly(List.of("MERGED"));
    StatusCounts counts = store.counts(pipeline);
    assertThat(counts.get(RecordStatus.MERGED)).isEqualTo(5);
    assertThat(counts.get(RecordStatus.SPLIT)).isEqualTo(4);
    assertThat(counts.get(RecordStatus.PUBLISHED)).isEqualTo(3);
    assertThat(counts.get(RecordStatus.FILTERED)).isEqualTo(2);
    assertThat(counts.get(RecordStatus.DEAD_LETTER)).isEqualTo(2);
    assertThat(store.hasUnfinished(pipeline)).isFalse();
    assertThat(
            database.count(
                "SELECT COUNT(*) FROM "
                    + database.table("pipeline_merge_parts")
                    + " WHERE pipeline = ? AND absent = TRUE",
                pipeline))
        .as("the filtered and dead-lettered children, marked absent")
        .isEqualTo(4);

    RunResult again = p.run(Source.of("zip", archives.iterator()));
    assertThat(again.duplicates()).isEqualTo(archives.size());
    assertThat(again.mergedRecords()).isZero();
    assertThat(sunk).hasSize(3);
  }

  @Test
  void aPartGivenAgainChangesNothingAndFindsItsGroupCompleteWithTheSamePayloads() {
    JdbcPipelineStore store = open("w1");

    MergeOutcome first = store.merge(pipeline, "merge", List.of(part("g", 1, 3, false)), T0);
    MergeOutcome second =
        store.merge(
            pipeline,
            "merge",
            List.of(part("g", 1, 3, false), part("g", 0, 3, false), part("g", 2, 3, true)),
            T0);
    MergeOutcome again = store.merge(pipeline, "merge", List.of(part("g", 0, 3, false)), T0);

    assertThat(first.complete()).isEmpty();
    assertThat(second.complete()).containsExactly(new MergedGroup("g", 3, List.of("p0", "p1")));
    assertThat(again.complete()).isEqualTo(second.complete());
    assertThat(again.late()).isEmpty();
    assertThat(
            database.query(
                "SELECT arrived, group_size FROM "
                    + database.table("pipeline_merge_groups")
                    + " WHERE pipeline = ? AND parent_id = 'g'",
                pipeline))
        .hasSize(1)
        .allSatisfy(
            row -> assertThat(row).extracting(o -> ((Number) o).intValue()).containsExactly(3, 3));
  }

  @Test
  void aForgedSizeOnAGroupsFirstPartNeitherCompletesItWrongNorCountsSiblingsOfAnotherSize() {
    JdbcPipelineStore store = open("w1");
    // "big/1" was edited to claim a group of 100,000 and comes first; "small/0" claims 2 where its
    // split made 3; "ok" is a group of 2 given in the same calls
    MergeOutcome first =
        store.merge(
            pipeline,
            "merge",
            List.of(
                part("big", 1, 100_000, false),
                part("small", 0, 2, false),
                part("ok", 0, 2, false)),
            T0);
    MergeOutcome rest =
        store.merge(
            pipeline,
            "merge",
            List.of(
                part("big", 0, 2, false),
                part("small", 1, 3, false),
                part("small", 2, 3, true),
                part("ok", 1, 2, false)),
            T0);

    assertThat(first.complete()).isEmpty();
    assertThat(rest.complete())
        .as("only the group whose parts agree on its size")
        .containsExactly(new MergedGroup("ok", 2, List.of("p0", "p1")));
    assertThat(rest.refused()).containsOnlyKeys("big/0", "small/1", "small/2");
    assertThat(rest.refused().get("big/0"))
        .contains("record 'big/0' is part 0 of 2 of merge group 'big', which has 100000 parts");
    assertThat(rest.refused().get("small/1")).contains("part 1 of 3", "which has 2 parts");
    assertThat(
            database.count(
                "SELECT COUNT(*) FROM "
                    + database.table("pipeline_merge_parts")
                    + " WHERE pipeline = ? AND parent_id IN ('big', 'small')",
                pipeline))
        .as("the refused parts are not stored")
        .isEqualTo(2);
  }

  @Test
  void aPartArrivingWhereItWasMarkedAbsentTakesItsPlaceUntilTheGroupIsCompleteThenIsLate() {
    JdbcPipelineStore store = open("w1");

    store.merge(pipeline, "merge", List.of(part("open", 0, 2, true)), T0);
    store.merge(pipeline, "merge", List.of(part("open", 0, 2, false)), T0);
    MergeOutcome open = store.merge(pipeline, "merge", List.of(part("open", 1, 2, false)), T0);
    store.merge(pipeline, "merge", List.of(part("done", 0, 2, true)), T0);
    store.merge(pipeline, "merge", List.of(part("done", 1, 2, false)), T0);
    MergeOutcome done = store.merge(pipeline, "merge", List.of(part("done", 0, 2, false)), T0);

    assertThat(open.complete())
        .as("the part sent back before the group completed is in it")
        .containsExactly(new MergedGroup("open", 2, List.of("p0", "p1")));
    assertThat(done.late()).containsExactly("done/0");
    assertThat(done.complete()).containsExactly(new MergedGroup("done", 2, List.of("p1")));
  }

  /**
   * The last siblings of each group are given by several workers (stores) at once, from threads
   * that start together: each group is found complete exactly once, by the call that committed its
   * last part, with every part.
   */
  @Test
  void theLastSiblingsGivenByWorkersAtOnceCompleteTheirGroupExactlyOnce() throws Exception {
    int workers = 4;
    int groups = 60;
    List<JdbcPipelineStore> all = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      all.add(open("w" + w));
    }
    ExecutorService threads = Executors.newFixedThreadPool(workers);
    try {
      Map<String, Integer> completions = new HashMap<>();
      for (int g = 0; g < groups; g++) {
        String parent = "g" + g;
        CyclicBarrier start = new CyclicBarrier(workers);
        List<Future<MergeOutcome>> calls = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
          JdbcPipelineStore store = all.get(w);
          int index = w;
          calls.add(
              threads.submit(
                  () -> {
                    start.await(30, TimeUnit.SECONDS);
                    return store.merge(
                        pipeline, "merge", List.of(part(parent, index, workers, false)), T0);
                  }));
        }
        for (Future<MergeOutcome> call : calls) {
          for (MergedGroup group : call.get(60, TimeUnit.SECONDS).complete()) {
            completions.merge(group.parentId(), 1, Integer::sum);
            assertThat(group.payloads()).containsExactly("p0", "p1", "p2", "p3");
          }
        }
      }
      assertThat(completions).hasSize(groups);
      assertThat(completions.values()).containsOnly(1);
    } finally {
      threads.shutdownNow();
    }
  }

  /**
   * A worker died inside the merge window: it had given a group's parts (the group completed) and,
   * in one case, stored the merged record too, but ended no child. The next worker claims the
   * children, finds the groups complete, merges them again, finds the one merged record stored, and
   * ends every child MERGED: each merged record is published once.
   */
  @Test
  void aWorkerThatDiesAfterCompletingAGroupLosesAndDuplicatesNothing() {
    JdbcPipelineStore a = open(database.builder().workerId("a").leaseDuration(Duration.ofDays(1)));
    merging(a, MergeStoreContract::join); // registers the stages and codecs
    List<Envelope<String>> children = new ArrayList<>();
    for (String parent : List.of("p1", "p2")) {
      a.ingest(pipeline, List.of(Envelope.of(parent, "x,y", "src")), "extraction", T0);
      a.complete(
          pipeline,
          List.of(
              dev.pipeline.store.spi.Completion.split(parent, "extraction", 2, List.of(), 1, T0)));
      for (int i = 0; i < 2; i++) {
        children.add(
            Envelope.of(parent + "/" + i, i == 0 ? "X" : "Y", "src")
                .withMetadata(Envelope.PARENT_ID, parent)
                .withMetadata(Envelope.SPLIT_SIZE, "2"));
      }
    }
    a.ingest(pipeline, children, "merge", T0);
    List<MergePart> parts = new ArrayList<>();
    for (Envelope<String> child : children) {
      int index = Integer.parseInt(child.id().substring(3));
      parts.add(new MergePart(child.id(), child.id().substring(0, 2), index, 2, child));
    }
    assertThat(a.merge(pipeline, "merge", parts, T0).complete()).hasSize(2);
    a.ingest(pipeline, List.of(Envelope.of("p1/merged", "X+Y", "src")), "sink", T0);
    database.expireLeases(pipeline);

    JdbcPipelineStore b = open("b");
    RunResult result = merging(b, MergeStoreContract::join).resume();

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(sunk)
        .extracting(Envelope::id)
        .as("each merged record once: p1's stored by a, p2's made by b")
        .containsExactlyInAnyOrder("p1/merged", "p2/merged");
    assertThat(result.mergedRecords()).isOne();
    for (Envelope<String> child : children) {
      assertThat(b.find(pipeline, child.id()).orElseThrow().status())
          .isEqualTo(RecordStatus.MERGED);
    }
    assertThat(b.counts(pipeline).get(RecordStatus.MERGED)).isEqualTo(4);
    assertThat(b.counts(pipeline).get(RecordStatus.PUBLISHED)).isEqualTo(2);
    assertThat(b.hasUnfinished(pipeline)).isFalse();
  }

  /**
   * split, split, merge, merge on the store: folders (";") split into files (","), read, each
   * folder's files joined with "+" (failing for the folders {@code broken} names), the archive's
   * folders with "|".
   */
  private Pipeline<String, String> nested(JdbcPipelineStore store, Set<String> broken) {
    return Pipeline.builder(pipeline, String.class)
        .store(store)
        .inputCodec(STRING)
        .splitStage(
            StageName.of("folders"),
            (String a, StageContext c) -> Arrays.asList(a.split(";", -1)),
            o -> o.codec(STRING))
        .splitStage(
            StageName.EXTRACTION,
            (String f, StageContext c) -> f.isEmpty() ? List.of() : files(f),
            o -> o.codec(STRING).batchSize(2))
        .stage(
            StageName.of("reading"),
            (String f, StageContext c) -> read(f),
            o -> o.codec(STRING).retry(RetryPolicy.none()).batchSize(3))
        .mergeStage(
            StageName.of("folder"),
            (List<String> parts, StageContext c) -> {
              if (broken.contains(c.recordId())) {
                throw new IllegalStateException("cannot join " + parts);
              }
              return String.join("+", parts);
            },
            o -> o.codec(STRING).retry(RetryPolicy.none()))
        .mergeStage(
            MERGE,
            (List<String> parts, StageContext c) -> String.join("|", parts),
            o -> o.codec(STRING))
        .sink(sunk::addAll)
        .build();
  }

  @Test
  void nestedPairsMergeLevelByLevelOnTheStoreAndEveryRecordEndsOnceAcrossARestart() {
    Set<String> broken = ConcurrentHashMap.newKeySet();
    broken.add("zip-3/0/merged");
    JdbcPipelineStore first = open("w1");
    List<String> archives = List.of("a,b;c", "skip;d,bad;x", "e,f;g", "skip", "h;");

    RunResult result = nested(first, broken).run(Source.of("zip", archives.iterator()));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(sunk)
        .extracting(Envelope::id, Envelope::payload)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("zip-1/merged", "A+B|C"),
            org.assertj.core.groups.Tuple.tuple("zip-2/merged", "D|X"),
            org.assertj.core.groups.Tuple.tuple("zip-3/merged", "G"),
            org.assertj.core.groups.Tuple.tuple("zip-5/merged", "H"));
    assertThat(sunk)
        .allSatisfy(
            e ->
                assertThat(e.metadata())
                    .doesNotContainKeys(
                        Envelope.PARENT_ID, Envelope.SPLIT_SIZE, Envelope.OUTER_SPLIT_SIZES));
    assertThat(first.find(pipeline, "zip-1/0/1").orElseThrow().parentId()).isEqualTo("zip-1/0");
    RecordState inner = first.find(pipeline, "zip-1/0/merged").orElseThrow();
    assertThat(inner.status()).isEqualTo(RecordStatus.MERGED);
    assertThat(inner.reason()).isEqualTo("merged into 'zip-1/merged'");
    assertThat(result.mergedRecords()).as("inner 6, outer 4").isEqualTo(10);
    assertEachEndedOnce(first, result);
    List<String> dead =
        first.deadLetters(pipeline, dev.pipeline.store.DeadLetterQuery.all()).items().stream()
            .filter(d -> d.stage().equals("folder"))
            .map(d -> d.recordId())
            .toList();
    assertThat(dead).as("the children of the folder whose join failed, in hand").isNotEmpty();
    first.close();

    sendBackAndResumeAfterTheFix(dead, broken, "zip-3/0");
    assertThat(sunk).hasSize(4);
  }

  /**
   * Sends the dead letters back from a new process (the metadata comes from the store) once the
   * join of the folders {@code broken} named is fixed, and checks that the folder {@code folder} is
   * merged again and its record comes late to its archive's group, every record ending once.
   */
  private void sendBackAndResumeAfterTheFix(List<String> dead, Set<String> broken, String folder) {
    JdbcPipelineStore second = open("w2");
    broken.clear();
    Pipeline<String, String> again = nested(second, broken);
    assertThat(again.deadLetters().reprocess(dead)).hasSize(dead.size());
    RunResult resumed = again.resume();

    assertThat(resumed.mergedRecords()).as("the inner group merged again").isOne();
    RecordState late = second.find(pipeline, folder + "/merged").orElseThrow();
    assertThat(late.status()).isEqualTo(RecordStatus.FILTERED);
    assertThat(late.reason()).startsWith("its group was merged without it");
    assertThat(
            database.count(
                "SELECT COUNT(*) FROM "
                    + database.table("pipeline_merge_groups")
                    + " WHERE pipeline = ? AND completed_at IS NULL",
                pipeline))
        .as("no group left incomplete")
        .isZero();
    assertEachEndedOnce(second, resumed);
  }

  /**
   * Retention with nested pairs: a folder's join failed, so its files are dead letters at the inner
   * merge stage and the folder is an absent part of its archive's group, which completed. Both
   * groups are kept however old: sent back, the files are merged again and the folder's record must
   * find its archive's group complete (it comes late) rather than start a new group that never
   * completes. The groups of the archive merged whole go, the inner ones first.
   */
  @Test
  void retentionKeepsEveryEnclosingGroupOfADeadLetterInANestedGroup() {
    Set<String> broken = ConcurrentHashMap.newKeySet();
    broken.add("zip-2/0/merged");
    JdbcPipelineStore first =
        open(database.builder().workerId("w1").retainCompleted(Duration.ofDays(1)));
    RunResult result =
        nested(first, broken).run(Source.of("zip", List.of("a,b;c", "e,f;g").iterator()));
    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    String groups = database.table("pipeline_merge_groups");
    database.update(
        "UPDATE "
            + groups
            + " SET completed_at = CURRENT_TIMESTAMP - INTERVAL '2' DAY WHERE pipeline = ?",
        pipeline);

    String kept = "SELECT parent_id FROM " + groups + " WHERE pipeline = ? ORDER BY 1";
    first.purge();
    assertThat(database.query(kept, pipeline))
        .as("zip-1's folders go first, zip-1 is kept while they are there")
        .containsExactly(List.of("zip-1"), List.of("zip-2"), List.of("zip-2/0"));
    first.purge();
    assertThat(database.query(kept, pipeline))
        .as("the folder of the dead letters and its archive")
        .containsExactly(List.of("zip-2"), List.of("zip-2/0"));
    List<String> dead =
        first.deadLetters(pipeline, dev.pipeline.store.DeadLetterQuery.all()).items().stream()
            .map(d -> d.recordId())
            .toList();
    assertThat(dead).containsExactlyInAnyOrder("zip-2/0/0", "zip-2/0/1");
    first.close();

    sendBackAndResumeAfterTheFix(dead, broken, "zip-2/0");
    assertThat(sunk).hasSize(2);
  }

  @Test
  void retentionKeepsTheMergedRecordOfAGroupKeptForADeadLetterInItsBatch() {
    mergedRecordStaysWhileItsGroupIsKept(false, false);
  }

  @Test
  void retentionKeepsTheMergedRecordOfAGroupKeptForADeadLetterInItsFullRow() {
    mergedRecordStaysWhileItsGroupIsKept(false, true);
  }

  @Test
  void retentionKeepsTheMergedRecordOfAGroupKeptForADeadLetterWithTheFullLedger() {
    mergedRecordStaysWhileItsGroupIsKept(true, false);
  }

  /**
   * Retention while a group is kept for a dead letter: the file "b" could not be read, so its
   * archive's group completed without it and was merged. However old, the group stays for the dead
   * letter, and so does its merged record: sent back and read this time, the file comes late to its
   * complete group, which is merged again, and the merged record's ingest must find it stored
   * rather than publish it a second time. Once the dead letter is gone, the group goes, then the
   * merged record.
   */
  private void mergedRecordStaysWhileItsGroupIsKept(boolean fullLedger, boolean fromIngest) {
    Set<String> unreadable = ConcurrentHashMap.newKeySet();
    unreadable.add("b");
    java.util.function.UnaryOperator<String> reader =
        f -> {
          if (unreadable.contains(f)) {
            throw new IllegalStateException("unreadable");
          }
          return read(f);
        };
    java.util.function.Function<String, JdbcPipelineStore> opener =
        worker ->
            open(
                database
                    .builder()
                    .workerId(worker)
                    .fullLedger(fullLedger)
                    .rowsFromIngest(fromIngest)
                    .retainCompleted(Duration.ofDays(1)));
    JdbcPipelineStore first = opener.apply("w1");
    RunResult result =
        merging(first, MergeStoreContract::join, reader)
            .run(Source.of("zip", List.of("a,b", "c,d").iterator()));
    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(sunk)
        .extracting(Envelope::id)
        .containsExactlyInAnyOrder("zip-1/merged", "zip-2/merged");
    ageEverythingCompleted();

    first.purge();
    assertThat(first.find(pipeline, "zip-1/0")).as("retention ran").isEmpty();
    assertThat(first.find(pipeline, "zip-1/merged")).as("kept with its group").isPresent();
    assertThat(
            database.count(
                "SELECT COUNT(*) FROM "
                    + database.table("pipeline_records")
                    + " WHERE pipeline = ? AND record_id = 'zip-1/merged' AND status = 'PUBLISHED'",
                pipeline))
        .as("in a full row of its own")
        .isOne();
    assertThat(
            database.count(
                "SELECT COUNT(*) FROM "
                    + database.table("pipeline_batches")
                    + " WHERE pipeline = ?",
                pipeline))
        .as("no batch kept for it")
        .isZero();
    first.close();

    JdbcPipelineStore second = opener.apply("w2");
    unreadable.clear();
    Pipeline<String, String> again = merging(second, MergeStoreContract::join, reader);
    assertThat(again.deadLetters().reprocess(List.of("zip-1/1"))).hasSize(1);
    RunResult resumed = again.resume();

    assertThat(resumed.mergedRecords()).as("found stored").isZero();
    assertThat(sunk).as("published once").hasSize(2);
    RecordState late = second.find(pipeline, "zip-1/1").orElseThrow();
    assertThat(late.status()).isEqualTo(RecordStatus.FILTERED);
    assertThat(late.reason()).startsWith("its group was merged without it");
    assertEachEndedOnce(second, resumed);
    second.close();

    JdbcPipelineStore third = opener.apply("w3");
    ageEverythingCompleted();
    third.purge();
    third.purge();
    assertThat(third.find(pipeline, "zip-1/merged")).as("its group went, then it").isEmpty();
    third.close();
  }

  @Test
  void aDeadLetterWhoseEngineMetadataWasEditedFailsAloneWhenSentBack() {
    // an operator edits a dead letter's row in SQL, checksum and all: a group of two billion parts
    // and a sink hand-over the engine never made; sent back, it must fail alone, not reach the
    // merge stage or the sink
    Set<String> unreadable = ConcurrentHashMap.newKeySet();
    unreadable.add("bad");
    java.util.function.UnaryOperator<String> reader =
        f -> {
          if (unreadable.contains(f)) {
            throw new IllegalStateException("unreadable");
          }
          return f.toUpperCase(java.util.Locale.ROOT);
        };
    JdbcPipelineStore store = open("w1");
    Pipeline<String, String> p = merging(store, MergeStoreContract::join, reader);
    assertThat(p.run(Source.of("zip", List.of("a,bad", "c").iterator())).deadLettered()).isOne();
    String status = database.table("pipeline_records");
    List<Object> row =
        database
            .query(
                "SELECT payload, metadata FROM " + status + " WHERE pipeline = ? AND record_id = ?",
                pipeline,
                "zip-1/1")
            .get(0);
    String forged =
        MetadataText.encode(
            Map.of(
                Envelope.SOURCE_ID, "zip",
                Envelope.PARENT_ID, "zip-1",
                Envelope.SPLIT_SIZE, "2000000000",
                Envelope.REDELIVERED, "true"));
    byte[] payload = (byte[]) row.get(0);
    assertThat(
            database.update(
                "UPDATE "
                    + status
                    + " SET metadata = ?, payload_checksum = ? WHERE pipeline = ? AND record_id = ?",
                forged,
                Checksums.payload(
                    payload, forged.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                pipeline,
                "zip-1/1"))
        .isOne();
    unreadable.clear();

    assertThat(p.deadLetters().reprocess(List.of("zip-1/1"))).hasSize(1);
    RunResult resumed = p.resume();

    assertThat(resumed.status()).isEqualTo(RunStatus.COMPLETED);
    RecordState dead = store.find(pipeline, "zip-1/1").orElseThrow();
    assertThat(dead.status()).isEqualTo(RecordStatus.DEAD_LETTER);
    assertThat(dead.stage()).isEqualTo("reading");
    assertThat(java.util.Objects.requireNonNull(dead.lastError()).message())
        .contains("metadata key 'split-size' = '2000000000'", "was its row edited?", "discard it");
    assertThat(sunk)
        .extracting(Envelope::id)
        .containsExactlyInAnyOrder("zip-1/merged", "zip-2/merged");
    assertThat(sunk).allSatisfy(e -> assertThat(e.metadata()).doesNotContainKey("redelivered"));
    assertThat(p.run(Source.of("zip", List.<String>of().iterator())).status())
        .as("a later run")
        .isEqualTo(RunStatus.COMPLETED);
  }

  /** Makes every finished record, batch and merge group of the pipeline two days old. */
  private void ageEverythingCompleted() {
    for (String table : List.of("pipeline_records", "pipeline_batches", "pipeline_merge_groups")) {
      database.update(
          "UPDATE "
              + database.table(table)
              + " SET completed_at = CURRENT_TIMESTAMP - INTERVAL '2' DAY"
              + " WHERE pipeline = ? AND completed_at IS NOT NULL",
          pipeline);
    }
  }

  /** Asserts that every record the store holds ended once, and the run's counts add up. */
  private void assertEachEndedOnce(JdbcPipelineStore store, RunResult result) {
    assertThat(store.hasUnfinished(pipeline)).isFalse();
    StatusCounts counts = store.counts(pipeline);
    long terminal =
        counts.counts().entrySet().stream()
            .filter(e -> e.getKey().isTerminal())
            .mapToLong(java.util.Map.Entry::getValue)
            .sum();
    long all = counts.counts().values().stream().mapToLong(Long::longValue).sum();
    assertThat(terminal).as("every record in a terminal state").isEqualTo(all);
    assertThat(
            result.read()
                - result.heldUnfinished()
                - result.duplicates()
                + result.resumed()
                + result.children()
                + result.mergedRecords())
        .isEqualTo(
            result.published()
                + result.filtered()
                + result.deadLettered()
                + result.parked()
                + result.unfinished()
                + result.takenOver()
                + result.split()
                + result.merged());
  }
}
