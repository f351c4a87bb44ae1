package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineClock;
import dev.pipeline.store.spi.HeldLeases;
import dev.pipeline.store.spi.RecordLedger;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/** What the pages read: the pipelines, their history, the clock and the thresholds. */
final class Board {
  /** How long records in flight may go without one finishing before a pipeline is "stalled". */
  static final Duration STALL_AFTER = Duration.ofSeconds(60);

  /** The window over which a growing dead letter queue is reported. */
  static final Duration GROWTH_WINDOW = Duration.ofSeconds(60);

  private final Map<String, Pipeline<?, ?>> pipelines = new LinkedHashMap<>();
  private final MetricsHistorySource history;
  private final MetricsSampler sampler;
  private final PipelineClock clock;
  private final @Nullable QualitySource quality;

  Board(
      List<Pipeline<?, ?>> pipelines,
      MetricsHistorySource history,
      MetricsSampler sampler,
      PipelineClock clock,
      @Nullable QualitySource quality) {
    for (Pipeline<?, ?> pipeline : pipelines) {
      this.pipelines.put(pipeline.name(), pipeline);
    }
    this.history = history;
    this.sampler = sampler;
    this.clock = clock;
    this.quality = quality;
  }

  List<Pipeline<?, ?>> pipelines() {
    return List.copyOf(pipelines.values());
  }

  /** The pipeline of that name. */
  Pipeline<?, ?> pipeline(String name) {
    Pipeline<?, ?> pipeline = pipelines.get(name);
    if (pipeline == null) {
      throw new BadRequestException(404, "no pipeline of that name is on this dashboard");
    }
    return pipeline;
  }

  /** The pipeline named by the parameter, or the first one if it is absent. */
  Pipeline<?, ?> pipeline(Params params) {
    String name = params.get("pipeline");
    if (name == null) {
      if (pipelines.isEmpty()) {
        throw new BadRequestException(404, "no pipeline is registered with this dashboard");
      }
      return pipelines.values().iterator().next();
    }
    return pipeline(name);
  }

  MetricsHistorySource history() {
    return history;
  }

  MetricsSampler sampler() {
    return sampler;
  }

  /** The host's quality source, or null if it gave none. */
  @Nullable QualitySource quality() {
    return quality;
  }

  Instant now() {
    return clock.now();
  }

  /** The last point of a stage, or null if none is known yet. */
  @Nullable StagePoint lastPoint(String pipeline, String stage) {
    List<StagePoint> points = history.stageHistory(pipeline, stage, now().minus(STALL_AFTER));
    return points.isEmpty() ? null : points.get(points.size() - 1);
  }

  /** Leases other workers hold on the pipeline's records, if its store reports them. */
  static List<HeldLeases> leases(Pipeline<?, ?> pipeline) {
    if (pipeline.store() instanceof RecordLedger ledger) {
      return ledger.leasesHeldElsewhere(pipeline.name());
    }
    return List.of();
  }

  /** When the first parked retry is due, if the store has a retry queue and it holds any. */
  static Optional<Instant> retryDue(Pipeline<?, ?> pipeline) {
    if (pipeline.store() instanceof RecordLedger ledger && ledger.hasRetryQueue()) {
      return ledger.nextDue(pipeline.name());
    }
    return Optional.empty();
  }
}
