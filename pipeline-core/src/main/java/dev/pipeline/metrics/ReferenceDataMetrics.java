package dev.pipeline.metrics;

import java.time.Duration;
import java.util.List;

/**
 * A snapshot of one reference data cache of a pipeline, since the pipeline was built: its cache
 * serves every run of the pipeline, so what one run loaded the next one hits.
 *
 * <p>The numbers are per cache, not per stage: one cache serves every stage that declares it, and
 * its size and evictions belong to no one stage. {@link #stages()} names the stages that may look
 * it up.
 *
 * @param name the reference data's name
 * @param stages the stages that may look it up, in pipeline order
 * @param size entries in the cache now (loads under way and keys without a value included),
 *     approximately
 * @param hits lookups of a key the cache held, or was already loading (they waited for that load),
 *     stale values returned while a refresh ran included
 * @param misses lookups that started a load
 * @param loads calls of the loader, refreshes included, whether they succeeded or not (a bulk call
 *     counts once)
 * @param loadFailures of those, the calls that threw (or were interrupted)
 * @param loadTime the time spent in the loader, on the pipeline's clock
 * @param refreshes of the loads, the reloads ahead of expiry
 * @param refreshFailures of those, the ones that failed (the old value was kept)
 * @param evictions entries removed because the cache was full or they expired
 */
public record ReferenceDataMetrics(
    String name,
    List<String> stages,
    long size,
    long hits,
    long misses,
    long loads,
    long loadFailures,
    Duration loadTime,
    long refreshes,
    long refreshFailures,
    long evictions) {

  /** Copies the stage list. */
  public ReferenceDataMetrics {
    stages = List.copyOf(stages);
  }

  /** Hits among lookups, 0 to 1; 0 if there were none. */
  public double hitRate() {
    long lookups = hits + misses;
    return lookups == 0 ? 0 : (double) hits / lookups;
  }
}
