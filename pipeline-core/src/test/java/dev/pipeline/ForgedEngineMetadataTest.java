package dev.pipeline;

import static dev.pipeline.StageName.EXTRACTION;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.spi.MergeOutcome;
import dev.pipeline.store.spi.MergePart;
import dev.pipeline.store.spi.MergedGroup;
import java.time.Instant;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;

/**
 * The engine's metadata keys (parent, split-size, outer-split-sizes, fencing-token, redelivered)
 * coming back from outside the engine: a source's records, a store's rows. A forged or damaged key
 * fails its own record with an error naming the key, never a merge group, a run or a later run.
 */
class ForgedEngineMetadataTest {
  private static final StageName MERGE = StageName.of("merge");

  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();

  private static Source<String> records(List<Envelope<String>> records) {
    Iterator<Envelope<String>> it = records.iterator();
    return new Source<>() {
      @Override
      public String id() {
        return "forging";
      }

      @Override
      public Envelope<String> next() {
        return it.hasNext() ? it.next() : null;
      }
    };
  }

  /** Archives split into folders (";") split into files (","), joined back ("+" then "|"). */
  private Pipeline<String, String> nestedPairs(String name) {
    return Pipeline.builder(name, String.class)
        .splitStage(
            StageName.of("folders"), (String a, StageContext c) -> Arrays.asList(a.split(";")))
        .splitStage(EXTRACTION, (String f, StageContext c) -> Arrays.asList(f.split(",")))
        .mergeStage(
            StageName.of("folder"), (List<String> parts, StageContext c) -> String.join("+", parts))
        .mergeStage(MERGE, (List<String> parts, StageContext c) -> String.join("|", parts))
        .sink(sink::addAll)
        .build();
  }

  @Test
  void aSourceRecordCarryingEngineKeysIsDeadLetteredAtIngestionAndTheOthersMerge() {
    Pipeline<String, String> pipeline = nestedPairs("forged-source");

    RunResult result =
        pipeline.run(
            records(
                List.of(
                    Envelope.of("zip-1", "a,b;c"),
                    // claims a place in zip-1's group, of another size
                    Envelope.of("zip-1/5", "x")
                        .withMetadata(Envelope.PARENT_ID, "zip-1")
                        .withMetadata(Envelope.SPLIT_SIZE, "9"),
                    // a group of two billion parts
                    Envelope.of("huge/0", "y")
                        .withMetadata(Envelope.PARENT_ID, "huge")
                        .withMetadata(Envelope.SPLIT_SIZE, "2000000000"),
                    Envelope.of("fenced", "z").withMetadata(Envelope.FENCING_TOKEN, "99"),
                    Envelope.of("zip-2", "c"))));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(sink)
        .extracting(Envelope::id, Envelope::payload)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("zip-1/merged", "a+b|c"),
            org.assertj.core.groups.Tuple.tuple("zip-2/merged", "c"));
    assertThat(result.deadLettered()).isEqualTo(3);
    assertThat(Outcomes.deadLetter(pipeline, "zip-1/5").lastError().message())
        .contains("source 'forging'", "'parent'", "which the engine alone writes");
    assertThat(Outcomes.deadLetter(pipeline, "huge/0").lastError().message())
        .contains("'split-size'");
    assertThat(Outcomes.deadLetter(pipeline, "fenced").lastError().message())
        .contains("'fencing-token'");
    assertThat(Outcomes.deadLetter(pipeline, "zip-1/5").record().metadata())
        .as("kept without the engine's keys: sent back, it is a record of its own")
        .doesNotContainKeys(Envelope.PARENT_ID, Envelope.SPLIT_SIZE);
  }

  @Test
  void aMergePartOfAnotherSizeIsRefusedAloneAndTheOtherGroupsMerge() {
    InMemoryPipelineStore store = InMemoryPipelineStore.create();
    Instant at = Instant.parse("2026-12-06T00:00:00Z");
    store.merge(
        "p", "merge", List.of(new MergePart("a/0", "a", 0, 2, Envelope.of("a/0", "a0"))), at);

    MergeOutcome outcome =
        store.merge(
            "p",
            "merge",
            List.of(
                new MergePart("a/5", "a", 5, 9, Envelope.of("a/5", "forged")),
                new MergePart("b/0", "b", 0, 1, Envelope.of("b/0", "b0")),
                new MergePart("a/1", "a", 1, 3, Envelope.of("a/1", "resized"))),
            at);

    assertThat(outcome.complete()).extracting(MergedGroup::parentId).containsExactly("b");
    assertThat(outcome.refused()).containsOnlyKeys("a/5", "a/1");
    assertThat(outcome.refused().get("a/5")).contains("part 5 of 9", "which has 2 parts");
    assertThat(outcome.refused().get("a/1"))
        .as("a part that fits by its index but gives another size does not complete the group")
        .contains(
            "part 1 of 3 of merge group 'a', which has 2 parts, the size its first part gave");

    MergeOutcome last =
        store.merge(
            "p", "merge", List.of(new MergePart("a/1", "a", 1, 2, Envelope.of("a/1", "a1"))), at);
    assertThat(last.complete())
        .extracting(MergedGroup::payloads)
        .containsExactly(List.of("a0", "a1"));
  }

  @Test
  void aForgedSizeOnAGroupsFirstPartNeitherCompletesItWrongNorCountsSiblingsOfAnotherSize() {
    InMemoryPipelineStore store = InMemoryPipelineStore.create();
    Instant at = Instant.parse("2026-12-06T00:00:00Z");
    // "big/1" was edited to claim a group of 100,000 and reaches the merge first; "small/0" was
    // edited to claim 2 where its split made 3
    MergeOutcome first =
        store.merge(
            "p",
            "merge",
            List.of(
                new MergePart("big/1", "big", 1, 100_000, Envelope.of("big/1", "forged")),
                new MergePart("small/0", "small", 0, 2, Envelope.of("small/0", "forged"))),
            at);
    assertThat(first.complete()).isEmpty();

    MergeOutcome rest =
        store.merge(
            "p",
            "merge",
            List.of(
                new MergePart("big/0", "big", 0, 2, Envelope.of("big/0", "b0")),
                new MergePart("small/1", "small", 1, 3, Envelope.of("small/1", "s1")),
                new MergePart("small/2", "small", 2, 3, null)),
            at);

    assertThat(rest.complete())
        .as("no group merged without its parts, nor of parts that disagree on its size")
        .isEmpty();
    assertThat(rest.refused()).containsOnlyKeys("big/0", "small/1", "small/2");
    assertThat(rest.refused().get("big/0"))
        .contains("record 'big/0' is part 0 of 2 of merge group 'big', which has 100000 parts");
    assertThat(rest.refused().get("small/1")).contains("part 1 of 3", "which has 2 parts");
  }
}
