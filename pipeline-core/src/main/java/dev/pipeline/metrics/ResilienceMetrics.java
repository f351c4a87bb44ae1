package dev.pipeline.metrics;

import dev.pipeline.resilience.CircuitBreaker;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A stage's resilience at the moment of the snapshot, and what its policies did so far in the run.
 *
 * @param circuit the state of its circuit breaker, or null if it has none
 * @param ratePerSecond the rate its token bucket allows now (adaptive buckets move it); infinite if
 *     it has none
 * @param batchSize the batch size its workers take now (an adaptive batch size moves it)
 * @param batchSplits times a failed batch call was halved to isolate the records that failed it
 * @param parked records parked in the store's retry queue (long retries and held records)
 * @param held of those, records held because the circuit was open
 * @param degraded records passed on by a skip or function fallback
 * @param retriesByErrorType by error type (simple class name), how the records that met it ended
 */
public record ResilienceMetrics(
    CircuitBreaker.@Nullable State circuit,
    double ratePerSecond,
    int batchSize,
    long batchSplits,
    long parked,
    long held,
    long degraded,
    Map<String, RetryStats> retriesByErrorType) {

  /** Copies the map. */
  public ResilienceMetrics {
    retriesByErrorType = Map.copyOf(retriesByErrorType);
  }

  /** Records that passed after retrying, of all that met errors here; 0 if none did. */
  public double retrySuccessRate() {
    long recovered = 0;
    long all = 0;
    for (RetryStats stats : retriesByErrorType.values()) {
      recovered += stats.recovered();
      all += stats.recovered() + stats.exhausted();
    }
    return all == 0 ? 0 : (double) recovered / all;
  }
}
