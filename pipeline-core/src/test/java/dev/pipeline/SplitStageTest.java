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
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.StatusCounts;
import dev.pipeline.store.StorableText;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SplitStageTest {
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();

  /** An "archive" is its files' names joined by commas; an empty archive has no files. */
  private static List<String> files(String archive) {
    return archive.isEmpty() ? List.of() : Arrays.asList(archive.split(","));
  }

  private static Source<String> archives(String... archives) {
    return Source.of("zip", List.of(archives).iterator());
  }

  @Test
  void eachChildGoesThroughTheNextStagesAndEndsOnItsOwnWhileTheParentEndsSplit() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("split", String.class)
            .stage(CLEANING, String::strip)
            .splitStage(EXTRACTION, (String archive, StageContext c) -> files(archive))
            .stage(
                PUBLISHING,
                (String file) -> {
                  if (file.equals("skip")) {
                    throw RecordFilteredException.because("not a listing");
                  }
                  if (file.equals("bad")) {
                    throw new IOException("unreadable file");
                  }
                  return file.toUpperCase(Locale.ROOT);
                })
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(archives(" a,b,c ", "skip,bad,d"));

    assertThat(sink)
        .extracting(Envelope::id)
        .containsExactlyInAnyOrder("zip-1/0", "zip-1/1", "zip-1/2", "zip-2/2");
    assertThat(sink)
        .filteredOn(e -> e.id().equals("zip-1/1"))
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.payload()).isEqualTo("B");
              assertThat(e.metadata()).containsEntry(Envelope.PARENT_ID, "zip-1");
              assertThat(e.sourceId()).as("the parent's metadata").isEqualTo("zip");
            });
    RecordState parent = Outcomes.state(pipeline, "zip-1");
    assertThat(parent.status()).isEqualTo(RecordStatus.SPLIT);
    assertThat(parent.stage()).isEqualTo("extraction");
    assertThat(parent.reason()).isEqualTo("split into 3 records");
    assertThat(parent.parentId()).isNull();
    RecordState child = Outcomes.state(pipeline, "zip-2/0");
    assertThat(child.status()).isEqualTo(RecordStatus.FILTERED);
    assertThat(child.reason()).isEqualTo("not a listing");
    assertThat(child.parentId()).isEqualTo("zip-2");
    DeadLetter dead = Outcomes.deadLetter(pipeline, "zip-2/1");
    assertThat(dead.parentId()).as("the dead letter names its parent").isEqualTo("zip-2");
    assertThat(dead.stage()).isEqualTo("publishing");
    assertThat(dead.payload(String.class)).isEqualTo("bad");

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.read()).isEqualTo(2);
    assertThat(result.split()).isEqualTo(2);
    assertThat(result.children()).isEqualTo(6);
    assertThat(result.published()).isEqualTo(4);
    assertThat(result.filtered()).isOne();
    assertThat(result.deadLettered()).isOne();
    assertThat(result.unfinished()).isZero();
    assertThat(result.summary()).contains("2 split into 6 records");
    StatusCounts counts = pipeline.store().counts(pipeline.name());
    assertThat(counts.get(RecordStatus.SPLIT)).isEqualTo(2);
    assertThat(counts.get(RecordStatus.PUBLISHED)).isEqualTo(4);
    assertThat(counts.get(RecordStatus.FILTERED)).isOne();
    assertThat(counts.get(RecordStatus.DEAD_LETTER)).isOne();
    assertThat(counts.get(RecordStatus.READY) + counts.get(RecordStatus.IN_PROGRESS)).isZero();
  }

  @Test
  void aRecordSplitIntoNoRecordsIsFilteredAndASplitAsTheLastStageHandsItsChildrenToTheSink() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("split-last", String.class)
            .splitStage(EXTRACTION, (String archive, StageContext c) -> files(archive))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(archives("", "a,b", "c"));

    RecordState empty = Outcomes.state(pipeline, "zip-1");
    assertThat(empty.status()).isEqualTo(RecordStatus.FILTERED);
    assertThat(empty.reason()).isEqualTo(SplitStage.NO_RECORDS);
    assertThat(sink)
        .extracting(Envelope::id)
        .containsExactlyInAnyOrder("zip-2/0", "zip-2/1", "zip-3/0");
    assertThat(Outcomes.state(pipeline, "zip-2/1").status()).isEqualTo(RecordStatus.PUBLISHED);
    assertThat(result.filtered()).isOne();
    assertThat(result.split()).isEqualTo(2);
    assertThat(result.published()).isEqualTo(3);
    assertThat(result.unfinished()).isZero();
  }

  @Test
  void aParentWhoseChildrenWouldHaveIdsTooLongIsDeadLetteredNamingTheFix() {
    String nearlyFull = "p".repeat(StorableText.MAX_ID_LENGTH - 2); // "/0".."/9" fit, "/10" not
    Pipeline<String, String> pipeline =
        Pipeline.builder("split-long", String.class)
            .splitStage(
                EXTRACTION,
                (String n, StageContext c) ->
                    IntStream.range(0, Integer.parseInt(n)).mapToObj(i -> "f" + i).toList())
            .sink(sink::addAll)
            .build();

    RunResult fits = pipeline.run(envelopes(Envelope.of(nearlyFull, "10")));
    assertThat(fits.children()).isEqualTo(10);
    assertThat(sink).extracting(Envelope::id).contains(nearlyFull + "/9");

    RunResult tooLong = pipeline.run(envelopes(Envelope.of(nearlyFull + "q", "11")));
    DeadLetter dead = Outcomes.deadLetter(pipeline, nearlyFull + "q");
    assertThat(dead.lastError().message())
        .contains("split stage 'extraction'")
        .contains("1002 characters long, more than 1000")
        .contains("give the source's records shorter ids");
    assertThat(dead.attempts()).as("not retried: the same split gives the same ids").isOne();
    assertThat(tooLong.children()).isZero();
    assertThat(tooLong.deadLettered()).isOne();
  }

  private static Source<String> envelopes(Envelope<String> record) {
    Iterator<Envelope<String>> one = List.of(record).iterator();
    return new Source<>() {
      @Override
      public String id() {
        return "ids";
      }

      @Override
      public Envelope<String> next() {
        return one.hasNext() ? one.next() : null;
      }
    };
  }

  /** A pipeline of one split stage that retries twice, at once. */
  private Pipeline<String, String> retrying(String name, SplitStage<String, String> splitter) {
    return Pipeline.builder(name, String.class)
        .splitStage(
            EXTRACTION,
            splitter,
            s ->
                s.retry(
                    RetryPolicy.exponential(Duration.ofMillis(1), Duration.ofMillis(1))
                        .maxRetries(2)))
        .sink(sink::addAll)
        .build();
  }

  @Test
  void aNullChildFailsTheParentAndIsRetriedByTheStagesPolicy() {
    AtomicInteger calls = new AtomicInteger();
    Pipeline<String, String> pipeline =
        retrying(
            "split-null",
            (String archive, StageContext c) -> {
              calls.incrementAndGet();
              return new ArrayList<>(Arrays.asList("a", null));
            });

    RunResult result = pipeline.run(archives("x"));

    DeadLetter dead = Outcomes.deadLetter(pipeline, "zip-1");
    assertThat(dead.lastError().message()).contains("returned a null child at index 1 of 2");
    assertThat(calls).hasValue(3);
    assertThat(sink).isEmpty();
    assertThat(result.children()).isZero();
  }

  @Test
  void aNullChildsErrorNamesTheParentCutAsTheMergeStagesErrorsDo() {
    String id = "k".repeat(900);
    Pipeline<String, String> pipeline =
        retrying("split-null-long", (String archive, StageContext c) -> Arrays.asList("a", null));

    pipeline.run(Source.of("long", List.of("x").iterator(), x -> id));

    String message = Outcomes.deadLetter(pipeline, id).lastError().message();
    assertThat(message).contains("for record '" + "k".repeat(200) + "'").doesNotContain(id);
  }

  @Test
  void aSplitThatFailsOnceIsRetriedAndItsChildrenAreMadeOnce() {
    AtomicInteger calls = new AtomicInteger();
    Pipeline<String, String> pipeline =
        retrying(
            "split-retry",
            (String archive, StageContext c) -> {
              if (calls.incrementAndGet() == 1) {
                throw new IOException("archive server busy");
              }
              c.putMetadata("archive", archive);
              return files(archive);
            });

    RunResult result = pipeline.run(archives("a,b"));

    assertThat(sink).extracting(Envelope::id).containsExactlyInAnyOrder("zip-1/0", "zip-1/1");
    assertThat(sink).allSatisfy(e -> assertThat(e.metadata()).containsEntry("archive", "a,b"));
    RecordState parent = Outcomes.state(pipeline, "zip-1");
    assertThat(parent.status()).isEqualTo(RecordStatus.SPLIT);
    assertThat(parent.errors())
        .singleElement()
        .extracting(e -> e.message())
        .isEqualTo("archive server busy");
    assertThat(result.split()).isOne();
    assertThat(result.children()).isEqualTo(2);
  }

  @Test
  void manyWorkersSplittingAtOnceMakeEveryChildExactlyOnce() {
    int parents = 2_000;
    Pipeline<String, String> pipeline =
        Pipeline.builder("split-many", String.class)
            .splitStage(
                EXTRACTION,
                (String n, StageContext c) ->
                    IntStream.range(0, Integer.parseInt(n) % 7).mapToObj(i -> n + ":" + i).toList(),
                s -> s.concurrency(8).batchSize(16))
            .stage(PUBLISHING, (String s) -> s, s -> s.concurrency(4))
            .sink(sink::addAll)
            .build();

    RunResult result =
        pipeline.run(
            Source.of("n", IntStream.range(0, parents).mapToObj(Integer::toString).iterator()));

    long expected = IntStream.range(0, parents).map(i -> i % 7).sum();
    Set<String> ids = new HashSet<>();
    for (Envelope<String> e : sink) {
      assertThat(ids.add(e.id())).as("%s published once", e.id()).isTrue();
    }
    assertThat(ids).hasSize((int) expected);
    long empty = IntStream.range(0, parents).filter(i -> i % 7 == 0).count();
    assertThat(result.split()).isEqualTo(parents - empty);
    assertThat(result.filtered()).isEqualTo(empty);
    assertThat(result.children()).isEqualTo(expected);
    assertThat(result.published()).isEqualTo(expected);
    assertThat(result.unfinished()).isZero();
  }

  @Test
  void theChildrenOfABatchAreStoredInOneIngestBeforeTheirParentsEnd() {
    List<String> calls = new ArrayList<>();
    ForwardingStore store =
        new ForwardingStore(InMemoryPipelineStore.create()) {
          @Override
          public Set<String> ingest(
              String pipeline, List<? extends Envelope<?>> records, String stage, Instant at) {
            if (stage.equals("sink")) {
              String parent = records.get(0).metadata().get(Envelope.PARENT_ID);
              RecordStatus before = delegate.find(pipeline, parent).orElseThrow().status();
              synchronized (calls) {
                calls.add(records.size() + " children, parent " + before);
              }
            }
            return super.ingest(pipeline, records, stage, at);
          }
        };
    Pipeline<String, String> pipeline =
        Pipeline.builder("split-bulk", String.class)
            .store(store)
            .splitStage(
                EXTRACTION,
                (String n, StageContext c) ->
                    IntStream.range(0, 5_000).mapToObj(i -> n + i).toList())
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(archives("x"));

    assertThat(calls).containsExactly("5000 children, parent READY");
    assertThat(result.children()).isEqualTo(5_000);
    assertThat(Outcomes.state(pipeline, "zip-1").status()).isEqualTo(RecordStatus.SPLIT);
  }

  /** The README's example of a split, as written there. */
  @Test
  void theReadmeExampleSplitsArchivesIntoFiles() {
    Sink<String> index = sink::addAll;
    Pipeline<String, String> pipeline =
        Pipeline.builder("archives", String.class)
            .splitStage(
                EXTRACTION,
                (String archive, StageContext c) -> List.of(archive.split(",")),
                s -> s.codec(PayloadCodec.string())) // how a durable store keeps the children
            .stage(PUBLISHING, (String file) -> file.toUpperCase(Locale.ROOT))
            .sink(index)
            .build();

    pipeline.run(archives("a.txt,b.txt"));

    assertThat(sink)
        .extracting(e -> e.id() + "=" + e.payload())
        .containsExactlyInAnyOrder("zip-1/0=A.TXT", "zip-1/1=B.TXT");
  }

  @Test
  void aChildSplitAgainHasChildrenOfItsOwnNamedAfterIt() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("split-twice", String.class)
            .splitStage(EXTRACTION, (String archive, StageContext c) -> files(archive))
            .splitStage(
                StageName.of("pages"),
                (String file, StageContext c) -> List.of(file + "#1", file + "#2"))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(archives("a,b"));

    assertThat(sink)
        .extracting(Envelope::id)
        .containsExactlyInAnyOrder("zip-1/0/0", "zip-1/0/1", "zip-1/1/0", "zip-1/1/1");
    assertThat(Outcomes.state(pipeline, "zip-1/1").status()).isEqualTo(RecordStatus.SPLIT);
    assertThat(Outcomes.state(pipeline, "zip-1/1/0").parentId()).isEqualTo("zip-1/1");
    assertThat(result.split()).isEqualTo(3);
    assertThat(result.children()).isEqualTo(6);
    assertThat(result.published()).isEqualTo(4);
    assertThat(result.unfinished()).isZero();
  }

  @Test
  void buildRefusesASplitStageWithoutACodecOnADurableStore() {
    ForwardingStore durable =
        new ForwardingStore(InMemoryPipelineStore.create()) {
          @Override
          public boolean isDurable() {
            return true;
          }
        };

    assertThatThrownBy(
            () ->
                Pipeline.builder("split-durable", String.class)
                    .store(durable)
                    .splitStage(EXTRACTION, (String archive, StageContext c) -> files(archive))
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining(
            "split stage 'extraction' is on a durable store, which stores the records it splits"
                + " into, but has no codec for them; add s.codec(...)");
  }

  @Test
  void buildRefusesASkipOrFunctionFallbackOnASplitStage() {
    assertThatThrownBy(
            () ->
                Pipeline.builder("split-skip", String.class)
                    .splitStage(
                        EXTRACTION,
                        (String archive, StageContext c) -> files(archive),
                        s -> s.fallback(Fallback.skip()))
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("split stage 'extraction' has a skip or function fallback");
  }
}
