package dev.pipeline;

import java.util.Collection;
import java.util.Map;
import java.util.Optional;

/**
 * A pipeline's cache of one {@link ReferenceData}, as a stage reaches it through {@link
 * StageContext#reference(ReferenceData)}.
 *
 * <pre>{@code
 * long rate = context.reference(EUR_RATES).get(Currency.USD);
 * Optional<String> make = context.reference(MANUFACTURERS).find(word);
 * }</pre>
 *
 * <p>A lookup waits while its key is being loaded (its thread, a virtual one, is parked, not
 * pinned); an interrupt (a stage timeout) ends the wait with a {@link ReferenceDataException}, and
 * the load goes on for the next lookup. Hits, misses and loads are counted in {@link
 * dev.pipeline.metrics.ReferenceDataMetrics}.
 *
 * <p>Thread-safe: the cache is shared by every worker of the stages that declare it.
 *
 * @param <K> the key type
 * @param <V> the value type
 */
public interface ReferenceLookup<K, V> {

  /** The reference data this looks up. */
  ReferenceData<K, V> data();

  /**
   * The key's value, loaded if the cache does not hold it.
   *
   * @throws NullPointerException if {@code key} is null
   * @throws ReferenceDataException if the loader failed, or found no value for the key ({@link
   *     ReferenceDataException#keyNotFound()}), or the wait was interrupted
   */
  V get(K key);

  /**
   * The key's value, or empty if the loader found none; loaded if the cache does not hold it.
   *
   * @throws NullPointerException if {@code key} is null
   * @throws ReferenceDataException if the loader failed or the wait was interrupted
   */
  Optional<V> find(K key);

  /**
   * The values of several keys, loading those the cache does not hold: in one call for a {@link
   * ReferenceData#isBulk() bulk} declaration, each on its own (at once) otherwise.
   *
   * @return the keys that have a value with their values, in the order given; unmodifiable
   * @throws NullPointerException if {@code keys} is or holds null
   * @throws ReferenceDataException if a load failed or the wait was interrupted
   */
  Map<K, V> getAll(Collection<? extends K> keys);
}
