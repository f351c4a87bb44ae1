package dev.pipeline.quality.report;

import dev.pipeline.quality.drift.Anomaly;
import dev.pipeline.quality.drift.DriftLevel;
import dev.pipeline.quality.drift.FieldDrift;
import dev.pipeline.quality.drift.WindowDrift;
import dev.pipeline.quality.score.Dimension;
import dev.pipeline.quality.score.QualityScores;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The insights of a report: plain sentences, most urgent first, each naming what failed, where,
 * since when, how much, and what to look at. Bounded: at most {@value #RULES} rules, {@value
 * #ANOMALIES} anomalies, and one drift and one score sentence per stage and field.
 */
final class Insights {

  static final int RULES = 5;
  static final int ANOMALIES = 5;

  /** The longest example text quoted in a sentence. */
  static final int EXAMPLE_CHARS = 160;

  /** A dimension scoring below this in a stage's last window is mentioned. */
  static final double LOW_SCORE = 95;

  private Insights() {}

  static List<String> of(QualityReport report) {
    List<String> out = new ArrayList<>();
    report.ruleFailures().stream()
        .filter(f -> f.failed() > 0)
        .limit(RULES)
        .forEach(f -> out.add(rule(f, report.examplesPerRule())));
    for (WindowDrift window : latestPerStage(report.drift()).values()) {
      for (DriftLevel level : List.of(DriftLevel.ALERT, DriftLevel.WARN)) {
        for (FieldDrift field : window.fields()) {
          if (field.level() == level) {
            out.add(drift(window, field));
          }
        }
      }
    }
    List<Anomaly> anomalies = report.anomalies();
    for (Anomaly a :
        anomalies.subList(Math.max(0, anomalies.size() - ANOMALIES), anomalies.size())) {
      out.add(
          "Anomaly at "
              + Text.clock(a.at())
              + " UTC: "
              + a.describe()
              + ". Look at the stage's input and errors around then.");
    }
    out.addAll(lowScores(report.scores()));
    if (out.isEmpty()) {
      out.add("No rule failed, no field drifted and no metric left its range in this period.");
    }
    return List.copyOf(out);
  }

  private static String rule(RuleFailure f, int examplesShown) {
    StringBuilder s =
        new StringBuilder("Rule ")
            .append(f.ruleId())
            .append(" failed ")
            .append(Text.percent(f.failureRate()))
            .append(" of ")
            .append(f.stage())
            .append("'s output since ")
            .append(Text.clock(f.since()))
            .append(" UTC (")
            .append(Text.count(f.failed()))
            .append(" of ")
            .append(Text.count(f.checked()))
            .append(" records)");
    Map.Entry<String, Long> top = f.failedBySource().entrySet().stream().findFirst().orElse(null);
    if (top != null) {
      s.append("; ")
          .append(Text.percent((double) top.getValue() / f.failed()))
          .append(" from source ")
          .append(top.getKey());
    }
    int examples = Math.min(examplesShown, f.examples().size());
    if (examples > 0) {
      s.append("; ").append(examples).append(examples == 1 ? " example" : " examples");
    }
    s.append('.');
    if (examples > 0) {
      ExampleRecord first = f.examples().get(0);
      s.append(" E.g. record ")
          .append(first.recordId())
          .append(": ")
          .append(Text.clip(first.text(), EXAMPLE_CHARS))
          .append('.');
    }
    return s.append(' ').append(action(f, top)).toString();
  }

  /** What to do first: the source most failures come from, or the stage's input and the rule. */
  private static String action(RuleFailure f, Map.@Nullable Entry<String, Long> top) {
    if (top != null && top.getValue() * 2 > f.failed()) {
      return "Check source "
          + top.getKey()
          + " first: most failures come from it. If its data is right, the rule is too strict:"
          + " change it in validation_rules (every version is kept).";
    }
    return "Failures come from many sources: check what "
        + f.stage()
        + " receives, or if the rule is too strict, change it in validation_rules (every version"
        + " is kept).";
  }

  private static String drift(WindowDrift window, FieldDrift field) {
    return String.format(
        Locale.ROOT,
        "Field %s of %s drifted (%s) in the window %s–%s UTC: PSI %s, %s p-value %s, null rate %s →"
            + " %s. Check what feeds %s; if the change is expected, pin a new baseline.",
        field.field(),
        window.stage(),
        field.level().name().toLowerCase(Locale.ROOT),
        Text.clock(window.start()),
        Text.clock(window.end()),
        Text.number(field.psi()),
        field.test(),
        Text.number(field.pValue()),
        Text.percent(field.baselineNullRate()),
        Text.percent(field.windowNullRate()),
        window.stage());
  }

  private static List<String> lowScores(List<QualityScores> scores) {
    Map<String, List<QualityScores>> byStage = new LinkedHashMap<>();
    for (QualityScores s : scores) {
      byStage.computeIfAbsent(s.stage(), k -> new ArrayList<>()).add(s);
    }
    List<String> out = new ArrayList<>();
    byStage.forEach(
        (stage, list) -> {
          QualityScores last = list.get(list.size() - 1);
          QualityScores before = list.size() > 1 ? list.get(list.size() - 2) : null;
          Dimension worst = null;
          for (Map.Entry<Dimension, Double> e : last.scores().entrySet()) {
            if (worst == null || e.getValue() < last.scores().get(worst)) {
              worst = e.getKey();
            }
          }
          if (worst == null || last.scores().get(worst) >= LOW_SCORE) {
            return;
          }
          double score = last.scores().get(worst);
          StringBuilder s =
              new StringBuilder(name(worst))
                  .append(" of ")
                  .append(stage)
                  .append(" scored ")
                  .append(Text.score(score))
                  .append(" in the window ending ")
                  .append(Text.clock(last.end()))
                  .append(" UTC");
          if (before != null && before.scores().containsKey(worst)) {
            double was = before.scores().get(worst);
            if (was != score) {
              s.append(was > score ? ", down from " : ", up from ").append(Text.score(was));
            }
          }
          out.add(s.append(": see the rules of that dimension above.").toString());
        });
    return out;
  }

  static String name(Dimension d) {
    String lower = d.name().toLowerCase(Locale.ROOT);
    return Character.toUpperCase(lower.charAt(0)) + lower.substring(1);
  }

  /** The last window of each stage, in the order stages first appear. */
  static Map<String, WindowDrift> latestPerStage(List<WindowDrift> drift) {
    Map<String, WindowDrift> latest = new LinkedHashMap<>();
    for (WindowDrift w : drift) {
      latest.merge(w.stage(), w, (a, b) -> b.end().isBefore(a.end()) ? a : b);
    }
    return latest;
  }
}
