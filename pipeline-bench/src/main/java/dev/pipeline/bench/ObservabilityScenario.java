package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.RunResult;
import dev.pipeline.examples.app.EquipmentPipeline;
import dev.pipeline.examples.app.ScrapedLine;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.ListingIndex;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.spi.RecordLedger;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Issue 14's target: the equipment example with the audit trail, the metrics history and resource
 * sampling all on must cost at most 5 % more than with all three off, in memory and durable on
 * PostgreSQL; resource sampling alone at most 3 %. Measured in one process on a machine that other
 * work may load, so the figure that decides is the CPU spent per line (this JVM's, and on
 * PostgreSQL its backends'), which a neighbour taking cores does not change the way it changes wall
 * time; the rate is reported beside it.
 *
 * <p>Each round runs every mode twice, in mirrored order (A B C C B A, the first mode rotating
 * round by round), so that a load that rises or falls during a round weighs on every mode alike,
 * and sums each mode's two runs. JDK Flight Recorder records only while a mode that samples is
 * measured: it is started (by a pipeline kept open, as a long-lived application has it) before such
 * a run and stopped before a run with everything off, both outside the timed part, so "off" pays
 * nothing for JFR and "sampling" pays what a running recording costs. The error of a ratio is the
 * 95 % confidence interval of its mean over the rounds (Student's t), beside the median and the
 * range. "Off" still has what is always on: the MDC of stage calls and the store timed as a stage.
 */
final class ObservabilityScenario implements Scenario {
  static final double GOAL_ALL = 1.05;
  static final double GOAL_SAMPLING = 1.03;

  @Override
  public String name() {
    return "observability";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    try (Recording recording = new Recording()) {
      return measure(settings, log, recording);
    }
  }

  private List<Row> measure(Settings settings, PrintStream log, Recording recording)
      throws Exception {
    int lines = settings.durableLines();
    List<BenchDatabase.Kind> stores = new ArrayList<>();
    stores.add(null); // in memory
    if (settings.databases().contains(BenchDatabase.Kind.POSTGRES)) {
      stores.add(BenchDatabase.Kind.POSTGRES);
    }
    List<Row> rows = new ArrayList<>();
    for (BenchDatabase.Kind kind : stores) {
      String where = kind == null ? "in memory" : "PostgreSQL";
      for (int w = 0; w < settings.warmups(); w++) {
        for (Mode mode : Mode.values()) {
          recording.needed(mode != Mode.OFF);
          run(kind, lines, mode); // full length: a fifth left the round's first run cold
        }
      }
      Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
      while (rounds.more()) {
        List<Mode> order = new ArrayList<>(List.of(Mode.values()));
        Collections.rotate(order, -rounds.attempts());
        List<Mode> mirrored = new ArrayList<>(order);
        mirrored.addAll(order.reversed());
        Map<Mode, Sum> sums = new EnumMap<>(Mode.class);
        boolean disturbed = false;
        for (Mode mode : mirrored) {
          recording.needed(mode != Mode.OFF);
          DurableWork.Measured m = run(kind, lines, mode);
          sums.computeIfAbsent(mode, x -> new Sum(m.outcome())).add(m);
          disturbed |= m.cpu().disturbed();
        }
        Sum on = sums.get(Mode.ON);
        Sum off = sums.get(Mode.OFF);
        Sum sampling = sums.get(Mode.SAMPLING);
        for (Sum other : List.of(on, sampling)) {
          if (!other.outcome.equals(off.outcome)) {
            throw new IllegalStateException(
                "modes disagree on the same lines: " + other.outcome + ", " + off.outcome);
          }
        }
        String label = rounds.label();
        String note =
            rounds.add(
                disturbed,
                on.rate(lines),
                off.rate(lines),
                off.rate(lines) / on.rate(lines),
                on.cpuPerLine(lines) / off.cpuPerLine(lines),
                off.rate(lines) / sampling.rate(lines),
                sampling.cpuPerLine(lines) / off.cpuPerLine(lines));
        log.printf(
            Locale.ROOT,
            "observability %s round %s: off %,.0f lines/s %.2f µs CPU/line, on %,.0f lines/s"
                + " %.2f µs, sampling %,.0f lines/s %.2f µs (others used %.2f cores) -> time"
                + " on/off %.3f, CPU on/off %.3f, time sampling/off %.3f, CPU sampling/off"
                + " %.3f%s%n",
            where,
            label,
            off.rate(lines),
            off.cpuPerLine(lines),
            on.rate(lines),
            on.cpuPerLine(lines),
            sampling.rate(lines),
            sampling.cpuPerLine(lines),
            off.others(),
            off.rate(lines) / on.rate(lines),
            on.cpuPerLine(lines) / off.cpuPerLine(lines),
            off.rate(lines) / sampling.rate(lines),
            sampling.cpuPerLine(lines) / off.cpuPerLine(lines),
            note);
      }
      String what = ", equipment example, " + where + ", " + Targets.count(lines) + " lines";
      rows.add(
          row(
              "14. audit trail + metrics history + resource sampling" + what,
              rounds,
              3,
              2,
              GOAL_ALL));
      rows.add(row("14. resource sampling alone" + what, rounds, 5, 4, GOAL_SAMPLING));
    }
    return rows;
  }

  /** A row whose verdict is the median CPU ratio; the time ratio is shown beside it. */
  private static Row row(String name, Rounds rounds, int cpuIndex, int timeIndex, double goal) {
    Samples cpu = rounds.samples(cpuIndex);
    return new Row(
        name,
        "CPU per line ×"
            + cpu.format("%.3f")
            + ", mean "
            + Samples.meanWithError(rounds.values(cpuIndex), "%.3f"),
        "time ×" + rounds.samples(timeIndex).format("%.3f"),
        rounds.values(cpuIndex).length + " rounds" + rounds.note(),
        "CPU ≤ " + goal + "×",
        Verdict.of(cpu.median() <= goal));
  }

  /** A mode's runs of one round, added up. */
  private static final class Sum {
    final DurableWork.Outcome outcome;
    long nanos;
    double cpuNanos;
    double othersNanos;

    Sum(DurableWork.Outcome outcome) {
      this.outcome = outcome;
    }

    void add(DurableWork.Measured m) {
      nanos += m.nanos();
      cpuNanos += m.cpu().ours() * m.nanos();
      othersNanos += m.cpu().others() * m.nanos();
    }

    /** Lines per second over the runs; each run had {@code lines}. */
    double rate(int lines) {
      return 2.0 * lines / (nanos / 1e9);
    }

    double cpuPerLine(int lines) {
      return cpuNanos / 1e3 / (2.0 * lines);
    }

    double others() {
      return othersNanos / nanos;
    }
  }

  /**
   * JFR's recording, kept running by an open pipeline that samples while a sampling mode is
   * measured, and stopped (the last sampling pipeline closed) before a mode that does not sample.
   * Starting and stopping happen outside the timed runs.
   */
  private static final class Recording implements AutoCloseable {
    private @Nullable Pipeline<ScrapedLine, IndexedListing> keeper;

    void needed(boolean needed) throws InterruptedException {
      if (needed == (keeper != null)) {
        return;
      }
      if (needed) {
        keeper = pipeline(InMemoryPipelineStore.create(), Mode.SAMPLING);
      } else {
        keeper.close();
        keeper = null;
      }
      // let JFR's own threads finish starting or stopping before the next timed run
      Thread.sleep(500);
      Scenario.settle();
    }

    @Override
    public void close() {
      if (keeper != null) {
        keeper.close();
      }
    }
  }

  /** All three on; all off; resource sampling alone. */
  enum Mode {
    ON,
    OFF,
    SAMPLING
  }

  private static DurableWork.Measured run(BenchDatabase.Kind kind, int lines, Mode mode)
      throws Exception {
    if (kind == null) {
      try (Pipeline<ScrapedLine, IndexedListing> pipeline =
          pipeline(InMemoryPipelineStore.create(), mode)) {
        return timed(pipeline, lines, CpuMeter.Helpers.NONE);
      }
    }
    try (BenchDatabase db = BenchDatabase.create(kind);
        JdbcPipelineStore store = db.store(false);
        Pipeline<ScrapedLine, IndexedListing> pipeline = pipeline(store, mode)) {
      return timed(pipeline, lines, db.helpers());
    }
  }

  private static Pipeline<ScrapedLine, IndexedListing> pipeline(RecordLedger store, Mode mode) {
    boolean on = mode == Mode.ON;
    return pipeline(store, on, on, mode != Mode.OFF);
  }

  /** The equipment example on the store with the three parts on or off, as named. */
  static Pipeline<ScrapedLine, IndexedListing> pipeline(
      RecordLedger store, boolean audit, boolean history, boolean sampling) {
    PipelineBuilder<ScrapedLine, ScrapedLine> builder =
        Pipeline.builder(DurableWork.PIPELINE, ScrapedLine.class)
            .alerts(new AlertCount())
            .auditTrail(audit)
            .metricsHistory(history)
            .resourceSampling(sampling);
    return EquipmentPipeline.stages(builder, new ListingIndex())
        .store(store)
        .inputCodec(DurableWork.CODEC)
        .build();
  }

  private static DurableWork.Measured timed(
      Pipeline<ScrapedLine, IndexedListing> pipeline, int lines, CpuMeter.Helpers helpers) {
    Scenario.settle();
    CpuMeter cpu = CpuMeter.start(helpers);
    long start = System.nanoTime();
    RunResult result = pipeline.run(DurableWork.source(lines));
    long took = System.nanoTime() - start;
    CpuMeter.Usage used = cpu.stop();
    return new DurableWork.Measured(
        took, DurableWork.requireComplete(result, lines), 0, used, List.of());
  }
}
