package dev.pipeline.metrics;

import java.time.Duration;
import java.util.Map;

/**
 * A snapshot of one stage's metrics since the pipeline was built.
 *
 * @param stage the stage's name
 * @param concurrency its workers
 * @param recordsIn records that entered it
 * @param passed records it passed on (to the next stage or the sink)
 * @param filtered records it dropped on purpose
 * @param failed records it sent to the dead letter queue
 * @param retries retried attempts
 * @param errorsByType errors by exception simple name, retried ones included
 * @param p50 median time of one call per record (a batch call's time is shared by its records)
 * @param p95 95th percentile
 * @param p99 99th percentile
 * @param max slowest call
 * @param recordsPerSecond records passed per second of the stage's active time (first record in to
 *     last record out)
 * @param bytesPerSecond payload bytes passed per second, as the pipeline's size estimate measures
 *     them; 0 when payloads have no size estimate
 * @param bytesOut payload bytes passed
 * @param queueDepth records waiting in front of the stage now
 * @param utilization the fraction of its workers' time spent in calls, 0 to 1: near 1 for the
 *     bottleneck
 * @param resilience its circuit, rate limit, batch size and retry outcomes
 */
public record StageMetrics(
    String stage,
    int concurrency,
    long recordsIn,
    long passed,
    long filtered,
    long failed,
    long retries,
    Map<String, Long> errorsByType,
    Duration p50,
    Duration p95,
    Duration p99,
    Duration max,
    double recordsPerSecond,
    double bytesPerSecond,
    long bytesOut,
    int queueDepth,
    double utilization,
    ResilienceMetrics resilience) {

  /** Copies the error map. */
  public StageMetrics {
    errorsByType = Map.copyOf(errorsByType);
  }

  /** All errors of all types. */
  public long errors() {
    return errorsByType.values().stream().mapToLong(Long::longValue).sum();
  }
}
