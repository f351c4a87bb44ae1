package dev.pipeline;

import dev.pipeline.metrics.QualityReporter;
import java.util.Iterator;
import java.util.ServiceLoader;

/** Finds the {@link QualityReporter} that {@code pipeline-quality} provides. */
final class QualityReporters {
  private QualityReporters() {}

  /**
   * The first reporter on the context class loader's path, else on the core library's own.
   *
   * @throws IllegalStateException if there is none
   */
  static QualityReporter find(String pipeline) {
    Iterator<QualityReporter> found = ServiceLoader.load(QualityReporter.class).iterator();
    if (!found.hasNext()) {
      found =
          ServiceLoader.load(QualityReporter.class, QualityReporter.class.getClassLoader())
              .iterator();
    }
    if (!found.hasNext()) {
      throw new IllegalStateException(
          "pipeline '"
              + pipeline
              + "' cannot make a quality report: add the dev.pipeline:pipeline-quality module,"
              + " which provides it");
    }
    return found.next();
  }
}
