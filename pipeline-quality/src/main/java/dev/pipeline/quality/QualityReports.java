package dev.pipeline.quality;

import dev.pipeline.Pipeline;
import dev.pipeline.StageName;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.quality.report.QualityReport;
import dev.pipeline.quality.score.QualityScores;
import java.time.Instant;
import java.util.Objects;

/**
 * A pipeline's quality report for a period, in one call: the scores its quality gates left in the
 * metrics history (read through {@link Pipeline#metricsHistory}, so from the store after a
 * restart), and each gate's rule failures with their sources and example records.
 *
 * <pre>{@code
 * QualityReport report = QualityReports.of(pipeline, since, Instant.now(), gate);
 * Files.writeString(Path.of("quality.html"), report.toHtml());
 * }</pre>
 *
 * Drift and anomalies are added through {@link #builder}:
 *
 * <pre>{@code
 * QualityReports.builder(pipeline, since, now, gate).drift(monitor.results()).build();
 * }</pre>
 */
public final class QualityReports {
  private QualityReports() {}

  /**
   * The report of {@code pipeline} from {@code from} to {@code to}: scores of the windows that
   * ended in it, and the rule failures of {@code gates} in it.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code from} is after {@code to}
   */
  public static QualityReport of(
      Pipeline<?, ?> pipeline, Instant from, Instant to, QualityGate<?>... gates) {
    return builder(pipeline, from, to, gates).build();
  }

  /**
   * A report builder holding what {@link #of} reports, to add drift results and anomalies to.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code from} is after {@code to}
   */
  public static QualityReport.Builder builder(
      Pipeline<?, ?> pipeline, Instant from, Instant to, QualityGate<?>... gates) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    QualityReport.Builder report = QualityReport.builder(pipeline.name(), from, to);
    for (StageName stage : pipeline.stages()) {
      for (StageWindow w : pipeline.metricsHistory(stage, from, to)) {
        QualityScores.of(w).ifPresent(s -> report.scores(java.util.List.of(s)));
      }
    }
    for (QualityGate<?> gate : gates) {
      Objects.requireNonNull(gate, "gates cannot hold null");
      report.ruleFailures(gate.ruleFailures(from, to));
    }
    return report;
  }
}
