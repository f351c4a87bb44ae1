package dev.pipeline.internal;

import com.github.benmanes.caffeine.cache.AsyncCacheLoader;
import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import dev.pipeline.PipelineClock;
import dev.pipeline.ReferenceData;
import dev.pipeline.ReferenceDataException;
import dev.pipeline.ReferenceLookup;
import dev.pipeline.StageName;
import dev.pipeline.metrics.ReferenceDataMetrics;
import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link ReferenceData}'s cache in one pipeline: a Caffeine {@link AsyncLoadingCache} on the
 * pipeline's clock, with the lookups of the stages that may reach it.
 *
 * <p>Asynchronous on purpose: a synchronous Caffeine cache runs a load inside {@code
 * ConcurrentHashMap.compute}, holding a monitor for as long as the loader blocks, which on Java 21
 * pins the carrier threads of the virtual threads that run and wait for it. Here the map only holds
 * futures; the load runs on the given executor, and lookups park on the future.
 *
 * <p>Thread-safe.
 */
final class ReferenceCache<K, V> {
  private static final Logger LOG = LoggerFactory.getLogger(ReferenceCache.class);

  /** The most characters of a key an error or a log line shows. */
  static final int KEY_CHARS = 256;

  /** The most keys of a failed bulk lookup an error names. */
  private static final int KEYS_NAMED = 5;

  /** Failed refreshes are logged at most once a minute (of the pipeline's clock) per cache. */
  private static final long WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

  private final ReferenceData<K, V> data;
  private final ReferenceData.Loader<K, V> loader;
  private final String owner;
  private final PipelineClock clock;
  private final List<String> stages;
  private final BooleanSupplier closing;
  private final long refreshNanos;
  private final AsyncLoadingCache<K, Slot<V>> cache;
  private final Map<StageName, ReferenceLookup<K, V>> lookups = new HashMap<>();
  private final LongAdder loads = new LongAdder();
  private final LongAdder loadFailures = new LongAdder();
  private final LongAdder loadNanos = new LongAdder();
  private final LongAdder refreshes = new LongAdder();
  private final LongAdder refreshFailures = new LongAdder();
  private final AtomicLong nextWarning = new AtomicLong(Long.MIN_VALUE);
  private final LongAdder unwarned = new LongAdder();

  /**
   * Builds the cache of one declaration.
   *
   * @param owner who the cache belongs to, for log lines ("pipeline 'equipment'")
   * @param stages the stages that may look it up
   * @param executor where loads, refreshes and Caffeine's upkeep run
   * @param closing whether the executor is being closed, so that failures are expected
   */
  ReferenceCache(
      ReferenceData<K, V> data,
      String owner,
      List<StageName> stages,
      PipelineClock clock,
      Executor executor,
      BooleanSupplier closing) {
    this.data = data;
    this.loader = data.loader();
    this.owner = owner;
    this.clock = clock;
    this.closing = closing;
    this.stages = stages.stream().map(StageName::value).toList();
    Duration expire = data.expireAfterWrite();
    Duration refresh = data.refreshAfterWrite();
    this.refreshNanos = refresh == null ? 0 : refresh.toNanos();
    Caffeine<Object, Object> builder =
        Caffeine.newBuilder()
            .maximumSize(data.maximumSize())
            .ticker(clock::nanoTime)
            .executor(executor)
            .recordStats();
    if (expire != null) {
      builder.expireAfterWrite(expire);
    }
    if (refresh != null) {
      builder.refreshAfterWrite(refresh);
    }
    // Caffeine loads in bulk only if the loader declares asyncLoadAll: the single one must not
    this.cache = builder.buildAsync(data.isBulk() ? new BulkLoading() : new Loading());
    for (StageName stage : stages) {
      lookups.put(stage, new Lookup(stage.value()));
    }
  }

  /** The lookup of a stage, or null if the stage may not look this reference data up. */
  @Nullable ReferenceLookup<K, V> lookup(StageName stage) {
    return lookups.get(stage);
  }

  List<String> stages() {
    return stages;
  }

  ReferenceData<K, V> data() {
    return data;
  }

  ReferenceDataMetrics snapshot() {
    cache.synchronous().cleanUp(); // expired entries counted as evicted, and gone from the size
    CacheStats stats = cache.synchronous().stats();
    return new ReferenceDataMetrics(
        data.name(),
        stages,
        cache.synchronous().estimatedSize(),
        stats.hitCount(),
        stats.missCount(),
        loads.sum(),
        loadFailures.sum(),
        Duration.ofNanos(loadNanos.sum()),
        refreshes.sum(),
        refreshFailures.sum(),
        stats.evictionCount());
  }

  /**
   * Runs a load on the executor. Failures complete the future with a {@link LoadFailure}: see why
   * there.
   *
   * @param keys the key or keys loaded, for the log line of a failed refresh
   * @param refreshed the entry a refresh reloads, or null for a first load
   */
  private <T> CompletableFuture<T> call(
      Executor executor, Object keys, @Nullable Slot<V> refreshed, Callable<T> load) {
    Load<T> future = new Load<>();
    Runnable task =
        () -> {
          long start = clock.nanoTime();
          T result;
          try {
            result = load.call();
          } catch (Throwable e) {
            if (e instanceof InterruptedException) {
              Thread.currentThread().interrupt();
            }
            if (refreshed != null) {
              refreshFailed(keys, refreshed, e);
            }
            counted(start, refreshed != null, true);
            future.completeExceptionally(new LoadFailure(e));
            future.settled.countDown();
            return;
          }
          counted(start, refreshed != null, false);
          future.complete(result);
          future.settled.countDown();
        };
    try {
      executor.execute(task);
    } catch (RuntimeException e) {
      future.completeExceptionally(new LoadFailure(e));
      future.settled.countDown();
    }
    return future;
  }

  private void counted(long start, boolean refresh, boolean failed) {
    loadNanos.add(Math.max(0, clock.nanoTime() - start));
    loads.increment();
    if (failed) {
      loadFailures.increment();
    }
    if (refresh) {
      refreshes.increment();
      if (failed) {
        refreshFailures.increment();
      }
    }
  }

  /** Marks the entry so it is not refreshed again too soon, and logs the failure (throttled). */
  private void refreshFailed(Object key, Slot<V> slot, Throwable error) {
    slot.refreshFailedAt = clock.nanoTime();
    slot.refreshFailed = true;
    if (closing.getAsBoolean()) {
      LOG.debug(
          "{}: a refresh of reference data '{}' was stopped by close: {}",
          owner,
          data.name(),
          ErrorText.describeDefault(error));
      return;
    }
    long now = clock.nanoTime();
    long next = nextWarning.get();
    if ((next == Long.MIN_VALUE || now - next >= 0)
        && nextWarning.compareAndSet(next, now + WARN_EVERY_NANOS)) {
      long more = unwarned.sumThenReset();
      Duration expire = data.expireAfterWrite();
      LOG.warn(
          "{}: refreshing reference data '{}' failed for key '{}'{}; the old value stays{}, and the"
              + " key is refreshed again after {} at its next lookup: {}",
          owner,
          data.name(),
          describe(key),
          more > 0 ? " (and " + more + " more refreshes failed since the last warning)" : "",
          expire == null ? "" : " until it expires " + expire + " after its load",
          data.refreshAfterWrite(),
          ErrorText.describeDefault(error));
    } else {
      unwarned.increment();
    }
  }

  /** The key, or keys, as an error or a log line shows them: cut and escaped. */
  static String describe(@Nullable Object keys) {
    if (keys instanceof Collection<?> many) {
      StringBuilder out = new StringBuilder("[");
      int named = 0;
      for (Object key : many) {
        if (named == KEYS_NAMED) {
          out.append(", … ").append(many.size() - KEYS_NAMED).append(" more");
          break;
        }
        out.append(named == 0 ? "" : ", ").append(describe(key));
        named++;
      }
      return out.append(']').toString();
    }
    String text;
    try {
      text = String.valueOf(keys);
    } catch (Throwable thrown) {
      text = "[toString() threw " + thrown.getClass().getName() + "]";
    }
    return ErrorText.escape(ErrorText.cut(text, KEY_CHARS));
  }

  /**
   * The loader's error behind a failed future: under the {@link LoadFailure}, and the wrappers a
   * future's {@code get} or Caffeine's bulk lookups put around it.
   */
  private static Throwable cause(Throwable failed) {
    Throwable cause = failed;
    for (int i = 0; i < 4; i++) {
      Throwable next = cause.getCause();
      if (next == null
          || !(cause instanceof ExecutionException
              || cause instanceof CompletionException
              || cause instanceof CancellationException)) {
        break;
      }
      cause = next;
    }
    return cause;
  }

  /**
   * A cached answer: the value, or null for a key that has none; and when a refresh of it last
   * failed (an entry Caffeine keeps while the refresh is retried, whose mark goes with it).
   */
  static final class Slot<V> {
    final @Nullable V value;
    volatile long refreshFailedAt;
    volatile boolean refreshFailed;

    Slot(@Nullable V value) {
      this.value = value;
    }
  }

  /**
   * A load's future, which also tells when Caffeine has taken its outcome in. Caffeine stamps a
   * loaded entry's write time, or drops a failed one, in a callback that the completing thread runs
   * inside {@code complete}, possibly after it has woken the lookups waiting for the value; a
   * lookup that returned before that, and a test that then moved the clock, would see the entry
   * stamped after the move (expiring and refreshing late), or the failed load still cached.
   */
  static final class Load<T> extends CompletableFuture<T> {
    // counted down once complete() has returned, so after the callbacks it ran
    final CountDownLatch settled = new CountDownLatch(1);
  }

  /**
   * A failed load as Caffeine receives it. Caffeine counts a failed future as a failed load and
   * drops it (a refresh keeps the old value), but logs its exception through {@code System.Logger}
   * with a stack trace, outside the pipeline's logging, unless the future was cancelled; so a
   * failure completes the future as cancelled, with the loader's error as the cause that the
   * waiting lookups rethrow, and the pipeline says what it has to say itself.
   */
  static final class LoadFailure extends CancellationException {
    private static final long serialVersionUID = 1L;

    LoadFailure(@Nullable Throwable cause) {
      super("the reference data load failed");
      if (cause != null) {
        initCause(cause);
      }
    }
  }

  /** Loads keys one at a time, for a declaration built with a single-key loader. */
  private class Loading implements AsyncCacheLoader<K, Slot<V>> {
    @Override
    public CompletableFuture<Slot<V>> asyncLoad(K key, Executor executor) {
      return call(executor, key, null, () -> new Slot<>(loader.load(key)));
    }

    @Override
    public CompletableFuture<Slot<V>> asyncReload(K key, Slot<V> old, Executor executor) {
      if (old.refreshFailed && clock.nanoTime() - old.refreshFailedAt < refreshNanos) {
        // its last refresh failed lately: leave the source alone for a whole interval, rather
        // than call it again at every lookup while it is down (Caffeine keeps the old value)
        return CompletableFuture.failedFuture(new LoadFailure(null));
      }
      return call(executor, key, old, () -> new Slot<>(loader.load(key)));
    }
  }

  /** Loads the keys a lookup misses in one call, for a bulk declaration. */
  private final class BulkLoading extends Loading {
    @Override
    public CompletableFuture<Map<K, Slot<V>>> asyncLoadAll(
        Set<? extends K> keys, Executor executor) {
      Set<K> asked = Collections.unmodifiableSet(Set.copyOf(keys));
      ReferenceData.BulkLoader<K, V> bulk = Objects.requireNonNull(data.bulkLoader());
      return call(executor, asked, null, () -> slots(asked, bulk.loadAll(asked)));
    }

    private Map<K, Slot<V>> slots(Set<K> asked, @Nullable Map<K, V> found) {
      if (found == null) {
        throw new NullPointerException(
            "the bulk loader of reference data '"
                + data.name()
                + "' returned null; return an empty map when no key has a value");
      }
      Map<K, Slot<V>> slots = new HashMap<>();
      for (K key : asked) {
        slots.put(key, new Slot<>(found.get(key))); // a key left out has no value
      }
      return slots;
    }
  }

  /** What one stage gets from {@code StageContext.reference}: the cache, naming the stage. */
  private final class Lookup implements ReferenceLookup<K, V> {
    private final String stage;

    Lookup(String stage) {
      this.stage = stage;
    }

    @Override
    public ReferenceData<K, V> data() {
      return data;
    }

    @Override
    public V get(K key) {
      V value = slot(key).value;
      if (value == null) {
        String shown = describe(key);
        throw new ReferenceDataException(
            stage,
            data.name(),
            shown,
            true,
            "stage '"
                + stage
                + "': reference data '"
                + data.name()
                + "' has no value for key '"
                + shown
                + "' (its loader found none); use find(key) where a key may have none",
            null);
      }
      return value;
    }

    @Override
    public Optional<V> find(K key) {
      return Optional.ofNullable(slot(key).value);
    }

    @Override
    public Map<K, V> getAll(Collection<? extends K> keys) {
      Objects.requireNonNull(keys, "keys cannot be null");
      for (K key : keys) {
        Objects.requireNonNull(key, "keys cannot hold null");
      }
      Map<K, Slot<V>> slots = await(cache.getAll(keys), keys);
      Map<K, V> values = new LinkedHashMap<>();
      for (K key : keys) {
        Slot<V> slot = slots.get(key);
        if (slot != null && slot.value != null) {
          values.put(key, slot.value);
        }
      }
      return Collections.unmodifiableMap(values);
    }

    private Slot<V> slot(K key) {
      Objects.requireNonNull(key, "key cannot be null");
      return await(cache.get(key), key);
    }

    private <T> T await(CompletableFuture<T> future, Object keys) {
      Throwable error;
      try {
        try {
          T result = future.get();
          settled(future);
          return result;
        } catch (ExecutionException | CancellationException e) {
          settled(future);
          error = e;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw failed(keys, "was interrupted while waiting for reference data", e, e);
      }
      Throwable cause = cause(error);
      if (cause instanceof VirtualMachineError vmError) {
        throw vmError;
      }
      throw failed(keys, "could not load from reference data", cause, cause);
    }

    /** Waits, a moment at most, until Caffeine has taken in the outcome of a finished load. */
    private static void settled(CompletableFuture<?> done) throws InterruptedException {
      if (done instanceof Load<?> load) {
        load.settled.await();
      }
    }

    private ReferenceDataException failed(
        Object keys, String what, Throwable shown, Throwable cause) {
      String text = describe(keys);
      return new ReferenceDataException(
          stage,
          data.name(),
          text,
          false,
          "stage '"
              + stage
              + "' "
              + what
              + " '"
              + data.name()
              + "' "
              + (keys instanceof Collection<?> ? "keys " + text : "key '" + text + "'")
              + ": "
              + ErrorText.describeDefault(shown),
          cause);
    }
  }
}
