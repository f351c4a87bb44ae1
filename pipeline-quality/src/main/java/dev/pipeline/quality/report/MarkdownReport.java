package dev.pipeline.quality.report;

import java.util.List;
import java.util.Map;

/** Renders a {@link QualityReport} as Markdown; every outside text goes through {@link Text#md}. */
final class MarkdownReport {

  private MarkdownReport() {}

  static String render(QualityReport report) {
    StringBuilder md = new StringBuilder(8192);
    md.append("# Quality report: ").append(Text.md(report.pipeline())).append("\n\n");
    md.append("Period ")
        .append(Text.time(report.from()))
        .append(" to ")
        .append(Text.time(report.to()))
        .append("; generated ")
        .append(Text.time(report.generatedAt()))
        .append(".\n\n## Insights\n\n");
    for (String insight : report.insights()) {
      md.append("- ").append(Text.md(insight)).append('\n');
    }
    md.append("\n## Scores (last window of each stage)\n\n");
    table(md, Sections.SCORE_HEADER, Sections.scoreRows(report), "No scores in this period.");
    md.append("\n## Drift per field (last window of each stage)\n\n");
    table(
        md, Sections.DRIFT_HEADER, Sections.driftRows(report), "No drift results in this period.");
    md.append("\n## Top failing rules\n\n");
    List<RuleFailure> rules = Sections.rules(report);
    table(
        md,
        Sections.RULE_HEADER,
        rules.stream().map(Sections::ruleRow).toList(),
        "No rule failures in this period.");
    for (RuleFailure f : rules) {
      List<ExampleRecord> examples = Sections.examples(report, f);
      if (examples.isEmpty()) {
        continue;
      }
      md.append("\n### Examples: ")
          .append(Text.md(f.ruleId()))
          .append(" on ")
          .append(Text.md(f.stage()))
          .append("\n\n");
      table(
          md,
          List.of("Record", "Source", "Value"),
          examples.stream().map(e -> List.of(e.recordId(), e.source(), e.text())).toList(),
          "");
      if (f.failedBySource().size() > 1) {
        md.append("\nFailures by source: ");
        int shown = 0;
        for (Map.Entry<String, Long> e : f.failedBySource().entrySet()) {
          if (shown++ == 5) {
            break;
          }
          md.append(shown > 1 ? ", " : "")
              .append(Text.md(e.getKey()))
              .append(' ')
              .append(Text.count(e.getValue()));
        }
        md.append(".\n");
      }
    }
    md.append("\n## Anomalies\n\n");
    table(
        md, Sections.ANOMALY_HEADER, Sections.anomalyRows(report), "No anomalies in this period.");
    return md.toString();
  }

  private static void table(
      StringBuilder md, List<String> header, List<List<String>> rows, String none) {
    if (rows.isEmpty()) {
      md.append(none).append('\n');
      return;
    }
    row(md, header);
    md.append('|');
    md.append("---|".repeat(header.size()));
    md.append('\n');
    for (List<String> row : rows) {
      row(md, row);
    }
  }

  private static void row(StringBuilder md, List<String> cells) {
    md.append('|');
    for (String cell : cells) {
      md.append(' ').append(Text.md(cell)).append(" |");
    }
    md.append('\n');
  }
}
