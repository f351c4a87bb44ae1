package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.StorableText;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class IngestionTest {
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();
  private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

  private Pipeline<String, String> pipeline(String name, int batchSize) {
    return Pipeline.builder(name, String.class)
        .stage(
            CLEANING,
            (String s, StageContext context) -> {
              calls.computeIfAbsent(context.recordId(), k -> new AtomicInteger()).incrementAndGet();
              return s;
            },
            o -> o.batchSize(batchSize))
        .sink(sink::addAll)
        .build();
  }

  private static Source<String> source(String id, String... recordIds) {
    return Source.of(id, List.of(recordIds).iterator(), r -> r);
  }

  private void assertProcessedOnce(String... ids) {
    assertThat(calls).containsOnlyKeys(ids).allSatisfy((id, n) -> assertThat(n).hasValue(1));
    assertThat(sink).extracting(Envelope::id).containsExactlyInAnyOrder(ids);
  }

  /**
   * Ids no store can keep (NUL, an unpaired surrogate, too long) are dead letters of their own,
   * under derived ids, on the in-memory store as on the JDBC ones; the rest of the batch goes on,
   * and a rerun sees them as duplicates.
   */
  @Test
  void aRecordWhoseIdNoStoreCanKeepIsADeadLetterAloneAndTheBatchGoesOn() {
    List<Alert> alerts = new ArrayList<>();
    Pipeline<String, String> pipeline =
        Pipeline.builder("unfit-ids", String.class)
            .alerts(alerts::add)
            .stage(
                CLEANING,
                (String s) -> {
                  if (s.startsWith("throw")) {
                    throw new IllegalStateException("cannot\0clean " + s);
                  }
                  if (s.startsWith("filter")) {
                    throw RecordFilteredException.because("noise\0here");
                  }
                  return s;
                })
            .sink(sink::addAll)
            .build();
    String tooLong = "x".repeat(StorableText.MAX_ID_LENGTH + 1);
    List<String> ids = List.of("good-1", "nul\0-2", "lone\uD800-3", tooLong, "throw-5", "filter-6");

    RunResult result = pipeline.run(Source.of("src", ids.iterator(), r -> r));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(sink).extracting(Envelope::id).containsExactly("good-1");
    assertThat(result.deadLettered()).isEqualTo(4);
    assertThat(result.filtered()).isOne();
    assertThat(result.unfinished()).isZero();
    List<DeadLetter> dead = pipeline.deadLetters().find(DeadLetterQuery.all()).items();
    for (String unfit : List.of("nul\0-2", "lone\uD800-3", tooLong)) {
      String derived = StorableText.storableId(unfit);
      assertThat(StorableText.idProblem(derived)).isNull();
      DeadLetter letter =
          dead.stream().filter(d -> d.recordId().equals(derived)).findFirst().orElseThrow();
      assertThat(letter.record().payload()).isEqualTo(unfit);
      assertThat(letter.record().metadata()).containsEntry(StorableText.ORIGINAL_ID, unfit);
      assertThat(letter.errors())
          .singleElement()
          .satisfies(e -> assertThat(e.message()).contains("cannot be stored", derived));
    }
    assertThat(alerts).hasSize(4);

    RunResult again = pipeline.run(Source.of("src", ids.iterator(), r -> r));
    assertThat(again.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(again.deadLettered()).isZero();
  }

  @Test
  void repeatedIdWithinOneBatchIsADuplicateProcessedOnce() {
    Pipeline<String, String> pipeline = pipeline("dup-batch", 10);

    RunResult result = pipeline.run(source("src", "a", "b", "a", "c", "a"));

    assertThat(result.read()).isEqualTo(5);
    assertThat(result.duplicates()).isEqualTo(2);
    assertThat(result.published()).isEqualTo(3);
    assertThat(result.unfinished()).isZero();
    assertThat(result.metrics().ingested()).isEqualTo(3);
    assertProcessedOnce("a", "b", "c");
  }

  @Test
  void repeatedIdAcrossBatchesIsADuplicateProcessedOnce() {
    Pipeline<String, String> pipeline = pipeline("dup-across", 2);

    RunResult result = pipeline.run(source("src", "a", "b", "c", "a", "b", "d"));

    assertThat(result.duplicates()).isEqualTo(2);
    assertThat(result.published()).isEqualTo(4);
    assertProcessedOnce("a", "b", "c", "d");
  }

  @Test
  void sameIdsFromTwoSourcesAreProcessedOnce() {
    Pipeline<String, String> pipeline = pipeline("dup-sources", 3);
    List<String> ids = IntStream.range(0, 500).mapToObj(i -> "id" + i).toList();

    RunResult result =
        pipeline.run(
            List.of(
                Source.of("left", ids.iterator(), r -> r),
                Source.of("right", ids.iterator(), r -> r)));

    assertThat(result.read()).isEqualTo(1_000);
    assertThat(result.duplicates()).isEqualTo(500);
    assertThat(result.published()).isEqualTo(500);
    assertProcessedOnce(ids.toArray(String[]::new));
  }

  @Test
  void secondRunOverTheSameRecordsFindsOnlyDuplicates() {
    Pipeline<String, String> pipeline = pipeline("dup-rerun", 2);
    pipeline.run(source("src", "a", "b", "c"));

    RunResult again = pipeline.run(source("src", "a", "b", "c", "d"));

    assertThat(again.duplicates()).isEqualTo(3);
    assertThat(again.published()).isOne();
    assertProcessedOnce("a", "b", "c", "d");
  }

  @Test
  void failingSourceIsReportedAndTheOtherSourcesGoOn() {
    AtomicBoolean closed = new AtomicBoolean();
    Iterator<String> good = IntStream.range(0, 50).mapToObj(i -> "g" + i).iterator();
    Source<String> bad =
        new Source<>() {
          private int read;

          @Override
          public String id() {
            return "bad";
          }

          @Override
          public @Nullable Envelope<String> next() throws IOException {
            if (read == 3) {
              throw new IOException("connection reset");
            }
            read++;
            return Envelope.of("b" + read, "x");
          }

          @Override
          public void close() {
            closed.set(true);
          }
        };
    Pipeline<String, String> pipeline = pipeline("bad-source", 2);

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      result = pipeline.run(List.of(bad, Source.of("good", good, r -> r)));
      assertThat(log.text())
          .contains(
              "ERROR dev.pipeline.engine.run.Run - pipeline 'bad-source': source 'bad' failed")
          .contains("its other sources go on");
    }

    // every record read ended, but not all of the input was read
    assertThat(result.status()).isEqualTo(RunStatus.FAILED);
    assertThat(result.failure()).hasMessageContaining("source 'bad'");
    assertThat(result.sourceErrors())
        .singleElement()
        .asString()
        .contains("source 'bad'")
        .contains("IOException: connection reset");
    assertThat(result.read()).isEqualTo(53);
    assertThat(result.published()).isEqualTo(53);
    assertThat(sink).extracting(Envelope::id).contains("b1", "b2", "b3", "g0", "g49");
    assertThat(closed).isTrue();
    assertThat(result.summary()).contains("source error: source 'bad'");
  }

  /**
   * A store that throws while ingesting a source's records fails the run with its error: the source
   * read fine and is not blamed (it was, and the ingest was then tried again).
   */
  @Test
  void aStoreThatFailsToIngestFailsTheRunWithItsErrorAndNoSourceIsBlamed() {
    IllegalStateException diskFull = new IllegalStateException("store: disk full");
    AtomicInteger ingests = new AtomicInteger();
    ForwardingStore store =
        new ForwardingStore(InMemoryPipelineStore.create()) {
          @Override
          public Set<String> ingest(
              String pipeline, List<? extends Envelope<?>> records, String stage, Instant at) {
            ingests.incrementAndGet();
            throw diskFull;
          }
        };
    Pipeline<String, String> pipeline =
        Pipeline.builder("ingest-fails", String.class)
            .stage(CLEANING, (String s) -> s, o -> o.batchSize(2))
            .sink(sink::addAll)
            .store(store)
            .build();

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      result = pipeline.run(List.of(source("fine", "a", "b", "c")));
      assertThat(log.text()).doesNotContain("source 'fine' failed");
    }

    assertThat(result.status()).isEqualTo(RunStatus.FAILED);
    assertThat(result.failure()).isSameAs(diskFull);
    assertThat(result.sourceErrors()).isEmpty();
    // the first batch fails; the linger thread may have flushed the third record before the
    // failure stopped the reader, so one or two ingests, never more
    assertThat(ingests.get()).isBetween(1, 2);
    assertThat(sink).isEmpty();
  }

  /**
   * Regression (issue 11): the reader waited for each ingest, so while a durable store wrote, the
   * first stage ran dry and the next batch went at the stage's batch size again; a slow store got
   * more, smaller writes. Now the reader reads on while the store writes, and the next ingest takes
   * what it read meanwhile.
   */
  @Test
  void theReaderReadsOnWhileTheStoreWritesAndTheNextIngestTakesWhatItRead() throws Exception {
    CountDownLatch writing = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    List<Integer> ingested = new java.util.concurrent.CopyOnWriteArrayList<>();
    ForwardingStore store =
        new ForwardingStore(InMemoryPipelineStore.create()) {
          @Override
          public boolean isDurable() {
            return true;
          }

          @Override
          public Set<String> ingest(
              String pipeline, List<? extends Envelope<?>> records, String stage, Instant at) {
            ingested.add(records.size());
            if (ingested.size() == 1) {
              writing.countDown();
              try {
                Await.on(release, "the test to let the first ingest end");
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
              }
            }
            return delegate.ingest(pipeline, records, stage, at);
          }
        };
    AtomicInteger read = new AtomicInteger();
    Source<String> counted =
        new Source<>() {
          @Override
          public String id() {
            return "counted";
          }

          @Override
          public @Nullable Envelope<String> next() throws InterruptedException {
            int n = read.incrementAndGet();
            if (n == 11) {
              Await.on(writing, "the first batch's ingest"); // so it is exactly the first 10
            }
            return n > 300 ? null : Envelope.of("r" + n, "x");
          }
        };
    Pipeline<String, String> pipeline =
        Pipeline.builder("reads-on", String.class)
            .clock(new FakeClock()) // it does not move: no partial batch lingers out
            .stage(CLEANING, (String s) -> s, o -> o.batchSize(10))
            .sink(sink::addAll)
            .store(store)
            .build();

    PipelineRun run = pipeline.start(counted);
    try {
      Await.on(writing, "the first ingest");
      Await.until(
          "the source to be read to its end while the store writes", () -> read.get() > 300);
    } finally {
      release.countDown();
    }
    RunResult result = Await.result(run);

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isEqualTo(300);
    assertThat(ingested)
        .as("the first batch, then all that was read meanwhile")
        .containsExactly(10, 290);
  }

  @Test
  void recordsOfABlockedSourceReachTheSinkAfterTheLinger() throws Exception {
    CountDownLatch blocked = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Source<String> bursty =
        new Source<>() {
          private int read;

          @Override
          public String id() {
            return "bursty";
          }

          @Override
          public @Nullable Envelope<String> next() throws InterruptedException {
            if (read == 10) {
              blocked.countDown();
              release.await(); // the next burst has not come yet
              return null;
            }
            read++;
            return Envelope.of("r" + read, "x");
          }
        };
    FakeClock clock = new FakeClock();
    Pipeline<String, String> pipeline =
        Pipeline.builder("linger", String.class)
            .clock(clock)
            .sourceLinger(Duration.ofMillis(20))
            .stage(CLEANING, (String s, StageContext context) -> s, o -> o.batchSize(100))
            .sink(sink::addAll)
            .build();

    PipelineRun run = pipeline.start(bursty);
    try {
      Await.on(blocked, "the source to block after 10 records");
      clock.advance(Duration.ofMillis(20));
      Await.until("the 10 records to reach the sink", () -> sink.size() == 10);
      assertThat(blocked.getCount()).isZero();
      assertThat(release.getCount()).isOne(); // still blocked
    } finally {
      release.countDown();
    }
    RunResult result = Await.result(run);

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isEqualTo(10);
  }

  @Test
  void sourceLingerOutOfRangeIsRefused() {
    PipelineBuilder<String, String> builder = Pipeline.builder("p", String.class);
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder.sourceLinger(Duration.ZERO))
        .withMessageContaining("sourceLinger must be positive and at most PT1M, was PT0S");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder.sourceLinger(Duration.ofSeconds(-1)));
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder.sourceLinger(Duration.ofDays(365 * 1_000)));
    assertThatNullPointerException().isThrownBy(() -> builder.sourceLinger(null));
  }

  @Test
  void recordsAreTaggedWithTheirSourceUnlessTheyCarryOne() {
    Source<String> tagged =
        new Source<>() {
          private final Iterator<Envelope<String>> items =
              List.of(Envelope.of("t1", "x", "origin"), Envelope.of("t2", "x")).iterator();

          @Override
          public String id() {
            return "feed";
          }

          @Override
          public @Nullable Envelope<String> next() {
            return items.hasNext() ? items.next() : null;
          }
        };

    pipeline("tags", 10).run(tagged);

    List<String> sources = new ArrayList<>();
    sink.forEach(e -> sources.add(e.id() + "@" + e.sourceId()));
    assertThat(sources).containsExactly("t1@origin", "t2@feed");
  }
}
