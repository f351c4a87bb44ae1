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
import java.util.List;
import java.util.Locale;

/**
 * Issue 14's target: the equipment example with the audit trail, the metrics history and resource
 * sampling all on must run at least 95 % as fast as with all three off, in memory and durable on
 * PostgreSQL, measured in the same process, the two alternating round by round (the first of a
 * round changes every round). "Off" still has what is always on: the MDC of stage calls and the
 * store timed as a stage.
 */
final class ObservabilityScenario implements Scenario {
  static final double GOAL_RATIO = 0.95;

  @Override
  public String name() {
    return "observability";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
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
        run(kind, Math.max(1, lines / 5), true);
        run(kind, Math.max(1, lines / 5), false);
      }
      Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
      while (rounds.more()) {
        boolean onFirst = rounds.attempts() % 2 == 0;
        DurableWork.Measured first = run(kind, lines, onFirst);
        DurableWork.Measured second = run(kind, lines, !onFirst);
        DurableWork.Measured on = onFirst ? first : second;
        DurableWork.Measured off = onFirst ? second : first;
        if (!on.outcome().equals(off.outcome())) {
          throw new IllegalStateException(
              "on and off disagree on the same lines: " + on.outcome() + ", " + off.outcome());
        }
        double ratio = on.rate(lines) / off.rate(lines);
        String label = rounds.label();
        String note =
            rounds.add(
                on.cpu().disturbed() || off.cpu().disturbed(),
                on.rate(lines),
                off.rate(lines),
                ratio);
        log.printf(
            Locale.ROOT,
            "observability %s round %s: on %,.0f lines/s (%s), off %,.0f lines/s (%s) -> %.3f%s%n",
            where,
            label,
            on.rate(lines),
            on.cpu(),
            off.rate(lines),
            off.cpu(),
            ratio,
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
              ratios.format("%.3f") + "×" + rounds.note(),
              "≥ " + GOAL_RATIO + "×",
              Verdict.of(ratios.median() >= GOAL_RATIO)));
    }
    return rows;
  }

  private static DurableWork.Measured run(BenchDatabase.Kind kind, int lines, boolean on)
      throws Exception {
    if (kind == null) {
      try (Pipeline<ScrapedLine, IndexedListing> pipeline =
          pipeline(InMemoryPipelineStore.create(), on)) {
        return timed(pipeline, lines);
      }
    }
    try (BenchDatabase db = BenchDatabase.create(kind);
        JdbcPipelineStore store = db.store(false);
        Pipeline<ScrapedLine, IndexedListing> pipeline = pipeline(store, on)) {
      return timed(pipeline, lines);
    }
  }

  private static Pipeline<ScrapedLine, IndexedListing> pipeline(RecordLedger store, boolean on) {
    PipelineBuilder<ScrapedLine, ScrapedLine> builder =
        Pipeline.builder(DurableWork.PIPELINE, ScrapedLine.class)
            .alerts(new AlertCount())
            .auditTrail(on)
            .metricsHistory(on)
            .resourceSampling(on);
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
