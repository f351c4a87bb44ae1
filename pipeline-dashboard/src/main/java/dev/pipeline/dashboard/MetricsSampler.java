package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineClock;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.StageMetrics;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Samples each pipeline's {@code metrics()} into a bounded ring per stage (and one of the
 * pipeline's totals), the dashboard's history until a store's metrics history replaces it. A
 * snapshot counts since the pipeline was built, so a point is the difference of two snapshots;
 * percentiles are the snapshot's own. A pipeline whose {@code metrics()} fails is skipped for that
 * sample (logged once per failure streak), never stopping the others.
 *
 * <p>Thread-safe: {@link #sample()} runs on the dashboard's scheduler, readers on the server's
 * threads; each ring has its own lock.
 */
final class MetricsSampler implements MetricsHistorySource {
  private static final Logger log = LoggerFactory.getLogger(MetricsSampler.class);

  /** The pipeline's totals at one sample. */
  record Totals(Instant at, long ingested, long published, long filtered, long deadLettered) {
    long done() {
      return published + filtered + deadLettered;
    }
  }

  private final List<Pipeline<?, ?>> pipelines;
  private final PipelineClock clock;
  private final int capacity;
  private final Map<String, Ring<StagePoint>> stages = new ConcurrentHashMap<>();
  private final Map<String, Ring<Totals>> totals = new ConcurrentHashMap<>();
  private final Map<String, StageMetrics> previous = new ConcurrentHashMap<>();
  private final Map<String, Instant> previousAt = new ConcurrentHashMap<>();
  private final Map<String, Boolean> failing = new ConcurrentHashMap<>();

  MetricsSampler(List<Pipeline<?, ?>> pipelines, PipelineClock clock, int capacity) {
    this.pipelines = List.copyOf(pipelines);
    this.clock = clock;
    this.capacity = capacity;
  }

  /** Takes one sample of every pipeline. */
  void sample() {
    for (Pipeline<?, ?> pipeline : pipelines) {
      PipelineMetrics metrics;
      try {
        metrics = pipeline.metrics();
      } catch (RuntimeException e) {
        if (failing.put(pipeline.name(), Boolean.TRUE) == null) {
          log.warn(
              "dashboard: could not sample the metrics of pipeline '{}': {}",
              pipeline.name(),
              ErrorText.describeDefault(e));
        }
        continue;
      }
      failing.remove(pipeline.name());
      record(metrics, clock.now());
    }
  }

  /** Records one snapshot taken at {@code at}. */
  void record(PipelineMetrics metrics, Instant at) {
    String name = metrics.pipeline();
    ring(totals, name)
        .add(
            new Totals(
                at,
                metrics.ingested(),
                metrics.published(),
                metrics.filtered(),
                metrics.deadLettered()));
    for (StageMetrics now : metrics.all()) {
      String key = key(name, now.stage());
      StageMetrics before = previous.put(key, now);
      Instant beforeAt = previousAt.put(key, at);
      if (before == null || beforeAt == null || !at.isAfter(beforeAt)) {
        continue; // a point needs two snapshots
      }
      ring(stages, key)
          .add(
              new StagePoint(
                  at,
                  Duration.between(beforeAt, at),
                  delta(now.recordsIn(), before.recordsIn()),
                  delta(now.passed(), before.passed()),
                  delta(now.failed(), before.failed()),
                  delta(now.errors(), before.errors()),
                  now.p50(),
                  now.p95(),
                  now.p99(),
                  now.queueDepth(),
                  now.utilization()));
    }
  }

  /** A counter that went down belongs to a new run: its value is what the new run counted. */
  private static long delta(long now, long before) {
    return now >= before ? now - before : now;
  }

  @Override
  public List<StagePoint> stageHistory(String pipeline, String stage, Instant since) {
    Ring<StagePoint> ring = stages.get(key(pipeline, stage));
    return ring == null ? List.of() : ring.since(since, StagePoint::at);
  }

  /** The pipeline's totals, oldest first. */
  List<Totals> totals(String pipeline) {
    Ring<Totals> ring = totals.get(pipeline);
    return ring == null ? List.of() : ring.since(Instant.MIN, Totals::at);
  }

  private <T> Ring<T> ring(Map<String, Ring<T>> rings, String key) {
    return rings.computeIfAbsent(key, k -> new Ring<>(capacity));
  }

  private static String key(String pipeline, String stage) {
    return pipeline + '\u0000' + stage;
  }

  /** A bounded ring: the oldest item leaves when a new one comes to a full ring. */
  private static final class Ring<T> {
    private final ReentrantLock lock = new ReentrantLock();
    private final int capacity;
    // guarded by lock
    private final ArrayDeque<T> items;

    Ring(int capacity) {
      this.capacity = capacity;
      this.items = new ArrayDeque<>(Math.min(capacity, 1_024));
    }

    void add(T item) {
      lock.lock();
      try {
        if (items.size() == capacity) {
          items.removeFirst();
        }
        items.addLast(item);
      } finally {
        lock.unlock();
      }
    }

    List<T> since(Instant since, java.util.function.Function<T, Instant> at) {
      lock.lock();
      try {
        List<T> out = new ArrayList<>();
        Iterator<T> it = items.descendingIterator();
        while (it.hasNext()) {
          T item = it.next();
          Instant when = at.apply(item);
          if (when.isBefore(since)) {
            break;
          }
          out.add(item);
        }
        return out.reversed();
      } finally {
        lock.unlock();
      }
    }
  }
}
