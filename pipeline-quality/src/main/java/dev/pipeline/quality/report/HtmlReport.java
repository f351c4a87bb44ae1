package dev.pipeline.quality.report;

import dev.pipeline.quality.drift.DriftLevel;
import dev.pipeline.quality.drift.FieldDrift;
import dev.pipeline.quality.drift.WindowDrift;
import dev.pipeline.quality.score.Dimension;
import dev.pipeline.quality.score.QualityScores;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders a {@link QualityReport} as one self-contained HTML file: inline CSS and SVG, no script, a
 * Content-Security-Policy that forbids every outside resource and script; every outside text goes
 * through {@link Text#html}.
 */
final class HtmlReport {

  private static final String STYLE =
      "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}"
          + "table{border-collapse:collapse;margin:.5em 0 1.5em}"
          + "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}"
          + "th{background:#f2f2f2}pre{white-space:pre-wrap;word-break:break-all;margin:0;"
          + "max-width:640px}li{margin:.3em 0}.alert{color:#b00020;font-weight:600}"
          + ".warn{color:#a05a00}svg{display:block;margin:.5em 0}"
          + "svg .grid{stroke:#e5e5e5}svg .mark{stroke:#b00020;stroke-dasharray:4 3}"
          + "svg .tick,svg .legend{font:11px sans-serif;fill:#444}";

  /** The default PSI thresholds of {@code DriftPolicy}, marked on the PSI plot. */
  private static final Map<String, Double> PSI_MARKS = marks();

  private HtmlReport() {}

  private static Map<String, Double> marks() {
    Map<String, Double> marks = new LinkedHashMap<>();
    marks.put("warn 0.10", 0.10);
    marks.put("alert 0.25", 0.25);
    return marks;
  }

  static String render(QualityReport report) {
    StringBuilder h = new StringBuilder(32_768);
    String title = "Quality report: " + report.pipeline();
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>")
        .append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';")
        .append(" style-src 'unsafe-inline'; img-src data:\"/>")
        .append("<title>")
        .append(Text.html(title))
        .append("</title><style>")
        .append(STYLE)
        .append("</style></head><body>\n<h1>")
        .append(Text.html(title))
        .append("</h1>\n<p>Period ")
        .append(Text.html(Text.time(report.from())))
        .append(" to ")
        .append(Text.html(Text.time(report.to())))
        .append("; generated ")
        .append(Text.html(Text.time(report.generatedAt())))
        .append(".</p>\n<h2>Insights</h2>\n<ol>\n");
    for (String insight : report.insights()) {
      h.append("<li>").append(Text.html(insight)).append("</li>\n");
    }
    h.append("</ol>\n");
    scores(h, report);
    drift(h, report);
    rules(h, report);
    h.append("<h2>Anomalies</h2>\n");
    table(h, Sections.ANOMALY_HEADER, Sections.anomalyRows(report), "No anomalies in this period.");
    return h.append("</body></html>\n").toString();
  }

  private static void scores(StringBuilder h, QualityReport report) {
    h.append("<h2>Scores over time</h2>\n");
    Map<String, List<QualityScores>> byStage = Sections.scoresByStage(report);
    for (Map.Entry<String, List<QualityScores>> e : byStage.entrySet()) {
      List<QualityScores> list = e.getValue();
      List<String> labels = list.stream().map(s -> Text.clock(s.end())).toList();
      Map<String, double[]> series = new LinkedHashMap<>();
      series.put(
          "overall", list.stream().mapToDouble(s -> s.overall().orElse(Double.NaN)).toArray());
      for (Dimension d : Dimension.values()) {
        if (list.stream().anyMatch(s -> s.score(d).isPresent())) {
          series.put(
              Insights.name(d).toLowerCase(java.util.Locale.ROOT),
              list.stream().mapToDouble(s -> s.score(d).orElse(Double.NaN)).toArray());
        }
      }
      h.append("<h3>")
          .append(Text.html(e.getKey()))
          .append("</h3>\n")
          .append(
              Charts.lines(
                  "Scores of " + e.getKey() + " by window end (UTC)", labels, series, 0, 100))
          .append('\n');
    }
    table(h, Sections.SCORE_HEADER, Sections.scoreRows(report), "No scores in this period.");
  }

  private static void drift(StringBuilder h, QualityReport report) {
    h.append("<h2>Drift per field</h2>\n");
    Map<String, WindowDrift> latest = Insights.latestPerStage(report.drift());
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
    if (!labels.isEmpty()) {
      h.append(
              Charts.bars(
                  "PSI per field in the last window of each stage",
                  labels,
                  psi.stream().mapToDouble(Double::doubleValue).toArray(),
                  colors,
                  PSI_MARKS))
          .append('\n');
    }
    Map<String, List<WindowDrift>> byStage = new LinkedHashMap<>();
    for (WindowDrift w : report.drift()) {
      byStage.computeIfAbsent(w.stage(), k -> new ArrayList<>()).add(w);
    }
    for (Map.Entry<String, List<WindowDrift>> e : byStage.entrySet()) {
      List<WindowDrift> windows = e.getValue();
      if (windows.size() < 2) {
        continue;
      }
      Map<String, double[]> series = new LinkedHashMap<>();
      double max = 0.3;
      for (int i = 0; i < windows.size(); i++) {
        for (FieldDrift f : windows.get(i).fields()) {
          if (series.size() < Charts.COLORS.length || series.containsKey(f.field())) {
            double[] values = series.computeIfAbsent(f.field(), k -> nans(windows.size()));
            values[i] = f.psi();
            if (Double.isFinite(f.psi())) {
              max = Math.max(max, Math.min(f.psi(), 5));
            }
          }
        }
      }
      h.append("<h3>PSI over time: ")
          .append(Text.html(e.getKey()))
          .append("</h3>\n")
          .append(
              Charts.lines(
                  "PSI per field of " + e.getKey() + " by window end (UTC)",
                  windows.stream().map(w -> Text.clock(w.end())).toList(),
                  series,
                  0,
                  max))
          .append('\n');
    }
    table(h, Sections.DRIFT_HEADER, Sections.driftRows(report), "No drift results in this period.");
  }

  private static double[] nans(int n) {
    double[] values = new double[n];
    java.util.Arrays.fill(values, Double.NaN);
    return values;
  }

  private static void rules(StringBuilder h, QualityReport report) {
    h.append("<h2>Top failing rules</h2>\n");
    List<RuleFailure> rules = Sections.rules(report);
    if (!rules.isEmpty()) {
      h.append(
              Charts.bars(
                  "Share of checked records that failed, per rule",
                  rules.stream().map(f -> f.ruleId() + " / " + f.stage()).toList(),
                  rules.stream().mapToDouble(f -> 100 * f.failureRate()).toArray(),
                  rules.stream().map(f -> "#b00020").toList(),
                  Map.of()))
          .append('\n');
    }
    table(
        h,
        Sections.RULE_HEADER,
        rules.stream().map(Sections::ruleRow).toList(),
        "No rule failures in this period.");
    for (RuleFailure f : rules) {
      List<ExampleRecord> examples = Sections.examples(report, f);
      if (examples.isEmpty()) {
        continue;
      }
      h.append("<h3>Examples: ")
          .append(Text.html(f.ruleId()))
          .append(" on ")
          .append(Text.html(f.stage()))
          .append("</h3>\n<table><tr><th>Record</th><th>Source</th><th>Value</th></tr>\n");
      for (ExampleRecord e : examples) {
        h.append("<tr><td>")
            .append(Text.html(e.recordId()))
            .append("</td><td>")
            .append(Text.html(e.source()))
            .append("</td><td><pre>")
            .append(Text.html(e.text()))
            .append("</pre></td></tr>\n");
      }
      h.append("</table>\n");
    }
  }

  private static void table(
      StringBuilder h, List<String> header, List<List<String>> rows, String none) {
    if (rows.isEmpty()) {
      h.append("<p>").append(Text.html(none)).append("</p>\n");
      return;
    }
    h.append("<table><tr>");
    for (String cell : header) {
      h.append("<th>").append(Text.html(cell)).append("</th>");
    }
    h.append("</tr>\n");
    for (List<String> row : rows) {
      h.append("<tr>");
      for (String cell : row) {
        h.append("<td>").append(Text.html(cell)).append("</td>");
      }
      h.append("</tr>\n");
    }
    h.append("</table>\n");
  }
}
