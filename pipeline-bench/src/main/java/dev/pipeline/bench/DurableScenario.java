package dev.pipeline.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Issue 3's first durable target: the equipment example's eight stages, checkpointing only at the
 * end, with the JDBC store must reach at least 70% (H2 file) and 50% (PostgreSQL) of the same
 * pipeline's throughput on the in-memory store, and at least 50% of a raw JDBC loop writing the
 * same rows in batches of the same size on the same database (see {@link DurableWork#raw}).
 *
 * <p>Each round runs all five (in memory, H2, raw H2, PostgreSQL, raw PostgreSQL) on the same
 * lines, in an order that rotates from round to round, each database fresh; ratios are taken round
 * by round. It runs {@link #records} lines: 200k at the default sizes. Without PostgreSQL its rows
 * are left out (see {@link BenchDatabase#postgresReachable}).
 *
 * <p>Rounds are not repeated when other processes use the machine: the database server is one of
 * them. Wait for a quiet machine instead.
 */
final class DurableScenario implements Scenario {
  static final double H2_GOAL = 0.70;
  static final double PG_GOAL = 0.50;
  static final double RAW_GOAL = 0.50;

  /** One of the five runs of a round. */
  enum Variant {
    MEMORY("in memory"),
    H2("H2"),
    H2_RAW("raw JDBC on H2"),
    POSTGRES("PostgreSQL"),
    POSTGRES_RAW("raw JDBC on PostgreSQL");

    final String label;

    Variant(String label) {
      this.label = label;
    }

    boolean postgres() {
      return this == POSTGRES || this == POSTGRES_RAW;
    }

    DurableWork.Measured run(int lines) throws Exception {
      return switch (this) {
        case MEMORY -> DurableWork.inMemory(lines);
        case H2 -> DurableWork.durable(BenchDatabase.Kind.H2, lines);
        case H2_RAW -> DurableWork.raw(BenchDatabase.Kind.H2, lines);
        case POSTGRES -> DurableWork.durable(BenchDatabase.Kind.POSTGRES, lines);
        case POSTGRES_RAW -> DurableWork.raw(BenchDatabase.Kind.POSTGRES, lines);
      };
    }
  }

  /** The lines of the target: a fifth of the real-work target's (200k for its 1M). */
  static int records(Settings settings) {
    return Math.max(1, settings.realWorkRecords() / 5);
  }

  @Override
  public String name() {
    return "durable";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    int lines = records(settings);
    List<Variant> variants = new ArrayList<>(List.of(Variant.values()));
    if (!BenchDatabase.postgresReachable(log)) {
      variants.removeIf(Variant::postgres);
    }
    for (int w = 0; w < settings.warmups(); w++) {
      for (Variant v : variants) {
        v.run(Math.max(1, lines / 5));
      }
    }
    int rounds = settings.rounds();
    Map<Variant, double[]> rate = new EnumMap<>(Variant.class);
    Map<Variant, double[]> trips = new EnumMap<>(Variant.class);
    for (Variant v : variants) {
      rate.put(v, new double[rounds]);
      trips.put(v, new double[rounds]);
    }
    DurableWork.Outcome outcome = null;
    for (int r = 0; r < rounds; r++) {
      List<Variant> order = new ArrayList<>(variants);
      Collections.rotate(order, -r);
      StringBuilder line = new StringBuilder();
      for (Variant v : order) {
        DurableWork.Measured m = v.run(lines);
        if (v == Variant.MEMORY || v == Variant.H2 || v == Variant.POSTGRES) {
          if (outcome != null && !outcome.equals(m.outcome())) {
            throw new IllegalStateException(
                v.label
                    + " disagrees on the outcome of the same lines: "
                    + m.outcome()
                    + ", before "
                    + outcome);
          }
          outcome = m.outcome();
        }
        rate.get(v)[r] = m.rate(lines);
        trips.get(v)[r] = m.tripsPerRecord();
        line.append(
            String.format(
                Locale.ROOT,
                "%n  %s %,.0f lines/s, %.3f round trips/record, %s",
                v.label,
                rate.get(v)[r],
                trips.get(v)[r],
                m.cpu()));
      }
      log.printf("durable round %d/%d:%s%n", r + 1, rounds, line);
    }
    log.println("durable: every round, each store: " + outcome);
    String what =
        "durable: example's 8 stages, no checkpoint stage, "
            + Targets.count(lines)
            + " lines ("
            + (outcome == null ? "?" : String.format(Locale.ROOT, "%,d", outcome.unique()))
            + " unique ids), batch "
            + DurableWork.BATCH;
    List<Row> rows = new ArrayList<>();
    rows.add(compare(what, Variant.H2, Variant.MEMORY, H2_GOAL, rate, trips));
    rows.add(compare(what, Variant.H2, Variant.H2_RAW, RAW_GOAL, rate, trips));
    if (variants.contains(Variant.POSTGRES)) {
      rows.add(compare(what, Variant.POSTGRES, Variant.MEMORY, PG_GOAL, rate, trips));
      rows.add(compare(what, Variant.POSTGRES, Variant.POSTGRES_RAW, RAW_GOAL, rate, trips));
    }
    return rows;
  }

  private static Row compare(
      String what,
      Variant ours,
      Variant base,
      double goal,
      Map<Variant, double[]> rate,
      Map<Variant, double[]> trips) {
    double[] a = rate.get(ours);
    double[] b = rate.get(base);
    double[] ratio = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      ratio[i] = a[i] / b[i];
    }
    Samples ratios = Samples.of(ratio);
    return new Row(
        what + ", " + ours.label + " vs " + base.label,
        ours.label
            + " "
            + Samples.of(a).format("%,.0f")
            + " lines/s, "
            + Samples.of(trips.get(ours)).format("%.3f")
            + " round trips/record",
        base.label
            + " "
            + Samples.of(b).format("%,.0f")
            + " lines/s"
            + (base == Variant.MEMORY
                ? ""
                : ", " + Samples.of(trips.get(base)).format("%.3f") + " round trips/record"),
        percent(ratios),
        "≥ " + Math.round(goal * 100) + "%",
        Verdict.of(ratios.median() >= goal));
  }

  private static String percent(Samples s) {
    return String.format(
        Locale.ROOT, "%.0f%% (%.0f–%.0f%%)", s.median() * 100, s.min() * 100, s.max() * 100);
  }
}
