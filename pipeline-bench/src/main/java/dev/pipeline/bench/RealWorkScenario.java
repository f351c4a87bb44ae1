package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageOptions;
import dev.pipeline.examples.listings.IndexedListing;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Target 2: the equipment-listings example's eight stages (about a microsecond or more each), in
 * memory: the pipeline, on the machine's cores, must reach at least 1.5 times the throughput of the
 * same functions in a single-threaded plain loop. Lines are generated lazily in both, and a fresh
 * {@link RollingIndex} receives each run's listings.
 *
 * <p>Stage options, unless given on the command line, are those of {@link Settings.Builder}; the
 * queues are kept short (128 records) so that few records are in flight and a record is still in
 * cache when the next stage takes it, which measured about 10% less CPU per record than the
 * engine's default queues of 1,024.
 *
 * <p>Each round also runs the same pipeline with default options (rows 2b and 2c) and Spring Batch
 * in memory on the machine's cores ({@link SpringBatchMemoryWork}), each round starting with
 * another of the five, and every one must end the lines as the loop does.
 */
final class RealWorkScenario implements Scenario {
  static final double GOAL_RATIO = 1.5;

  /** The goal with default options: at least this many times the one-thread loop. */
  static final double DEFAULTS_GOAL_RATIO = 1.7;

  /** The goal with default options: at least this many times Spring Batch's best. */
  static final double SPRING_BATCH_GOAL_RATIO = 1.2;

  @Override
  public String name() {
    return "realwork";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    int records = settings.realWorkRecords();
    int warmupRecords = Math.max(1, records / 5);
    List<Variant> variants =
        List.of(
            new Variant("loop", n -> loop(n)),
            new Variant("pipeline", n -> pipeline(n, tuned(settings), settings.realWorkQueue())),
            new Variant("defaults", n -> pipeline(n, options -> {}, 0)),
            new Variant(
                "spring-batch items",
                n -> SpringBatchMemoryWork.run(SpringBatchMemoryWork.Config.CONCURRENT_ITEMS, n)),
            new Variant(
                "spring-batch mts",
                n ->
                    SpringBatchMemoryWork.run(
                        SpringBatchMemoryWork.Config.MULTI_THREADED_STEP, n)));
    for (int w = 0; w < settings.warmups(); w++) {
      for (Variant v : variants) {
        v.run.measure(warmupRecords);
      }
    }
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    ListingWork.@Nullable Outcome outcome = null;
    while (rounds.more()) {
      // each round starts with another variant, so that none always runs first or last
      int first = rounds.attempts() % variants.size();
      Measured[] measured = new Measured[variants.size()];
      boolean disturbed = false;
      for (int k = 0; k < variants.size(); k++) {
        int i = (first + k) % variants.size();
        measured[i] = variants.get(i).run.measure(records);
        disturbed |= measured[i].cpu().disturbed();
      }
      for (int i = 1; i < measured.length; i++) {
        if (!measured[0].outcome().equals(measured[i].outcome())) {
          throw new IllegalStateException(
              "loop and "
                  + variants.get(i).name
                  + " disagree on the outcome of the same lines: loop "
                  + measured[0].outcome()
                  + ", "
                  + variants.get(i).name
                  + " "
                  + measured[i].outcome());
        }
      }
      outcome = measured[0].outcome();
      double[] rates = new double[measured.length];
      for (int i = 0; i < measured.length; i++) {
        rates[i] = records / (measured[i].nanos() / 1e9);
      }
      double springBatch = Math.max(rates[3], rates[4]);
      String label = rounds.label();
      String note =
          rounds.add(
              disturbed,
              rates[0],
              rates[1],
              rates[2],
              rates[3],
              rates[4],
              rates[1] / rates[0],
              rates[2] / rates[0],
              rates[2] / springBatch,
              springBatch);
      StringBuilder line = new StringBuilder("realwork round " + label + ":");
      for (int i = 0; i < measured.length; i++) {
        line.append(
            String.format(
                " %s %.0f records/s on %s;", variants.get(i).name, rates[i], measured[i].cpu()));
      }
      log.printf(
          "%s -> tuned %.2fx, defaults %.2fx the loop, defaults %.2fx Spring Batch%s%n",
          line, rates[1] / rates[0], rates[2] / rates[0], rates[2] / springBatch, note);
    }
    log.println("realwork: every round, every variant: " + outcome);
    Samples tunedRatios = rounds.samples(5);
    Samples defaultRatios = rounds.samples(6);
    Samples springBatchRatios = rounds.samples(7);
    String work = "listings example, 8 stages, " + Targets.count(records) + " records";
    return List.of(
        new Row(
            "2. real work: "
                + work
                + " (concurrency "
                + settings.realWorkConcurrency()
                + ", batch "
                + settings.realWorkBatch()
                + ", queues "
                + (settings.realWorkQueue() == 0 ? "default" : settings.realWorkQueue())
                + ")",
            "pipeline " + rounds.samples(1).format("%,.0f") + " records/s",
            "1-thread loop " + rounds.samples(0).format("%,.0f") + " records/s",
            tunedRatios.format("%.2f") + "×" + rounds.note(),
            "≥ " + GOAL_RATIO + "×",
            Verdict.of(tunedRatios.median() >= GOAL_RATIO)),
        new Row(
            "2b. real work with default options: " + work,
            "pipeline " + rounds.samples(2).format("%,.0f") + " records/s",
            "1-thread loop " + rounds.samples(0).format("%,.0f") + " records/s",
            defaultRatios.format("%.2f") + "×" + rounds.note(),
            "≥ " + DEFAULTS_GOAL_RATIO + "×",
            Verdict.of(defaultRatios.median() >= DEFAULTS_GOAL_RATIO)),
        new Row(
            "2c. real work with default options against Spring Batch "
                + SpringBatchMemoryWork.THREADS
                + " threads (the faster of "
                + SpringBatchMemoryWork.Config.CONCURRENT_ITEMS.label
                + " "
                + rounds.samples(3).format("%,.0f")
                + " and "
                + SpringBatchMemoryWork.Config.MULTI_THREADED_STEP.label
                + " "
                + rounds.samples(4).format("%,.0f")
                + " records/s, per round)",
            "pipeline " + rounds.samples(2).format("%,.0f") + " records/s",
            "Spring Batch " + rounds.samples(8).format("%,.0f") + " records/s",
            springBatchRatios.format("%.2f") + "×" + rounds.note(),
            "≥ " + SPRING_BATCH_GOAL_RATIO + "×",
            Verdict.of(springBatchRatios.median() >= SPRING_BATCH_GOAL_RATIO)));
  }

  private static Consumer<StageOptions.Builder> tuned(Settings settings) {
    return options ->
        options.concurrency(settings.realWorkConcurrency()).batchSize(settings.realWorkBatch());
  }

  /** One way of doing the work, measured in every round. */
  private record Variant(String name, Measure run) {}

  @FunctionalInterface
  private interface Measure {
    Measured measure(int records) throws Exception;
  }

  /** Nanoseconds of one run, how its records ended, and the cores used meanwhile. */
  record Measured(long nanos, ListingWork.Outcome outcome, CpuMeter.Usage cpu) {}

  private static Measured loop(int records) throws Exception {
    RollingIndex index = new RollingIndex();
    Scenario.settle();
    CpuMeter cpu = CpuMeter.start();
    long start = System.nanoTime();
    ListingWork.Outcome outcome = ListingWork.loop(ListingWork.lines(records), index);
    long took = System.nanoTime() - start;
    return new Measured(took, outcome, cpu.stop());
  }

  private static Measured pipeline(
      int records, Consumer<StageOptions.Builder> options, int queueCapacity) {
    RollingIndex index = new RollingIndex();
    LongAdder published = new LongAdder();
    try (Pipeline<String, IndexedListing> pipeline =
        ListingWork.pipeline(index, options, queueCapacity, published, new AlertCount())) {
      Scenario.settle();
      CpuMeter cpu = CpuMeter.start();
      long start = System.nanoTime();
      RunResult result = pipeline.run(Source.of("listings", ListingWork.lines(records)));
      long took = System.nanoTime() - start;
      CpuMeter.Usage used = cpu.stop();
      Targets.requireComplete(result, records);
      return new Measured(
          took,
          new ListingWork.Outcome(published.sum(), result.filtered(), result.deadLettered()),
          used);
    }
  }
}
