package dev.pipeline.bench;

import dev.pipeline.LineageLevel;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The cost of record lineage, each figure against the same pipeline without lineage in the same
 * round: the example's eight stages in memory with lineage {@code FAILURES} (goal: at most 10 %
 * slower), and on PostgreSQL with lineage {@code ALL} (goal: at most 30 % slower). Lines from
 * {@code --durable-lines}.
 */
final class LineageScenario implements Scenario {
  static final double FAILURES_GOAL = 0.10;
  static final double ALL_DURABLE_GOAL = 0.30;

  @Override
  public String name() {
    return "lineage";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    int lines = settings.durableLines();
    boolean postgres =
        settings.databases().contains(BenchDatabase.Kind.POSTGRES)
            && BenchDatabase.postgresReachable(log);
    // a warm-up runs each measured pipeline at the measured size: the durable run with lineage
    // ALL was warmed on a fifth of the lines before, and without lineage not at all, which left
    // the first rounds measuring the JIT (the quiet runs needed --warmups 6 to settle)
    for (int w = 0; w < settings.warmups(); w++) {
      DurableWork.inMemory(lines, LineageLevel.NONE);
      DurableWork.inMemory(lines, LineageLevel.FAILURES);
      if (postgres) {
        DurableWork.durable(BenchDatabase.Kind.POSTGRES, lines, LineageLevel.NONE);
        DurableWork.durable(BenchDatabase.Kind.POSTGRES, lines, LineageLevel.ALL);
      }
    }
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    while (rounds.more()) {
      boolean flip = rounds.attempts() % 2 == 1;
      DurableWork.Measured none;
      DurableWork.Measured failures;
      if (flip) {
        failures = DurableWork.inMemory(lines, LineageLevel.FAILURES);
        none = DurableWork.inMemory(lines, LineageLevel.NONE);
      } else {
        none = DurableWork.inMemory(lines, LineageLevel.NONE);
        failures = DurableWork.inMemory(lines, LineageLevel.FAILURES);
      }
      check(none, failures);
      double[] values = new double[6];
      values[0] = none.rate(lines);
      values[1] = failures.rate(lines);
      values[2] = none.rate(lines) / failures.rate(lines) - 1;
      boolean disturbed = none.cpu().disturbed() || failures.cpu().disturbed();
      String durable = "";
      if (postgres) {
        DurableWork.Measured pgNone;
        DurableWork.Measured pgAll;
        if (flip) {
          pgAll = DurableWork.durable(BenchDatabase.Kind.POSTGRES, lines, LineageLevel.ALL);
          pgNone = DurableWork.durable(BenchDatabase.Kind.POSTGRES, lines, LineageLevel.NONE);
        } else {
          pgNone = DurableWork.durable(BenchDatabase.Kind.POSTGRES, lines, LineageLevel.NONE);
          pgAll = DurableWork.durable(BenchDatabase.Kind.POSTGRES, lines, LineageLevel.ALL);
        }
        check(pgNone, pgAll);
        values[3] = pgNone.rate(lines);
        values[4] = pgAll.rate(lines);
        values[5] = pgNone.rate(lines) / pgAll.rate(lines) - 1;
        disturbed |= pgNone.cpu().disturbed() || pgAll.cpu().disturbed();
        durable =
            String.format(
                Locale.ROOT,
                "; PostgreSQL none %,.0f, all %,.0f lines/s, CPU per line none %.0f µs (its"
                    + " database backends %.0f), all %.0f µs (%.0f)",
                values[3],
                values[4],
                pgNone.cpuMicrosPerLine(lines),
                pgNone.helperMicrosPerLine(lines),
                pgAll.cpuMicrosPerLine(lines),
                pgAll.helperMicrosPerLine(lines));
      }
      String label = rounds.label();
      String note = rounds.add(disturbed, values);
      log.printf(
          Locale.ROOT,
          "lineage round %s: in memory none %,.0f, failures %,.0f lines/s%s%s%n",
          label,
          values[0],
          values[1],
          durable,
          note);
    }
    String what = "lineage: example's 8 stages, " + Targets.count(lines) + " lines";
    List<Row> rows = new ArrayList<>();
    rows.add(row(rounds, what + ", in memory, FAILURES vs NONE", 0, FAILURES_GOAL));
    if (postgres) {
      rows.add(row(rounds, what + ", PostgreSQL, ALL vs NONE", 3, ALL_DURABLE_GOAL));
    }
    return rows;
  }

  /** The same lines must end the same way with lineage and without. */
  private static void check(DurableWork.Measured without, DurableWork.Measured with) {
    if (!without.outcome().equals(with.outcome())) {
      throw new IllegalStateException(
          "lineage changed the outcome: " + with.outcome() + ", without " + without.outcome());
    }
  }

  private static Row row(Rounds rounds, String what, int first, double goal) {
    Samples slower = rounds.samples(first + 2);
    return new Row(
        what,
        "with lineage " + rounds.samples(first + 1).format("%,.0f") + " lines/s",
        "without " + rounds.samples(first).format("%,.0f") + " lines/s",
        String.format(
                Locale.ROOT,
                "%+.1f %% (%+.1f to %+.1f %%)",
                slower.median() * 100,
                slower.min() * 100,
                slower.max() * 100)
            + " slower"
            + rounds.note(),
        "≤ " + Math.round(goal * 100) + " %",
        Verdict.of(slower.median() <= goal));
  }
}
