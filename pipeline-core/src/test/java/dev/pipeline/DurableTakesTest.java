package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.PUBLISHING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.PayloadCodec;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * On a durable store, a slow single-record stage takes batches sized by time, as in memory: a
 * worker whose records take 2 ms each hands each one on before it takes the next, instead of
 * holding 128 of them (a quarter of a second) back from the next stage. Stages whose batch is a
 * store write keep whole batches: a checkpoint stage, and a split stage once it split a record.
 *
 * <p>The sizes taken are read from the lease check a durable run makes for each batch entering a
 * stage ({@code notHeld}), by the name of the worker's thread. The stage under test waits, at its
 * first call, until every record it did not take waits in its queue, so each later take has a whole
 * batch to choose from; its calls move the pipeline's clock, which times its batches.
 */
class DurableTakesTest {
  private static final int RECORDS = 300;

  /** A durable store that notes the size of every lease check by the thread that made it. */
  private static final class CheckingStore extends ForwardingStore {
    final List<Integer> cleaningTakes = new CopyOnWriteArrayList<>();

    CheckingStore() {
      super(InMemoryPipelineStore.create());
    }

    @Override
    public boolean isDurable() {
      return true;
    }

    @Override
    public Set<String> notHeld(String pipeline, Collection<String> recordIds) {
      if (Thread.currentThread().getName().contains("-" + CLEANING + "-")) {
        cleaningTakes.add(recordIds.size());
      }
      return Set.of();
    }
  }

  private static Source<String> source() {
    return Source.of(
        "src", IntStream.rangeClosed(1, RECORDS).mapToObj(i -> "r" + i).iterator(), id -> id);
  }

  /**
   * A stage whose every call takes 2 ms on the pipeline's clock, and whose first call waits until
   * every record it did not take is in its queue.
   */
  private static Stage<String, String> slow(
      FakeClock clock, CheckingStore store, AtomicReference<PipelineRun> run) {
    AtomicInteger calls = new AtomicInteger();
    return (s, context) -> {
      if (calls.getAndIncrement() == 0) {
        Await.until(
            "every record it did not take in its queue",
            () ->
                run.get() != null
                    && run.get().progress().stages().get(0).queueDepth()
                        == RECORDS - store.cleaningTakes.get(0));
      }
      clock.advance(Duration.ofMillis(2));
      return s;
    };
  }

  /** A durable pipeline's builder, before the stage under test. */
  private static PipelineBuilder<String, String> durable(
      String name, FakeClock clock, CheckingStore store) {
    return Pipeline.builder(name, String.class)
        .clock(clock)
        .store(store)
        .inputCodec(PayloadCodec.string());
  }

  /** Runs the pipeline with a stage and a sink after the stage under test. */
  private static RunResult run(
      PipelineBuilder<String, String> upToTheStage,
      AtomicReference<PipelineRun> run,
      List<String> sink)
      throws InterruptedException {
    try (Pipeline<String, String> pipeline =
        upToTheStage
            .stage(PUBLISHING, (String s) -> s)
            .sink(batch -> batch.forEach(e -> sink.add(e.id())))
            .build()) {
      run.set(pipeline.start(source()));
      RunResult result = Await.result(run.get());
      assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
      assertThat(sink).hasSize(RECORDS);
      return result;
    }
  }

  /** The stage's second take was whole: the batch size, or what was left after its first. */
  private static void assertWholeSecondTake(CheckingStore store, String why) {
    assertThat(store.cleaningTakes.get(1))
        .as(why + ": the batch size, or what was left")
        .isEqualTo(Math.min(StageOptions.DEFAULT_BATCH_SIZE, RECORDS - store.cleaningTakes.get(0)));
  }

  @Test
  void aSlowStageOnADurableStoreHandsEachRecordOnBeforeItTakesTheNext() throws Exception {
    FakeClock clock = new FakeClock();
    CheckingStore store = new CheckingStore();
    AtomicReference<PipelineRun> run = new AtomicReference<>();
    run(
        durable("durable-timed", clock, store).stage(CLEANING, slow(clock, store, run)),
        run,
        new CopyOnWriteArrayList<>());

    List<Integer> takes = store.cleaningTakes;
    assertThat(takes.subList(1, takes.size()))
        .as("after its first batch (%s records), 2 ms a record: one record a take", takes.get(0))
        .isNotEmpty()
        .allMatch(n -> n == 1);
  }

  @Test
  void aCheckpointStageOnADurableStoreKeepsWholeBatches() throws Exception {
    FakeClock clock = new FakeClock();
    CheckingStore store = new CheckingStore();
    AtomicReference<PipelineRun> run = new AtomicReference<>();
    run(
        durable("durable-checkpoint", clock, store)
            .stage(
                CLEANING,
                slow(clock, store, run),
                s -> s.checkpoint().codec(PayloadCodec.string())),
        run,
        new CopyOnWriteArrayList<>());

    assertWholeSecondTake(store, "its batch is a checkpoint write");
  }

  @Test
  void aSplitStageOnADurableStoreKeepsWholeBatchesOnceItSplitARecord() throws Exception {
    FakeClock clock = new FakeClock();
    CheckingStore store = new CheckingStore();
    AtomicReference<PipelineRun> run = new AtomicReference<>();
    Stage<String, String> slow = slow(clock, store, run);
    run(
        durable("durable-split", clock, store)
            .splitStage(
                CLEANING,
                (String s, StageContext c) -> List.of(slow.process(s, c)),
                s -> s.codec(PayloadCodec.string())),
        run,
        new CopyOnWriteArrayList<>());

    assertWholeSecondTake(store, "its batch's children are stored in one write");
  }
}
