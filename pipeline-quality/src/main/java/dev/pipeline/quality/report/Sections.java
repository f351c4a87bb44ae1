package dev.pipeline.quality.report;

import dev.pipeline.quality.drift.Anomaly;
import dev.pipeline.quality.drift.FieldDrift;
import dev.pipeline.quality.drift.WindowDrift;
import dev.pipeline.quality.score.Dimension;
import dev.pipeline.quality.score.QualityScores;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What both renderings show, as rows of plain text (not yet escaped): the one place that decides
 * the report's content, so that the Markdown and the HTML say the same.
 */
final class Sections {

  /** The most rules shown in full, the most anomalies listed. */
  static final int RULES = 20;

  static final int ANOMALIES = 50;

  static final List<String> SCORE_HEADER =
      List.of(
          "Stage",
          "Window end",
          "Overall",
          "Completeness",
          "Validity",
          "Consistency",
          "Uniqueness",
          "Timeliness");

  static final List<String> DRIFT_HEADER =
      List.of(
          "Stage",
          "Field",
          "Window",
          "Level",
          "PSI",
          "Length PSI",
          "Test",
          "p-value",
          "Null rate",
          "Decided by");

  static final List<String> RULE_HEADER =
      List.of("Rule", "Stage", "Failed", "Checked", "Rate", "Since", "Top source");

  static final List<String> ANOMALY_HEADER =
      List.of("At", "Stage", "Metric", "Value", "Usual", "z", "Check");

  private Sections() {}

  /** Writes the whole report to {@code page}: the one flow both formats follow. */
  static void render(QualityReport report, Page page) {
    page.heading(1, "Quality report: " + report.pipeline());
    page.paragraph(
        "Period "
            + Text.time(report.from())
            + " to "
            + Text.time(report.to())
            + "; generated "
            + Text.time(report.generatedAt())
            + ".");
    page.heading(2, "Insights");
    page.list(report.insights());

    page.heading(2, "Scores over time");
    if (page.plots()) {
      scoresByStage(report).forEach((stage, list) -> page.plot(Plots.scores(stage, list)));
    }
    page.paragraph("The last window of each stage:");
    table(page, SCORE_HEADER, scoreRows(report), "No scores in this period.");

    page.heading(2, "Drift per field");
    Map<String, WindowDrift> latest = Insights.latestPerStage(report.drift());
    if (page.plots() && !latest.isEmpty()) {
      page.plot(Plots.lastPsi(latest));
      Map<String, List<WindowDrift>> byStage = new LinkedHashMap<>();
      for (WindowDrift w : report.drift()) {
        byStage.computeIfAbsent(w.stage(), k -> new ArrayList<>()).add(w);
      }
      byStage.forEach(
          (stage, windows) -> {
            if (windows.size() > 1) {
              page.plot(Plots.psiOverTime(stage, windows));
            }
          });
    }
    page.paragraph("The last window of each stage against its baseline:");
    table(page, DRIFT_HEADER, driftRows(report), "No drift results in this period.");

    page.heading(2, "Top failing rules");
    List<RuleFailure> rules = rules(report);
    if (page.plots() && !rules.isEmpty()) {
      page.plot(Plots.ruleRates(rules));
    }
    table(
        page,
        RULE_HEADER,
        rules.stream().map(Sections::ruleRow).toList(),
        "No rule failures in this period.");
    for (RuleFailure f : rules) {
      List<ExampleRecord> examples = examples(report, f);
      if (examples.isEmpty()) {
        continue;
      }
      page.heading(3, "Examples: " + f.ruleId() + " on " + f.stage());
      table(
          page,
          List.of("Record", "Source", "Value"),
          examples.stream().map(e -> List.of(e.recordId(), e.source(), e.text())).toList(),
          "");
      if (f.failedBySource().size() > 1) {
        page.paragraph(
            "Failures by source: "
                + String.join(
                    ", ",
                    f.failedBySource().entrySet().stream()
                        .limit(5)
                        .map(e -> e.getKey() + " " + Text.count(e.getValue()))
                        .toList())
                + ".");
      }
    }

    page.heading(2, "Anomalies");
    table(page, ANOMALY_HEADER, anomalyRows(report), "No anomalies in this period.");
  }

  /** A table, or the sentence {@code none} (if not empty) when there is no row. */
  private static void table(Page page, List<String> header, List<List<String>> rows, String none) {
    if (!rows.isEmpty()) {
      page.table(header, rows);
    } else if (!none.isEmpty()) {
      page.paragraph(none);
    }
  }

  /** The scores of each stage, in window order. */
  static Map<String, List<QualityScores>> scoresByStage(QualityReport report) {
    Map<String, List<QualityScores>> byStage = new LinkedHashMap<>();
    for (QualityScores s : report.scores()) {
      byStage.computeIfAbsent(s.stage(), k -> new ArrayList<>()).add(s);
    }
    return byStage;
  }

  /** The last window's scores of each stage. */
  static List<List<String>> scoreRows(QualityReport report) {
    List<List<String>> rows = new ArrayList<>();
    scoresByStage(report)
        .forEach(
            (stage, list) -> {
              QualityScores last = list.get(list.size() - 1);
              List<String> row = new ArrayList<>();
              row.add(stage);
              row.add(Text.time(last.end()));
              row.add(Text.score(last.overall().orElse(Double.NaN)));
              for (Dimension d : Dimension.values()) {
                row.add(Text.score(last.score(d).orElse(Double.NaN)));
              }
              rows.add(row);
            });
    return rows;
  }

  /** The fields of each stage's last window. */
  static List<List<String>> driftRows(QualityReport report) {
    List<List<String>> rows = new ArrayList<>();
    for (WindowDrift w : Insights.latestPerStage(report.drift()).values()) {
      for (FieldDrift f : w.fields()) {
        rows.add(
            List.of(
                w.stage(),
                f.field(),
                Text.clock(w.start()) + "–" + Text.clock(w.end()),
                f.level().name().toLowerCase(java.util.Locale.ROOT),
                Text.number(f.psi()),
                Text.number(f.lengthPsi()),
                f.test(),
                Text.number(f.pValue()),
                Text.percent(f.baselineNullRate()) + " → " + Text.percent(f.windowNullRate()),
                f.decidedBy()));
      }
    }
    return rows;
  }

  /** The rules shown, highest failure rate first. */
  static List<RuleFailure> rules(QualityReport report) {
    List<RuleFailure> all = report.ruleFailures();
    return all.subList(0, Math.min(RULES, all.size()));
  }

  static List<String> ruleRow(RuleFailure f) {
    String top =
        f.failedBySource().entrySet().stream()
            .findFirst()
            .map(e -> e.getKey() + " (" + Text.percent((double) e.getValue() / f.failed()) + ")")
            .orElse("");
    return List.of(
        f.ruleId(),
        f.stage(),
        Text.count(f.failed()),
        Text.count(f.checked()),
        Text.percent(f.failureRate()),
        Text.time(f.since()),
        top);
  }

  /** The examples shown for a rule. */
  static List<ExampleRecord> examples(QualityReport report, RuleFailure f) {
    return f.examples().subList(0, Math.min(report.examplesPerRule(), f.examples().size()));
  }

  /** The last anomalies, newest first. */
  static List<List<String>> anomalyRows(QualityReport report) {
    List<Anomaly> all = report.anomalies();
    List<List<String>> rows = new ArrayList<>();
    for (int i = all.size() - 1; i >= Math.max(0, all.size() - ANOMALIES); i--) {
      Anomaly a = all.get(i);
      rows.add(
          List.of(
              Text.time(a.at()),
              a.stage(),
              a.metric(),
              Text.number(a.value()),
              Text.number(a.mean()) + " ± " + Text.number(a.deviation()),
              Text.score(a.zScore()),
              a.check() == Anomaly.Check.Z_SCORE ? "z-score" : "rate of change"));
    }
    return rows;
  }
}
