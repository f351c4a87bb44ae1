package dev.pipeline.quality;

import dev.pipeline.Pipeline;
import dev.pipeline.metrics.QualityReporter;
import dev.pipeline.metrics.Report;
import java.time.Instant;
import java.util.List;

/**
 * What {@link Pipeline#qualityReport} calls, found through {@link java.util.ServiceLoader}: the
 * report of {@link QualityReports#of} over the quality gates that are stages of the pipeline or of
 * its routes' branches. Not called by users.
 */
public final class GateReporter implements QualityReporter {

  /** The service's instance; {@link java.util.ServiceLoader} makes it. */
  public GateReporter() {}

  @Override
  public Report report(Pipeline<?, ?> pipeline, List<Object> stages, Instant from, Instant to) {
    QualityGate<?>[] gates =
        stages.stream()
            .filter(QualityGate.class::isInstance)
            .map(QualityGate.class::cast)
            .toArray(QualityGate<?>[]::new);
    return QualityReports.of(pipeline, from, to, gates);
  }
}
