package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageOptions;
import dev.pipeline.engine.OutputShape;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.metrics.StageMetrics;
import java.io.PrintStream;
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
  /** Outputs of each stage kept for the check-alone loop. */
  private static final int ALONE_LINES = 20_000;

  /** Times the check-alone loop goes over them per round. */
  private static final int ALONE_PASSES = 20;

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
      double[] values = new double[6];
      values[0] = records / (on.nanos() / 1e9);
      values[1] = records / (off.nanos() / 1e9);
      values[2] = values[1] / values[0] - 1; // how much slower with the check
      values[3] = (on.nanos() - off.nanos()) / (double) records; // ns per record
      values[4] = (on.nanos() - off.nanos()) / (double) on.checks(); // ns per check, in the run
      values[5] = alone;
      boolean disturbed = on.cpu().disturbed() || off.cpu().disturbed();
      String label = rounds.label();
      String note = rounds.add(disturbed, values);
      log.printf(
          Locale.ROOT,
          "shapes round %s: on %,.0f, off %,.0f records/s (%+.1f %%; %+.0f ns a record, %+.1f ns a"
              + " check over %,d checks); the check alone %.1f ns%s%n",
          label,
          values[0],
          values[1],
          values[2] * 100,
          values[3],
          values[4],
          on.checks(),
          values[5],
          note);
    }
    String what =
        "shape checks: example's 8 stages, default options, " + Targets.count(records) + " records";
    Samples slower = rounds.samples(2);
    return List.of(
        new Row(
            what + ", in memory, check on vs off",
            "on " + rounds.samples(0).format("%,.0f") + " records/s",
            "off " + rounds.samples(1).format("%,.0f") + " records/s",
            String.format(
                    Locale.ROOT,
                    "%+.1f %% (%+.1f to %+.1f %%) slower; %s ns a record, %s ns a check",
                    slower.median() * 100,
                    slower.min() * 100,
                    slower.max() * 100,
                    rounds.samples(3).format("%+.0f"),
                    rounds.samples(4).format("%+.1f"))
                + rounds.note(),
            "—",
            Verdict.REPORTED),
        new Row(
            "shape check alone: one output of each of the 8 stages' record types",
            rounds.samples(5).format("%.1f") + " ns a check",
            "—",
            "—",
            "—",
            Verdict.REPORTED));
  }

  /** One run's time, outcome, checks made (records the stages passed on) and cores used. */
  private record Measured(long nanos, String result, long checks, CpuMeter.Usage cpu) {}

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

  /** Nanoseconds of one check, over every output {@link #ALONE_PASSES} times. */
  private static double alone(OutputShape shape, List<Object> outputs) {
    long failed = 0;
    long start = System.nanoTime();
    for (int p = 0; p < ALONE_PASSES; p++) {
      for (int i = 0; i < outputs.size(); i++) {
        if (shape.test(outputs.get(i), "r") != null) {
          failed++;
        }
      }
    }
    long took = System.nanoTime() - start;
    if (failed != 0) {
      throw new IllegalStateException(failed + " of the example's outputs lack their shape");
    }
    return took / (double) ((long) ALONE_PASSES * outputs.size());
  }
}
