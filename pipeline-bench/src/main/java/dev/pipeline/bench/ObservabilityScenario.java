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

/**
 * Issue 14's target: the equipment example with the audit trail, the metrics history and resource
 * sampling all on must run at least 95 % as fast as with all three off, in memory and durable on
 * PostgreSQL, measured in the same process, the two alternating round by round (the first of a
 * round changes every round); resource sampling alone is measured against off as well (its target
 * is 3 %), and the CPU the process spent per line beside the wall time. "Off" still has what is
 * always on: the MDC of stage calls and the store timed as a stage.
 */
final class ObservabilityScenario implements Scenario {
  static final double GOAL_RATIO = 0.95;

  @Override
  public String name() {
    return "observability";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    // JFR's recording is started once per process, by the first pipeline that samples, and stopped
    // when the last closes: a long-lived pipeline pays that once, so it is kept open here for the
    // whole target rather than started and stopped by every measured run
    try (Pipeline<ScrapedLine, IndexedListing> keeper =
        pipeline(InMemoryPipelineStore.create(), Mode.SAMPLING)) {
      return measure(settings, log);
    }
  }

  private List<Row> measure(Settings settings, PrintStream log) throws Exception {
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
          run(kind, Math.max(1, lines / 5), mode);
        }
      }
      Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
      while (rounds.more()) {
        // the order of the three rotates round by round, so none is always first
        List<Mode> order = new ArrayList<>(List.of(Mode.values()));
        Collections.rotate(order, -rounds.attempts());
        Map<Mode, DurableWork.Measured> m = new EnumMap<>(Mode.class);
        for (Mode mode : order) {
          m.put(mode, run(kind, lines, mode));
        }
        DurableWork.Measured on = m.get(Mode.ON);
        DurableWork.Measured off = m.get(Mode.OFF);
        DurableWork.Measured sampling = m.get(Mode.SAMPLING);
        if (!on.outcome().equals(off.outcome())) {
          throw new IllegalStateException(
              "on and off disagree on the same lines: " + on.outcome() + ", " + off.outcome());
        }
        double ratio = on.rate(lines) / off.rate(lines);
        double cpuRatio = on.cpuMicrosPerLine(lines) / off.cpuMicrosPerLine(lines);
        double samplingRatio = sampling.rate(lines) / off.rate(lines);
        String label = rounds.label();
        String note =
            rounds.add(
                on.cpu().disturbed() || off.cpu().disturbed() || sampling.cpu().disturbed(),
                on.rate(lines),
                off.rate(lines),
                ratio,
                cpuRatio,
                samplingRatio);
        log.printf(
            Locale.ROOT,
            "observability %s round %s: on %,.0f lines/s (%s, %.1f µs CPU/line), off %,.0f"
                + " lines/s (%s, %.1f µs CPU/line), sampling alone %,.0f lines/s -> on/off %.3f,"
                + " CPU on/off %.3f, sampling/off %.3f%s%n",
            where,
            label,
            on.rate(lines),
            on.cpu(),
            on.cpuMicrosPerLine(lines),
            off.rate(lines),
            off.cpu(),
            off.cpuMicrosPerLine(lines),
            sampling.rate(lines),
            ratio,
            cpuRatio,
            samplingRatio,
            note);
      }
      Samples ratios = rounds.samples(2);
      rows.add(
          new Row(
              "14. audit trail + metrics history + resource sampling, equipment example, "
                  + where
                  + ", "
                  + Targets.count(lines)
                  + " lines",
              "on " + rounds.samples(0).format("%,.0f") + " lines/s",
              "off " + rounds.samples(1).format("%,.0f") + " lines/s",
              ratios.format("%.3f")
                  + "× (CPU per line on/off "
                  + rounds.samples(3).format("%.3f")
                  + "×; resource sampling alone "
                  + rounds.samples(4).format("%.3f")
                  + "×)"
                  + rounds.note(),
              "≥ " + GOAL_RATIO + "×",
              Verdict.of(ratios.median() >= GOAL_RATIO)));
    }
    return rows;
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
        return timed(pipeline, lines);
      }
    }
    try (BenchDatabase db = BenchDatabase.create(kind);
        JdbcPipelineStore store = db.store(false);
        Pipeline<ScrapedLine, IndexedListing> pipeline = pipeline(store, mode)) {
      return timed(pipeline, lines);
    }
  }

  private static Pipeline<ScrapedLine, IndexedListing> pipeline(RecordLedger store, Mode mode) {
    boolean on = mode == Mode.ON;
    PipelineBuilder<ScrapedLine, ScrapedLine> builder =
        Pipeline.builder(DurableWork.PIPELINE, ScrapedLine.class)
            .alerts(new AlertCount())
            .auditTrail(on)
            .metricsHistory(on)
            .resourceSampling(mode != Mode.OFF);
    return EquipmentPipeline.stages(builder, new ListingIndex())
        .store(store)
        .inputCodec(DurableWork.CODEC)
        .build();
  }

  private static DurableWork.Measured timed(
      Pipeline<ScrapedLine, IndexedListing> pipeline, int lines) {
    Scenario.settle();
    CpuMeter cpu = CpuMeter.start();
    long start = System.nanoTime();
    RunResult result = pipeline.run(DurableWork.source(lines));
    long took = System.nanoTime() - start;
    CpuMeter.Usage used = cpu.stop();
    return new DurableWork.Measured(
        took, DurableWork.requireComplete(result, lines), 0, used, List.of());
  }
}
