package dev.pipeline.micrometer;

import dev.pipeline.Pipeline;
import dev.pipeline.StageName;
import dev.pipeline.StageOptions;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.ReferenceDataMetrics;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.TokenBucket;
import dev.pipeline.store.RecordStatus;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exposes a pipeline's live state as Micrometer meters: bind it to a registry once the pipeline is
 * built, and close it (or the registry) when the pipeline is closed.
 *
 * <pre>{@code
 * PipelineMeterBinder binder = PipelineMeterBinder.of(pipeline);
 * binder.bindTo(meterRegistry);
 * }</pre>
 *
 * <p>Every meter is tagged {@code pipeline}; those of a stage also {@code stage} ({@code sink} for
 * the sink, {@code <route>/<branch>/sink} for a route branch's sink, {@code store} for the store),
 * those of a reference data cache {@code cache}:
 *
 * <ul>
 *   <li>{@code pipeline.queue.depth} (gauge, records): records waiting in front of a stage;
 *   <li>{@code pipeline.stage.utilization} (gauge, 0 to 1): the share of a stage's workers' time
 *       spent in calls, near 1 for the bottleneck; for the sink, each route branch's sink and the
 *       store too (the store's: the share of the run with a store call under way), so that the
 *       bottleneck is found among them all, as {@code PipelineMetrics.bottleneck()} finds it;
 *   <li>{@code pipeline.stage.batch.size} (gauge): the batch size a stage's workers take now;
 *   <li>{@code pipeline.records.in_flight} (gauge): records ingested by the current (or last) run
 *       and not yet finished;
 *   <li>{@code pipeline.dead_letters} and {@code pipeline.retry_queue} (gauges): the records the
 *       store holds as dead letters, and parked for a later retry, whichever run put them there;
 *   <li>{@code pipeline.circuit.state} (gauge, tagged {@code state}: {@code closed}, {@code open},
 *       {@code half_open}): 1 for the state a stage's circuit breaker is in, 0 for the others; only
 *       for stages (the sink and route branches' sinks among them) with a circuit breaker;
 *   <li>{@code pipeline.rate_limit.rate} (gauge, permits per second): the rate a stage's token
 *       bucket allows now (an adaptive bucket moves it); only for stages with a rate limit;
 *   <li>{@code pipeline.cache.size} (gauge), {@code pipeline.cache.gets} (tagged {@code result}:
 *       {@code hit}, {@code miss}), {@code pipeline.cache.loads} and {@code
 *       pipeline.cache.refreshes} (tagged {@code result}: {@code success}, {@code failure}), {@code
 *       pipeline.cache.evictions} (function counters) and {@code pipeline.cache.load.duration}
 *       (function timer): each reference data cache, since the pipeline was built.
 * </ul>
 *
 * <p>The stage calls' times, records and errors are {@link StageCallObserver}'s. Tags hold only
 * names from the pipeline's code (pipeline, stages, caches) and fixed values, never a record id, so
 * the number of series is bounded by the pipeline's shape.
 *
 * <p>Gauges read a {@linkplain Pipeline#metrics() metrics snapshot} and the store's {@linkplain
 * dev.pipeline.store.PipelineStore#counts counts}, taken at most once per {@code maxSnapshotAge}
 * (one second unless set, on the registry's clock), so a scrape of many meters costs one snapshot
 * and one store query. Circuit states and rates are read live. A store that fails to count leaves
 * the two store gauges at NaN until it answers again (logged once).
 *
 * <p>Thread-safe.
 */
public final class PipelineMeterBinder implements MeterBinder, AutoCloseable {
  /** How old a snapshot may be when a gauge is read, unless set. */
  public static final Duration DEFAULT_MAX_SNAPSHOT_AGE = Duration.ofSeconds(1);

  /** The longest {@code maxSnapshotAge}. */
  public static final Duration MAX_SNAPSHOT_AGE = Duration.ofHours(1);

  private static final Logger LOG = LoggerFactory.getLogger(PipelineMeterBinder.class);
  private static final StageName SINK = StageName.of("sink");

  private final Pipeline<?, ?> pipeline;
  private final long maxAgeNanos;
  private final ReentrantLock lock = new ReentrantLock();
  // guarded by lock
  private final List<Bound> bound = new ArrayList<>();

  private PipelineMeterBinder(Pipeline<?, ?> pipeline, Duration maxSnapshotAge) {
    this.pipeline = Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(maxSnapshotAge, "maxSnapshotAge cannot be null");
    if (maxSnapshotAge.isNegative() || maxSnapshotAge.compareTo(MAX_SNAPSHOT_AGE) > 0) {
      throw new IllegalArgumentException(
          "maxSnapshotAge must be between 0 and "
              + MAX_SNAPSHOT_AGE
              + " (0 takes a snapshot at every gauge read), but was "
              + maxSnapshotAge);
    }
    this.maxAgeNanos = maxSnapshotAge.toNanos();
  }

  /**
   * A binder for a pipeline, its snapshots at most {@link #DEFAULT_MAX_SNAPSHOT_AGE} old.
   *
   * @throws NullPointerException if the pipeline is null
   */
  public static PipelineMeterBinder of(Pipeline<?, ?> pipeline) {
    return new PipelineMeterBinder(pipeline, DEFAULT_MAX_SNAPSHOT_AGE);
  }

  /**
   * A binder for a pipeline whose gauges read snapshots at most {@code maxSnapshotAge} old.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code maxSnapshotAge} is not between 0 and {@link
   *     #MAX_SNAPSHOT_AGE}
   */
  public static PipelineMeterBinder of(Pipeline<?, ?> pipeline, Duration maxSnapshotAge) {
    return new PipelineMeterBinder(pipeline, maxSnapshotAge);
  }

  /**
   * Registers the pipeline's meters in {@code registry}. A binder may be bound to several
   * registries; each gets meters of its own, reading snapshots on its own clock.
   *
   * @throws NullPointerException if the registry is null
   */
  @Override
  public void bindTo(MeterRegistry registry) {
    Objects.requireNonNull(registry, "registry cannot be null");
    Readings readings = new Readings(registry);
    List<Meter> meters = new ArrayList<>();
    Tags base = Tags.of("pipeline", pipeline.name());
    for (StageName name : pipeline.stages()) {
      String stage = name.value();
      Tags tags = base.and("stage", stage);
      meters.add(
          gauge("pipeline.queue.depth", tags, readings, r -> r.queueDepth(stage))
              .description("Records waiting in front of a stage")
              .baseUnit("records")
              .register(registry));
      meters.add(utilization(registry, base, readings, stage));
      int configured = pipeline.options(name).batchSize();
      meters.add(
          gauge("pipeline.stage.batch.size", tags, readings, r -> r.batchSize(stage, configured))
              .description("Batch size a stage's workers take now")
              .register(registry));
    }
    // the sinks and the store are stages of the report too: the bottleneck may be one of them
    List<StageName> sinks = new ArrayList<>();
    sinks.add(SINK);
    sinks.addAll(pipeline.branchSinks());
    List<String> reported = new ArrayList<>(sinks.stream().map(StageName::value).toList());
    reported.add(StageWindow.STORE);
    for (String stage : reported) {
      meters.add(utilization(registry, base, readings, stage));
    }
    List<StageName> guarded = new ArrayList<>(pipeline.stages());
    guarded.addAll(sinks);
    for (StageName name : guarded) {
      policyMeters(registry, base.and("stage", name.value()), pipeline.options(name), meters);
    }
    meters.add(
        gauge("pipeline.records.in_flight", base, readings, Readings::inFlight)
            .description("Records ingested by the current or last run and not yet finished")
            .baseUnit("records")
            .register(registry));
    meters.add(
        gauge("pipeline.dead_letters", base, readings, Readings::deadLetters)
            .description("Records the store holds as dead letters")
            .baseUnit("records")
            .register(registry));
    meters.add(
        gauge("pipeline.retry_queue", base, readings, Readings::retryQueue)
            .description("Records the store holds parked for a later retry")
            .baseUnit("records")
            .register(registry));
    for (ReferenceDataMetrics cache : pipeline.metrics().referenceData()) {
      cacheMeters(registry, base.and("cache", cache.name()), cache.name(), readings, meters);
    }
    lock.lock();
    try {
      bound.add(new Bound(registry, List.copyOf(meters)));
    } finally {
      lock.unlock();
    }
  }

  /** Removes every meter this binder registered, from every registry it was bound to. */
  @Override
  public void close() {
    lock.lock();
    try {
      for (Bound b : bound) {
        for (Meter meter : b.meters) {
          b.registry.remove(meter);
        }
      }
      bound.clear();
    } finally {
      lock.unlock();
    }
  }

  private static Meter utilization(
      MeterRegistry registry, Tags base, Readings readings, String stage) {
    return gauge(
            "pipeline.stage.utilization",
            base.and("stage", stage),
            readings,
            r -> r.utilization(stage))
        .description("Share of a stage's workers' time spent in calls")
        .register(registry);
  }

  private static void policyMeters(
      MeterRegistry registry, Tags tags, StageOptions options, List<Meter> meters) {
    CircuitBreaker breaker = options.circuitBreaker();
    if (breaker != CircuitBreaker.disabled()) {
      for (CircuitBreaker.State state : CircuitBreaker.State.values()) {
        meters.add(
            Gauge.builder("pipeline.circuit.state", breaker, b -> b.state() == state ? 1 : 0)
                .tags(tags.and("state", state.name().toLowerCase(Locale.ROOT)))
                .description("1 for the state a stage's circuit breaker is in, 0 for the others")
                .strongReference(true)
                .register(registry));
      }
    }
    TokenBucket bucket = options.rateLimit();
    if (bucket != TokenBucket.unlimited()) {
      meters.add(
          Gauge.builder("pipeline.rate_limit.rate", bucket, TokenBucket::ratePerSecond)
              .tags(tags)
              .description("Rate a stage's token bucket allows now")
              .baseUnit("permits/s")
              .strongReference(true)
              .register(registry));
    }
  }

  private void cacheMeters(
      MeterRegistry registry, Tags tags, String name, Readings readings, List<Meter> meters) {
    meters.add(
        gauge("pipeline.cache.size", tags, readings, r -> r.cache(name).size())
            .description("Entries in a reference data cache, approximately")
            .register(registry));
    ToDoubleFunction<Readings> loads = r -> r.cache(name).loads();
    ToDoubleFunction<Readings> loadFailures = r -> r.cache(name).loadFailures();
    ToDoubleFunction<Readings> refreshes = r -> r.cache(name).refreshes();
    ToDoubleFunction<Readings> refreshFailures = r -> r.cache(name).refreshFailures();
    String[][] counters = {
      {"pipeline.cache.gets", "hit"},
      {"pipeline.cache.gets", "miss"},
      {"pipeline.cache.loads", "success"},
      {"pipeline.cache.loads", "failure"},
      {"pipeline.cache.refreshes", "success"},
      {"pipeline.cache.refreshes", "failure"}
    };
    List<ToDoubleFunction<Readings>> values =
        List.of(
            r -> r.cache(name).hits(),
            r -> r.cache(name).misses(),
            r -> loads.applyAsDouble(r) - loadFailures.applyAsDouble(r),
            loadFailures,
            r -> refreshes.applyAsDouble(r) - refreshFailures.applyAsDouble(r),
            refreshFailures);
    for (int i = 0; i < counters.length; i++) {
      meters.add(
          FunctionCounter.builder(counters[i][0], readings, values.get(i))
              .tags(tags.and("result", counters[i][1]))
              .register(registry));
    }
    meters.add(
        FunctionCounter.builder(
                "pipeline.cache.evictions", readings, r -> r.cache(name).evictions())
            .tags(tags)
            .register(registry));
    meters.add(
        FunctionTimer.builder(
                "pipeline.cache.load.duration",
                readings,
                r -> r.cache(name).loads(),
                r -> r.cache(name).loadTime().toNanos(),
                TimeUnit.NANOSECONDS)
            .tags(tags)
            .description("Time spent in a reference data cache's loader")
            .register(registry));
  }

  private static Gauge.Builder<Readings> gauge(
      String name, Tags tags, Readings readings, ToDoubleFunction<Readings> value) {
    return Gauge.builder(name, readings, value).tags(tags).strongReference(true);
  }

  private record Bound(MeterRegistry registry, List<Meter> meters) {}

  /** The snapshot and store counts one registry's gauges read, refreshed when too old. */
  private final class Readings {
    private final MeterRegistry registry;
    private final ReentrantLock refresh = new ReentrantLock();
    private volatile @Nullable Reading last;
    private volatile boolean countsFailed;

    Readings(MeterRegistry registry) {
      this.registry = registry;
    }

    private Reading current() {
      long now = registry.config().clock().monotonicTime();
      Reading seen = last;
      if (seen != null && now - seen.at < maxAgeNanos) {
        return seen;
      }
      refresh.lock();
      try {
        seen = last;
        if (seen != null && now - seen.at < maxAgeNanos) {
          return seen;
        }
        Reading fresh = new Reading(now, pipeline.metrics(), counts());
        last = fresh;
        return fresh;
      } finally {
        refresh.unlock();
      }
    }

    /**
     * The two counts the gauges show, each a count of one state that a store answers from an index
     * (not {@code counts()}, which may read every record at each scrape); null if the store fails.
     */
    private @Nullable Stored counts() {
      try {
        String name = pipeline.name();
        Stored counts =
            new Stored(
                pipeline.store().count(name, RecordStatus.DEAD_LETTER, Long.MAX_VALUE),
                pipeline.store().count(name, RecordStatus.RETRY_WAIT, Long.MAX_VALUE));
        countsFailed = false;
        return counts;
      } catch (RuntimeException e) {
        if (!countsFailed) {
          countsFailed = true;
          LOG.warn(
              "pipeline '{}': the store could not count its records for pipeline.dead_letters and"
                  + " pipeline.retry_queue, which read NaN until it answers: {}",
              ErrorText.loggable(pipeline.name()),
              ErrorText.describeDefault(e));
        }
        return null;
      }
    }

    /** The stage's snapshot, or null before the pipeline's first run. */
    private @Nullable StageMetrics stage(String stage) {
      for (StageMetrics s : current().metrics.all()) {
        if (s.stage().equals(stage)) {
          return s;
        }
      }
      return null;
    }

    double queueDepth(String stage) {
      StageMetrics s = stage(stage);
      return s == null ? 0 : s.queueDepth(); // no run yet: nothing waits
    }

    double utilization(String stage) {
      StageMetrics s = stage(stage);
      return s == null ? 0 : s.utilization();
    }

    double batchSize(String stage, int configured) {
      StageMetrics s = stage(stage);
      return s == null ? configured : s.resilience().batchSize();
    }

    double inFlight() {
      return current().metrics.inFlight();
    }

    double deadLetters() {
      Stored counts = current().counts;
      return counts == null ? Double.NaN : counts.deadLetters();
    }

    double retryQueue() {
      Stored counts = current().counts;
      return counts == null ? Double.NaN : counts.retryQueue();
    }

    ReferenceDataMetrics cache(String name) {
      return current().metrics.referenceData(name);
    }
  }

  private record Reading(long at, PipelineMetrics metrics, @Nullable Stored counts) {}

  /** The records in the dead letter queue and in the retry queue, as the store counted them. */
  private record Stored(long deadLetters, long retryQueue) {}
}
