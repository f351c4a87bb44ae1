package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.RunResult;
import dev.pipeline.StageFunction;
import dev.pipeline.StageName;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.LongAdder;

/**
 * Target 3: eight stages, six of which wait 2 ms per record (a simulated remote call: {@code
 * Thread.sleep} on the stage's virtual thread). With {@code c} workers per IO stage, Little's law
 * bounds the throughput at c / 2 ms; at c = 20 (10,000 records/s) the pipeline must reach 80% of
 * it. The sweep then raises c, records scaled so each run takes a few seconds at the bound, until
 * 80% no longer holds.
 *
 * <p>IO stages: concurrency c, batch size 1, so a worker holds one record at a time and the
 * pipeline fills in 6 × 2 ms. The two CPU stages (first and last): concurrency 2, batch 16.
 *
 * <p>The baseline beside the bound is the machine's own ceiling: 6 × c plain virtual threads making
 * the same number of the same 2 ms calls with no pipeline around them, which shows how much of a
 * shortfall is the JDK's timers and scheduler rather than the engine.
 *
 * <p>Row 3b runs the same stages with <b>default options but the IO stages' concurrency</b> (batch
 * size 128 everywhere, one worker at the two CPU stages) against the same ceiling, the
 * virtual-thread-per-record limit: the goal is {@value #DEFAULTS_GOAL_SHARE} of it.
 */
final class IoScenario implements Scenario {
  static final double GOAL_SHARE = 0.80;
  static final double DEFAULTS_GOAL_SHARE = 0.95;
  static final int TARGET_CONCURRENCY = 20;
  static final int IO_STAGES = 6;
  static final int IO_BATCH = 1;
  static final int CPU_CONCURRENCY = 2;
  static final int CPU_BATCH = 16;
  static final double CALL_SECONDS = 0.002;

  private static final StageFunction<Long, Long> REMOTE_CALL =
      x -> {
        Thread.sleep(2);
        return x;
      };

  @Override
  public String name() {
    return "io";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    for (int w = 0; w < settings.warmups(); w++) {
      pipelineRate(TARGET_CONCURRENCY, Math.max(1, settings.ioRecords() / 10));
      pipelineRate(
          defaultsBuilder(TARGET_CONCURRENCY, new LongAdder()),
          Math.max(1, settings.ioRecords() / 10));
    }
    List<Row> rows = new ArrayList<>();
    Level target =
        measure(
            TARGET_CONCURRENCY,
            settings.ioRecords(),
            settings.rounds(),
            settings.repeatDisturbed(),
            log);
    rows.add(target.row("3. IO-bound: 6 of 8 stages wait 2 ms, "));
    rows.add(defaults(settings, log));
    int highest = target.holds() ? TARGET_CONCURRENCY : 0;
    int sweepRounds = Math.min(3, settings.rounds());
    for (int concurrency : settings.ioSweep()) {
      if (concurrency <= TARGET_CONCURRENCY || highest == 0) {
        continue;
      }
      int records = (int) Math.max(1, bound(concurrency) * settings.ioSweepSeconds());
      Level level = measure(concurrency, records, sweepRounds, settings.repeatDisturbed(), log);
      rows.add(level.row("3. IO sweep, "));
      if (!level.holds()) {
        break;
      }
      highest = concurrency;
    }
    log.printf("io: highest concurrency holding 80%% of the bound: %d%n", highest);
    return rows;
  }

  /**
   * Row 3b: the IO-bound pipeline at c = 20 with default options but the IO stages' concurrency,
   * against the plain virtual-thread ceiling measured in the same rounds.
   */
  private static Row defaults(Settings settings, PrintStream log) throws Exception {
    int records = settings.ioRecords();
    int concurrency = TARGET_CONCURRENCY;
    int ceilingRecords = Math.max(concurrency, records / 5);
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    while (rounds.more()) {
      Rate pipeline;
      Rate ceiling;
      if (rounds.attempts() % 2 == 0) {
        ceiling = ceilingRate(concurrency, ceilingRecords);
        pipeline = pipelineRate(defaultsBuilder(concurrency, new LongAdder()), records);
      } else {
        pipeline = pipelineRate(defaultsBuilder(concurrency, new LongAdder()), records);
        ceiling = ceilingRate(concurrency, ceilingRecords);
      }
      String label = rounds.label();
      String note =
          rounds.add(
              pipeline.cpu().disturbed() || ceiling.cpu().disturbed(),
              pipeline.perSecond(),
              ceiling.perSecond(),
              pipeline.perSecond() / ceiling.perSecond());
      log.printf(
          "io defaults c=%d round %s: pipeline %.0f records/s = %.1f%% of the plain VT ceiling %.0f"
              + " (%.1f%% of the bound), on %s; ceiling on %s%s%n",
          concurrency,
          label,
          pipeline.perSecond(),
          100 * pipeline.perSecond() / ceiling.perSecond(),
          ceiling.perSecond(),
          100 * pipeline.perSecond() / bound(concurrency),
          pipeline.cpu(),
          ceiling.cpu(),
          note);
    }
    Samples rate = rounds.samples(0);
    Samples share = rounds.samples(2);
    return new Row(
        "3b. IO-bound, default options but the IO stages' concurrency, c="
            + concurrency
            + ", "
            + Targets.count(records)
            + " records",
        "pipeline " + rate.format("%,.0f") + " records/s",
        String.format(
            Locale.ROOT,
            "plain VT ceiling %,.0f records/s (bound %,.0f)",
            rounds.samples(1).median(),
            bound(concurrency)),
        share.format("%.3f")
            + " of the ceiling, "
            + String.format(
                Locale.ROOT, "%.0f%% of bound", 100 * rate.median() / bound(concurrency))
            + rounds.note(),
        "≥ 95% of the ceiling",
        Verdict.of(share.median() >= DEFAULTS_GOAL_SHARE));
  }

  /** Little's law: c calls in flight, each 2 ms. */
  static double bound(int concurrency) {
    return concurrency / CALL_SECONDS;
  }

  private record Level(int concurrency, int records, Samples rate, Samples ceiling, String note) {
    double share() {
      return rate.median() / bound(concurrency);
    }

    boolean holds() {
      return share() >= GOAL_SHARE;
    }

    Row row(String label) {
      return new Row(
          label + "c=" + concurrency + ", " + Targets.count(records) + " records",
          "pipeline " + rate.format("%,.0f") + " records/s",
          String.format(
              Locale.ROOT,
              "bound %,.0f records/s (plain VT ceiling %,.0f)",
              bound(concurrency),
              ceiling.median()),
          String.format(Locale.ROOT, "%.0f%% of bound", 100 * share()) + note,
          "≥ 80% of bound",
          Verdict.of(holds()));
    }
  }

  private static Level measure(
      int concurrency, int records, int wanted, boolean repeatDisturbed, PrintStream log)
      throws Exception {
    int ceilingRecords = Math.max(concurrency, records / 5);
    Rounds rounds = new Rounds(wanted, repeatDisturbed);
    while (rounds.more()) {
      Rate pipeline;
      Rate ceiling;
      if (rounds.attempts() % 2 == 0) {
        ceiling = ceilingRate(concurrency, ceilingRecords);
        pipeline = pipelineRate(concurrency, records);
      } else {
        pipeline = pipelineRate(concurrency, records);
        ceiling = ceilingRate(concurrency, ceilingRecords);
      }
      String label = rounds.label();
      String note =
          rounds.add(
              pipeline.cpu().disturbed() || ceiling.cpu().disturbed(),
              pipeline.perSecond(),
              ceiling.perSecond());
      log.printf(
          "io c=%d round %s: pipeline %.0f records/s = %.1f%% of the bound %.0f, on %s;"
              + " plain VT ceiling %.0f records/s on %s%s%n",
          concurrency,
          label,
          pipeline.perSecond(),
          100 * pipeline.perSecond() / bound(concurrency),
          bound(concurrency),
          pipeline.cpu(),
          ceiling.perSecond(),
          ceiling.cpu(),
          note);
    }
    return new Level(concurrency, records, rounds.samples(0), rounds.samples(1), rounds.note());
  }

  /** Records per second, and the cores used meanwhile. */
  record Rate(double perSecond, CpuMeter.Usage cpu) {}

  /** Records per second through the eight-stage pipeline. */
  static Rate pipelineRate(int concurrency, int records) {
    return pipelineRate(builder(concurrency, new LongAdder()), records);
  }

  /** Records per second through a pipeline built from {@code builder}. */
  private static Rate pipelineRate(PipelineBuilder<Long, Long> builder, int records) {
    try (Pipeline<Long, Long> pipeline = builder.build()) {
      Scenario.settle();
      CpuMeter cpu = CpuMeter.start();
      long start = System.nanoTime();
      RunResult result = pipeline.run(TrivialStages.source(records));
      long took = System.nanoTime() - start;
      CpuMeter.Usage used = cpu.stop();
      Targets.requireComplete(result, records);
      return new Rate(records / (took / 1e9), used);
    }
  }

  /** The eight stages and their sink, not built yet (a durable run adds its store). */
  static PipelineBuilder<Long, Long> builder(int concurrency, LongAdder sum) {
    PipelineBuilder<Long, Long> builder =
        Pipeline.builder("io-" + concurrency, Long.class)
            .stage(
                StageName.INGESTION,
                TrivialStages.function(0),
                s -> s.concurrency(CPU_CONCURRENCY).batchSize(CPU_BATCH));
    for (int i = 1; i <= IO_STAGES; i++) {
      builder =
          builder.stage(
              StageName.canonical().get(i),
              REMOTE_CALL,
              s -> s.concurrency(concurrency).batchSize(IO_BATCH));
    }
    return builder
        .stage(
            StageName.PUBLISHING,
            TrivialStages.function(7),
            s -> s.concurrency(CPU_CONCURRENCY).batchSize(CPU_BATCH))
        .sink(
            records -> {
              for (var record : records) {
                sum.add(record.payload());
              }
            });
  }

  /**
   * The eight stages with default options but the IO stages' concurrency (batch size 128, one
   * worker at the CPU stages), and their sink.
   */
  static PipelineBuilder<Long, Long> defaultsBuilder(int concurrency, LongAdder sum) {
    PipelineBuilder<Long, Long> builder =
        Pipeline.builder("io-defaults-" + concurrency, Long.class)
            .stage(StageName.INGESTION, TrivialStages.function(0));
    for (int i = 1; i <= IO_STAGES; i++) {
      builder =
          builder.stage(StageName.canonical().get(i), REMOTE_CALL, s -> s.concurrency(concurrency));
    }
    return builder
        .stage(StageName.PUBLISHING, TrivialStages.function(7))
        .sink(
            records -> {
              for (var record : records) {
                sum.add(record.payload());
              }
            });
  }

  /**
   * One record through the eight stages' functions one after the other, on the calling thread: the
   * same work as the pipeline's stages, for a baseline that runs them in one call (Spring Batch's
   * item processor, see {@link SpringBatchIoWork}).
   */
  static long throughStages(long x) throws Exception {
    Long value = TrivialStages.function(0).apply(x);
    for (int i = 0; i < IO_STAGES; i++) {
      value = REMOTE_CALL.apply(value);
    }
    return TrivialStages.function(7).apply(value);
  }

  /**
   * Records per second the machine could reach if the pipeline cost nothing: 6 × c virtual threads,
   * each making its share of the records' six calls.
   */
  static Rate ceilingRate(int concurrency, int records) throws Exception {
    int threads = IO_STAGES * concurrency;
    long callsPerThread = Math.max(1, (long) records * IO_STAGES / threads);
    long calls = callsPerThread * threads;
    Scenario.settle();
    CpuMeter cpu = CpuMeter.start();
    long start = System.nanoTime();
    try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<Long>> futures = new ArrayList<>(threads);
      for (int t = 0; t < threads; t++) {
        long first = t;
        futures.add(
            executor.submit(
                () -> {
                  long x = first;
                  for (long i = 0; i < callsPerThread; i++) {
                    x = REMOTE_CALL.apply(x);
                  }
                  return x;
                }));
      }
      for (Future<Long> future : futures) {
        future.get();
      }
    }
    long took = System.nanoTime() - start;
    return new Rate((double) calls / IO_STAGES / (took / 1e9), cpu.stop());
  }
}
