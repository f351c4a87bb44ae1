package dev.pipeline.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Issue 3's second durable target: cost grows linearly. The durable run of {@link DurableScenario}
 * over ten times the lines (1M at the default sizes, against 100k) may take at most 1.3 times as
 * long per line, on H2 and on PostgreSQL, each on a fresh database. The two sizes alternate which
 * runs first. The pipeline publishes into a {@link RollingIndex} (see {@link
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
    int large = Math.max(10, settings.realWorkRecords());
    int small = large / 10;
    List<BenchDatabase.Kind> kinds = new ArrayList<>(List.of(BenchDatabase.Kind.H2));
    if (BenchDatabase.postgresReachable(log)) {
      kinds.add(BenchDatabase.Kind.POSTGRES);
    }
    for (int w = 0; w < settings.warmups(); w++) {
      for (BenchDatabase.Kind kind : kinds) {
        DurableWork.durable(kind, small, true);
      }
    }
    int rounds = settings.rounds();
    List<Row> rows = new ArrayList<>();
    for (BenchDatabase.Kind kind : kinds) {
      double[] smallMicros = new double[rounds];
      double[] largeMicros = new double[rounds];
      double[] ratio = new double[rounds];
      for (int r = 0; r < rounds; r++) {
        DurableWork.Measured a;
        DurableWork.Measured b;
        if (r % 2 == 0) {
          a = DurableWork.durable(kind, small, true);
          b = DurableWork.durable(kind, large, true);
        } else {
          b = DurableWork.durable(kind, large, true);
          a = DurableWork.durable(kind, small, true);
        }
        smallMicros[r] = a.nanos() / 1e3 / small;
        largeMicros[r] = b.nanos() / 1e3 / large;
        ratio[r] = largeMicros[r] / smallMicros[r];
        log.printf(
            Locale.ROOT,
            "durable-scaling %s round %d/%d: %s %.2f µs/line (%.3f round trips/record, %s),"
                + " %s %.2f µs/line (%.3f round trips/record, %s) -> %.2fx%n",
            kind.label(),
            r + 1,
            rounds,
            Targets.count(small),
            smallMicros[r],
            a.tripsPerRecord(),
            a.cpu(),
            Targets.count(large),
            largeMicros[r],
            b.tripsPerRecord(),
            b.cpu(),
            ratio[r]);
      }
      Samples ratios = Samples.of(ratio);
      rows.add(
          new Row(
              "durable linear cost, " + kind.label() + ": example's 8 stages, rolling index",
              Targets.count(large)
                  + " lines: "
                  + Samples.of(largeMicros).format("%.2f")
                  + " µs/line",
              Targets.count(small)
                  + " lines: "
                  + Samples.of(smallMicros).format("%.2f")
                  + " µs/line",
              ratios.format("%.2f") + "×",
              "≤ " + GOAL + "×",
              Verdict.of(ratios.median() <= GOAL)));
    }
    return rows;
  }
}
