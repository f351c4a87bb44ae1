package dev.pipeline.metrics;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What one stage did in one window of time: a row of a pipeline's metrics history. The engine takes
 * one per stage per window (ten seconds unless set with {@code
 * PipelineBuilder.metricsWindow(Duration)}), for the pipeline's stages, the sink ({@value #SINK})
 * and the store ({@value #STORE}), on the pipeline's clock.
 *
 * <p>Counts are of the window alone; percentiles are of the calls that ended in it; the queue depth
 * and circuit state are as they were at its end.
 *
 * @param pipeline the pipeline's name
 * @param stage the stage's name, {@value #SINK} or {@value #STORE}
 * @param start the start of the window (inclusive)
 * @param end the end of the window (exclusive), when the snapshot was taken
 * @param recordsIn records that entered the stage (for the store: records written)
 * @param passed records it passed on (for the store: calls made)
 * @param filtered records it dropped on purpose
 * @param failed records it sent to the dead letter queue
 * @param retries retried attempts
 * @param p50 median time of a call per record (the store: per call)
 * @param p95 95th percentile
 * @param p99 99th percentile
 * @param recordsPerSecond records passed per second of the window
 * @param bytesPerSecond payload bytes passed per second of the window
 * @param queueDepth records waiting in front of the stage at the end of the window
 * @param utilization the share of its workers' time spent in calls, 0 to 1 (the store: of the
 *     window with a store call under way)
 * @param busy the time its workers spent in calls (the store: with a call under way)
 * @param circuit its circuit's state at the end of the window ({@code CLOSED}, {@code OPEN}, {@code
 *     HALF_OPEN}), or null if it has none
 * @param cpuTime the CPU time its threads used, estimated by sampling; null when resource sampling
 *     is off or unavailable
 * @param allocatedBytes bytes its threads allocated, estimated by sampling; -1 when resource
 *     sampling is off or unavailable
 * @param scores the data quality scores of the records it checked, for a stage with a {@link
 *     WindowScorer} (a quality gate); null for other stages, and for windows in which the stage
 *     scored nothing
 */
public record StageWindow(
    String pipeline,
    String stage,
    Instant start,
    Instant end,
    long recordsIn,
    long passed,
    long filtered,
    long failed,
    long retries,
    Duration p50,
    Duration p95,
    Duration p99,
    double recordsPerSecond,
    double bytesPerSecond,
    int queueDepth,
    double utilization,
    Duration busy,
    @Nullable String circuit,
    @Nullable Duration cpuTime,
    long allocatedBytes,
    @Nullable WindowScores scores) {

  /** The name under which the sink's rows are kept. */
  public static final String SINK = "sink";

  /** The name under which the store's rows are kept. */
  public static final String STORE = "store";

  /**
   * Checks the components.
   *
   * @throws NullPointerException if a component other than the circuit, CPU time and scores is null
   * @throws IllegalArgumentException if the window ends before it starts
   */
  public StageWindow {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(start, "start cannot be null");
    Objects.requireNonNull(end, "end cannot be null");
    Objects.requireNonNull(p50, "p50 cannot be null");
    Objects.requireNonNull(p95, "p95 cannot be null");
    Objects.requireNonNull(p99, "p99 cannot be null");
    Objects.requireNonNull(busy, "busy cannot be null");
    if (end.isBefore(start)) {
      throw new IllegalArgumentException("window end " + end + " is before its start " + start);
    }
  }

  /** The window's length. */
  public Duration length() {
    return Duration.between(start, end);
  }

  /**
   * The CPU the stage used in the window, in cores (1.0 is one core busy the whole window); -1 when
   * not measured.
   */
  public double cpuUsage() {
    long nanos = length().toNanos();
    return cpuTime == null || nanos <= 0 ? -1 : cpuTime.toNanos() / (double) nanos;
  }
}
