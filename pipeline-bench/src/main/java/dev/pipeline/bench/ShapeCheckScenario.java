package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageOptions;
import dev.pipeline.engine.OutputShape;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.metrics.StageMetrics;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

/**
 * The cost of the shape check every stage makes of its outputs (on by default): the example's eight
 * stages in memory with default options, check on against check off in the same round, their order
 * alternating. Each of the eight stages returns a record, read through its accessors at each
 * transition, so the difference over the checks made (the stages' passed records) is the check's
 * cost per check in the pipeline; the check alone is also timed in a loop over the stages' outputs
 * (the same {@link OutputShape} as a stage of default options has: its record shape found by the
 * output's class). Reported, no goal: the issue asks for it "cheap enough to be on by default".
 * Lines from {@code --durable-lines}, as the lineage target's in-memory figure.
 */
final class ShapeCheckScenario implements Scenario {
  /**
   * Lines whose outputs the check-alone loop checks: few enough (4,000 records) to stay in cache,
   * as a record a stage has just made is (20,000 lines' outputs measured 3 to 4 times as much a
   * check, from cache misses).
   */
  private static final int ALONE_LINES = 500;

  /** Times the check-alone loop goes over them per round. */
  private static final int ALONE_PASSES = 800;

  @Override
  public String name() {
    return "shapes";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    int records = settings.durableLines();
    List<Object> outputs = outputs(ALONE_LINES);
    OutputShape shape = OutputShape.of("stage", StageOptions.defaults());
    for (int w = 0; w < settings.warmups(); w++) {
      pipeline(Math.max(1, records / 5), true);
      pipeline(Math.max(1, records / 5), false);
      alone(shape, outputs);
    }
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    while (rounds.more()) {
      boolean flip = rounds.attempts() % 2 == 1;
      Measured on;
      Measured off;
      if (flip) {
        off = pipeline(records, false);
        on = pipeline(records, true);
      } else {
        on = pipeline(records, true);
        off = pipeline(records, false);
      }
      if (!on.result().equals(off.result())) {
        throw new IllegalStateException(
            "the shape check changed the outcome: " + on.result() + ", without " + off.result());
      }
      double alone = alone(shape, outputs);
      double[] values = new double[9];
      values[0] = records / (on.nanos() / 1e9);
      values[1] = records / (off.nanos() / 1e9);
      values[2] = values[1] / values[0] - 1; // how much slower with the check, in wall time
      values[3] = on.cpuNanos() / (double) records; // CPU ns a record, every thread of the JVM
      values[4] = off.cpuNanos() / (double) records;
      values[5] = values[3] / values[4] - 1; // how much more CPU with the check
      values[6] = values[3] - values[4];
      values[7] = (on.cpuNanos() - off.cpuNanos()) / (double) on.checks(); // CPU ns a check
      values[8] = alone;
      boolean disturbed = on.cpu().disturbed() || off.cpu().disturbed();
      String label = rounds.label();
      String note = rounds.add(disturbed, values);
      log.printf(
          Locale.ROOT,
          "shapes round %s: on %,.0f, off %,.0f records/s (%+.1f %%); CPU on %,.0f, off %,.0f ns a"
              + " record (%+.1f %%; %+.0f ns a record, %+.1f ns a check over %,d checks); the check"
              + " alone %.1f ns of CPU%s%n",
          label,
          values[0],
          values[1],
          values[2] * 100,
          values[3],
          values[4],
          values[5] * 100,
          values[6],
          values[7],
          on.checks(),
          values[8],
          note);
    }
    String what =
        "shape checks: example's 8 stages, default options, " + Targets.count(records) + " records";
    return List.of(
        new Row(
            what + ", in memory, check on vs off, wall time",
            "on " + rounds.samples(0).format("%,.0f") + " records/s",
            "off " + rounds.samples(1).format("%,.0f") + " records/s",
            percent(rounds.samples(2)) + " slower" + rounds.note(),
            "—",
            Verdict.REPORTED),
        new Row(
            what + ", in memory, check on vs off, CPU time of the JVM",
            "on " + rounds.samples(3).format("%,.0f") + " ns a record",
            "off " + rounds.samples(4).format("%,.0f") + " ns a record",
            percent(rounds.samples(5))
                + " more CPU; "
                + rounds.samples(6).format("%+.0f")
                + " ns a record, "
                + rounds.samples(7).format("%+.1f")
                + " ns a check"
                + rounds.note(),
            "—",
            Verdict.REPORTED),
        new Row(
            "shape check alone: one output of each of the 8 stages' record types, CPU time",
            rounds.samples(8).format("%.1f") + " ns a check",
            "—",
            "—",
            "—",
            Verdict.REPORTED));
  }

  private static String percent(Samples s) {
    return String.format(
        Locale.ROOT,
        "%+.1f %% (%+.1f to %+.1f %%)",
        s.median() * 100,
        s.min() * 100,
        s.max() * 100);
  }

  /** One run's time, outcome, checks made (records the stages passed on) and cores used. */
  private record Measured(long nanos, String result, long checks, CpuMeter.Usage cpu) {
    /** The CPU time of the JVM's threads during the run. */
    double cpuNanos() {
      return cpu.ours() * nanos;
    }
  }

  private static Measured pipeline(int records, boolean check) {
    RollingIndex index = new RollingIndex();
    LongAdder published = new LongAdder();
    try (Pipeline<String, IndexedListing> pipeline =
        ListingWork.pipeline(index, o -> {}, 0, published, new AlertCount(), check)) {
      Scenario.settle();
      CpuMeter cpu = CpuMeter.start();
      long start = System.nanoTime();
      RunResult result = pipeline.run(Source.of("listings", ListingWork.lines(records)));
      long took = System.nanoTime() - start;
      CpuMeter.Usage used = cpu.stop();
      Targets.requireComplete(result, records);
      long checks = 0;
      for (StageMetrics stage : pipeline.metrics().stages()) {
        checks += stage.passed();
      }
      String outcome =
          published.sum()
              + " published, "
              + result.filtered()
              + " filtered, "
              + result.deadLettered()
              + " dead";
      return new Measured(took, outcome, checks, used);
    }
  }

  /** Each stage's outputs for {@code lines} lines, as the plain loop makes them. */
  private static List<Object> outputs(int lines) throws Exception {
    List<Object> all = new ArrayList<>();
    Iterator<String> source = ListingWork.lines(lines);
    while (source.hasNext()) {
      try {
        var raw = ListingWork.PARSE.apply(source.next());
        var clean = ListingWork.CLEAN.apply(raw);
        var extracted = ListingWork.EXTRACT.apply(clean);
        var analyzed = ListingWork.ANALYZE.apply(extracted);
        var translated = ListingWork.TRANSLATE.apply(analyzed);
        var validated = ListingWork.VALIDATE.apply(translated);
        var indexed = ListingWork.INDEX.apply(validated);
        // the publishing stage returns what it was given
        all.addAll(
            List.of(raw, clean, extracted, analyzed, translated, validated, indexed, indexed));
      } catch (Exception e) {
        // a line filtered, rejected or malformed on the way is left out
      }
    }
    return all;
  }

  /**
   * Nanoseconds of this thread's CPU time a check takes, over every output {@link #ALONE_PASSES}
   * times: CPU time, not wall time, since on a loaded machine the thread waits for a core.
   */
  private static double alone(OutputShape shape, List<Object> outputs) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long failed = 0;
    long start = threads.getCurrentThreadCpuTime();
    for (int p = 0; p < ALONE_PASSES; p++) {
      for (int i = 0; i < outputs.size(); i++) {
        if (shape.test(outputs.get(i), "r") != null) {
          failed++;
        }
      }
    }
    long took = threads.getCurrentThreadCpuTime() - start;
    if (failed != 0) {
      throw new IllegalStateException(failed + " of the example's outputs lack their shape");
    }
    return took / (double) ((long) ALONE_PASSES * outputs.size());
  }
}
