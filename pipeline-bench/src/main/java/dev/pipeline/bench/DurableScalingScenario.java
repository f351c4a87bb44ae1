package dev.pipeline.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The second durable target: cost grows linearly. The durable run of {@link DurableScenario} over
 * ten times the lines (1M at the default sizes, against 100k) may take at most 1.3 times as long
 * per line, on H2 and on PostgreSQL, each on a fresh database. The two sizes alternate which runs
 * first. The pipeline publishes into a {@link RollingIndex} (see {@link
 * DurableWork#rollingPipeline}), so that the heap's live set does not grow with the run.
 */
final class DurableScalingScenario implements Scenario {
  static final double GOAL = 1.3;

  @Override
  public String name() {
    return "durable-scaling";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    int large = Math.max(10, settings.scalingLines());
    int small = large / 10;
    List<BenchDatabase.Kind> kinds = new ArrayList<>();
    if (settings.databases().contains(BenchDatabase.Kind.H2)) {
      kinds.add(BenchDatabase.Kind.H2);
    }
    if (settings.databases().contains(BenchDatabase.Kind.POSTGRES)
        && BenchDatabase.postgresReachable(log)) {
      kinds.add(BenchDatabase.Kind.POSTGRES);
    }
    for (int w = 0; w < settings.warmups(); w++) {
      for (BenchDatabase.Kind kind : kinds) {
        DurableWork.durable(kind, small, true);
      }
    }
    List<Row> rows = new ArrayList<>();
    for (BenchDatabase.Kind kind : kinds) {
      Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
      while (rounds.more()) {
        DurableWork.Measured a;
        DurableWork.Measured b;
        if (rounds.attempts() % 2 == 0) {
          a = DurableWork.durable(kind, small, true);
          b = DurableWork.durable(kind, large, true);
        } else {
          b = DurableWork.durable(kind, large, true);
          a = DurableWork.durable(kind, small, true);
        }
        double smallMicros = a.nanos() / 1e3 / small;
        double largeMicros = b.nanos() / 1e3 / large;
        String label = rounds.label();
        String note =
            rounds.add(
                a.cpu().disturbed() || b.cpu().disturbed(),
                smallMicros,
                largeMicros,
                largeMicros / smallMicros,
                a.tripsPerRecord(),
                b.tripsPerRecord());
        log.printf(
            Locale.ROOT,
            "durable-scaling %s round %s: %s %.2f µs/line (%.3f round trips/record, %s),"
                + " %s %.2f µs/line (%.3f round trips/record, %s) -> %.2fx%s%n",
            kind.label(),
            label,
            Targets.count(small),
            smallMicros,
            a.tripsPerRecord(),
            a.cpu(),
            Targets.count(large),
            largeMicros,
            b.tripsPerRecord(),
            b.cpu(),
            largeMicros / smallMicros,
            note);
      }
      Samples ratios = rounds.samples(2);
      rows.add(
          new Row(
              "durable linear cost, " + kind.label() + ": example's 8 stages, rolling index",
              Targets.count(large)
                  + " lines: "
                  + rounds.samples(1).format("%.2f")
                  + " µs/line, "
                  + rounds.samples(4).format("%.3f")
                  + " round trips/record",
              Targets.count(small)
                  + " lines: "
                  + rounds.samples(0).format("%.2f")
                  + " µs/line, "
                  + rounds.samples(3).format("%.3f")
                  + " round trips/record",
              ratios.format("%.2f") + "×" + rounds.note(),
              "≤ " + GOAL + "×",
              Verdict.of(ratios.median() <= GOAL)));
    }
    return rows;
  }
}
