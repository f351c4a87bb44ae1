package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.InMemoryPipelineStore;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * A slow end of the pipeline must hold back how much is read: what is in flight is bounded by the
 * queues (each may overshoot its capacity by one batch) and the batches in workers' hands.
 */
class BackPressureTest {
  private static final int CAPACITY = 4;
  private static final int BATCH = 2;

  /**
   * Reader buffer, two stages' queues (capacity - 1 + a batch each) and their two batches in hand:
   * 2 * capacity + 5 batches.
   */
  private static long bound(int capacity, int batch) {
    return 2L * capacity + 5L * batch;
  }

  /** An endless source that counts what it was asked for; a cap stops it if given. */
  private static final class CountingSource implements Source<Long> {
    final AtomicLong pulled = new AtomicLong();
    private final long limit;

    CountingSource(long limit) {
      this.limit = limit;
    }

    @Override
    public String id() {
      return "feed";
    }

    @Override
    public @Nullable Envelope<Long> next() {
      if (pulled.get() == limit) {
        return null;
      }
      long n = pulled.incrementAndGet();
      return Envelope.of("r" + n, n);
    }
  }

  @Test
  void blockedSinkStopsTheReadingOfAnEndlessSource() throws Exception {
    CountingSource source = new CountingSource(Long.MAX_VALUE);
    Semaphore permits = new Semaphore(0);
    AtomicInteger sinkCalls = new AtomicInteger();
    AtomicLong published = new AtomicLong();
    Pipeline<Long, Long> pipeline =
        Pipeline.builder("back-pressure", Long.class)
            .stage(CLEANING, (Long n) -> n, o -> o.batchSize(BATCH))
            .stage(EXTRACTION, (Long n) -> n, o -> o.batchSize(BATCH))
            .sink(
                records -> {
                  sinkCalls.incrementAndGet();
                  permits.acquire();
                  published.addAndGet(records.size());
                })
            .queueCapacity(CAPACITY)
            .build();

    PipelineRun run = pipeline.start(source);
    for (int step = 1; step <= 20; step++) {
      int calls = step;
      Await.until(
          "the pipeline fills up behind sink call " + calls,
          () -> {
            List<Progress.StageProgress> stages = run.progress().stages();
            return sinkCalls.get() == calls
                && stages.get(0).queueDepth() >= CAPACITY
                && stages.get(1).queueDepth() >= CAPACITY;
          });
      assertThat(source.pulled.get() - published.get())
          .as("records in flight at step %d", step)
          .isLessThanOrEqualTo(bound(CAPACITY, BATCH));
      permits.release();
    }
    Await.until("the last batch let through is published", () -> run.progress().published() == 40);
    run.cancel();
    RunResult result = Await.result(run);

    assertThat(result.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(result.published()).isEqualTo(published.get()).isEqualTo(20L * BATCH);
    assertThat(result.read()).isLessThanOrEqualTo(source.pulled.get());
    assertThat(source.pulled.get()).isLessThanOrEqualTo(published.get() + bound(CAPACITY, BATCH));
  }

  @Test
  void inFlightRecordsStayBoundedThroughALongRun() {
    int capacity = 16;
    int batch = 8;
    long records = 100_000;
    CountingSource source = new CountingSource(records);
    AtomicLong published = new AtomicLong();
    AtomicLong mostInFlight = new AtomicLong();
    InMemoryPipelineStore store = InMemoryPipelineStore.builder().retainCompleted(1_000).build();
    Pipeline<Long, Long> pipeline =
        Pipeline.builder("flat", Long.class)
            .stage(CLEANING, (Long n) -> n, o -> o.batchSize(batch))
            .stage(EXTRACTION, (Long n) -> n, o -> o.batchSize(batch))
            .sink(
                batchOut -> {
                  mostInFlight.accumulateAndGet(source.pulled.get() - published.get(), Math::max);
                  published.addAndGet(batchOut.size());
                })
            .store(store)
            .queueCapacity(capacity)
            .build();

    RunResult result = pipeline.run(source);

    assertThat(result.published()).isEqualTo(records);
    assertThat(mostInFlight.get()).isPositive().isLessThanOrEqualTo(bound(capacity, batch));
    assertThat(store.find("flat", "r1")).as("forgotten after retention").isEmpty();
    assertThat(store.find("flat", "r" + records)).isPresent();
  }
}
