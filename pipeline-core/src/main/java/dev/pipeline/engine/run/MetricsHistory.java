package dev.pipeline.engine.run;

import dev.pipeline.PipelineClock;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.resilience.CircuitBreaker;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Takes a run's metrics window: every {@code window} of the pipeline's clock, what each stage, the
 * sink and the store did since the last one ({@link StageWindow}), handed to the pipeline's {@link
 * Telemetry} for the store. A window is taken by whoever first sees it due: a worker handing on a
 * batch, or the telemetry writer while the stages are idle; the run's last, shorter one when it
 * finishes. Thread-safe.
 */
final class MetricsHistory {
  private final String pipeline;
  private final PipelineClock clock;
  private final Telemetry telemetry;
  private final List<StageRecorder> recorders;
  private final long windowNanos;
  private final boolean sampled;
  private final ReentrantLock lock = new ReentrantLock();
  private volatile long dueNanos;
  // guarded by lock
  private final Map<StageRecorder, Totals> previous = new HashMap<>();
  private Instant windowStart; // guarded by lock
  private long startNanos; // guarded by lock

  /** What a stage had done at a window's end, for the next window to subtract. */
  private record Totals(
      long in,
      long passed,
      long filtered,
      long failed,
      long retries,
      long bytes,
      long busyNanos,
      long cpuNanos,
      long allocated,
      LatencyHistogram latency) {

    static Totals of(StageRecorder r) {
      return new Totals(
          r.in.sum(),
          r.passed.sum(),
          r.filtered.sum(),
          r.failed.sum(),
          r.retries.sum(),
          r.bytesOut.sum(),
          r.busyNanos.sum(),
          r.cpuNanos.sum(),
          r.allocatedBytes.sum(),
          r.latencies());
    }

    static final Totals NONE = new Totals(0, 0, 0, 0, 0, 0, 0, 0, 0, new LatencyHistogram());
  }

  /**
   * @param recorders the stages', then the sink's and the store's recorders
   * @param sampled whether resource sampling fills the CPU and allocation numbers
   */
  MetricsHistory(
      String pipeline,
      PipelineClock clock,
      Telemetry telemetry,
      List<StageRecorder> recorders,
      Duration window,
      boolean sampled) {
    this.pipeline = pipeline;
    this.clock = clock;
    this.telemetry = telemetry;
    this.recorders = List.copyOf(recorders);
    this.windowNanos = window.toNanos();
    this.sampled = sampled;
    this.startNanos = clock.nanoTime();
    this.windowStart = clock.now();
    this.dueNanos = startNanos + windowNanos;
  }

  /** Takes the window if it is due and no one else is taking it; cheap when it is not due. */
  void takeIfDue() {
    if (clock.nanoTime() - dueNanos >= 0 && lock.tryLock()) {
      try {
        long now = clock.nanoTime();
        if (now - dueNanos >= 0) {
          take(now);
        }
      } finally {
        lock.unlock();
      }
    }
  }

  /** The pipeline clock's nanoseconds until the next window is due (negative if overdue). */
  long nanosUntilDue() {
    return dueNanos - clock.nanoTime();
  }

  /** Takes the last window of the run, however short, if anything happened in it. */
  void takeLast() {
    lock.lock();
    try {
      take(clock.nanoTime());
    } finally {
      lock.unlock();
    }
  }

  private void take(long now) {
    Instant end = clock.now();
    if (end.isBefore(windowStart)) {
      end = windowStart; // a clock stepped back: the window is empty rather than negative
    }
    double seconds = Math.max(0, now - startNanos) / 1e9;
    List<StageWindow> taken = new ArrayList<>(recorders.size());
    boolean any = false;
    for (StageRecorder r : recorders) {
      Totals was = previous.getOrDefault(r, Totals.NONE);
      Totals is = Totals.of(r);
      previous.put(r, is);
      any |= is.in != was.in || is.busyNanos != was.busyNanos || is.failed != was.failed;
      LatencyHistogram latency = is.latency.minus(was.latency);
      long passed = is.passed - was.passed;
      long busy = Math.max(0, is.busyNanos - was.busyNanos);
      CircuitBreaker.State circuit = r.circuit();
      taken.add(
          new StageWindow(
              pipeline,
              r.stage(),
              windowStart,
              end,
              is.in - was.in,
              passed,
              is.filtered - was.filtered,
              is.failed - was.failed,
              is.retries - was.retries,
              Duration.ofNanos(latency.getValueAtPercentile(50)),
              Duration.ofNanos(latency.getValueAtPercentile(95)),
              Duration.ofNanos(latency.getValueAtPercentile(99)),
              seconds <= 0 ? 0 : passed / seconds,
              seconds <= 0 ? 0 : (is.bytes - was.bytes) / seconds,
              r.queueDepth(),
              seconds <= 0 ? 0 : Math.min(1.0, busy / 1e9 / (seconds * r.concurrency())),
              Duration.ofNanos(busy),
              circuit == null ? null : circuit.name(),
              sampled ? Duration.ofNanos(Math.max(0, is.cpuNanos - was.cpuNanos)) : null,
              sampled ? Math.max(0, is.allocated - was.allocated) : -1,
              r.takeScores()));
    }
    if (any || seconds > 0) {
      telemetry.windows(taken);
    }
    windowStart = end;
    startNanos = now;
    long due = dueNanos;
    if (now - due >= 0) {
      // windows keep to their grid, skipping the ones nobody took (a clock that jumped)
      due += ((now - due) / windowNanos + 1) * windowNanos;
    }
    dueNanos = due;
  }
}
