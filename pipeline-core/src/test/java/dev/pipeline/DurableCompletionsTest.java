package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.PUBLISHING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.store.Completion;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.RecordStatus;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
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

  /**
   * Twelve ids, then the end once the sink had its batch: so that the end of the sources, which has
   * the run write what ended at once, comes after.
   */
  private static Source<String> sourceEndingAfter(CountDownLatch published) {
    Iterator<String> ids = IntStream.rangeClosed(1, 12).mapToObj(i -> "r" + i).iterator();
    Iterator<String> thenWait =
        new Iterator<>() {
          @Override
          public boolean hasNext() {
            if (ids.hasNext()) {
              return true;
            }
            try {
              Await.on(published, "the sink's batch");
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return false;
          }

          @Override
          public String next() {
            return ids.next();
          }
        };
    return Source.of("src", thenWait, id -> id);
  }

  @Test
  void recordsEndedAtStagesAreWrittenWithTheBatchTheSinkCompletes() {
    RecordingStore store = new RecordingStore();
    CountDownLatch published = new CountDownLatch(1);
    Pipeline<String, String> pipeline =
        Pipeline.builder("together", String.class)
            .store(store)
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
            .sink(
                batch -> {
                  sink.addAll(batch);
                  published.countDown();
                })
            .build();

    RunResult result = pipeline.run(sourceEndingAfter(published));

    // r3, r6, r9, r12 filtered; r5, r10 dead-lettered; the other six published: one write
    assertThat(store.completions).hasSize(1);
    Map<RecordStatus, List<String>> written =
        store.completions.get(0).stream()
            .collect(
                Collectors.groupingBy(
                    Completion::status,
                    Collectors.mapping(Completion::recordId, Collectors.toList())));
    assertThat(written.get(RecordStatus.FILTERED))
        .containsExactlyInAnyOrder("r3", "r6", "r9", "r12");
    assertThat(written.get(RecordStatus.DEAD_LETTER)).containsExactlyInAnyOrder("r5", "r10");
    assertThat(written.get(RecordStatus.PUBLISHED)).hasSize(6);
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
  void aRunWhoseRecordsAllEndBeforeTheSinkStillWritesThemAndEnds() {
    RecordingStore store = new RecordingStore();
    Pipeline<String, String> pipeline =
        Pipeline.builder("none-published", String.class)
            .store(store)
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
    assertThat(store.completions.stream().mapToInt(List::size).sum()).isEqualTo(10);
    assertThat(store.delegate.hasUnfinished("none-published")).isFalse();
  }

  /** An in-memory store that says it is durable and records each call to complete. */
  private static final class RecordingStore extends ForwardingStore {
    final List<List<Completion>> completions = new CopyOnWriteArrayList<>();

    RecordingStore() {
      super(InMemoryPipelineStore.create());
    }

    @Override
    public Set<String> complete(String pipeline, List<Completion> completions) {
      this.completions.add(new ArrayList<>(completions));
      return delegate.complete(pipeline, completions);
    }

    @Override
    public boolean isDurable() {
      return true;
    }
  }
}
