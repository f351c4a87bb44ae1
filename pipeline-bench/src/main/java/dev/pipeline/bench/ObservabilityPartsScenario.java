package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.examples.app.ScrapedLine;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.store.InMemoryPipelineStore;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jdk.jfr.consumer.RecordingStream;
import org.jspecify.annotations.Nullable;

/**
 * What each part of issue 14's observability costs, in the same rounds: the equipment example in
 * memory with all three off, all three on, the audit trail alone, the metrics history alone,
 * resource sampling alone, and with a JFR recording running that records nothing (started by this
 * scenario, no pipeline sampling): the cost of a running recording whatever its samples. Rounds are
 * mirrored (A B … B A, the first mode rotating), each mode's two runs added up, and each mode's CPU
 * per line is given as a ratio to "off" of the same round. A recording (the sampling pipeline's or
 * the empty one) is started before and stopped after its mode's runs, outside the timed part. It
 * prints its rounds and the medians; it makes no row of the results table.
 */
final class ObservabilityPartsScenario implements Scenario {

  enum Mode {
    OFF(false, false, false),
    ON(true, true, true),
    AUDIT(true, false, false),
    HISTORY(false, true, false),
    SAMPLING(false, false, true),
    EMPTY_RECORDING(false, false, false);

    final boolean audit;
    final boolean history;
    final boolean sampling;

    Mode(boolean audit, boolean history, boolean sampling) {
      this.audit = audit;
      this.history = history;
      this.sampling = sampling;
    }
  }

  private @Nullable Pipeline<ScrapedLine, IndexedListing> keeper;
  private @Nullable RecordingStream empty;

  @Override
  public String name() {
    return "observability-parts";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    try {
      measure(settings, log);
    } finally {
      recording(Mode.OFF);
    }
    return List.of();
  }

  private void measure(Settings settings, PrintStream log) throws Exception {
    int lines = settings.durableLines();
    List<Mode> modes = List.of(Mode.values());
    for (int w = 0; w < settings.warmups(); w++) {
      for (Mode mode : modes) {
        recording(mode);
        run(Math.max(1, lines / 5), mode);
      }
    }
    Map<Mode, List<Double>> ratios = new EnumMap<>(Mode.class);
    for (int round = 0; round < settings.rounds(); round++) {
      List<Mode> order = new ArrayList<>(modes);
      Collections.rotate(order, -round);
      List<Mode> mirrored = new ArrayList<>(order);
      mirrored.addAll(order.reversed());
      Map<Mode, double[]> sums = new EnumMap<>(Mode.class);
      for (Mode mode : mirrored) {
        recording(mode);
        double[] r = run(lines, mode);
        double[] s = sums.computeIfAbsent(mode, x -> new double[3]);
        for (int i = 0; i < 3; i++) {
          s[i] += r[i];
        }
      }
      double[] off = sums.get(Mode.OFF);
      StringBuilder line =
          new StringBuilder(
              String.format(
                  Locale.ROOT,
                  "observability parts round %d: off %.2f µs CPU/line (others used %.2f cores)",
                  round + 1,
                  off[0] / 2 / lines / 1e3,
                  off[2] / off[1]));
      for (Mode m : modes) {
        double ratio = sums.get(m)[0] / off[0];
        ratios.computeIfAbsent(m, x -> new ArrayList<>()).add(ratio);
        line.append(
            String.format(Locale.ROOT, ", %s %.3f", m.name().toLowerCase(Locale.ROOT), ratio));
      }
      log.println(line);
    }
    for (Map.Entry<Mode, List<Double>> e : ratios.entrySet()) {
      double[] v = e.getValue().stream().mapToDouble(Double::doubleValue).toArray();
      Samples s = Samples.of(v);
      log.printf(
          Locale.ROOT,
          "observability parts %s / off, CPU per line: %s, mean %s%n",
          e.getKey().name().toLowerCase(Locale.ROOT),
          s.format("%.3f"),
          Samples.meanWithError(v, "%.3f"));
    }
  }

  /** Starts or stops the recording the mode needs, outside the timed part. */
  private void recording(Mode mode) throws InterruptedException {
    boolean changed = false;
    if (mode.sampling != (keeper != null)) {
      if (keeper != null) {
        keeper.close();
        keeper = null;
      } else {
        keeper = pipeline(Mode.SAMPLING);
      }
      changed = true;
    }
    boolean wantEmpty = mode == Mode.EMPTY_RECORDING;
    if (wantEmpty != (empty != null)) {
      if (empty != null) {
        empty.close();
        empty = null;
      } else {
        RecordingStream stream = new RecordingStream();
        stream.startAsync();
        empty = stream;
      }
      changed = true;
    }
    if (changed) {
      Thread.sleep(500); // JFR's own threads finish starting or stopping
      Scenario.settle();
    }
  }

  /** {this JVM's CPU nanoseconds, wall nanoseconds, other processes' CPU nanoseconds}. */
  private static double[] run(int lines, Mode mode) {
    try (Pipeline<ScrapedLine, IndexedListing> pipeline = pipeline(mode)) {
      Scenario.settle();
      CpuMeter cpu = CpuMeter.start(CpuMeter.Helpers.NONE);
      long start = System.nanoTime();
      RunResult result = pipeline.run(DurableWork.source(lines));
      long took = System.nanoTime() - start;
      CpuMeter.Usage used = cpu.stop();
      DurableWork.requireComplete(result, lines);
      return new double[] {used.ours() * took, took, used.others() * took};
    }
  }

  private static Pipeline<ScrapedLine, IndexedListing> pipeline(Mode mode) {
    return ObservabilityScenario.pipeline(
        InMemoryPipelineStore.create(), mode.audit, mode.history, mode.sampling);
  }
}
