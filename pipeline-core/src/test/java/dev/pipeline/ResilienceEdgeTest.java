package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.spi.Claimed;
import dev.pipeline.store.spi.RecordLedger;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Corners of the resilience decorators: failing fallbacks, stores without a retry queue, batches.
 */
class ResilienceEdgeTest {
  private final FakeClock clock = new FakeClock();
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();

  private static List<String> ids(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> "r" + i).toList();
  }

  private static Source<String> source(List<String> ids) {
    return Source.of("src", ids.iterator(), id -> id);
  }

  private static CircuitBreaker opensAtOnce() {
    return CircuitBreaker.failureRate(0.5).minCalls(1).window(1).openFor(Duration.ofDays(1));
  }

  @Test
  void aFallbackThatFailsWhileTheCircuitIsOpenDeadLettersTheRecordAndTheRunEnds() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("fallback-fails", String.class)
            .clock(clock)
            .<String>stage(
                CLEANING,
                (String s) -> {
                  throw new IOException("down");
                },
                o ->
                    o.circuitBreaker(opensAtOnce())
                        .fallback(
                            Fallback.<String, String>to(
                                (s, error, c) -> {
                                  throw new IllegalStateException("no cached copy of " + s);
                                })))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(10)));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.deadLettered()).isEqualTo(10);
    assertThat(result.unfinished()).isZero();
    DeadLetter r5 = Outcomes.deadLetter(pipeline, "r5");
    assertThat(r5.lastError().message()).isEqualTo("no cached copy of r5");
  }

  @Test
  void aStoreWithoutARetryQueueRetriesInTheWorkerAndRefusesHold() {
    RecordLedger store = new NoRetryQueueStore(InMemoryPipelineStore.create());
    AtomicInteger calls = new AtomicInteger();
    Pipeline<String, String> pipeline =
        Pipeline.builder("no-queue", String.class)
            .clock(clock)
            .store(store)
            .stage(
                CLEANING,
                (String s, StageContext c) -> {
                  calls.incrementAndGet();
                  if (c.attempt() < 3) {
                    throw new IOException("flaky");
                  }
                  return s;
                },
                o ->
                    o.retry(
                        RetryPolicy.exponential(Duration.ofSeconds(5), Duration.ofMinutes(1))
                            .maxRetries(3)))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(4)));

    assertThat(result.published()).isEqualTo(4);
    assertThat(result.parked()).isZero();
    assertThat(clock.sleeps()).contains(Duration.ofSeconds(5), Duration.ofSeconds(10));
    assertThatThrownBy(
            () ->
                Pipeline.builder("no-queue-hold", String.class)
                    .store(store)
                    .stage(
                        CLEANING,
                        (String s) -> s,
                        o -> o.circuitBreaker(opensAtOnce()).fallback(Fallback.hold()))
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("has no retry queue");
  }

  @Test
  void aFunctionFallbackInABatchStageLeavesTheOtherRecordsMetadataAlone() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("batch-fallback", String.class)
            .clock(clock)
            .batchStage(
                CLEANING,
                (List<String> batch, StageContext c) -> {
                  c.putMetadata("stage-added", "yes");
                  List<String> out = new ArrayList<>(batch);
                  c.fail(0, new IllegalArgumentException("bad first record"));
                  out.set(0, null);
                  return out;
                },
                o ->
                    o.batchSize(4)
                        .fallback(
                            Fallback.<String, String>to(
                                (s, error, c) -> {
                                  c.putMetadata("fallback-added", "yes");
                                  return s + "-fallback";
                                })))
            .sink(sink::addAll)
            .build();

    pipeline.run(source(ids(4)));

    assertThat(sink).hasSize(4);
    for (Envelope<String> e : sink) {
      if (e.id().equals("r1")) {
        assertThat(e.payload()).isEqualTo("r1-fallback");
        assertThat(e.metadata())
            .containsEntry("fallback-added", "yes")
            .containsEntry(Fallback.DEGRADED, "cleaning");
      } else {
        assertThat(e.metadata())
            .containsEntry("stage-added", "yes")
            .doesNotContainKey("fallback-added")
            .doesNotContainKey(Fallback.DEGRADED);
      }
    }
  }

  @Test
  void aBatchThatFailsAsAWholeIsRetriedAsOneBeforeItIsHalved() {
    AtomicInteger calls = new AtomicInteger();
    Pipeline<String, String> pipeline =
        Pipeline.builder("batch-retry-first", String.class)
            .clock(clock)
            .batchStage(
                CLEANING,
                (List<String> batch, StageContext c) -> {
                  calls.incrementAndGet();
                  if (c.attempt() == 1) {
                    throw new IOException("service busy");
                  }
                  return batch;
                },
                o ->
                    o.batchSize(16)
                        .retry(
                            RetryPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(1))
                                .maxRetries(3)))
            .sink(sink::addAll)
            .build();

    RunResult result = pipeline.run(source(ids(16)));

    assertThat(result.published()).isEqualTo(16);
    assertThat(calls.get()).as("one failed call, one retry of the whole batch").isEqualTo(2);
    assertThat(clock.sleeps()).containsExactly(Duration.ofMillis(100));
    assertThat(result.metrics().stage("cleaning").resilience().batchSplits()).isZero();
  }

  @Test
  void aCancelledTrialCallDoesNotLeaveTheCircuitHalfOpenForTheNextRun() throws Exception {
    CountDownLatch inTrial = new CountDownLatch(1);
    AtomicInteger run = new AtomicInteger(1);
    Pipeline<String, String> pipeline =
        Pipeline.builder("trial-cancel", String.class)
            .clock(clock)
            .stage(
                CLEANING,
                (String s) -> {
                  if (run.get() == 1) {
                    if (s.equals("r1")) {
                      throw new IOException("down"); // opens the circuit
                    }
                    inTrial.countDown();
                    new CountDownLatch(1).await(); // a trial call that hangs
                  }
                  return s;
                },
                o ->
                    o.retry(
                            RetryPolicy.exponential(Duration.ofMillis(20), Duration.ofMillis(20))
                                .maxRetries(5))
                        .circuitBreaker(
                            CircuitBreaker.failureRate(0.5)
                                .minCalls(1)
                                .window(1)
                                .openFor(Duration.ofMillis(10))
                                .halfOpenCalls(1)))
            .sink(sink::addAll)
            .build();
    // r2 is refused while the circuit is open (it retries on the clock, which moves), then it is
    // the trial call, and it hangs
    PipelineRun first = pipeline.start(source(List.of("r1", "r2")));
    inTrial.await();
    first.cancel();
    first.await();
    run.set(2);
    clock.advance(Duration.ofSeconds(1));

    RunResult second = pipeline.run(source(List.of("r3", "r4", "r5")));

    assertThat(second.published()).isEqualTo(3);
  }

  /** A store that delegates everything but has no retry queue. */
  private static final class NoRetryQueueStore extends ForwardingStore {
    NoRetryQueueStore(RecordLedger delegate) {
      super(delegate);
    }

    @Override
    public List<Claimed> claim(String pipeline, int max) {
      return List.of();
    }

    @Override
    public boolean isDurable() {
      return false;
    }

    @Override
    public String toString() {
      return "NoRetryQueueStore";
    }
  }
}
