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
import java.util.concurrent.atomic.AtomicInteger;
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

  /**
   * Waits, before a call moves the clock on, until every 10 s window due by the clock's time has
   * been taken ({@code taken} counts the windows, as a quality scorer's calls do). A window is
   * taken by whoever first sees it due (this stage's worker handing on a batch, the next stage's,
   * the telemetry thread) and ends at the clock's time when it is taken; a taker descheduled under
   * load while this stage's calls went on moved that end and merged windows (once in a CI run; and,
   * with at least 2 windows allowed, a first window ending at 15 s in 1 of 30 runs of the suite at
   * a load of 12). Waiting here, each window ends where the clock stood when it became due, whoever
   * takes it and however late: mostly this stage's own worker, done before its next call.
   */
  private void awaitTheWindowsDue(AtomicInteger taken) {
    long due = Duration.between(FakeClock.START, clock.now()).toSeconds() / 10;
    Await.until(
        "the " + due + " windows due by " + clock.now() + " are taken", () -> taken.get() >= due);
  }

  /** A quality scorer that gives no scores and counts the windows taken. */
  private static WindowScorer counting(AtomicInteger taken) {
    return () -> {
      taken.incrementAndGet();
      return WindowScores.NONE;
    };
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
    AtomicInteger taken = new AtomicInteger();
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("windows", Integer.class)
            .clock(clock)
            .metricsWindow(Duration.ofSeconds(10))
            .stage(
                INGESTION,
                (Integer i) -> {
                  awaitTheWindowsDue(taken);
                  clock.advance(Duration.ofSeconds(3)); // each call takes 3 s of the clock
                  if (i % 4 == 0) {
                    throw RecordFilteredException.because("fourth");
                  }
                  return i;
                },
                s -> s.batchSize(1).qualityScorer(counting(taken)))
            .stage(CLEANING, (Integer i) -> i, s -> s.batchSize(1))
            .sink(records -> {})
            .build();

    pipeline.run(numbers(12));

    List<StageWindow> parsing = pipeline.metricsHistory(INGESTION, FakeClock.START, END_OF_TIME);
    // 36 s of calls in 10 s windows: each taken once due, when the first call after the 10 s mark
    // ended (at 12 s, 21 s and 30 s), and the run's last one
    assertThat(parsing)
        .extracting(StageWindow::end)
        .containsExactly(
            FakeClock.START.plusSeconds(12),
            FakeClock.START.plusSeconds(21),
            FakeClock.START.plusSeconds(30),
            FakeClock.START.plusSeconds(36));
    assertThat(parsing)
        .allMatch(w -> w.stage().equals("ingestion") && w.pipeline().equals("windows"));
    for (int i = 1; i < parsing.size(); i++) {
      assertThat(parsing.get(i).start())
          .as("windows follow each other")
          .isEqualTo(parsing.get(i - 1).end());
    }
    assertThat(parsing).as("a scorer without scores leaves none").allMatch(w -> w.scores() == null);
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
    AtomicInteger calls = new AtomicInteger();
    // one window at a time: the calls are counted once the scorer is done with the counts
    WindowScorer scorer =
        () -> {
          if (calls.get() == 1) {
            calls.incrementAndGet();
            throw new IllegalStateException("scorer broke");
          }
          long n = seen.getAndSet(0);
          long bad = odd.getAndSet(0);
          calls.incrementAndGet();
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
                  awaitTheWindowsDue(calls); // one scorer call a window
                  seen.incrementAndGet();
                  if (i % 2 == 1) {
                    odd.incrementAndGet();
                  }
                  clock.advance(Duration.ofSeconds(1));
                  return i;
                },
                s -> s.batchSize(1).qualityScorer(scorer))
            .stage(CLEANING, (Integer i) -> i, s -> s.batchSize(1))
            .sink(records -> {})
            .build();

    pipeline.run(numbers(40));

    List<StageWindow> gate = pipeline.metricsHistory(INGESTION, FakeClock.START, END_OF_TIME);
    // 40 calls of 1 s: windows ending at 10, 20, 30 and 40 s, and one at 40 s for what the next
    // stage and the sink did after that one was taken, if they did anything
    assertThat(gate.size()).isBetween(4, 5);
    assertThat(gate)
        .extracting(StageWindow::end)
        .startsWith(
            FakeClock.START.plusSeconds(10),
            FakeClock.START.plusSeconds(20),
            FakeClock.START.plusSeconds(30),
            FakeClock.START.plusSeconds(40));
    assertThat(gate.get(0).scores()).isNotNull();
    assertThat(gate.get(0).scores().completeness()).isEqualTo(100);
    assertThat(gate.get(0).scores().validity()).as("5 of the 10 numbers are odd").isEqualTo(50.0);
    assertThat(gate.get(0).scores().consistency()).as("not measured").isNaN();
    assertThat(gate.get(0).scores().overall())
        .isEqualTo((100 + gate.get(0).scores().validity()) / 2);
    assertThat(gate.get(1).scores()).as("the scorer threw: no scores, the window is kept").isNull();
    assertThat(gate.get(1).recordsIn()).isPositive();
    assertThat(gate.get(2).scores().validity())
        .as("what the scorer saw since its last answer: 10 of 20 odd")
        .isEqualTo(50.0);
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
