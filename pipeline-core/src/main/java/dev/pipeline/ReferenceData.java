package dev.pipeline;

import dev.pipeline.internal.ErrorText;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Reference data that stages look things up in (manufacturers, exchange rates, phrase tables),
 * declared once and cached by every pipeline that declares it.
 *
 * <pre>{@code
 * static final ReferenceData<Currency, Long> EUR_RATES =
 *     ReferenceData.named("eur-rates")
 *         .maximumSize(100)
 *         .expireAfterWrite(Duration.ofHours(24))
 *         .refreshAfterWrite(Duration.ofHours(1))
 *         .build(rateService::eurRate);
 *
 * Pipeline.builder("listings", Listing.class)
 *     .stage(INDEXING, (listing, context) -> index(listing, context.reference(EUR_RATES)),
 *         s -> s.referenceData(EUR_RATES)) // only this stage looks it up
 *     ...
 * }</pre>
 *
 * <p>A declaration holds no values. Each pipeline that declares it, with {@link
 * PipelineBuilder#referenceData(ReferenceData)} for every stage or {@link
 * StageOptions.Builder#referenceData(ReferenceData)} for one, builds its own cache from it (a
 * Caffeine cache), and the test kit's {@code StageTester} builds one for a stage tested alone. The
 * declaration is also the typed key a stage looks its cache up with: {@link
 * StageContext#reference(ReferenceData)}. Two declarations are different reference data even with
 * the same settings, so keep each in one {@code static final} field.
 *
 * <p>How the cache behaves:
 *
 * <ul>
 *   <li><b>Loads.</b> A key not in the cache is loaded by one call of the loader, however many
 *       lookups ask for it at once: the others wait for that load (and count as hits). Loads run on
 *       virtual threads the pipeline owns, so a loader may block on a remote call or a query. Keys
 *       need {@code equals} and {@code hashCode}.
 *   <li><b>No value.</b> A loader returns null for a key that has no value. That absence is cached
 *       as a value is (an unknown key, from scraped text say, does not call the loader on every
 *       lookup), expires and is refreshed like one; {@link ReferenceLookup#get} then throws a
 *       {@link ReferenceDataException} whose {@link ReferenceDataException#keyNotFound()} is true,
 *       {@link ReferenceLookup#find} returns empty and {@link ReferenceLookup#getAll} leaves the
 *       key out.
 *   <li><b>Failures.</b> A loader that throws fails the lookup with a {@link
 *       ReferenceDataException} naming the reference data, the key and the cause, so the record
 *       follows its stage's retry policy; nothing is cached, and the next lookup loads again.
 *   <li><b>Size.</b> At most {@link #maximumSize()} entries; past it, those least likely to be used
 *       again are evicted.
 *   <li><b>Expiry.</b> With {@link Builder#expireAfterWrite}, an entry loaded longer ago is loaded
 *       again at its next lookup, which waits for it.
 *   <li><b>Refresh ahead.</b> With {@link Builder#refreshAfterWrite}, the first lookup of an entry
 *       loaded longer ago gets the old value at once and starts a reload in the background; the new
 *       value replaces the old one only when that reload finishes. A reload that fails keeps the
 *       old value: it is counted ({@link dev.pipeline.metrics.ReferenceDataMetrics}) and logged,
 *       and the key is not reloaded again before another {@code refreshAfterWrite} has passed; the
 *       entry still expires after {@code expireAfterWrite}.
 *   <li><b>Time</b> is the pipeline's {@link PipelineClock}, so a test moves it.
 * </ul>
 *
 * <p>Immutable and thread-safe.
 *
 * @param <K> the key type
 * @param <V> the value type
 */
public final class ReferenceData<K, V> {
  /** The most entries a cache holds unless {@link Builder#maximumSize(long)} is set. */
  public static final long DEFAULT_MAXIMUM_SIZE = 10_000;

  /** The largest {@link Builder#maximumSize(long)}. */
  public static final long MAX_MAXIMUM_SIZE = 100_000_000;

  /** The shortest expiry or refresh interval. */
  public static final Duration MIN_INTERVAL = Duration.ofMillis(1);

  /** The longest expiry or refresh interval; leave it unset for none. */
  public static final Duration MAX_INTERVAL = Duration.ofDays(365);

  /** The longest name, in characters: it is written in log lines and metric tables. */
  public static final int MAX_NAME_CHARS = 100;

  private final String name;
  private final long maximumSize;
  private final @Nullable Duration expireAfterWrite;
  private final @Nullable Duration refreshAfterWrite;
  private final @Nullable Loader<K, V> loader;
  private final @Nullable BulkLoader<K, V> bulkLoader;

  private ReferenceData(
      Builder builder, @Nullable Loader<K, V> loader, @Nullable BulkLoader<K, V> bulkLoader) {
    this.name = builder.name;
    this.maximumSize = builder.maximumSize;
    this.expireAfterWrite = builder.expireAfterWrite;
    this.refreshAfterWrite = builder.refreshAfterWrite;
    this.loader = loader;
    this.bulkLoader = bulkLoader;
  }

  /**
   * Starts declaring reference data.
   *
   * @param name its name in metrics, logs and errors; unique within a pipeline
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if the name is blank, longer than {@value #MAX_NAME_CHARS}
   *     characters or holds a control character
   */
  public static Builder named(String name) {
    Objects.requireNonNull(name, "name cannot be null");
    if (name.isBlank() || name.length() > MAX_NAME_CHARS) {
      throw new IllegalArgumentException(
          "reference data name must have 1 to "
              + MAX_NAME_CHARS
              + " characters and not be blank, was '"
              + ErrorText.escape(ErrorText.cut(name, MAX_NAME_CHARS))
              + "' ("
              + name.length()
              + " characters)");
    }
    int control = ErrorText.firstControl(name);
    if (control >= 0) {
      throw new IllegalArgumentException(
          String.format(
              Locale.ROOT,
              "reference data name '%s' holds the control character U+%04X at position %d; use a"
                  + " name without line breaks, escapes or other control characters",
              ErrorText.escape(name),
              (int) name.charAt(control),
              control));
    }
    return new Builder(name);
  }

  /** The name: unique within a pipeline, shown in metrics, logs and errors. */
  public String name() {
    return name;
  }

  /** The most entries a cache of it holds. */
  public long maximumSize() {
    return maximumSize;
  }

  /** How long after its load an entry expires, or null if it never does. */
  public @Nullable Duration expireAfterWrite() {
    return expireAfterWrite;
  }

  /** How long after its load an entry is reloaded ahead of its next use, or null if never. */
  public @Nullable Duration refreshAfterWrite() {
    return refreshAfterWrite;
  }

  /** Whether it was built with a {@link BulkLoader}, which loads many keys in one call. */
  public boolean isBulk() {
    return bulkLoader != null;
  }

  /**
   * How one key is loaded: the loader it was built with, or for a bulk declaration a call of its
   * bulk loader with that one key.
   */
  public Loader<K, V> loader() {
    if (loader != null) {
      return loader;
    }
    BulkLoader<K, V> bulk = Objects.requireNonNull(bulkLoader);
    return key -> bulk.loadAll(Set.of(key)).get(key);
  }

  /**
   * How many keys are loaded at once: the bulk loader it was built with, or null if it was built
   * with a single-key {@link Loader} (each key is then loaded on its own).
   */
  public @Nullable BulkLoader<K, V> bulkLoader() {
    return bulkLoader;
  }

  @Override
  public String toString() {
    return "ReferenceData["
        + name
        + ", maximumSize="
        + maximumSize
        + (expireAfterWrite == null ? "" : ", expireAfterWrite=" + expireAfterWrite)
        + (refreshAfterWrite == null ? "" : ", refreshAfterWrite=" + refreshAfterWrite)
        + (isBulk() ? ", bulk" : "")
        + "]";
  }

  /**
   * Loads the value of one key.
   *
   * @param <K> the key type
   * @param <V> the value type
   */
  @FunctionalInterface
  public interface Loader<K, V> {
    /**
     * Loads a key's value. Called from the pipeline's virtual threads, several keys at once:
     * implementations must be thread-safe.
     *
     * @return the value, or null if the key has none (that absence is cached, see {@link
     *     ReferenceData})
     * @throws Exception if it cannot be loaded now; the lookup fails with a {@link
     *     ReferenceDataException} and the next one tries again
     */
    @Nullable V load(K key) throws Exception;
  }

  /**
   * Loads the values of many keys in one call: one query or remote call instead of one per key.
   *
   * @param <K> the key type
   * @param <V> the value type
   */
  @FunctionalInterface
  public interface BulkLoader<K, V> {
    /**
     * Loads the values of some keys. Called from the pipeline's virtual threads, several calls at
     * once: implementations must be thread-safe.
     *
     * @param keys the keys to load, unmodifiable, never empty
     * @return the values found; a key left out (or mapped to null) has no value, and keys not asked
     *     for are ignored
     * @throws Exception if they cannot be loaded now; every lookup waiting for them fails
     */
    Map<K, V> loadAll(Set<K> keys) throws Exception;
  }

  /**
   * Collects the settings of a declaration. Each setting is checked when set, and the settings
   * together when it is built.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private final String name;
    private long maximumSize = DEFAULT_MAXIMUM_SIZE;
    private @Nullable Duration expireAfterWrite;
    private @Nullable Duration refreshAfterWrite;
    private boolean maximumSizeSet;

    private Builder(String name) {
      this.name = name;
    }

    /**
     * Sets the most entries a cache holds ({@value #DEFAULT_MAXIMUM_SIZE} unless set); the entries
     * least likely to be used again are evicted past it. Keys of unknown values count too.
     *
     * @throws IllegalArgumentException if not between 1 and {@value #MAX_MAXIMUM_SIZE}
     * @throws IllegalStateException if set twice
     */
    public Builder maximumSize(long entries) {
      once(maximumSizeSet, "maximumSize");
      if (entries < 1 || entries > MAX_MAXIMUM_SIZE) {
        throw new IllegalArgumentException(
            "reference data '"
                + name
                + "': maximumSize must be between 1 and "
                + MAX_MAXIMUM_SIZE
                + " entries, was "
                + entries);
      }
      this.maximumSize = entries;
      maximumSizeSet = true;
      return this;
    }

    /**
     * Makes an entry expire this long after it was loaded: its next lookup loads it again and
     * waits. Entries never expire unless set.
     *
     * @throws NullPointerException if {@code interval} is null
     * @throws IllegalArgumentException if not between {@link #MIN_INTERVAL} and {@link
     *     #MAX_INTERVAL}
     * @throws IllegalStateException if set twice
     */
    public Builder expireAfterWrite(Duration interval) {
      once(expireAfterWrite != null, "expireAfterWrite");
      this.expireAfterWrite = checked(interval, "expireAfterWrite");
      return this;
    }

    /**
     * Makes the first lookup of an entry loaded longer ago than this reload it in the background,
     * answering with the old value meanwhile. Must be shorter than {@link #expireAfterWrite} if
     * both are set (an entry would expire before it is refreshed). Entries are not refreshed unless
     * set.
     *
     * @throws NullPointerException if {@code interval} is null
     * @throws IllegalArgumentException if not between {@link #MIN_INTERVAL} and {@link
     *     #MAX_INTERVAL}
     * @throws IllegalStateException if set twice
     */
    public Builder refreshAfterWrite(Duration interval) {
      once(refreshAfterWrite != null, "refreshAfterWrite");
      this.refreshAfterWrite = checked(interval, "refreshAfterWrite");
      return this;
    }

    /**
     * Builds a declaration whose keys are loaded one at a time.
     *
     * @throws NullPointerException if {@code loader} is null
     * @throws IllegalStateException if {@code refreshAfterWrite} is not shorter than {@code
     *     expireAfterWrite}
     */
    public <K, V> ReferenceData<K, V> build(Loader<K, V> loader) {
      Objects.requireNonNull(loader, "loader cannot be null");
      checkIntervals();
      return new ReferenceData<>(this, loader, null);
    }

    /**
     * Builds a declaration whose keys are loaded many at once: {@link ReferenceLookup#getAll} loads
     * the keys it misses in one call, and a single lookup loads its key as a set of one.
     *
     * @throws NullPointerException if {@code loader} is null
     * @throws IllegalStateException if {@code refreshAfterWrite} is not shorter than {@code
     *     expireAfterWrite}
     */
    public <K, V> ReferenceData<K, V> buildBulk(BulkLoader<K, V> loader) {
      Objects.requireNonNull(loader, "loader cannot be null");
      checkIntervals();
      return new ReferenceData<>(this, null, loader);
    }

    private void checkIntervals() {
      if (expireAfterWrite != null
          && refreshAfterWrite != null
          && refreshAfterWrite.compareTo(expireAfterWrite) >= 0) {
        throw new IllegalStateException(
            "reference data '"
                + name
                + "' is refreshed after "
                + refreshAfterWrite
                + " but expires after "
                + expireAfterWrite
                + ": its entries would expire before they are refreshed; make refreshAfterWrite"
                + " shorter than expireAfterWrite");
      }
    }

    private Duration checked(Duration interval, String what) {
      Objects.requireNonNull(interval, what + " cannot be null");
      if (interval.compareTo(MIN_INTERVAL) < 0 || interval.compareTo(MAX_INTERVAL) > 0) {
        throw new IllegalArgumentException(
            "reference data '"
                + name
                + "': "
                + what
                + " must be between "
                + MIN_INTERVAL
                + " and "
                + MAX_INTERVAL
                + " (365 days), was "
                + interval
                + "; leave it unset for none");
      }
      return interval;
    }

    private void once(boolean set, String what) {
      if (set) {
        throw new IllegalStateException(
            "reference data '" + name + "': " + what + " was already set");
      }
    }
  }
}
