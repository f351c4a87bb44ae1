package dev.pipeline.metrics;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

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
 */
public record PipelineMetrics(
    String pipeline,
    Instant takenAt,
    List<StageMetrics> stages,
    long ingested,
    long duplicates,
    long published,
    long filtered,
    long deadLettered) {

  /** Copies the stage list. */
  public PipelineMetrics {
    stages = List.copyOf(stages);
  }

  /**
   * The metrics of one stage.
   *
   * @throws IllegalArgumentException if the pipeline has no such stage
   */
  public StageMetrics stage(String name) {
    for (StageMetrics s : stages) {
      if (s.stage().equals(name)) {
        return s;
      }
    }
    throw new IllegalArgumentException("pipeline '" + pipeline + "' has no stage '" + name + "'");
  }

  /** The stage whose workers are busiest, if any stage has run. */
  public Optional<StageMetrics> bottleneck() {
    return stages.stream()
        .filter(s -> s.recordsIn() > 0)
        .max(Comparator.comparingDouble(StageMetrics::utilization));
  }

  /** Records in flight: ingested and not yet in a terminal state. */
  public long inFlight() {
    return ingested - published - filtered - deadLettered;
  }

  /** A multi-line table of the stages, for logs and consoles. */
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
    for (StageMetrics s : stages) {
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
