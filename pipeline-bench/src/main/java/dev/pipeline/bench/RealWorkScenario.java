package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.examples.listings.IndexedListing;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
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
 */
final class RealWorkScenario implements Scenario {
  static final double GOAL_RATIO = 1.5;

  @Override
  public String name() {
    return "realwork";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    int records = settings.realWorkRecords();
    int warmupRecords = Math.max(1, records / 5);
    for (int w = 0; w < settings.warmups(); w++) {
      loop(warmupRecords);
      pipeline(settings, warmupRecords);
    }
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    ListingWork.@Nullable Outcome outcome = null;
    while (rounds.more()) {
      Measured loop;
      Measured pipeline;
      if (rounds.attempts() % 2 == 0) {
        loop = loop(records);
        pipeline = pipeline(settings, records);
      } else {
        pipeline = pipeline(settings, records);
        loop = loop(records);
      }
      if (!loop.outcome().equals(pipeline.outcome())) {
        throw new IllegalStateException(
            "loop and pipeline disagree on the outcome of the same lines: loop "
                + loop.outcome()
                + ", pipeline "
                + pipeline.outcome());
      }
      outcome = loop.outcome();
      double loopRate = records / (loop.nanos() / 1e9);
      double pipelineRate = records / (pipeline.nanos() / 1e9);
      String label = rounds.label();
      String note =
          rounds.add(
              loop.cpu().disturbed() || pipeline.cpu().disturbed(),
              loopRate,
              pipelineRate,
              pipelineRate / loopRate);
      log.printf(
          "realwork round %s: loop %.0f records/s on %s, pipeline %.0f records/s on %s -> %.2fx%s%n",
          label, loopRate, loop.cpu(), pipelineRate, pipeline.cpu(), pipelineRate / loopRate, note);
    }
    log.println("realwork: every round, loop and pipeline: " + outcome);
    Samples ratios = rounds.samples(2);
    return List.of(
        new Row(
            "2. real work: listings example, 8 stages, "
                + Targets.count(records)
                + " records (concurrency "
                + settings.realWorkConcurrency()
                + ", batch "
                + settings.realWorkBatch()
                + ", queues "
                + (settings.realWorkQueue() == 0 ? "default" : settings.realWorkQueue())
                + ")",
            "pipeline " + rounds.samples(1).format("%,.0f") + " records/s",
            "1-thread loop " + rounds.samples(0).format("%,.0f") + " records/s",
            ratios.format("%.2f") + "×" + rounds.note(),
            "≥ " + GOAL_RATIO + "×",
            Verdict.of(ratios.median() >= GOAL_RATIO)));
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

  private static Measured pipeline(Settings settings, int records) {
    RollingIndex index = new RollingIndex();
    LongAdder published = new LongAdder();
    try (Pipeline<String, IndexedListing> pipeline =
        ListingWork.pipeline(
            index,
            options ->
                options
                    .concurrency(settings.realWorkConcurrency())
                    .batchSize(settings.realWorkBatch()),
            settings.realWorkQueue(),
            published,
            new AlertCount())) {
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
