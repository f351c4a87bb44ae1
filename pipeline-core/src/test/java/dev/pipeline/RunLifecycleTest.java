package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.Completion;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RunLifecycleTest {
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();
  private final CountDownLatch never = new CountDownLatch(1);
  private final Set<Thread> threads = ConcurrentHashMap.newKeySet();

  @AfterEach
  void openTheLatchNobodyShouldBeWaitingOn() {
    never.countDown();
  }

  private static List<String> ids(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> "r" + i).toList();
  }

  /** An endless source, counting what it was asked for and whether it was closed. */
  private final class EndlessSource implements Source<String> {
    final AtomicLong pulled = new AtomicLong();
    final AtomicBoolean closed = new AtomicBoolean();

    @Override
    public String id() {
      return "endless";
    }

    @Override
    public Envelope<String> next() {
      threads.add(Thread.currentThread());
      return Envelope.of("r" + pulled.incrementAndGet(), "x");
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  @Test
  void cancelEndsTheRunPromptlyAndInterruptsItsStages() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch interrupted = new CountDownLatch(1);
    EndlessSource source = new EndlessSource();
    Pipeline<String, String> pipeline =
        Pipeline.builder("cancel", String.class)
            .stage(
                CLEANING,
                (String s) -> {
                  threads.add(Thread.currentThread());
                  return s;
                },
                o -> o.concurrency(2))
            .stage(
                EXTRACTION,
                (String s) -> {
                  threads.add(Thread.currentThread());
                  entered.countDown();
                  try {
                    never.await();
                  } catch (InterruptedException e) {
                    interrupted.countDown();
                    throw e;
                  }
                  return s;
                },
                o -> o.batchSize(1))
            .sink(sink::addAll)
            .queueCapacity(8)
            .build();

    PipelineRun run = pipeline.start(source);
    Await.on(entered, "the blocking call");
    assertThat(run.status()).isEqualTo(RunStatus.RUNNING);
    run.cancel();
    RunResult result = Await.result(run);

    assertThat(result.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(run.status()).isEqualTo(RunStatus.CANCELLED);
    Await.on(interrupted, "the interrupt of the blocking call");
    for (Thread thread : threads) {
      Await.ended(thread);
    }
    assertThat(source.closed).isTrue();
    assertThat(result.deadLettered()).as("cancelling is not a record's failure").isZero();
    assertThat(result.unfinished())
        .isPositive()
        .isEqualTo(result.read() - result.published() - result.filtered());
    assertThat(result.failure()).isNull();
    assertThat(Outcomes.state(pipeline, "r1").status()).isEqualTo(RecordStatus.READY);
  }

  @Test
  void cancelLeavesTheBatchInTheSinkUnfinished() throws Exception {
    CountDownLatch inSink = new CountDownLatch(1);
    Pipeline<String, String> pipeline =
        Pipeline.builder("cancel-sink", String.class)
            .stage(CLEANING, (String s) -> s)
            .sink(
                records -> {
                  inSink.countDown();
                  never.await();
                })
            .build();

    PipelineRun run = pipeline.start(Source.of("src", ids(3).iterator(), id -> id));
    Await.on(inSink, "the sink call");
    run.cancel();
    RunResult result = Await.result(run);

    assertThat(result.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(result.deadLettered()).isZero();
    assertThat(result.unfinished()).isEqualTo(3);
    assertThat(Outcomes.deadLetters(pipeline)).isEmpty();
    assertThat(Outcomes.state(pipeline, "r1").status()).isEqualTo(RecordStatus.READY);
  }

  @Test
  void cancelAfterTheEndChangesNothing() throws Exception {
    Pipeline<String, String> pipeline =
        Pipeline.builder("cancel-late", String.class).stage(CLEANING, (String s) -> s).build();
    PipelineRun run = pipeline.start(Source.of("src", ids(5).iterator()));
    RunResult result = Await.result(run);

    run.cancel();
    run.shutdown();

    assertThat(run.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(run.await()).isSameAs(result);
    assertThat(result.published()).isEqualTo(5);
  }

  @Test
  void shutdownStopsReadingAndFinishesEveryRecordRead() throws Exception {
    EndlessSource source = new EndlessSource();
    CountDownLatch inSink = new CountDownLatch(1);
    CountDownLatch go = new CountDownLatch(1);
    Pipeline<String, String> pipeline =
        Pipeline.builder("shutdown", String.class)
            .stage(CLEANING, (String s) -> s, o -> o.batchSize(4).concurrency(2))
            .stage(
                EXTRACTION,
                (String s, StageContext c) -> {
                  if (c.recordId().endsWith("7")) {
                    throw RecordFilteredException.because("sevens are dull");
                  }
                  return s;
                },
                o -> o.batchSize(3))
            .sink(
                records -> {
                  inSink.countDown();
                  go.await();
                  sink.addAll(records);
                })
            .queueCapacity(16)
            .build();

    PipelineRun run = pipeline.start(source);
    Await.on(inSink, "the first sink call");
    run.shutdown();
    assertThat(run.status()).isEqualTo(RunStatus.DRAINING);
    assertThat(run.progress().status()).isEqualTo(RunStatus.DRAINING);
    go.countDown();
    RunResult result = Await.result(run);

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(source.closed).isTrue();
    assertThat(result.read()).isEqualTo(source.pulled.get());
    List<String> read =
        IntStream.rangeClosed(1, (int) result.read()).mapToObj(i -> "r" + i).toList();
    Outcomes.assertEachEndedOnce(pipeline, result, read, sink);
  }

  @Test
  void closeDrainsTheRunningRun() throws Exception {
    EndlessSource source = new EndlessSource();
    Pipeline<String, String> pipeline =
        Pipeline.builder("close", String.class)
            .stage(CLEANING, (String s) -> s)
            .sink(sink::addAll)
            .queueCapacity(32)
            .build();
    PipelineRun run = pipeline.start(source);
    Await.until("something is published", () -> run.progress().published() > 0);

    pipeline.close(Await.DEADLINE);

    RunResult result = Await.result(run);
    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isEqualTo(result.read()).isEqualTo(source.pulled.get());
  }

  @Test
  void closeCancelsARunThatDoesNotDrainInTime() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    Pipeline<String, String> pipeline =
        Pipeline.builder("close-cancel", String.class)
            .stage(
                CLEANING,
                (String s) -> {
                  entered.countDown();
                  never.await();
                  return s;
                })
            .build();
    PipelineRun run = pipeline.start(Source.of("src", ids(3).iterator()));
    Await.on(entered, "the blocking call");

    pipeline.close(Duration.ZERO);

    assertThat(run.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(Await.result(run).unfinished()).isEqualTo(3);
  }

  @Test
  void storeFailureFailsTheRunWithIt() throws Exception {
    IllegalStateException diskFull = new IllegalStateException("disk full");
    Pipeline<String, String> pipeline =
        Pipeline.builder("store-failure", String.class)
            .stage(CLEANING, (String s) -> s)
            .store(new FailingStore(diskFull, Integer.MAX_VALUE))
            .sink(sink::addAll)
            .build();

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      result = Await.result(pipeline.start(Source.of("src", ids(10).iterator())));
      assertThat(log.text()).contains("pipeline 'store-failure' failed and stops: " + diskFull);
    }

    assertThat(result.status()).isEqualTo(RunStatus.FAILED);
    assertThat(result.failure()).isSameAs(diskFull);
    assertThat(result.published()).isZero();
    assertThat(result.deadLettered()).isZero();
    assertThat(result.unfinished()).isEqualTo(10);
    assertThat(result.summary()).contains("failed").contains("failure: " + diskFull);
  }

  @Test
  void storeFailureAfterTheSinkTookTheRecordsIsNotBlamedOnTheSink() throws Exception {
    IllegalStateException blip = new IllegalStateException("connection reset");
    Pipeline<String, String> pipeline =
        Pipeline.builder("store-blip", String.class)
            .stage(CLEANING, (String s) -> s)
            .store(new FailingStore(blip, 1))
            .sink(sink::addAll)
            .build();

    RunResult result;
    try (StderrCapture log = new StderrCapture()) {
      result = Await.result(pipeline.start(Source.of("src", ids(3).iterator())));
      assertThat(log.text()).contains("pipeline 'store-blip' failed and stops: " + blip);
    }

    assertThat(sink).hasSize(3);
    assertThat(result.status()).isEqualTo(RunStatus.FAILED);
    assertThat(result.failure()).isSameAs(blip);
    assertThat(result.deadLettered()).isZero();
    assertThat(Outcomes.deadLetters(pipeline)).isEmpty();
  }

  @Test
  void progressFollowsTheRunFromStartToEnd() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch go = new CountDownLatch(1);
    Pipeline<String, String> pipeline =
        Pipeline.builder("progress", String.class)
            .stage(CLEANING, (String s) -> s, o -> o.batchSize(2))
            .stage(
                EXTRACTION,
                (String s) -> {
                  entered.countDown();
                  go.await();
                  return s;
                },
                o -> o.batchSize(10))
            .build();
    PipelineRun run = pipeline.start(Source.of("src", ids(6).iterator()));
    Await.on(entered, "the extraction call");
    Await.until(
        "cleaning passed everything on", () -> run.progress().stages().get(0).passed() == 6);

    Progress during = run.progress();
    go.countDown();
    RunResult result = Await.result(run);
    Progress after = run.progress();

    assertThat(during.status()).isEqualTo(RunStatus.RUNNING);
    assertThat(during.read()).isEqualTo(6);
    assertThat(during.done()).isZero();
    assertThat(during.stages())
        .extracting(Progress.StageProgress::stage)
        .containsExactly("cleaning", "extraction");
    assertThat(during.stages().get(1).in() + during.stages().get(1).queueDepth()).isEqualTo(6);
    assertThat(during.line()).contains("running").contains("read=6").contains("cleaning=0");
    assertThat(after.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(after.done()).isEqualTo(6).isEqualTo(result.published());
  }

  /** A store whose first completions fail, as a full disk would. */
  private static final class FailingStore extends ForwardingStore {
    private final RuntimeException failure;
    private final AtomicInteger failuresLeft;

    FailingStore(RuntimeException failure, int failures) {
      super(InMemoryPipelineStore.create());
      this.failure = failure;
      this.failuresLeft = new AtomicInteger(failures);
    }

    @Override
    public Set<String> complete(String pipeline, List<Completion> completions) {
      if (failuresLeft.getAndDecrement() > 0) {
        throw failure;
      }
      return delegate.complete(pipeline, completions);
    }

    @Override
    public boolean isDurable() {
      return false;
    }
  }
}
