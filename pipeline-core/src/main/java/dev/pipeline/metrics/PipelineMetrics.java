package dev.pipeline.metrics;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A snapshot of a pipeline's metrics: per stage, and the totals of its records.
 *
 * @param pipeline the pipeline's name
 * @param takenAt when the snapshot was taken
 * @param stages every stage, in pipeline order
 * @param ingested records read from sources and accepted (duplicates excluded)
 * @param duplicates records rejected at ingestion because their id was already known
 * @param published records handed to the sink
 * @param filtered records dropped on purpose
 * @param deadLettered records in the dead letter queue
 * @param referenceData each reference data cache of the pipeline, in the order declared; its
 *     numbers count since the pipeline was built, not since the run started
 * @param routes each route stage (routing by data), in pipeline order, with its counts per branch;
 *     like reference data's, they count since the pipeline was built
 * @param sink the sink as a stage ({@value StageWindow#SINK}): records handed to it, its calls'
 *     latencies and its utilization; null if the pipeline has no sink
 * @param store the store as a stage ({@value StageWindow#STORE}): records written on the record
 *     path (ingestion, checkpoints, endings, deliveries, parking), latencies per call, and as
 *     utilization the share of the run with a store call under way; null before a run
 * @param telemetryDropped audit trail lines and metrics windows dropped since the pipeline was
 *     built, because their buffer was full or the store failed to write them
 * @param branchSinks the sink of each route branch that ends at one, as a stage named {@code
 *     <route>/<branch>/sink} ({@code StageName.branchSink}): records handed to it, its calls'
 *     latencies, retries, records parked and held, its circuit; in pipeline and branch order
 */
public record PipelineMetrics(
    String pipeline,
    Instant takenAt,
    List<StageMetrics> stages,
    long ingested,
    long duplicates,
    long published,
    long filtered,
    long deadLettered,
    List<ReferenceDataMetrics> referenceData,
    List<RouteMetrics> routes,
    @Nullable StageMetrics sink,
    @Nullable StageMetrics store,
    long telemetryDropped,
    List<StageMetrics> branchSinks) {

  /** Copies the lists. */
  public PipelineMetrics {
    stages = List.copyOf(stages);
    referenceData = List.copyOf(referenceData);
    routes = List.copyOf(routes);
    branchSinks = List.copyOf(branchSinks);
  }

  /** A snapshot of a pipeline without route branches that end at sinks. */
  public PipelineMetrics(
      String pipeline,
      Instant takenAt,
      List<StageMetrics> stages,
      long ingested,
      long duplicates,
      long published,
      long filtered,
      long deadLettered,
      List<ReferenceDataMetrics> referenceData,
      List<RouteMetrics> routes,
      @Nullable StageMetrics sink,
      @Nullable StageMetrics store,
      long telemetryDropped) {
    this(
        pipeline,
        takenAt,
        stages,
        ingested,
        duplicates,
        published,
        filtered,
        deadLettered,
        referenceData,
        routes,
        sink,
        store,
        telemetryDropped,
        List.of());
  }

  /**
   * A snapshot of a pipeline's stages and counts alone: no reference data, route stages, sink or
   * store metrics, nothing dropped by the telemetry writer.
   */
  public PipelineMetrics(
      String pipeline,
      Instant takenAt,
      List<StageMetrics> stages,
      long ingested,
      long duplicates,
      long published,
      long filtered,
      long deadLettered) {
    this(
        pipeline,
        takenAt,
        stages,
        ingested,
        duplicates,
        published,
        filtered,
        deadLettered,
        List.of(),
        List.of(),
        null,
        null,
        0,
        List.of());
  }

  /**
   * The counts of one route stage.
   *
   * @throws IllegalArgumentException if the pipeline has no route stage of that name
   */
  public RouteMetrics route(String stage) {
    for (RouteMetrics r : routes) {
      if (r.stage().equals(stage)) {
        return r;
      }
    }
    throw new IllegalArgumentException(
        "pipeline '" + pipeline + "' has no route stage '" + stage + "'");
  }

  /**
   * The metrics of one stage, of the sink ({@value StageWindow#SINK}), of a route branch's sink
   * ({@code <route>/<branch>/sink}) or of the store ({@value StageWindow#STORE}).
   *
   * @throws IllegalArgumentException if the pipeline has no such stage
   */
  public StageMetrics stage(String name) {
    for (StageMetrics s : all()) {
      if (s.stage().equals(name)) {
        return s;
      }
    }
    throw new IllegalArgumentException("pipeline '" + pipeline + "' has no stage '" + name + "'");
  }

  /**
   * The metrics of one reference data cache.
   *
   * @throws IllegalArgumentException if the pipeline declares no reference data of that name
   */
  public ReferenceDataMetrics referenceData(String name) {
    for (ReferenceDataMetrics r : referenceData) {
      if (r.name().equals(name)) {
        return r;
      }
    }
    throw new IllegalArgumentException(
        "pipeline '" + pipeline + "' has no reference data '" + name + "'");
  }

  /**
   * What limited the run: the busiest of the stages, the sinks and the store (by {@link
   * StageMetrics#utilization()}), if any of them has run.
   */
  public Optional<StageMetrics> bottleneck() {
    return all().stream()
        .filter(s -> s.recordsIn() > 0)
        .max(Comparator.comparingDouble(StageMetrics::utilization));
  }

  /**
   * Every stage of the report: the stages in pipeline order, then the sink, the route branches'
   * sinks ({@link #branchSinks()}) and the store, each if known. What {@link #bottleneck()} chooses
   * from and {@link #table()} lists; dashboards show the same.
   */
  public List<StageMetrics> all() {
    if (sink == null && store == null && branchSinks.isEmpty()) {
      return stages;
    }
    List<StageMetrics> all = new ArrayList<>(stages);
    if (sink != null) {
      all.add(sink);
    }
    all.addAll(branchSinks);
    if (store != null) {
      all.add(store);
    }
    return all;
  }

  /** Records in flight: ingested and not yet in a terminal state. */
  public long inFlight() {
    return ingested - published - filtered - deadLettered;
  }

  /**
   * A multi-line table of the stages, for logs and consoles, then one of the reference data caches
   * if there are any.
   */
  public String table() {
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            "%-14s %10s %10s %9s %9s %8s %9s %9s %9s %11s %9s %6s%n",
            "stage",
            "in",
            "passed",
            "filtered",
            "failed",
            "retries",
            "p50",
            "p95",
            "p99",
            "records/s",
            "MB/s",
            "busy"));
    for (StageMetrics s : all()) {
      out.append(
          String.format(
              "%-14s %10d %10d %9d %9d %8d %9s %9s %9s %11.0f %9.2f %5.0f%%%n",
              s.stage(),
              s.recordsIn(),
              s.passed(),
              s.filtered(),
              s.failed(),
              s.retries(),
              human(s.p50()),
              human(s.p95()),
              human(s.p99()),
              s.recordsPerSecond(),
              s.bytesPerSecond() / 1_000_000.0,
              s.utilization() * 100));
    }
    if (!referenceData.isEmpty()) {
      out.append(
          String.format(
              "%-20s %9s %10s %9s %8s %8s %8s %9s %9s %10s%n",
              "reference data",
              "size",
              "hits",
              "misses",
              "hit rate",
              "loads",
              "failed",
              "refreshes",
              "load time",
              "evictions"));
      for (ReferenceDataMetrics r : referenceData) {
        out.append(
            String.format(
                "%-20s %9d %10d %9d %7.1f%% %8d %8d %9d %9s %10d%n",
                r.name(),
                r.size(),
                r.hits(),
                r.misses(),
                r.hitRate() * 100,
                r.loads(),
                r.loadFailures(),
                r.refreshes(),
                human(r.loadTime()),
                r.evictions()));
      }
    }
    return out.toString();
  }

  private static String human(Duration d) {
    long nanos = d.toNanos();
    if (nanos < 10_000) {
      return nanos + "ns";
    }
    if (nanos < 10_000_000) {
      return (nanos / 1_000) + "us";
    }
    return (nanos / 1_000_000) + "ms";
  }
}
