package dev.pipeline.quality.report;

import dev.pipeline.quality.drift.Anomaly;
import dev.pipeline.quality.drift.FieldDrift;
import dev.pipeline.quality.drift.WindowDrift;
import dev.pipeline.quality.score.QualityScores;

/**
 * The scores, drift results and anomalies a report is given, with their names (stages, fields,
 * metrics, tests) cut to {@link Text#MAX_NAME_CHARS} as {@link RuleFailure} cuts its own: each name
 * is written into table cells, plot labels and insights, so that a huge one would make the report
 * as many times huge. An entry whose names are short is returned as it is.
 */
final class Names {
  private Names() {}

  static QualityScores of(QualityScores s) {
    return fits(s.stage()) ? s : new QualityScores(cut(s.stage()), s.start(), s.end(), s.scores());
  }

  static WindowDrift of(WindowDrift w) {
    return new WindowDrift(
        cut(w.stage()),
        w.start(),
        w.end(),
        w.records(),
        w.fields().stream().map(Names::of).toList());
  }

  static FieldDrift of(FieldDrift f) {
    if (fits(f.field()) && fits(f.test()) && fits(f.decidedBy())) {
      return f;
    }
    return new FieldDrift(
        cut(f.field()),
        f.kind(),
        f.baselineValues(),
        f.windowValues(),
        f.psi(),
        f.lengthPsi(),
        cut(f.test()),
        f.statistic(),
        f.pValue(),
        f.baselineNullRate(),
        f.windowNullRate(),
        cut(f.decidedBy()),
        f.level());
  }

  static Anomaly of(Anomaly a) {
    if (fits(a.stage()) && fits(a.metric())) {
      return a;
    }
    return new Anomaly(
        cut(a.stage()),
        cut(a.metric()),
        a.at(),
        a.value(),
        a.mean(),
        a.deviation(),
        a.zScore(),
        a.change(),
        a.check());
  }

  private static boolean fits(String name) {
    return name.length() <= Text.MAX_NAME_CHARS;
  }

  private static String cut(String name) {
    return Text.cut(name, Text.MAX_NAME_CHARS);
  }
}
