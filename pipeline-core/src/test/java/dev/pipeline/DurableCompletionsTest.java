package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.PUBLISHING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.engine.run.Run;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.Claimed;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.Handover;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * On a durable store, the records a stage filters or dead-letters are written with the next batch
 * the sink completes, in one call, rather than in a call of their own per stage and batch.
 */
class DurableCompletionsTest {
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();

  private static Source<String> source(int n) {
    return Source.of(
        "src", IntStream.rangeClosed(1, n).mapToObj(i -> "r" + i).iterator(), id -> id);
  }

  private static int number(String id) {
    return Integer.parseInt(id.substring(1));
  }

  // the writes counted here follow whole batches: no partial batch is ingested on a busy machine
  private static final Duration WHOLE_BATCHES = PipelineBuilder.MAX_SOURCE_LINGER;

  /**
   * Ids r1 to rN, then the end once the sink had its batches: so that the end of the sources, which
   * has the run write at once what waits, comes after them.
   */
  private static Source<String> sourceEndingAfter(int n, CountDownLatch batches) {
    return sourceEndingAfter(n, batches, "the sink's batches");
  }

  /** Ids r1 to rN, then the end once {@code ended} is open. */
  private static Source<String> sourceEndingAfter(int n, CountDownLatch ended, String what) {
    Iterator<String> ids = IntStream.rangeClosed(1, n).mapToObj(i -> "r" + i).iterator();
    return Source.of("src", Await.thenEndOn(ids, ended, what), id -> id);
  }

  private Sink<String> countingSink(CountDownLatch batches) {
    return batch -> {
      sink.addAll(batch);
      batches.countDown();
    };
  }

  @Test
  void recordsEndedAtStagesAreWrittenWithTheNextDeliveryNote() {
    RecordingStore store = new RecordingStore();
    CountDownLatch batches = new CountDownLatch(1);
    Pipeline<String, String> pipeline =
        Pipeline.builder("together", String.class)
            .store(store)
            .sourceLinger(WHOLE_BATCHES)
            .stage(
                CLEANING,
                (String s) -> {
                  if (number(s) % 3 == 0) {
                    throw RecordFilteredException.because("every third");
                  }
                  return s;
                },
                o -> o.batchSize(12))
            .stage(
                EXTRACTION,
                (String s) -> {
                  if (number(s) % 5 == 0) {
                    throw new IllegalStateException("every fifth");
                  }
                  return s;
                },
                o -> o.batchSize(12))
            .stage(PUBLISHING, (String s) -> s, o -> o.batchSize(12))
            .sink(countingSink(batches))
            .build();

    RunResult result = pipeline.run(sourceEndingAfter(12, batches));

    // r3, r6, r9, r12 filtered and r5, r10 dead-lettered go with the delivery note of the six
    // others; those six are written once the sources end
    assertThat(store.writes).hasSize(2);
    Write delivery = store.writes.get(0);
    assertThat(delivery.delivering()).containsExactly("r1", "r2", "r4", "r7", "r8", "r11");
    assertThat(delivery.byStatus())
        .containsOnlyKeys(RecordStatus.FILTERED, RecordStatus.DEAD_LETTER);
    assertThat(delivery.byStatus().get(RecordStatus.FILTERED))
        .containsExactlyInAnyOrder("r3", "r6", "r9", "r12");
    assertThat(delivery.byStatus().get(RecordStatus.DEAD_LETTER))
        .containsExactlyInAnyOrder("r5", "r10");
    Write completion = store.writes.get(1);
    assertThat(completion.delivering()).isEmpty();
    assertThat(completion.byStatus().get(RecordStatus.PUBLISHED))
        .containsExactlyInAnyOrder("r1", "r2", "r4", "r7", "r8", "r11");
    assertThat(result.filtered()).isEqualTo(4);
    assertThat(result.deadLettered()).isEqualTo(2);
    assertThat(result.published()).isEqualTo(6);
    assertThat(sink).hasSize(6);
    StageMetrics cleaning = pipeline.metrics().stage("cleaning");
    StageMetrics extraction = pipeline.metrics().stage("extraction");
    assertThat(cleaning.filtered()).isEqualTo(4);
    assertThat(cleaning.failed()).isZero();
    assertThat(extraction.filtered()).isZero();
    assertThat(extraction.failed()).isEqualTo(2);
    assertThat(store.delegate.hasUnfinished("together")).isFalse();
  }

  @Test
  void aBatchTheSinkTookIsCompletedWithTheNextBatchsDeliveryNote() {
    RecordingStore store = new RecordingStore();
    CountDownLatch batches = new CountDownLatch(2);
    Pipeline<String, String> pipeline =
        Pipeline.builder("handover", String.class)
            .store(store)
            .sourceLinger(WHOLE_BATCHES)
            .stage(CLEANING, (String s) -> s, o -> o.batchSize(4))
            .stage(PUBLISHING, (String s) -> s, o -> o.batchSize(4))
            .sink(countingSink(batches))
            .build();

    RunResult result = pipeline.run(sourceEndingAfter(8, batches));

    assertThat(store.writes).hasSize(3);
    assertThat(store.writes.get(0).completions()).isEmpty();
    assertThat(store.writes.get(0).delivering()).containsExactly("r1", "r2", "r3", "r4");
    assertThat(store.writes.get(1).byStatus().get(RecordStatus.PUBLISHED))
        .containsExactlyInAnyOrder("r1", "r2", "r3", "r4");
    assertThat(store.writes.get(1).delivering()).containsExactly("r5", "r6", "r7", "r8");
    assertThat(store.writes.get(2).byStatus().get(RecordStatus.PUBLISHED))
        .containsExactlyInAnyOrder("r5", "r6", "r7", "r8");
    assertThat(store.writes.get(2).delivering()).isEmpty();
    assertThat(result.published()).isEqualTo(8);
    assertThat(store.delegate.hasUnfinished("handover")).isFalse();
  }

  @Test
  void aCancelledRunWritesTheStatesOfWhatTheSinkTook() throws Exception {
    RecordingStore store = new RecordingStore();
    CountDownLatch batches = new CountDownLatch(1);
    Pipeline<String, String> pipeline =
        Pipeline.builder("cancelled", String.class)
            .store(store)
            .sourceLinger(WHOLE_BATCHES)
            .stage(CLEANING, (String s) -> s, o -> o.batchSize(4))
            .sink(countingSink(batches))
            .build();
    // the source ends only after the cancel: the run lasts until then
    CountDownLatch cancelled = new CountDownLatch(1);
    PipelineRun run = pipeline.start(sourceEndingAfter(4, cancelled));
    Await.on(batches, "the sink's batch");

    run.cancel();
    cancelled.countDown();
    RunResult result = Await.result(run);

    assertThat(result.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(store.delegate.find("cancelled", "r1").orElseThrow().status())
        .isEqualTo(RecordStatus.PUBLISHED);
    assertThat(result.published()).isEqualTo(4);
  }

  /**
   * A cancel while a route stage before the last stage is in its branch's sink call: the last
   * stage's workers leave at once, and the run must still wait for that call to return to write the
   * final state of what the branch's sink took. The sink here does not heed the interrupt, and
   * returns only once the last stage's worker has left.
   */
  @Test
  void aCancelledRunWritesTheStatesOfWhatABranchSinkTookAfterTheLastStageLeft() throws Exception {
    RecordingStore store = new RecordingStore();
    AtomicReference<Thread> lastStage = new AtomicReference<>();
    AtomicReference<Thread> delivering = new AtomicReference<>();
    CountDownLatch inTheSink = new CountDownLatch(1);
    Sink<String> words =
        batch -> {
          delivering.set(Thread.currentThread());
          inTheSink.countDown();
          Await.until(
              "the last stage's worker left",
              () -> !Objects.requireNonNull(lastStage.get()).isAlive());
          sink.addAll(batch);
        };
    Route<String, String> route =
        Route.builder(String.class, String.class)
            .when(s -> s.startsWith("w"), Route.<String>branch(StageName.of("words")).to(words))
            .otherwise(Route.<String>branch(StageName.of("rest")).join(String.class))
            .build();
    Pipeline<String, String> pipeline =
        Pipeline.builder("cancelled-branch", String.class)
            .store(store)
            .stage(StageName.of("by-kind"), route, o -> o.batchSize(1))
            .stage(
                PUBLISHING,
                (String s) -> {
                  lastStage.set(Thread.currentThread());
                  return s;
                },
                o -> o.batchSize(1))
            .sink(records -> {})
            .build();
    // x1 through the last stage first, so that its worker is known; then w1 to the branch's sink
    CountDownLatch cancelled = new CountDownLatch(1);
    CountDownLatch lastStageKnown = new CountDownLatch(1);
    Iterator<String> ids =
        new Iterator<>() {
          private int n;

          @Override
          public boolean hasNext() {
            return n < 2;
          }

          @Override
          public String next() {
            if (n++ == 0) {
              return "x1";
            }
            Await.until("the last stage's worker is known", () -> lastStage.get() != null);
            lastStageKnown.countDown();
            return "w1";
          }
        };
    PipelineRun run =
        pipeline.start(Source.of("src", Await.thenEndOn(ids, cancelled, "the cancel"), id -> id));
    Await.on(lastStageKnown, "the last stage's worker");
    Await.on(inTheSink, "the branch's sink call");

    run.cancel();
    cancelled.countDown();
    RunResult result = Await.result(run);
    Await.ended(Objects.requireNonNull(delivering.get()));

    assertThat(result.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(sink).extracting(Envelope::id).containsExactly("w1");
    assertThat(store.delegate.find("cancelled-branch", "w1").orElseThrow().status())
        .as("the branch's sink took it before the run ended")
        .isEqualTo(RecordStatus.PUBLISHED);
  }

  @Test
  void aRunWhoseRecordsAllEndBeforeTheSinkStillWritesThemAndEnds() {
    RecordingStore store = new RecordingStore();
    Pipeline<String, String> pipeline =
        Pipeline.builder("none-published", String.class)
            .store(store)
            .sourceLinger(WHOLE_BATCHES)
            .stage(
                CLEANING,
                (String s) -> {
                  if (!s.isEmpty()) {
                    throw RecordFilteredException.because("nothing passes");
                  }
                  return s;
                },
                o -> o.batchSize(4))
            .stage(PUBLISHING, (String s) -> s)
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(10));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.filtered()).isEqualTo(10);
    assertThat(sink).isEmpty();
    assertThat(store.writes).allSatisfy(w -> assertThat(w.delivering()).isEmpty());
    assertThat(store.writes.stream().mapToInt(w -> w.completions().size()).sum()).isEqualTo(10);
    assertThat(store.delegate.hasUnfinished("none-published")).isFalse();
  }

  /**
   * A durable store pays per write: while the first stage has a batch waiting, the reader holds its
   * whole batches for a larger one, up to {@link Run#DURABLE_INGEST_BATCH} records.
   */
  @Test
  void whileTheFirstStageIsBusyADurableStoreIngestsLargerBatches() throws Exception {
    RecordingStore store = new RecordingStore();
    // the stage's first call waits: at most one more ingest finds its queue short (the one that
    // put a batch there), and each after it is a larger batch; the second of those is whole
    int total = 2 * Run.DURABLE_INGEST_BATCH + 300;
    Pipeline<String, String> pipeline =
        Pipeline.builder("bulk", String.class)
            .store(store)
            .sourceLinger(WHOLE_BATCHES)
            .stage(
                CLEANING,
                (String s) -> {
                  // busy until the reader has made a large batch: its queue fills meanwhile
                  Await.on(store.largeIngest, "an ingest of a larger batch");
                  return s;
                },
                o -> o.batchSize(4))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(total));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isEqualTo(total);
    assertThat(sink).extracting(Envelope::id).doesNotHaveDuplicates().hasSize(total);
    assertThat(store.ingests).contains(Run.DURABLE_INGEST_BATCH);
    assertThat(store.ingests).allSatisfy(n -> assertThat(n).isBetween(1, Run.DURABLE_INGEST_BATCH));
    assertThat(store.ingests.stream().mapToInt(Integer::intValue).sum()).isEqualTo(total);
  }

  /**
   * A durable run's first ingest is one batch of the first stage at most, however fast the source
   * gives records: the source's first records should not wait for the write of a largest batch.
   * Before, it took whatever the reader had buffered when the ingesting thread woke, most often
   * hundreds of records.
   */
  @Test
  void aDurableRunsFirstIngestIsOneBatchOfTheFirstStage() {
    RecordingStore store = new RecordingStore();
    int total = 3 * Run.DURABLE_INGEST_BATCH;
    Pipeline<String, String> pipeline =
        Pipeline.builder("first-ingest", String.class)
            .store(store)
            .stage(CLEANING, (String s) -> s, o -> o.batchSize(4))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(total));

    assertThat(result.published()).isEqualTo(total);
    assertThat(sink).extracting(Envelope::id).doesNotHaveDuplicates().hasSize(total);
    assertThat(store.ingests.getFirst()).isBetween(1, 4);
    assertThat(store.ingests.stream().mapToInt(Integer::intValue).sum()).isEqualTo(total);
  }

  /**
   * The first ingest goes at once even when the claimer has filled the first stage with an earlier
   * run's records: held for a larger batch, as later ingests are while the stage has a batch
   * waiting, it would leave the source unread behind that backlog, since the reader buffers one
   * batch only until the first ingest. Here the backlog's records wait for the source's first
   * ingest: held, they would time out and fail.
   */
  @Test
  void theFirstIngestGoesAtOnceBehindABacklogTheClaimerResumed() {
    RecordingStore store = new RecordingStore();
    List<Envelope<String>> earlier =
        IntStream.rangeClosed(1, 12).mapToObj(i -> Envelope.of("old" + i, "old" + i)).toList();
    store.delegate.ingest("backlog", earlier, CLEANING.value(), Instant.now());
    for (Envelope<String> e : earlier) {
      store.backlog.add(new Claimed(e, CLEANING.value(), 0));
    }
    Pipeline<String, String> pipeline =
        Pipeline.builder("backlog", String.class)
            .store(store)
            .stage(
                CLEANING,
                (String s) -> {
                  if (s.startsWith("old")) {
                    Await.on(store.sourceIngested, "the source's first ingest");
                  }
                  return s;
                },
                o -> o.batchSize(4))
            .sink(sink::addAll)
            .build();
    // the source's records come once the claimer has put the whole backlog on the stage's queue
    Iterator<String> afterTheBacklog =
        Await.startingOn(
            IntStream.rangeClosed(1, 10).mapToObj(i -> "r" + i).iterator(),
            store.backlogClaimed,
            "the backlog claimed");

    RunResult result = pipeline.run(Source.of("src", afterTheBacklog, id -> id));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isEqualTo(22);
  }

  /**
   * A sink batch that failed as a whole is halved: the half the sink took stands even if the run is
   * cancelled while the other half waits to be tried again.
   */
  @Test
  void aCancelDuringTheSinksBackOffKeepsWhatTheSinkTookOfTheBatch() throws Exception {
    RecordingStore store = new RecordingStore();
    CountDownLatch backingOff = new CountDownLatch(1);
    Pipeline<String, String> pipeline =
        Pipeline.builder("backoff", String.class)
            .store(store)
            .sourceLinger(WHOLE_BATCHES)
            .stage(CLEANING, (String s) -> s, o -> o.batchSize(4))
            .sink(
                batch -> {
                  List<String> ids = batch.stream().map(Envelope::id).toList();
                  if (ids.contains("r1") && ids.contains("r3")) {
                    throw new IllegalArgumentException("not retried: the batch is halved");
                  }
                  if (ids.contains("r3")) {
                    backingOff.countDown();
                    throw new IllegalStateException("retried after a long back-off");
                  }
                  sink.addAll(batch);
                },
                o ->
                    o.retry(
                        RetryPolicy.exponential(Duration.ofMillis(800), Duration.ofMillis(800))
                            .maxRetries(100)
                            .retryOn(IllegalStateException.class)))
            .build();
    CountDownLatch cancelled = new CountDownLatch(1);
    PipelineRun run = pipeline.start(sourceEndingAfter(4, cancelled));
    Await.on(backingOff, "the sink's second half to fail");

    run.cancel();
    cancelled.countDown();
    RunResult result = Await.result(run);

    assertThat(result.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(sink).extracting(Envelope::id).containsExactly("r1", "r2");
    for (String id : List.of("r1", "r2")) {
      assertThat(store.delegate.find("backoff", id).orElseThrow().status())
          .as(id + ", which the sink took")
          .isEqualTo(RecordStatus.PUBLISHED);
    }
    for (String id : List.of("r3", "r4")) {
      assertThat(store.delegate.find("backoff", id).orElseThrow().status().isTerminal())
          .as(id + ", waiting to be tried again")
          .isFalse();
    }
  }

  /** The larger batches are no larger than the first stage's queue: it bounds their memory. */
  @Test
  void theLargerBatchesStayWithinTheFirstStagesQueueCapacity() {
    RecordingStore store = new RecordingStore(10);
    Pipeline<String, String> pipeline =
        Pipeline.builder("bounded", String.class)
            .store(store)
            .sourceLinger(WHOLE_BATCHES)
            .queueCapacity(10)
            .stage(
                CLEANING,
                (String s) -> {
                  Await.on(store.largeIngest, "an ingest of a larger batch");
                  return s;
                },
                o -> o.batchSize(2))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(100));

    assertThat(result.published()).isEqualTo(100);
    assertThat(store.ingests).contains(10).allSatisfy(n -> assertThat(n).isBetween(1, 10));
  }

  /**
   * Without a sink nothing outside sees the records handed over: no delivery is noted, and the
   * records end in bulk. The sources end only once every record passed the last stage, and the
   * clock stands still (no ended record is ever old enough to be written for its age), so that the
   * writes are counted by what the run does, not by how fast this machine is: once the sources are
   * done, the claimer writes what ended at each poll, so on a slow machine, whose batches reached
   * the end further apart than its polls, each batch was written alone (this test failed so).
   */
  @Test
  void withoutASinkNoDeliveryIsNotedAndTheRecordsEndInBulk() {
    RecordingStore store = new RecordingStore();
    CountDownLatch atTheEnd = new CountDownLatch(40);
    Pipeline<String, String> pipeline =
        Pipeline.builder("no-sink", String.class)
            .store(store)
            .clock(new FakeClock())
            .sourceLinger(WHOLE_BATCHES)
            .queueCapacity(4) // whole ingests: see withoutASinkEndedRecordsWaitForFourIngestsWorth
            .stage(CLEANING, (String s) -> s, o -> o.batchSize(4))
            .stage(
                PUBLISHING,
                (String s) -> {
                  atTheEnd.countDown();
                  return s;
                },
                o -> o.batchSize(4))
            .build();

    RunResult result = pipeline.run(sourceEndingAfter(40, atTheEnd, "every record at the end"));

    assertThat(result.status()).as("the source was read to its end").isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isEqualTo(40);
    assertThat(store.writes).allSatisfy(w -> assertThat(w.delivering()).isEmpty());
    // ten batches reached the end: those ended when the sources ended in one write, and the one
    // batch the last stage's only worker may still have held then in a second one
    assertThat(store.writes).hasSizeBetween(1, 2);
    assertThat(store.writes.stream().mapToInt(w -> w.completions().size()).sum()).isEqualTo(40);
    assertThat(store.delegate.hasUnfinished("no-sink")).isFalse();
  }

  /**
   * Without a sink, records that end wait until four ingests' worth have ended (or the first has
   * waited a second, which the fake clock never lets happen): so a batch's end is not a write, a
   * commit, of its own besides its ingest.
   *
   * <p>Whole ingests of {@code DURABLE_INGEST_BATCH}: the source ends only once every record
   * reached the end, and a partial batch is ingested once its first record has waited the source
   * linger on the pipeline's clock, which this fake one never lets happen. With the first stage's
   * default batch an ingest took whatever the reader had buffered (128 to 1,024 records, by the
   * threads' timing), and a last partial batch waited for the source's end, which waited for it:
   * the source gave up after 10 s and the run failed unread (3 in 40 runs at a load of 19, with the
   * assertions below passing).
   */
  @Test
  void withoutASinkEndedRecordsWaitForFourIngestsWorth() {
    RecordingStore store = new RecordingStore();
    int total = 10 * Run.DURABLE_INGEST_BATCH;
    CountDownLatch atTheEnd = new CountDownLatch(total);
    Pipeline<String, String> pipeline =
        Pipeline.builder("no-sink-bulk", String.class)
            .store(store)
            .clock(new FakeClock())
            .stage(CLEANING, (String s) -> s, o -> o.batchSize(Run.DURABLE_INGEST_BATCH))
            .stage(
                PUBLISHING,
                (String s) -> {
                  atTheEnd.countDown();
                  return s;
                })
            .build();

    RunResult result = pipeline.run(sourceEndingAfter(total, atTheEnd, "every record at the end"));

    assertThat(result.status()).as("the source was read to its end").isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isEqualTo(total);
    assertThat(store.writes.stream().mapToInt(w -> w.completions().size()).sum()).isEqualTo(total);
    // two writes of four ingests' worth while records run, then what ended before the sources did
    // and what the last stage still held then
    assertThat(store.writes).hasSizeBetween(3, 4);
    assertThat(store.writes.subList(0, 2))
        .allSatisfy(
            w ->
                assertThat(w.completions())
                    .hasSizeGreaterThanOrEqualTo(4 * Run.DURABLE_INGEST_BATCH));
    assertThat(store.delegate.hasUnfinished("no-sink-bulk")).isFalse();
  }

  /**
   * Once the sources are done, the claimer looks again when the run's last records end, not each
   * time a batch is handed on: while records are in flight here it would find nothing, and each
   * look cost a claim, an unfinished count and a write of what ended (on PostgreSQL, about 250
   * claims in the last second of a 50k-record run). Every record is read and ingested before the
   * first passes its stage, which lets them through one at a time, each to the sink before the
   * next: a look at each hand-on made 200 looks or more here, the claimer's own idle schedule a
   * handful.
   */
  @Test
  void onceTheSourcesAreDoneTheClaimerLooksWhenTheLastRecordsEndNotAtEachHandOn() throws Exception {
    RecordingStore store = new RecordingStore();
    int n = 200;
    Semaphore pass = new Semaphore(0);
    Pipeline<String, String> pipeline =
        Pipeline.builder("claimer-looks", String.class)
            .store(store)
            .stage(
                CLEANING,
                (String s) -> {
                  pass.acquire();
                  return s;
                },
                o -> o.batchSize(1))
            .sink(sink::addAll)
            .build();

    PipelineRun run = pipeline.start(source(n));
    Await.until("every record ingested", () -> store.ingests.stream().mapToInt(i -> i).sum() == n);
    for (int i = 1; i <= n; i++) {
      pass.release();
      int delivered = i;
      Await.until("record " + i + " at the sink", () -> sink.size() == delivered);
    }
    RunResult result = Await.result(run);

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isEqualTo(n);
    assertThat(store.claims.get()).as("the claimer's looks").isLessThan(n / 2);
    assertThat(store.delegate.hasUnfinished("claimer-looks")).isFalse();
  }

  /** One write the run asked of the store: completions, and ids about to go to the sink. */
  private record Write(List<Completion> completions, List<String> delivering) {
    Map<RecordStatus, List<String>> byStatus() {
      return completions.stream()
          .collect(
              Collectors.groupingBy(
                  Completion::status,
                  Collectors.mapping(Completion::recordId, Collectors.toList())));
    }
  }

  /** An in-memory store that says it is durable and records each write. */
  private static final class RecordingStore extends ForwardingStore {
    final List<Write> writes = new CopyOnWriteArrayList<>();
    final List<Integer> ingests = new CopyOnWriteArrayList<>();
    final CountDownLatch largeIngest = new CountDownLatch(1);
    private final int large;
    // records of an "earlier run" the claimer is handed first, and when it had them all
    final Queue<Claimed> backlog = new ConcurrentLinkedQueue<>();
    final CountDownLatch backlogClaimed = new CountDownLatch(1);
    // open once a record of the source ("r" ids) was ingested
    final CountDownLatch sourceIngested = new CountDownLatch(1);
    final AtomicInteger claims = new AtomicInteger();

    RecordingStore() {
      this(Run.DURABLE_INGEST_BATCH);
    }

    /** A store whose {@link #largeIngest} opens at the first ingest of {@code large} records. */
    RecordingStore(int large) {
      super(InMemoryPipelineStore.create());
      this.large = large;
    }

    @Override
    public Set<String> ingest(
        String pipeline, List<? extends Envelope<?>> records, String stage, Instant at) {
      ingests.add(records.size());
      Set<String> known = delegate.ingest(pipeline, records, stage, at);
      if (records.stream().anyMatch(r -> r.id().startsWith("r"))) {
        sourceIngested.countDown();
      }
      if (records.size() >= large) {
        largeIngest.countDown();
      }
      return known;
    }

    @Override
    public List<Claimed> claim(String pipeline, int max, Instant now) {
      claims.incrementAndGet();
      List<Claimed> some = new ArrayList<>();
      Claimed next;
      while (some.size() < max && (next = backlog.poll()) != null) {
        some.add(next);
      }
      if (!some.isEmpty()) {
        if (backlog.isEmpty()) {
          backlogClaimed.countDown();
        }
        return some;
      }
      backlogClaimed.countDown(); // none was set
      return delegate.claim(pipeline, max, now);
    }

    @Override
    public Set<String> complete(String pipeline, List<Completion> completions) {
      writes.add(new Write(List.copyOf(completions), List.of()));
      return delegate.complete(pipeline, completions);
    }

    @Override
    public Handover completeAndDeliver(
        String pipeline, List<Completion> completions, List<String> delivering) {
      writes.add(new Write(List.copyOf(completions), List.copyOf(delivering)));
      return new Handover(
          delegate.complete(pipeline, completions), delegate.beginDelivery(pipeline, delivering));
    }

    @Override
    public boolean isDurable() {
      return true;
    }
  }
}
