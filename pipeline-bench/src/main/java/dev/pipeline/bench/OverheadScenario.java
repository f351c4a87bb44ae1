package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Target 1: eight trivial stages, in memory, metrics on (they always are): the pipeline may spend
 * at most 150 ns per record per stage more than a plain loop calling the same eight functions.
 *
 * <p>overhead = (pipeline time − loop time) / (records × 8), paired round by round. Stages run with
 * the default options (one worker, batches of 128).
 */
final class OverheadScenario implements Scenario {
  static final double GOAL_NANOS = 150;

  @Override
  public String name() {
    return "overhead";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    int records = settings.overheadRecords();
    long expected = TrivialStages.loop(TrivialStages.numbers(records), TrivialStages.COUNT);
    for (int w = 0; w < settings.warmups(); w++) {
      loop(records, expected);
      pipeline(records, expected);
    }
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    while (rounds.more()) {
      Timed loop;
      Timed pipeline;
      if (rounds.attempts() % 2 == 0) {
        loop = loop(records, expected);
        pipeline = pipeline(records, expected);
      } else {
        pipeline = pipeline(records, expected);
        loop = loop(records, expected);
      }
      double overhead =
          (pipeline.nanos() - loop.nanos()) / ((double) records * TrivialStages.COUNT);
      String label = rounds.label();
      String note =
          rounds.add(
              loop.cpu().disturbed() || pipeline.cpu().disturbed(),
              loop.nanos() / 1e6,
              pipeline.nanos() / 1e6,
              overhead);
      log.printf(
          "overhead round %s: loop %.1f ms on %s, pipeline %.1f ms on %s -> %.1f"
              + " ns/record/stage%s%n",
          label,
          loop.nanos() / 1e6,
          loop.cpu(),
          pipeline.nanos() / 1e6,
          pipeline.cpu(),
          overhead,
          note);
    }
    Samples over = rounds.samples(2);
    return List.of(
        new Row(
            "1. overhead: 8 trivial stages, " + Targets.count(records) + " records",
            "pipeline " + rounds.samples(1).format("%.0f") + " ms",
            "plain loop " + rounds.samples(0).format("%.0f") + " ms",
            over.format("%.1f") + " ns/record/stage" + rounds.note(),
            "≤ " + (int) GOAL_NANOS + " ns/record/stage",
            Verdict.of(over.median() <= GOAL_NANOS)));
  }

  /** Nanoseconds of one run, and the cores used meanwhile. */
  record Timed(long nanos, CpuMeter.Usage cpu) {}

  private static Timed loop(int records, long expected) throws Exception {
    Scenario.settle();
    CpuMeter cpu = CpuMeter.start();
    long start = System.nanoTime();
    long sum = TrivialStages.loop(TrivialStages.numbers(records), TrivialStages.COUNT);
    long took = System.nanoTime() - start;
    CpuMeter.Usage used = cpu.stop();
    check(sum, expected, "loop");
    return new Timed(took, used);
  }

  private static Timed pipeline(int records, long expected) {
    LongAdder sum = new LongAdder();
    try (Pipeline<Long, Long> pipeline =
        TrivialStages.pipeline("overhead", TrivialStages.COUNT, options -> {}, sum)) {
      Timed timed = timed(pipeline, records);
      check(sum.sum(), expected, "pipeline");
      return timed;
    }
  }

  /** Runs {@code pipeline} over {@code records} numbers, timed, with the cores used meanwhile. */
  static Timed timed(Pipeline<Long, Long> pipeline, int records) {
    Scenario.settle();
    CpuMeter cpu = CpuMeter.start();
    long start = System.nanoTime();
    RunResult result = pipeline.run(TrivialStages.source(records));
    long took = System.nanoTime() - start;
    CpuMeter.Usage used = cpu.stop();
    Targets.requireComplete(result, records);
    return new Timed(took, used);
  }

  private static void check(long sum, long expected, String what) {
    if (sum != expected) {
      throw new IllegalStateException(
          "the " + what + " summed to " + sum + " instead of " + expected + ": records were lost");
    }
  }
}
