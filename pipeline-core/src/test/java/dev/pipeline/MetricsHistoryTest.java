package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.INGESTION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.metrics.WindowScorer;
import dev.pipeline.metrics.WindowScores;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.spi.RecordLedger;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class MetricsHistoryTest {
  private static final Instant END_OF_TIME = Instant.parse("2100-01-01T00:00:00Z");
  private final FakeClock clock = new FakeClock();

  private static Source<Integer> numbers(int n) {
    return Source.of("src", IntStream.rangeClosed(1, n).boxed().iterator(), i -> "r" + i);
  }

  private static long sum(
      List<StageWindow> windows, java.util.function.ToLongFunction<StageWindow> f) {
    return windows.stream().mapToLong(f).sum();
  }

  @Test
  void aQualityReportNeedsTheQualityModuleAndSaysSo() {
    try (Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("no-rules", Integer.class)
            .clock(clock)
            .stage(INGESTION, (Integer i) -> i)
            .sink(records -> {})
            .build()) {
      assertThatThrownBy(() -> pipeline.qualityReport(Duration.ofHours(1)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("no-rules")
          .hasMessageContaining("dev.pipeline:pipeline-quality");
      assertThatThrownBy(() -> pipeline.qualityReport(Duration.ofSeconds(-1)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("zero or positive");
    }
  }

  @Test
  void aWindowPerStageIsTakenOnThePipelineClock() {
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("windows", Integer.class)
            .clock(clock)
            .metricsWindow(Duration.ofSeconds(10))
            .stage(
                INGESTION,
                (Integer i) -> {
                  clock.advance(Duration.ofSeconds(3)); // each call takes 3 s of the clock
                  if (i % 4 == 0) {
                    throw RecordFilteredException.because("fourth");
                  }
                  return i;
                },
                s -> s.batchSize(1))
            .stage(CLEANING, (Integer i) -> i, s -> s.batchSize(1))
            .sink(records -> {})
            .build();

    pipeline.run(numbers(12));

    List<StageWindow> parsing = pipeline.metricsHistory(INGESTION, FakeClock.START, END_OF_TIME);
    // 36 s of calls in 10 s windows, and the last one: 4 or 5 windows when whoever takes a window
    // is done before the next call. A window is taken by whoever first sees it due (this stage's
    // worker, the next stage's, the telemetry thread); while a slow taker holds it, the others go
    // on, and this test's clock moves with the calls, not with real time: a taker descheduled under
    // load for as long as eight calls makes the next window cover them all (seen in 3 of 1,300
    // runs at a load of 5). So: 2 windows at least, never one taken before it is due.
    assertThat(parsing.size())
        .as("36 s of calls in 10 s windows, and the last one")
        .isBetween(2, 5);
    assertThat(parsing)
        .allMatch(w -> w.stage().equals("ingestion") && w.pipeline().equals("windows"));
    for (int i = 1; i < parsing.size(); i++) {
      assertThat(parsing.get(i).start())
          .as("windows follow each other")
          .isEqualTo(parsing.get(i - 1).end());
      long start = Duration.between(FakeClock.START, parsing.get(i - 1).start()).toSeconds();
      assertThat(parsing.get(i - 1).end())
          .as("window %s is taken once due, at the first 10 s mark after its start", i - 1)
          .isAfterOrEqualTo(FakeClock.START.plusSeconds(start / 10 * 10 + 10));
    }
    assertThat(parsing.get(0).end())
        .as("a window ends when the first batch after it is due is handed on")
        .isBetween(FakeClock.START.plusSeconds(10), FakeClock.START.plusSeconds(13));
    assertThat(sum(parsing, StageWindow::recordsIn)).isEqualTo(12);
    assertThat(sum(parsing, StageWindow::passed)).isEqualTo(9);
    assertThat(sum(parsing, StageWindow::filtered)).isEqualTo(3);
    assertThat(parsing.get(0).p50())
        .isEqualTo(
            Duration.ofSeconds(3)
                .plusNanos(0)
                .withNanos(0)
                .plusNanos(parsing.get(0).p50().getNano()));
    assertThat(parsing.get(0).p50().toMillis()).as("each call took 3 s").isBetween(2_990L, 3_030L);
    // a call's busy time counts in the window it ends in (the telemetry thread may take a window
    // while a call is under way): over all windows it is every call's 3 s
    assertThat(parsing.stream().map(StageWindow::busy).reduce(Duration.ZERO, Duration::plus))
        .isBetween(Duration.ofSeconds(36), Duration.ofMillis(36_300));
    assertThat(parsing).allMatch(w -> w.utilization() <= 1.0);
    assertThat(parsing.get(0).utilization()).as("busy most of the first window").isGreaterThan(0.6);
    assertThat(parsing.get(0).cpuTime()).as("not sampled unless asked").isNull();
    assertThat(parsing.get(0).allocatedBytes()).isEqualTo(-1);

    List<StageWindow> sink =
        pipeline.metricsHistory(StageName.of("sink"), FakeClock.START, END_OF_TIME);
    assertThat(sum(sink, StageWindow::passed)).as("the sink's windows").isEqualTo(9);
    List<StageWindow> store =
        pipeline.metricsHistory(StageName.of("store"), FakeClock.START, END_OF_TIME);
    assertThat(store).as("the store's windows").isNotEmpty();

    assertThat(pipeline.metricsHistory(INGESTION, END_OF_TIME, END_OF_TIME.plusSeconds(1)))
        .isEmpty();
    assertThatThrownBy(
            () -> pipeline.metricsHistory(StageName.of("nope"), FakeClock.START, END_OF_TIME))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("has no stage 'nope'");
    assertThatThrownBy(() -> pipeline.metricsHistory(INGESTION, END_OF_TIME, FakeClock.START))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is before its start");
  }

  @Test
  void aStageWithAScorerHasItsScoresInEachWindowAndAFailingScorerLeavesThemOut() {
    // the scorer counts what the stage saw since the last window: odd numbers are "invalid"
    java.util.concurrent.atomic.AtomicLong seen = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicLong odd = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicInteger calls =
        new java.util.concurrent.atomic.AtomicInteger();
    WindowScorer scorer =
        () -> {
          if (calls.incrementAndGet() == 2) {
            throw new IllegalStateException("scorer broke");
          }
          long n = seen.getAndSet(0);
          long bad = odd.getAndSet(0);
          return n == 0
              ? WindowScores.NONE
              : new WindowScores(100, 100.0 * (n - bad) / n, Double.NaN, Double.NaN, Double.NaN);
        };
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("scored", Integer.class)
            .clock(clock)
            .metricsWindow(Duration.ofSeconds(10))
            .stage(
                INGESTION,
                (Integer i) -> {
                  clock.advance(Duration.ofSeconds(1));
                  seen.incrementAndGet();
                  if (i % 2 == 1) {
                    odd.incrementAndGet();
                  }
                  return i;
                },
                s -> s.batchSize(1).qualityScorer(scorer))
            .stage(CLEANING, (Integer i) -> i, s -> s.batchSize(1))
            .sink(records -> {})
            .build();

    pipeline.run(numbers(40));

    List<StageWindow> gate = pipeline.metricsHistory(INGESTION, FakeClock.START, END_OF_TIME);
    assertThat(gate.size()).isGreaterThanOrEqualTo(3);
    assertThat(gate.get(0).scores()).isNotNull();
    assertThat(gate.get(0).scores().completeness()).isEqualTo(100);
    assertThat(gate.get(0).scores().validity())
        .as("half the numbers are odd")
        .isBetween(40.0, 60.0);
    assertThat(gate.get(0).scores().consistency()).as("not measured").isNaN();
    assertThat(gate.get(0).scores().overall())
        .isEqualTo((100 + gate.get(0).scores().validity()) / 2);
    assertThat(gate.get(1).scores()).as("the scorer threw: no scores, the window is kept").isNull();
    assertThat(gate.get(1).recordsIn()).isPositive();
    assertThat(pipeline.metricsHistory(CLEANING, FakeClock.START, END_OF_TIME))
        .as("a stage without a scorer has none")
        .allMatch(w -> w.scores() == null);
  }

  @Test
  void aWindowOutsideItsRangeIsRefusedAtBuild() {
    assertThatThrownBy(
            () ->
                Pipeline.builder("bad", Integer.class)
                    .stage(INGESTION, (Integer i) -> i)
                    .metricsWindow(Duration.ofMillis(10))
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("metricsWindow must be between PT1S and PT1H, was PT0.01S");
  }

  @Test
  void theStoreIsNamedTheBottleneckWhenItLimitsTheRun() {
    // every write to the store takes 50 ms of the clock; the stage takes none
    RecordLedger slow =
        new ForwardingStore(InMemoryPipelineStore.create()) {
          @Override
          public Set<String> ingest(
              String pipeline,
              List<? extends dev.pipeline.Envelope<?>> records,
              String stage,
              Instant at) {
            clock.advance(Duration.ofMillis(50));
            return super.ingest(pipeline, records, stage, at);
          }

          @Override
          public Set<String> complete(
              String pipeline, List<dev.pipeline.store.spi.Completion> completions) {
            clock.advance(Duration.ofMillis(50));
            return super.complete(pipeline, completions);
          }
        };
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("slow-store", Integer.class)
            .clock(clock)
            .store(slow)
            .stage(INGESTION, (Integer i) -> i)
            .sink(records -> {})
            .build();

    RunResult result = pipeline.run(numbers(500));

    PipelineMetrics metrics = result.metrics();
    StageMetrics store = metrics.stage("store");
    assertThat(store.recordsIn())
        .as("records written on the record path")
        .isGreaterThanOrEqualTo(500);
    assertThat(store.utilization()).isGreaterThan(metrics.stage("ingestion").utilization());
    assertThat(metrics.bottleneck()).map(StageMetrics::stage).contains("store");
    assertThat(result.summary()).contains("bottleneck: store");
    assertThat(metrics.stage("sink").recordsIn()).isEqualTo(500);
    assertThat(metrics.table()).contains("sink").contains("store");
  }

  @Test
  void theInMemoryStoreKeepsABoundedRing() {
    InMemoryPipelineStore store = InMemoryPipelineStore.builder().retainWindows(3).build();
    for (int i = 0; i < 5; i++) {
      Instant start = FakeClock.START.plusSeconds(10L * i);
      store.appendMetrics(
          List.of(
              new StageWindow(
                  "p",
                  "s",
                  start,
                  start.plusSeconds(10),
                  i,
                  i,
                  0,
                  0,
                  0,
                  Duration.ZERO,
                  Duration.ZERO,
                  Duration.ZERO,
                  0,
                  0,
                  0,
                  0,
                  Duration.ZERO,
                  null,
                  null,
                  -1,
                  null)));
    }

    assertThat(store.metricsHistory("p", "s", FakeClock.START, END_OF_TIME))
        .extracting(StageWindow::recordsIn)
        .containsExactly(2L, 3L, 4L);
  }

  @Test
  void resourceSamplingChargesAStagesCpuAndAllocationsToItsWindows() throws Exception {
    StageName burn = StageName.of("burn");
    AtomicBoolean more = new AtomicBoolean(true);
    Iterator<String> endless =
        new Iterator<>() {
          private int n;

          @Override
          public boolean hasNext() {
            return more.get();
          }

          @Override
          public String next() {
            return "r" + n++;
          }
        };
    try (Pipeline<String, String> pipeline =
        Pipeline.builder("sampled", String.class)
            .resourceSampling(true)
            .metricsHistory(true)
            .metricsWindow(Duration.ofSeconds(1))
            .stage(
                burn,
                (String s) -> {
                  long x = 0;
                  StringBuilder garbage = new StringBuilder();
                  for (int i = 0; i < 20_000; i++) {
                    x += (i * 31L) ^ x;
                    if (i % 100 == 0) {
                      garbage.append(x);
                    }
                  }
                  return s + garbage.length();
                })
            .sink(batch -> {})
            .build()) {
      long started = System.nanoTime();
      PipelineRun run = pipeline.start(List.of(Source.of("endless", endless)));
      // JFR delivers samples about a second late, and a loaded machine gives the stage little CPU
      Await.until(
          "a window of the stage has sampled CPU and allocations",
          Duration.ofSeconds(60),
          () ->
              pipeline.metricsHistory(burn, Instant.EPOCH, END_OF_TIME).stream()
                  .anyMatch(
                      w ->
                          w.cpuTime() != null
                              && w.cpuTime().compareTo(Duration.ZERO) > 0
                              && w.allocatedBytes() > 0));
      more.set(false);
      assertThat(Await.result(run).status()).isEqualTo(RunStatus.COMPLETED);
      Duration wall = Duration.ofNanos(System.nanoTime() - started);
      Duration sampled =
          pipeline.metricsHistory(burn, Instant.EPOCH, END_OF_TIME).stream()
              .map(StageWindow::cpuTime)
              .reduce(Duration.ZERO, Duration::plus);
      assertThat(sampled)
          .as("one worker uses at most one core: no more CPU than the run's wall time")
          .isLessThanOrEqualTo(wall.plusMillis(20));
    }
  }

  @Test
  void aFinishedRunOfASampledPipelineIsNotKeptAliveByTheSamplerAnotherPipelineShares()
      throws Exception {
    // the other pipeline keeps the process's sampler (and JFR's recording) open meanwhile, as a
    // long-lived application has it: the finished run's sink and what it holds must be collectable
    try (Pipeline<String, String> other =
        Pipeline.builder("other", String.class)
            .resourceSampling(true)
            .stage(INGESTION, (String s) -> s)
            .sink(batch -> {})
            .build()) {
      WeakReference<List<String>> index = runSampledAndClose();
      Await.until(
          "the finished pipeline's sink index collected",
          () -> {
            System.gc();
            return index.get() == null;
          });
      assertThat(other.name()).isEqualTo("other");
    }
  }

  /** Runs a sampled pipeline whose sink keeps what it publishes; a weak reference to it. */
  private static WeakReference<List<String>> runSampledAndClose() {
    List<String> index = new ArrayList<>();
    try (Pipeline<String, String> pipeline =
        Pipeline.builder("indexed", String.class)
            .resourceSampling(true)
            .stage(INGESTION, (String s) -> s)
            .sink(
                batch -> {
                  synchronized (index) {
                    batch.forEach(e -> index.add(e.payload()));
                  }
                })
            .build()) {
      RunResult result = pipeline.run(Source.of("lines", List.of("a", "b", "c").iterator()));
      assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    }
    synchronized (index) {
      assertThat(index).containsExactlyInAnyOrder("a", "b", "c");
    }
    return new WeakReference<>(index);
  }
}
