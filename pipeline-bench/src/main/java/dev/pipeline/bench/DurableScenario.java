package dev.pipeline.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The first durable target: the equipment example's eight stages, checkpointing only at the end,
 * with the JDBC store must reach at least 70% (H2 file) and 50% (PostgreSQL) of the same pipeline's
 * throughput on the in-memory store, and at least 50% of a raw JDBC loop writing the same rows in
 * batches of the same size on the same database (see {@link DurableWork#raw}): each record's
 * insert, delivery note and terminal state, in the engine's transactions. A bare raw loop, without
 * the delivery note, is shown beside it for comparison: the least any durable store writes.
 *
 * <p>The target against Spring Batch: the same work on each database at least as fast as Spring
 * Batch 6 doing it as a chunk-oriented step with its JDBC job repository on the same kind of
 * database (see {@link SpringBatchWork}); both runs' CPU per line is reported beside it, PostgreSQL
 * backends included.
 *
 * <p>The target against the same pipeline in memory, by CPU: a durable run's CPU per line (the
 * JVM's, and on PostgreSQL its backends') at most {@link #CPU_GOAL} times the in-memory run's, in
 * the same round. Throughput alone does not say it: a durable run that waits on its database may
 * keep pace on two cores while costing far more of them.
 *
 * <p>The floor on H2 (see {@link LedgerFloor}): the least the batch ledger writes for the same
 * lines, with no stage run, against Spring Batch's whole run; and the most H2 could reach on this
 * machine, its cores over the in-memory run's CPU per line plus the floor's, against Spring Batch's
 * rate. Both are reported, not targets: they say how far the target is reachable here.
 *
 * <p>Each round runs all of them (in memory, H2, raw H2, bare raw H2, the two floors on H2, Spring
 * Batch on H2, PostgreSQL, raw PostgreSQL, bare raw PostgreSQL, Spring Batch on PostgreSQL, and the
 * full ledgers) on the same lines, in an order that rotates from round to round, each database
 * fresh; ratios are taken round by round. Every run that publishes must end the same way (the same
 * counts, the same checksum of what it published). It runs {@link #records} lines: 200k at the
 * default sizes. Without PostgreSQL its rows are left out (see {@link
 * BenchDatabase#postgresReachable}).
 *
 * <p>A round in which other processes took cores from any of its runs is left out and run again
 * (see {@link Rounds}); the PostgreSQL backends serving the run's connections count as the run's
 * own (see {@link BenchDatabase#helpers()}), the server's background writers do not.
 */
final class DurableScenario implements Scenario {
  static final double H2_GOAL = 0.70;
  static final double PG_GOAL = 0.50;
  static final double RAW_GOAL = 0.50;
  static final double SPRING_BATCH_GOAL = 1.0;

  /** Durable CPU per line, at most this many times the in-memory run's. */
  static final double CPU_GOAL = 1.5;

  /** With every record's full row kept, at least half of Spring Batch. */
  static final double FULL_LEDGER_GOAL = 0.5;

  /** Values kept per variant and round: lines/s, round trips per record, µs of CPU per line. */
  private static final int PER_VARIANT = 3;

  /** One of the nine runs of a round. */
  enum Variant {
    MEMORY("in memory"),
    H2("H2"),
    H2_RAW("raw JDBC on H2"),
    H2_BARE("bare raw JDBC on H2"),
    H2_SPRING_BATCH("Spring Batch on H2"),
    H2_FULL("H2, full ledger"),
    H2_FLOOR("H2 floor (id rows and batch rows only, no stages)"),
    H2_FLOOR_SHARED("H2 floor, one commit a batch"),
    POSTGRES("PostgreSQL"),
    POSTGRES_RAW("raw JDBC on PostgreSQL"),
    POSTGRES_BARE("bare raw JDBC on PostgreSQL"),
    POSTGRES_SPRING_BATCH("Spring Batch on PostgreSQL"),
    POSTGRES_FULL("PostgreSQL, full ledger");

    final String label;

    Variant(String label) {
      this.label = label;
    }

    boolean postgres() {
      return this == POSTGRES
          || this == POSTGRES_FULL
          || this == POSTGRES_RAW
          || this == POSTGRES_BARE
          || this == POSTGRES_SPRING_BATCH;
    }

    boolean springBatch() {
      return this == H2_SPRING_BATCH || this == POSTGRES_SPRING_BATCH;
    }

    /** Whether it publishes the listings, so its outcome must be everyone's. */
    boolean publishes() {
      return this != H2_RAW
          && this != H2_BARE
          && this != H2_FLOOR
          && this != H2_FLOOR_SHARED
          && this != POSTGRES_RAW
          && this != POSTGRES_BARE;
    }

    DurableWork.Measured run(int lines) throws Exception {
      return switch (this) {
        case MEMORY -> DurableWork.inMemory(lines);
        case H2 -> DurableWork.durable(BenchDatabase.Kind.H2, lines);
        case H2_RAW -> DurableWork.raw(BenchDatabase.Kind.H2, lines, true);
        case H2_BARE -> DurableWork.raw(BenchDatabase.Kind.H2, lines, false);
        case H2_SPRING_BATCH -> SpringBatchWork.run(BenchDatabase.Kind.H2, lines);
        case H2_FULL -> DurableWork.durableFull(BenchDatabase.Kind.H2, lines);
        case H2_FLOOR -> LedgerFloor.run(BenchDatabase.Kind.H2, lines, false);
        case H2_FLOOR_SHARED -> LedgerFloor.run(BenchDatabase.Kind.H2, lines, true);
        case POSTGRES_FULL -> DurableWork.durableFull(BenchDatabase.Kind.POSTGRES, lines);
        case POSTGRES -> DurableWork.durable(BenchDatabase.Kind.POSTGRES, lines);
        case POSTGRES_RAW -> DurableWork.raw(BenchDatabase.Kind.POSTGRES, lines, true);
        case POSTGRES_BARE -> DurableWork.raw(BenchDatabase.Kind.POSTGRES, lines, false);
        case POSTGRES_SPRING_BATCH -> SpringBatchWork.run(BenchDatabase.Kind.POSTGRES, lines);
      };
    }
  }

  /** The lines of the target: 200k unless set with --durable-lines. */
  static int records(Settings settings) {
    return settings.durableLines();
  }

  @Override
  public String name() {
    return "durable";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    int lines = records(settings);
    List<Variant> variants = new ArrayList<>(List.of(Variant.values()));
    if (!settings.databases().contains(BenchDatabase.Kind.H2)) {
      variants.removeIf(v -> !v.postgres() && v != Variant.MEMORY);
    }
    if (!settings.databases().contains(BenchDatabase.Kind.POSTGRES)
        || !BenchDatabase.postgresReachable(log)) {
      variants.removeIf(Variant::postgres);
    }
    for (int w = 0; w < settings.warmups(); w++) {
      for (Variant v : variants) {
        v.run(Math.max(1, lines / 5));
      }
    }
    List<Pair> pairs = new ArrayList<>();
    if (variants.contains(Variant.H2)) {
      pairs.add(new Pair(Variant.H2, Variant.MEMORY, H2_GOAL));
      pairs.add(new Pair(Variant.H2, Variant.H2_RAW, RAW_GOAL));
      pairs.add(new Pair(Variant.H2, Variant.H2_BARE, 0));
      pairs.add(new Pair(Variant.H2, Variant.H2_SPRING_BATCH, SPRING_BATCH_GOAL));
      pairs.add(new Pair(Variant.H2_FULL, Variant.H2_SPRING_BATCH, FULL_LEDGER_GOAL));
      pairs.add(new Pair(Variant.H2_FLOOR, Variant.H2_SPRING_BATCH, 0));
      pairs.add(new Pair(Variant.H2_FLOOR_SHARED, Variant.H2_SPRING_BATCH, 0));
    }
    if (variants.contains(Variant.POSTGRES)) {
      pairs.add(new Pair(Variant.POSTGRES, Variant.MEMORY, PG_GOAL));
      pairs.add(new Pair(Variant.POSTGRES, Variant.POSTGRES_RAW, RAW_GOAL));
      pairs.add(new Pair(Variant.POSTGRES, Variant.POSTGRES_BARE, 0));
      pairs.add(new Pair(Variant.POSTGRES, Variant.POSTGRES_SPRING_BATCH, SPRING_BATCH_GOAL));
      pairs.add(new Pair(Variant.POSTGRES_FULL, Variant.POSTGRES_SPRING_BATCH, FULL_LEDGER_GOAL));
    }
    // durable runs whose CPU per line is set against the in-memory run's
    List<Variant> byCpu = new ArrayList<>();
    for (Variant v : List.of(Variant.H2, Variant.POSTGRES)) {
      if (variants.contains(v)) {
        byCpu.add(v);
      }
    }
    // floors whose CPU per line, added to the in-memory run's, bounds the rate on this machine
    List<Variant> floors = new ArrayList<>();
    for (Variant v : List.of(Variant.H2_FLOOR, Variant.H2_FLOOR_SHARED)) {
      if (variants.contains(v)) {
        floors.add(v);
      }
    }
    int cores = Runtime.getRuntime().availableProcessors();
    // each round's values: rate, round trips and CPU of each variant, then the ratio of each pair,
    // then each durable run's CPU per line over the in-memory run's, then each floor's ceiling
    // over Spring Batch's rate
    int n = variants.size();
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    DurableWork.Outcome outcome = null;
    Map<Variant, DurableWork.Measured> lastRound = Map.of();
    while (rounds.more()) {
      List<Variant> order = new ArrayList<>(variants);
      Collections.rotate(order, -rounds.attempts());
      Map<Variant, DurableWork.Measured> measured = new EnumMap<>(Variant.class);
      StringBuilder line = new StringBuilder();
      boolean disturbed = false;
      for (Variant v : order) {
        DurableWork.Measured m = v.run(lines);
        if (v.publishes()) {
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
        measured.put(v, m);
        disturbed |= m.cpu().disturbed();
        line.append(
            String.format(
                Locale.ROOT,
                "%n  %s %,.0f lines/s, %.3f round trips/record, %s, %.1f µs CPU/line",
                v.label,
                m.rate(lines),
                m.tripsPerRecord(),
                m.cpu(),
                m.cpuMicrosPerLine(lines)));
      }
      // the loops that publish nothing (raw, floors) must still store every unique id once
      for (Map.Entry<Variant, DurableWork.Measured> m : measured.entrySet()) {
        if (outcome != null && m.getValue().outcome().unique() != outcome.unique()) {
          throw new IllegalStateException(
              m.getKey().label
                  + " stored "
                  + m.getValue().outcome().unique()
                  + " records, the pipeline "
                  + outcome.unique());
        }
      }
      double[] values = new double[PER_VARIANT * n + pairs.size() + byCpu.size() + floors.size()];
      for (int i = 0; i < n; i++) {
        DurableWork.Measured m = measured.get(variants.get(i));
        values[PER_VARIANT * i] = m.rate(lines);
        values[PER_VARIANT * i + 1] = m.tripsPerRecord();
        values[PER_VARIANT * i + 2] = m.cpuMicrosPerLine(lines);
      }
      for (int p = 0; p < pairs.size(); p++) {
        Pair pair = pairs.get(p);
        values[PER_VARIANT * n + p] =
            measured.get(pair.ours).rate(lines) / measured.get(pair.base).rate(lines);
      }
      double memoryCpu = measured.get(Variant.MEMORY).cpuMicrosPerLine(lines);
      for (int c = 0; c < byCpu.size(); c++) {
        values[PER_VARIANT * n + pairs.size() + c] =
            measured.get(byCpu.get(c)).cpuMicrosPerLine(lines) / memoryCpu;
      }
      for (int f = 0; f < floors.size(); f++) {
        double ceiling =
            cores / ((memoryCpu + measured.get(floors.get(f)).cpuMicrosPerLine(lines)) / 1e6);
        values[PER_VARIANT * n + pairs.size() + byCpu.size() + f] =
            ceiling / measured.get(Variant.H2_SPRING_BATCH).rate(lines);
      }
      String label = rounds.label();
      String note = rounds.add(disturbed, values);
      lastRound = measured;
      log.printf("durable round %s:%s%s%n", label, line, note);
    }
    log.println("durable: every round, each store: " + outcome);
    for (Map.Entry<Variant, DurableWork.Measured> last : lastRound.entrySet()) {
      if (!last.getValue().breakdown().isEmpty()) {
        log.printf(
            "durable, last round, %s: round trips by statement, wall time summed over threads:%n",
            last.getKey().label);
        last.getValue().breakdown().forEach(line -> log.println("    " + line));
      }
    }
    String what =
        "durable: example's 8 stages, no checkpoint stage, "
            + Targets.count(lines)
            + " lines ("
            + (outcome == null ? "?" : String.format(Locale.ROOT, "%,d", outcome.unique()))
            + " unique ids), batch "
            + DurableWork.BATCH;
    List<Row> rows = new ArrayList<>();
    for (int p = 0; p < pairs.size(); p++) {
      Pair pair = pairs.get(p);
      int ours = PER_VARIANT * variants.indexOf(pair.ours);
      int base = PER_VARIANT * variants.indexOf(pair.base);
      Samples ratios = rounds.samples(PER_VARIANT * n + p);
      boolean springBatch = pair.base.springBatch();
      String cpu =
          springBatch ? ", " + rounds.samples(ours + 2).format("%,.1f") + " µs CPU/line" : "";
      rows.add(
          new Row(
              what + ", " + pair.ours.label + " vs " + pair.base.label,
              pair.ours.label
                  + " "
                  + rounds.samples(ours).format("%,.0f")
                  + " lines/s, "
                  + rounds.samples(ours + 1).format("%.3f")
                  + " round trips/record"
                  + cpu,
              pair.base.label
                  + " "
                  + rounds.samples(base).format("%,.0f")
                  + " lines/s"
                  + (pair.base == Variant.MEMORY
                      ? ""
                      : ", " + rounds.samples(base + 1).format("%.3f") + " round trips/record")
                  + (springBatch
                      ? ", " + rounds.samples(base + 2).format("%,.1f") + " µs CPU/line"
                      : ""),
              (springBatch ? times(ratios) : percent(ratios)) + rounds.note(),
              pair.goal == 0
                  ? "reported"
                  : springBatch
                      ? String.format(Locale.ROOT, "≥ %.1f×", pair.goal)
                      : "≥ " + Math.round(pair.goal * 100) + "%",
              pair.goal == 0 ? Verdict.REPORTED : Verdict.of(ratios.median() >= pair.goal)));
    }
    int memory = PER_VARIANT * variants.indexOf(Variant.MEMORY);
    for (int c = 0; c < byCpu.size(); c++) {
      Variant v = byCpu.get(c);
      Samples ratios = rounds.samples(PER_VARIANT * n + pairs.size() + c);
      rows.add(
          new Row(
              what + ", " + v.label + " CPU per line vs in memory",
              v.label
                  + " "
                  + rounds.samples(PER_VARIANT * variants.indexOf(v) + 2).format("%,.1f")
                  + " µs CPU/line",
              "in memory " + rounds.samples(memory + 2).format("%,.1f") + " µs CPU/line",
              times(ratios) + rounds.note(),
              String.format(Locale.ROOT, "≤ %.1f×", CPU_GOAL),
              Verdict.of(ratios.median() <= CPU_GOAL)));
    }
    for (int f = 0; f < floors.size(); f++) {
      Variant v = floors.get(f);
      Samples ratios = rounds.samples(PER_VARIANT * n + pairs.size() + byCpu.size() + f);
      rows.add(
          new Row(
              what
                  + ", the most H2 could reach: "
                  + cores
                  + " cores over the CPU per line of the in-memory run and "
                  + v.label
                  + ", vs Spring Batch on H2",
              "in memory "
                  + rounds.samples(memory + 2).format("%,.1f")
                  + " + floor "
                  + rounds.samples(PER_VARIANT * variants.indexOf(v) + 2).format("%,.1f")
                  + " µs CPU/line",
              "Spring Batch on H2 "
                  + rounds
                      .samples(PER_VARIANT * variants.indexOf(Variant.H2_SPRING_BATCH))
                      .format("%,.0f")
                  + " lines/s",
              times(ratios) + rounds.note(),
              "reported",
              Verdict.REPORTED));
    }
    return rows;
  }

  /** A figure and its baseline, with the share of it the figure must reach (0: none, shown). */
  private record Pair(Variant ours, Variant base, double goal) {}

  private static String times(Samples s) {
    return String.format(Locale.ROOT, "%.2f× (%.2f–%.2f×)", s.median(), s.min(), s.max());
  }

  private static String percent(Samples s) {
    return String.format(
        Locale.ROOT, "%.0f%% (%.0f–%.0f%%)", s.median() * 100, s.min() * 100, s.max() * 100);
  }
}
