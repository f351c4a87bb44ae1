package dev.pipeline.examples.app;

import dev.pipeline.dashboard.QualitySource;
import dev.pipeline.quality.GateCounts;
import dev.pipeline.quality.QualityGate;
import dev.pipeline.quality.drift.Anomaly;
import dev.pipeline.quality.drift.DriftLevel;
import dev.pipeline.quality.drift.FieldDrift;
import dev.pipeline.quality.drift.WindowDrift;
import dev.pipeline.quality.score.Dimension;
import dev.pipeline.quality.score.QualityScores;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.jspecify.annotations.Nullable;

/**
 * What {@code --dashboard} shows on its quality page: the validation stage's gate ({@link
 * ListingRules}), and, from the {@link QualityWatch}, the scores of each window and the drift and
 * anomalies found. Thread-safe: it reads the gate's and the watch's thread-safe snapshots.
 */
final class DashboardQuality implements QualitySource {
  private final String pipeline;
  private final String stage;
  private final QualityGate<?> gate;
  private final QualityWatch watch;

  DashboardQuality(String pipeline, String stage, QualityGate<?> gate, QualityWatch watch) {
    this.pipeline = pipeline;
    this.stage = stage;
    this.gate = gate;
    this.watch = watch;
  }

  @Override
  public Snapshot quality(String name) {
    if (!name.equals(pipeline)) {
      return Snapshot.EMPTY;
    }
    GateCounts c = gate.counts();
    Gate validation =
        new Gate(
            stage,
            GateState.valueOf(gate.state().name()),
            c.records(),
            c.tagged(),
            c.filtered(),
            c.deadLettered(),
            c.failuresByRule(),
            true);
    List<Score> scores = new ArrayList<>();
    for (QualityScores s : watch.scores()) {
      scores.add(score(s));
    }
    List<Finding> findings = new ArrayList<>();
    for (WindowDrift window : watch.drift()) {
      for (FieldDrift field : window.fields()) {
        if (field.level() == DriftLevel.WARN || field.level() == DriftLevel.ALERT) {
          findings.add(
              new Finding(
                  window.end(),
                  window.stage(),
                  field.level() == DriftLevel.ALERT ? Severity.ALERT : Severity.WARN,
                  "drift of " + field.describe()));
        }
      }
    }
    for (Anomaly a : watch.anomalies()) {
      findings.add(new Finding(a.at(), a.stage(), Severity.WARN, "anomaly: " + a.describe()));
    }
    findings.sort(Comparator.comparing(Finding::at));
    return new Snapshot(List.of(validation), scores, findings);
  }

  private static Score score(QualityScores s) {
    Map<String, Double> byDimension = new LinkedHashMap<>();
    for (Map.Entry<Dimension, Double> e : s.scores().entrySet()) {
      byDimension.put(e.getKey().name(), e.getValue());
    }
    OptionalDouble overall = s.overall();
    @Nullable Double total = overall.isPresent() ? overall.getAsDouble() : null;
    return new Score(s.stage(), s.end(), byDimension, total);
  }

  @Override
  public boolean reopen(String name, String stageName, String by) {
    if (!name.equals(pipeline) || !stageName.equals(stage)) {
      return false;
    }
    gate.reopen(by);
    return true;
  }
}
