package dev.pipeline.metrics;

import dev.pipeline.resilience.CircuitBreaker;
import java.time.Duration;
import java.util.Objects;

/**
 * A snapshot of one implementation of a load-balanced stage ({@code dev.pipeline.LoadBalancedStage}
 * or {@code LoadBalancedBatchStage}), for dashboards: what the balancer sees when it picks.
 *
 * @param name the implementation's name, as added to the stage
 * @param weight its weight
 * @param inFlight its calls in flight now
 * @param calls the calls made to it so far, those in flight included
 * @param failures of those, the calls that failed (threw, or broke the stage's contract)
 * @param refused the times its circuit refused a call the policy would have given it, so that the
 *     call went to another implementation or failed with {@code CircuitOpenException}
 * @param latency its latency estimate now (see {@code LoadBalancePolicy}): per call, or per record
 *     for a batch stage; zero before its first measured call
 * @param circuit the state of its circuit breaker now
 */
public record ImplementationMetrics(
    String name,
    int weight,
    int inFlight,
    long calls,
    long failures,
    long refused,
    Duration latency,
    CircuitBreaker.State circuit) {

  /**
   * Checks the components.
   *
   * @throws NullPointerException if a component is null
   */
  public ImplementationMetrics {
    Objects.requireNonNull(name, "name cannot be null");
    Objects.requireNonNull(latency, "latency cannot be null");
    Objects.requireNonNull(circuit, "circuit cannot be null");
  }

  /** The calls that ended without failing. */
  public long succeeded() {
    return Math.max(0, calls - inFlight - failures);
  }
}
