package dev.pipeline.engine.run;

import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.ResilienceMetrics;
import dev.pipeline.metrics.RetryStats;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.store.ErrorInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Collects one stage's metrics during a run. Workers update the counters once per batch, not per
 * record, so the hot path stays cheap; latencies are kept by the run (see {@code Run.RunStage}).
 *
 * <p>Thread-safe.
 */
final class StageRecorder {
  private final String stage;
  private final int concurrency;
  private final IntSupplier queueDepth;
  private final Live live;

  /** What the recorder reads from the stage's policies when it takes a snapshot. */
  interface Live {
    /** The circuit's state, or null if the stage has none. */
    CircuitBreaker.@Nullable State circuit();

    /** The rate limit now, in records per second; infinite if none. */
    double ratePerSecond();

    /** The batch size now. */
    int batchSize();

    /** What a stage without policies has: no circuit, no rate limit, batches of one. */
    Live NONE =
        new Live() {
          @Override
          public CircuitBreaker.@Nullable State circuit() {
            return null;
          }

          @Override
          public double ratePerSecond() {
            return Double.POSITIVE_INFINITY;
          }

          @Override
          public int batchSize() {
            return 1;
          }
        };
  }

  final LongAdder in = new LongAdder();
  final LongAdder passed = new LongAdder();
  final LongAdder filtered = new LongAdder();
  final LongAdder failed = new LongAdder();
  final LongAdder retries = new LongAdder();
  final LongAdder bytesOut = new LongAdder();
  final LongAdder busyNanos = new LongAdder();
  final LongAdder parked = new LongAdder();
  final LongAdder held = new LongAdder();
  final LongAdder degraded = new LongAdder();
  final LongAdder splits = new LongAdder();
  // CPU time and bytes allocated by the stage's threads, as resource sampling estimates them
  final LongAdder cpuNanos = new LongAdder();
  final LongAdder allocatedBytes = new LongAdder();
  private final Map<String, LongAdder[]> retryOutcomes = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
  private final Supplier<LatencyHistogram> latencies;
  private final AtomicLong firstNanos = new AtomicLong(Long.MIN_VALUE);
  private volatile long lastNanos;

  StageRecorder(
      String stage,
      int concurrency,
      IntSupplier queueDepth,
      Supplier<LatencyHistogram> latencies,
      Live live) {
    this.stage = stage;
    this.live = live;
    this.concurrency = concurrency;
    this.queueDepth = queueDepth;
    this.latencies = latencies;
  }

  /** The stage's name. */
  String stage() {
    return stage;
  }

  /** Its workers. */
  int concurrency() {
    return concurrency;
  }

  /** A copy of its latencies so far. */
  LatencyHistogram latencies() {
    return latencies.get();
  }

  /** Records waiting in front of it now. */
  int queueDepth() {
    return queueDepth.getAsInt();
  }

  /** Its circuit's state now, or null if it has none. */
  CircuitBreaker.@Nullable State circuit() {
    return live.circuit();
  }

  void started(long nanos) {
    if (firstNanos.get() == Long.MIN_VALUE) {
      firstNanos.compareAndSet(Long.MIN_VALUE, nanos);
    }
  }

  void active(long nanos) {
    lastNanos = nanos;
  }

  void error(Throwable error) {
    errors.computeIfAbsent(error.getClass().getSimpleName(), k -> new LongAdder()).increment();
  }

  /**
   * Counts how a record that met errors at this stage ended there, once per error type it met:
   * recovered (it passed after retrying) or not (it used up its retries or could not be retried).
   */
  void retryOutcome(List<ErrorInfo> errors, boolean recovered) {
    retryOutcome(errors, null, recovered);
  }

  /**
   * As {@link #retryOutcome(List, boolean)}, also counting the error types (comma-separated) the
   * record met here before it was parked in the retry queue.
   */
  void retryOutcome(@Nullable List<ErrorInfo> errors, @Nullable String earlier, boolean recovered) {
    List<String> types = new ArrayList<>(2);
    if (earlier != null) {
      for (String type : earlier.split(",")) {
        if (!type.isEmpty() && !types.contains(type)) {
          types.add(type);
        }
      }
    }
    for (ErrorInfo error : errors == null ? List.<ErrorInfo>of() : errors) {
      if (error.stage().equals(stage)
          && !ErrorText.isDropped(error)
          && !types.contains(error.errorType())) {
        types.add(error.errorType());
      }
    }
    for (String type : types) {
      retryOutcomes
          .computeIfAbsent(type, k -> new LongAdder[] {new LongAdder(), new LongAdder()})[
          recovered ? 0 : 1]
          .increment();
    }
  }

  StageMetrics snapshot() {
    Map<String, Long> errorCounts = new TreeMap<>();
    errors.forEach((type, count) -> errorCounts.put(type, count.sum()));
    LatencyHistogram total = latencies.get();
    long p50 = total.getValueAtPercentile(50);
    long p95 = total.getValueAtPercentile(95);
    long p99 = total.getValueAtPercentile(99);
    long max = total.getMaxValue();
    long first = firstNanos.get();
    double seconds = first == Long.MIN_VALUE ? 0 : (lastNanos - first) / 1e9;
    long passedNow = passed.sum();
    long bytes = bytesOut.sum();
    double utilization =
        seconds <= 0 ? 0 : Math.min(1.0, busyNanos.sum() / 1e9 / (seconds * concurrency));
    return new StageMetrics(
        stage,
        concurrency,
        in.sum(),
        passedNow,
        filtered.sum(),
        failed.sum(),
        retries.sum(),
        errorCounts,
        Duration.ofNanos(p50),
        Duration.ofNanos(p95),
        Duration.ofNanos(p99),
        Duration.ofNanos(max),
        seconds <= 0 ? 0 : passedNow / seconds,
        seconds <= 0 ? 0 : bytes / seconds,
        bytes,
        queueDepth.getAsInt(),
        utilization,
        resilience());
  }

  private ResilienceMetrics resilience() {
    Map<String, RetryStats> retries = new TreeMap<>();
    retryOutcomes.forEach(
        (type, outcome) -> retries.put(type, new RetryStats(outcome[0].sum(), outcome[1].sum())));
    return new ResilienceMetrics(
        live.circuit(),
        live.ratePerSecond(),
        live.batchSize(),
        splits.sum(),
        parked.sum(),
        held.sum(),
        degraded.sum(),
        retries);
  }
}
