package dev.pipeline.bench.micro;

import dev.pipeline.PipelineClock;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.TokenBucket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the resilience policies cost per record when they never act, as the engine calls them for
 * each record of a single-record stage (see the resilience target): a permissive circuit breaker
 * ({@code tryAcquirePermission} then {@code onSuccess}), a permissive token bucket ({@code
 * acquire(1)} then {@code onResult}), and the two extra clock reads the engine makes to time the
 * call. One thread, and two threads sharing one breaker or bucket as a stage's two workers do.
 * Results in nanoseconds per call (per thread).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1)
@State(Scope.Benchmark)
public class ResilienceBenchmark {
  private CircuitBreaker breaker;
  private TokenBucket bucket;
  private final PipelineClock clock = PipelineClock.system();

  @Setup
  public void setUp() {
    breaker =
        CircuitBreaker.failureRate(0.5)
            .minCalls(20)
            .openFor(Duration.ofSeconds(30))
            .halfOpenCalls(5)
            .bind(clock);
    bucket = TokenBucket.perSecond(1e9).burst(1_000_000_000).bind(clock);
  }

  @Benchmark
  public boolean breakerCall() {
    boolean granted = breaker.tryAcquirePermission();
    breaker.onSuccess(1_000);
    return granted;
  }

  @Benchmark
  @Threads(2)
  public boolean breakerCallTwoThreads() {
    return breakerCall();
  }

  @Benchmark
  public boolean breakerPermissionOnly() {
    return breaker.tryAcquirePermission();
  }

  @Benchmark
  public void breakerOnSuccessOnly() {
    breaker.onSuccess(1_000);
  }

  @Benchmark
  public void bucketCall() throws InterruptedException {
    bucket.acquire(1);
    bucket.onResult(1_000, false);
  }

  @Benchmark
  @Threads(2)
  public void bucketCallTwoThreads() throws InterruptedException {
    bucketCall();
  }

  @Benchmark
  public long twoClockReads() {
    return clock.nanoTime() - clock.nanoTime();
  }
}
