package dev.pipeline.quality.report;

import dev.pipeline.quality.drift.DriftLevel;
import dev.pipeline.quality.drift.FieldDrift;
import dev.pipeline.quality.drift.WindowDrift;
import dev.pipeline.quality.score.Dimension;
import dev.pipeline.quality.score.QualityScores;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The report's plots, as inline SVG from {@link Charts}. */
final class Plots {

  /** The default PSI thresholds of {@code DriftPolicy}, marked on the PSI plot. */
  private static final Map<String, Double> PSI_MARKS = marks();

  private Plots() {}

  private static Map<String, Double> marks() {
    Map<String, Double> marks = new LinkedHashMap<>();
    marks.put("warn 0.10", 0.10);
    marks.put("alert 0.25", 0.25);
    return marks;
  }

  /** One stage's scores over its windows: overall and each measured dimension. */
  static String scores(String stage, List<QualityScores> list) {
    List<String> labels = list.stream().map(s -> Text.clock(s.end())).toList();
    Map<String, double[]> series = new LinkedHashMap<>();
    series.put("overall", list.stream().mapToDouble(s -> s.overall().orElse(Double.NaN)).toArray());
    for (Dimension d : Dimension.values()) {
      if (list.stream().anyMatch(s -> s.score(d).isPresent())) {
        series.put(
            Insights.name(d).toLowerCase(Locale.ROOT),
            list.stream().mapToDouble(s -> s.score(d).orElse(Double.NaN)).toArray());
      }
    }
    return Charts.lines("Scores of " + stage + " by window end (UTC)", labels, series, 0, 100);
  }

  /** The PSI of each field in the last window of each stage, coloured by level. */
  static String lastPsi(Map<String, WindowDrift> latest) {
    List<String> labels = new ArrayList<>();
    List<String> colors = new ArrayList<>();
    List<Double> psi = new ArrayList<>();
    for (WindowDrift w : latest.values()) {
      for (FieldDrift f : w.fields()) {
        labels.add(w.stage() + " / " + f.field());
        psi.add(f.psi());
        colors.add(
            f.level() == DriftLevel.ALERT
                ? "#b00020"
                : f.level() == DriftLevel.WARN ? "#e69500" : "#4a90d9");
      }
    }
    return Charts.bars(
        "PSI per field in the last window of each stage",
        labels,
        psi.stream().mapToDouble(Double::doubleValue).toArray(),
        colors,
        PSI_MARKS);
  }

  /** One stage's PSI per field over its windows (the first fields, one colour each). */
  static String psiOverTime(String stage, List<WindowDrift> windows) {
    Map<String, double[]> series = new LinkedHashMap<>();
    double max = 0.3;
    for (int i = 0; i < windows.size(); i++) {
      for (FieldDrift f : windows.get(i).fields()) {
        if (series.size() < Charts.COLORS.length || series.containsKey(f.field())) {
          double[] values =
              series.computeIfAbsent(
                  f.field(),
                  k -> {
                    double[] nan = new double[windows.size()];
                    Arrays.fill(nan, Double.NaN);
                    return nan;
                  });
          values[i] = f.psi();
          if (Double.isFinite(f.psi())) {
            max = Math.max(max, Math.min(f.psi(), 5));
          }
        }
      }
    }
    return Charts.lines(
        "PSI per field of " + stage + " by window end (UTC)",
        windows.stream().map(w -> Text.clock(w.end())).toList(),
        series,
        0,
        max);
  }

  /** The failure rate of each rule shown, in percent. */
  static String ruleRates(List<RuleFailure> rules) {
    return Charts.bars(
        "Share of checked records that failed, per rule (%)",
        rules.stream().map(f -> f.ruleId() + " / " + f.stage()).toList(),
        rules.stream().mapToDouble(f -> 100 * f.failureRate()).toArray(),
        rules.stream().map(f -> "#b00020").toList(),
        Map.of());
  }
}
