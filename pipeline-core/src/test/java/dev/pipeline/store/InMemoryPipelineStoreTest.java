package dev.pipeline.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Envelope;
import dev.pipeline.store.spi.Completion;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class InMemoryPipelineStoreTest {
  private static final String P = "listings";
  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

  private final InMemoryPipelineStore store = InMemoryPipelineStore.create();

  private static List<Envelope<String>> records(String... ids) {
    return List.of(ids).stream().map(id -> Envelope.of(id, "payload of " + id)).toList();
  }

  private static Completion published(String id, Instant at) {
    return new Completion(id, RecordStatus.PUBLISHED, "publishing", null, null, List.of(), 1, at);
  }

  private static Completion filtered(String id, String reason) {
    return new Completion(id, RecordStatus.FILTERED, "cleaning", reason, null, List.of(), 1, T0);
  }

  private static Completion deadLetter(String id, String stage, Throwable error, Instant at) {
    return new Completion(
        id,
        RecordStatus.DEAD_LETTER,
        stage,
        null,
        Envelope.of(id, "payload of " + id),
        List.of(ErrorInfo.of(stage, error, 1, at)),
        1,
        at);
  }

  @Test
  void ingestReturnsTheIdsItAlreadyHeldAndKeepsTheFirst() {
    assertThat(store.ingest(P, records("a", "b"), "ingestion", T0)).isEmpty();

    assertThat(store.ingest(P, records("b", "c", "a"), "cleaning", T0.plusSeconds(1)))
        .containsExactlyInAnyOrder("a", "b");
    RecordState a = store.find(P, "a").orElseThrow();
    assertThat(a.status()).isEqualTo(RecordStatus.READY);
    assertThat(a.stage()).isEqualTo("ingestion");
    assertThat(a.startedAt()).isEqualTo(T0);
    assertThat(store.counts(P).get(RecordStatus.READY)).isEqualTo(3);
  }

  @Test
  void ingestRefusesIdsNoStoreCanKeepAsTheJdbcStoreDoes() {
    for (String unfit : new String[] {"a\0", "a\uD800", "x".repeat(1001)}) {
      assertThatThrownBy(() -> store.ingest(P, records("ok", unfit), "ingestion", T0))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("cannot be stored");
    }
    assertThat(store.find(P, "ok")).as("nothing of the batch was added").isEmpty();
  }

  @Test
  void concurrentIngestsOfTheSameIdsAcceptEachOnce() throws Exception {
    List<Envelope<String>> batch =
        IntStream.range(0, 1_000).mapToObj(i -> Envelope.of("id" + i, "x")).toList();
    int threads = 8;
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Integer>> duplicates = new ArrayList<>();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int t = 0; t < threads; t++) {
        duplicates.add(
            pool.submit(
                () -> {
                  start.await();
                  return store.ingest(P, batch, "ingestion", T0).size();
                }));
      }
      start.countDown();
      int total = 0;
      for (Future<Integer> f : duplicates) {
        total += f.get();
      }
      assertThat(total).isEqualTo((threads - 1) * batch.size());
    }
    assertThat(store.counts(P).get(RecordStatus.READY)).isEqualTo(1_000);
  }

  @Test
  void completionMovesTheCountFromReadyToTheTerminalState() {
    store.ingest(P, records("a", "b", "c"), "ingestion", T0);

    store.complete(
        P,
        List.of(
            published("a", T0.plusSeconds(5)),
            filtered("b", "no price"),
            deadLetter("c", "cleaning", new IOException("down"), T0)));

    StatusCounts counts = store.counts(P);
    assertThat(counts.get(RecordStatus.READY)).isZero();
    assertThat(counts.get(RecordStatus.PUBLISHED)).isOne();
    assertThat(counts.get(RecordStatus.FILTERED)).isOne();
    assertThat(counts.get(RecordStatus.DEAD_LETTER)).isOne();
    RecordState a = store.find(P, "a").orElseThrow();
    assertThat(a.startedAt()).isEqualTo(T0);
    assertThat(a.updatedAt()).isEqualTo(T0.plusSeconds(5));
    assertThat(store.find(P, "b").orElseThrow().reason()).isEqualTo("no price");
    assertThat(store.find(P, "c").orElseThrow().lastError().errorType()).isEqualTo("IOException");
  }

  @Test
  void secondCompletionOfARecordIsIgnored() {
    store.ingest(P, records("a"), "ingestion", T0);
    store.complete(P, List.of(filtered("a", "first")));

    store.complete(P, List.of(filtered("a", "second")));
    store.complete(P, List.of(deadLetter("a", "cleaning", new IOException("late"), T0)));
    store.complete(P, List.of(published("a", T0)));

    assertThat(store.find(P, "a").orElseThrow().reason()).isEqualTo("first");
    StatusCounts counts = store.counts(P);
    assertThat(counts.get(RecordStatus.FILTERED)).isOne();
    assertThat(counts.get(RecordStatus.DEAD_LETTER)).isZero();
    assertThat(counts.get(RecordStatus.PUBLISHED)).isZero();
    assertThat(store.deadLetters(P, DeadLetterQuery.all()).items()).isEmpty();
  }

  @Test
  void racingCompletionsOfOneRecordCountOnce() throws Exception {
    List<Envelope<String>> batch =
        IntStream.range(0, 500).mapToObj(i -> Envelope.of("id" + i, "x")).toList();
    store.ingest(P, batch, "ingestion", T0);
    List<Completion> completions = batch.stream().map(e -> published(e.id(), T0)).toList();
    CountDownLatch start = new CountDownLatch(1);
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int t = 0; t < 8; t++) {
        pool.submit(
            () -> {
              start.await();
              store.complete(P, completions);
              return null;
            });
      }
      start.countDown();
    }

    assertThat(store.counts(P).get(RecordStatus.PUBLISHED)).isEqualTo(500);
    assertThat(store.counts(P).get(RecordStatus.READY)).isZero();
  }

  @Test
  void retentionForgetsTheOldestCompletedRecordsButKeepsDeadLetters() {
    InMemoryPipelineStore small = InMemoryPipelineStore.builder().retainCompleted(10).build();
    for (int i = 0; i < 100; i++) {
      small.ingest(P, records("r" + i, "d" + i), "ingestion", T0);
      small.complete(
          P,
          List.of(
              published("r" + i, T0), deadLetter("d" + i, "cleaning", new IOException("x"), T0)));
    }

    assertThat(IntStream.range(0, 90).filter(i -> small.find(P, "r" + i).isPresent())).isEmpty();
    assertThat(IntStream.range(90, 100).filter(i -> small.find(P, "r" + i).isEmpty())).isEmpty();
    assertThat(IntStream.range(0, 100).filter(i -> small.find(P, "d" + i).isEmpty())).isEmpty();
    assertThat(small.counts(P).get(RecordStatus.PUBLISHED)).isEqualTo(100);
    assertThat(small.deadLetters(P, DeadLetterQuery.all().limit(1_000)).items()).hasSize(100);
    assertThat(small.ingest(P, records("r0"), "ingestion", T0))
        .as("a forgotten id may be ingested again")
        .isEmpty();
  }

  @Test
  void retainingNothingKeepsOnlyRecordsInFlight() {
    InMemoryPipelineStore none = InMemoryPipelineStore.builder().retainCompleted(0).build();
    none.ingest(P, records("a", "b"), "ingestion", T0);

    none.complete(P, List.of(published("a", T0)));

    assertThat(none.find(P, "a")).isEmpty();
    assertThat(none.find(P, "b")).isPresent();
  }

  @Test
  void negativeRetentionIsRejected() {
    assertThatThrownBy(() -> InMemoryPipelineStore.builder().retainCompleted(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("retainCompleted cannot be negative, was -1");
  }

  @Test
  void checkpointMovesARecordInFlightButNotAFinishedOne() {
    store.ingest(P, records("a", "b"), "ingestion", T0);
    store.complete(P, List.of(published("b", T0)));

    store.checkpoint(P, records("a", "b"), "extraction", T0.plusSeconds(1));

    assertThat(store.find(P, "a").orElseThrow().stage()).isEqualTo("extraction");
    assertThat(store.find(P, "a").orElseThrow().status()).isEqualTo(RecordStatus.READY);
    assertThat(store.find(P, "b").orElseThrow().stage()).isEqualTo("publishing");
  }

  @Test
  void secondDeliveryOfARecordIsReportedAsARedelivery() {
    store.ingest(P, records("a", "b"), "ingestion", T0);

    assertThat(store.beginDelivery(P, List.of("a", "b"))).isEmpty();
    assertThat(store.beginDelivery(P, List.of("a"))).containsExactly("a");
    store.complete(P, List.of(published("a", T0)));

    assertThat(store.find(P, "a").orElseThrow().deliveries()).isEqualTo(2);
    assertThat(store.find(P, "b").orElseThrow().deliveries()).isOne();
  }

  @Test
  void unfinishedUntilEveryRecordEndsAndNothingToClaim() {
    store.ingest(P, records("a", "b"), "ingestion", T0);
    store.complete(P, List.of(published("a", T0)));
    assertThat(store.hasUnfinished(P)).isTrue();

    store.complete(P, List.of(filtered("b", "spam")));

    assertThat(store.hasUnfinished(P)).isFalse();
    assertThat(store.claim(P, 10)).isEmpty();
    assertThat(store.isDurable()).isFalse();
  }

  @Test
  void pipelinesAreKeptApart() {
    store.ingest("one", records("a"), "ingestion", T0);

    assertThat(store.ingest("two", records("a"), "ingestion", T0)).isEmpty();
    assertThat(store.find("three", "a")).isEmpty();
  }

  // ------------------------------------------------------------------ dead letter queries

  private void deadLetters() {
    for (int i = 0; i < 30; i++) {
      String stage = i % 2 == 0 ? "cleaning" : "extraction";
      Throwable error = i % 3 == 0 ? new IOException("io") : new IllegalStateException("bad");
      store.ingest(P, records("d" + i), "ingestion", T0);
      store.complete(P, List.of(deadLetter("d" + i, stage, error, T0.plusSeconds(i))));
    }
  }

  private static List<String> ids(Page<DeadLetter> page) {
    return page.items().stream().map(DeadLetter::recordId).toList();
  }

  @Test
  void deadLettersAreFilteredByStageErrorTypeAndTime() {
    deadLetters();

    assertThat(ids(store.deadLetters(P, DeadLetterQuery.stage("cleaning"))))
        .hasSize(15)
        .allMatch(id -> Integer.parseInt(id.substring(1)) % 2 == 0);
    assertThat(ids(store.deadLetters(P, DeadLetterQuery.all().errorType("IOException"))))
        .containsExactly("d0", "d3", "d6", "d9", "d12", "d15", "d18", "d21", "d24", "d27");
    assertThat(
            ids(
                store.deadLetters(
                    P,
                    DeadLetterQuery.stage("extraction")
                        .errorType("IOException")
                        .since(T0.plusSeconds(10)))))
        .containsExactly("d15", "d21", "d27");
    assertThat(ids(store.deadLetters(P, DeadLetterQuery.all().since(T0.plusSeconds(28)))))
        .containsExactly("d28", "d29");
    DeadLetter d3 = store.deadLetters(P, DeadLetterQuery.all().limit(5)).items().get(3);
    assertThat(d3.record().payload()).isEqualTo("payload of d3");
    assertThat(d3.deadLetteredAt()).isEqualTo(T0.plusSeconds(3));
  }

  @Test
  void deadLettersArePagedWithACursorOldestFirst() {
    deadLetters();
    DeadLetterQuery cleaning = DeadLetterQuery.stage("cleaning").limit(4);

    List<String> seen = new ArrayList<>();
    List<Integer> sizes = new ArrayList<>();
    Page<DeadLetter> page = store.deadLetters(P, cleaning);
    while (true) {
      seen.addAll(ids(page));
      sizes.add(page.items().size());
      if (!page.hasNext()) {
        break;
      }
      page = store.deadLetters(P, cleaning.after(page.nextCursor()));
    }

    assertThat(sizes).containsExactly(4, 4, 4, 3);
    assertThat(seen)
        .containsExactlyElementsOf(
            IntStream.range(0, 30).filter(i -> i % 2 == 0).mapToObj(i -> "d" + i).toList());
  }

  @Test
  void fullLastPageHasNoNextCursor() {
    deadLetters();

    Page<DeadLetter> page = store.deadLetters(P, DeadLetterQuery.stage("cleaning").limit(15));

    assertThat(page.items()).hasSize(15);
    assertThat(page.hasNext()).isFalse();
  }

  @Test
  void foreignCursorIsRejected() {
    assertThatThrownBy(() -> store.deadLetters(P, DeadLetterQuery.all().after("page-2")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'page-2'");
  }

  @Test
  void queryLimitIsChecked() {
    assertThatThrownBy(() -> DeadLetterQuery.all().limit(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("limit must be between 1 and 10000, was 0");
    assertThatThrownBy(() -> DeadLetterQuery.all().limit(10_001))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void completionWithoutATerminalStatusOrDeadLetterWithoutItsRecordIsRejected() {
    assertThatThrownBy(
            () -> new Completion("a", RecordStatus.READY, "cleaning", null, null, List.of(), 1, T0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("terminal status");
    assertThatThrownBy(
            () ->
                new Completion(
                    "a", RecordStatus.DEAD_LETTER, "cleaning", null, null, List.of(), 1, T0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("keeps its record and at least one error");
  }

  @Test
  void errorInfoCutsLongStackTraces() {
    Throwable deep = new IllegalStateException("deep");
    StackTraceElement frame = new StackTraceElement("a.B", "method", "B.java", 1);
    StackTraceElement[] frames = new StackTraceElement[5_000];
    Arrays.fill(frames, frame);
    deep.setStackTrace(frames);

    ErrorInfo info = ErrorInfo.of("cleaning", deep, 2, T0.plus(Duration.ofSeconds(1)));

    assertThat(info.stackTrace())
        .hasSizeLessThan(ErrorInfo.MAX_STACK_TRACE + 100)
        .endsWith("… [cut: the stack trace is longer than 16,384 chars]\n");
    assertThat(info.errorType()).isEqualTo("IllegalStateException");
    assertThat(info.attempt()).isEqualTo(2);
  }
}
