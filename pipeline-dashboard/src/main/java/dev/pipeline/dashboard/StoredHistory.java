package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineClock;
import dev.pipeline.SafeText;
import dev.pipeline.StageName;
import dev.pipeline.metrics.StageWindow;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The charts' default source: each pipeline's metrics history from its store ({@link
 * Pipeline#metricsHistory}, kept unless the pipeline was built without it) up to the dashboard's
 * own first sample, then the in-memory sampler's finer points: the charts span runs and restarts of
 * the dashboard, and move at the sampler's pace while it runs. Only the sampler's points where the
 * store holds none for the stage (a pipeline built with {@code metricsHistory(false)}) or cannot be
 * read.
 *
 * <p>Thread-safe.
 */
final class StoredHistory implements MetricsHistorySource {
  private static final Logger log = LoggerFactory.getLogger(StoredHistory.class);

  private final Map<String, Pipeline<?, ?>> pipelines = new ConcurrentHashMap<>();
  private final MetricsHistorySource fallback;
  private final PipelineClock clock;

  StoredHistory(
      List<Pipeline<?, ?>> pipelines, MetricsHistorySource fallback, PipelineClock clock) {
    for (Pipeline<?, ?> p : pipelines) {
      this.pipelines.put(p.name(), p);
    }
    this.fallback = fallback;
    this.clock = clock;
  }

  @Override
  public List<StagePoint> stageHistory(String pipeline, String stage, Instant since) {
    Pipeline<?, ?> p = pipelines.get(pipeline);
    if (p == null) {
      return List.of();
    }
    List<StagePoint> sampled = fallback.stageHistory(pipeline, stage, since);
    List<StageWindow> windows;
    try {
      // windows that end at or after since, up to a moment from now (the store's range is
      // exclusive at its end)
      windows = p.metricsHistory(StageName.of(stage), since, clock.now().plusSeconds(1));
    } catch (RuntimeException e) {
      log.debug(
          "metrics history of {} / {} unreadable; charting the sampler's: {}",
          SafeText.loggable(pipeline),
          SafeText.loggable(stage),
          SafeText.stackTrace(e));
      return sampled;
    }
    Instant sampledFrom = sampled.isEmpty() ? Instant.MAX : sampled.get(0).at();
    List<StagePoint> points = new ArrayList<>(windows.size() + sampled.size());
    for (StageWindow w : windows) {
      if (!w.end().isBefore(sampledFrom)) {
        break; // the sampler's points are finer from here on
      }
      Duration length = Duration.between(w.start(), w.end());
      if (length.isNegative() || length.isZero()) {
        continue;
      }
      points.add(
          new StagePoint(
              w.end(),
              length,
              w.recordsIn(),
              w.passed(),
              w.failed(),
              w.failed() + w.retries(),
              w.p50(),
              w.p95(),
              w.p99(),
              w.queueDepth(),
              w.utilization()));
    }
    points.addAll(sampled);
    return points;
  }
}
