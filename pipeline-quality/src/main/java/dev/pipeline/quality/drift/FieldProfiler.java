package dev.pipeline.quality.drift;

import dev.pipeline.PipelineClock;
import dev.pipeline.Stage;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Profiles the fields of the records a stage puts out, per time window, in bounded memory: a
 * histogram for each number field, the most frequent values and a length histogram for each
 * category field, and the null rate of each (see {@link FieldProfile}).
 *
 * <pre>{@code
 * FieldProfiler<Listing> profiler = FieldProfiler.<Listing>builder("extraction")
 *     .number("price", Listing::price)
 *     .category("currency", Listing::currency)
 *     .window(Duration.ofMinutes(5))
 *     .onWindow(drift::check)
 *     .build();
 * builder.stage(StageName.EXTRACTION, profiler.observing(new Extractor()));
 * }</pre>
 *
 * <p><b>Memory</b> is fixed at build time, whatever the data: per number field {@value
 * #NUMBER_FIELD_BYTES} bytes of counters ({@link NumberBins#COUNT} longs); per category field at
 * most {@code k} values of at most {@value #MAX_VALUE_CHARS} characters (about {@code k × 700}
 * bytes: {@value #CATEGORY_ENTRY_BYTES} per entry at most) plus 33 length counters; plus the kept
 * windows' immutable profiles (the same bounds, numbers stored sparsely). A longer value is counted
 * under its first {@value #MAX_VALUE_CHARS} characters.
 *
 * <p><b>Windows</b> close on the pipeline's clock: the first record observed after the window's
 * length has passed closes it (or a call to {@link #roll()}, e.g. at the end of a run); its profile
 * goes to the {@link Builder#onWindow listeners} on that thread, and is kept among the last {@link
 * Builder#keepWindows} windows. Each field is counted under its own lock, so a record observed
 * while a window closes may count in the old window for one field and the new one for another.
 *
 * <p>Thread-safe: {@link #observe} is called from the stage's workers at once.
 *
 * @param <T> the type of the records profiled
 */
public final class FieldProfiler<T> {

  /** The longest category value kept, in characters; a longer one is counted under its prefix. */
  public static final int MAX_VALUE_CHARS = 256;

  /** The most values a category summary may keep. */
  public static final int MAX_TOP_VALUES = 1_024;

  /** The most fields one profiler may profile. */
  public static final int MAX_FIELDS = 256;

  /** The most closed windows a profiler may keep. */
  public static final int MAX_KEPT_WINDOWS = 10_000;

  /** The counters of a number field, in bytes. */
  static final int NUMBER_FIELD_BYTES = 8 * 1027;

  /** An upper bound on one category summary entry: key, its chars, counters and map node. */
  static final int CATEGORY_ENTRY_BYTES = 700;

  private static final Logger LOG = LoggerFactory.getLogger(FieldProfiler.class);

  private final String stage;
  private final PipelineClock clock;
  private final long windowNanos;
  private final int keep;
  private final List<FieldAccumulator<T>> fields;
  private final List<Consumer<? super WindowProfile>> listeners;
  private final LongAdder records = new LongAdder();
  private final ReentrantLock rolling = new ReentrantLock();

  private volatile long windowStartNanos;

  // guarded by rolling
  private Instant windowStart;
  private final Deque<WindowProfile> closed = new ArrayDeque<>();

  private FieldProfiler(Builder<T> b) {
    this.stage = b.stage;
    this.clock = b.clock;
    this.windowNanos = b.window.toNanos();
    this.keep = b.keep;
    this.fields = List.copyOf(b.fields.values());
    this.listeners = List.copyOf(b.listeners);
    this.windowStartNanos = clock.nanoTime();
    this.windowStart = clock.now();
  }

  /**
   * A builder of a profiler of the output of {@code stage}.
   *
   * @throws NullPointerException if {@code stage} is null
   */
  public static <T> Builder<T> builder(String stage) {
    return new Builder<>(stage);
  }

  /** The stage whose output is profiled. */
  public String stage() {
    return stage;
  }

  /** The names of the profiled fields, in declaration order. */
  public List<String> fields() {
    return fields.stream().map(f -> f.name).toList();
  }

  /**
   * Counts one record in the current window, first closing the window if its time is up. A field
   * whose getter throws counts as null for that record; nothing here throws for a record's sake.
   *
   * @throws NullPointerException if {@code record} is null
   */
  public void observe(T record) {
    Objects.requireNonNull(record, "record cannot be null");
    if (clock.nanoTime() - windowStartNanos >= windowNanos) {
      rollIfDue();
    }
    records.increment();
    for (int i = 0; i < fields.size(); i++) {
      fields.get(i).observe(record);
    }
  }

  private void rollIfDue() {
    if (!rolling.tryLock()) {
      return; // another thread is closing the window
    }
    try {
      if (clock.nanoTime() - windowStartNanos >= windowNanos) {
        close();
      }
    } finally {
      rolling.unlock();
    }
  }

  /**
   * Closes the current window now (at the end of a run, say), hands its profile to the listeners
   * and returns it; returns null, and keeps the window open, if it saw no record.
   */
  public @Nullable WindowProfile roll() {
    rolling.lock();
    try {
      return close();
    } finally {
      rolling.unlock();
    }
  }

  private @Nullable WindowProfile close() {
    long n = records.sumThenReset();
    Instant end = clock.now();
    windowStartNanos = clock.nanoTime();
    if (n == 0) {
      windowStart = end;
      return null;
    }
    Map<String, FieldProfile> profiles = new LinkedHashMap<>();
    for (FieldAccumulator<T> field : fields) {
      profiles.put(field.name, field.drain());
    }
    WindowProfile window = new WindowProfile(stage, windowStart, end, n, profiles);
    windowStart = end;
    closed.addLast(window);
    while (closed.size() > keep) {
      closed.removeFirst();
    }
    for (Consumer<? super WindowProfile> listener : listeners) {
      try {
        listener.accept(window);
      } catch (RuntimeException e) {
        LOG.warn(
            "profiler of stage '{}': a window listener threw {}; the profile is kept, the listener"
                + " should not throw",
            stage,
            e.getClass().getName());
      }
    }
    return window;
  }

  /** The closed windows kept, oldest first. */
  public List<WindowProfile> windows() {
    rolling.lock();
    try {
      return List.copyOf(closed);
    } finally {
      rolling.unlock();
    }
  }

  /**
   * A stage that runs {@code stage} and profiles each output it returns, for {@code
   * PipelineBuilder.stage(name, profiler.observing(stage))}: no extra stage, queue or hand-off,
   * only the profiling cost on the stage's own workers. A failing or filtering call profiles
   * nothing.
   *
   * @throws NullPointerException if {@code stage} is null
   */
  public <I, O extends T> Stage<I, O> observing(Stage<I, O> stage) {
    Objects.requireNonNull(stage, "stage cannot be null");
    return (input, context) -> {
      O output = stage.process(input, context);
      if (output != null) {
        observe(output);
      }
      return output;
    };
  }

  /**
   * A stage that passes each record on unchanged and profiles it, to profile between two stages
   * without touching either.
   */
  public Stage<T, T> passThrough() {
    return (input, context) -> {
      observe(input);
      return input;
    };
  }

  /** Cuts a value to {@link #MAX_VALUE_CHARS} characters, never splitting a surrogate pair. */
  static String cut(String text) {
    if (text.length() <= MAX_VALUE_CHARS) {
      return text;
    }
    int end = MAX_VALUE_CHARS;
    if (Character.isHighSurrogate(text.charAt(end - 1))) {
      end--;
    }
    return text.substring(0, end);
  }

  /**
   * Configures a {@link FieldProfiler}. Not thread-safe.
   *
   * @param <T> the type of the records profiled
   */
  public static final class Builder<T> {
    private final String stage;
    private final Map<String, FieldAccumulator<T>> fields = new LinkedHashMap<>();
    private final List<Consumer<? super WindowProfile>> listeners = new ArrayList<>();
    private PipelineClock clock = PipelineClock.system();
    private Duration window = Duration.ofMinutes(5);
    private int topValues = 64;
    private int keep = 288;

    private Builder(String stage) {
      this.stage = Objects.requireNonNull(stage, "stage cannot be null");
    }

    /**
     * Profiles a number field: {@code getter} returns a {@link Number} or null; anything else is
     * counted as invalid.
     *
     * @throws IllegalArgumentException if the name is blank or already used, or there are {@value
     *     #MAX_FIELDS} fields already
     */
    public Builder<T> number(String name, Function<? super T, ?> getter) {
      return add(name, new FieldAccumulator.Numbers<>(name, getter));
    }

    /**
     * Profiles a category field by the text of its values ({@code String.valueOf}), keeping the
     * {@link #topValues} most frequent.
     *
     * @throws IllegalArgumentException if the name is blank or already used, or there are {@value
     *     #MAX_FIELDS} fields already
     */
    public Builder<T> category(String name, Function<? super T, ?> getter) {
      return add(name, new FieldAccumulator.Categories<>(name, getter, topValues));
    }

    private Builder<T> add(String name, FieldAccumulator<T> field) {
      Objects.requireNonNull(name, "name cannot be null");
      if (name.isBlank() || name.length() > MAX_VALUE_CHARS) {
        throw new IllegalArgumentException(
            "a field name must have 1 to " + MAX_VALUE_CHARS + " characters, not blank");
      }
      if (fields.containsKey(name)) {
        throw new IllegalArgumentException("field '" + name + "' is profiled twice");
      }
      if (fields.size() == MAX_FIELDS) {
        throw new IllegalArgumentException("at most " + MAX_FIELDS + " fields can be profiled");
      }
      fields.put(name, field);
      return this;
    }

    /**
     * How many values each category field keeps (its {@code k}), for the category fields declared
     * after this call; 64 unless set.
     *
     * @throws IllegalArgumentException if outside [1, {@value #MAX_TOP_VALUES}]
     */
    public Builder<T> topValues(int k) {
      if (k < 1 || k > MAX_TOP_VALUES) {
        throw new IllegalArgumentException(
            "topValues must be in [1, " + MAX_TOP_VALUES + "], got " + k);
      }
      this.topValues = k;
      return this;
    }

    /**
     * The length of a window; 5 minutes unless set.
     *
     * @throws IllegalArgumentException if outside [1 ms, 7 days]
     */
    public Builder<T> window(Duration window) {
      Objects.requireNonNull(window, "window cannot be null");
      if (window.compareTo(Duration.ofMillis(1)) < 0 || window.compareTo(Duration.ofDays(7)) > 0) {
        throw new IllegalArgumentException("window must be in [1 ms, 7 days], got " + window);
      }
      this.window = window;
      return this;
    }

    /**
     * How many closed windows to keep for {@link #windows()}; 288 (a day of 5-minute windows)
     * unless set.
     *
     * @throws IllegalArgumentException if outside [1, {@value #MAX_KEPT_WINDOWS}]
     */
    public Builder<T> keepWindows(int windows) {
      if (windows < 1 || windows > MAX_KEPT_WINDOWS) {
        throw new IllegalArgumentException(
            "keepWindows must be in [1, " + MAX_KEPT_WINDOWS + "], got " + windows);
      }
      this.keep = windows;
      return this;
    }

    /** The clock windows are timed on; the system clock unless set (use the pipeline's). */
    public Builder<T> clock(PipelineClock clock) {
      this.clock = Objects.requireNonNull(clock, "clock cannot be null");
      return this;
    }

    /**
     * Adds a listener of closed windows, such as {@link DriftMonitor#check}; called on the thread
     * that closes the window, in order. An exception it throws is logged and otherwise ignored.
     */
    public Builder<T> onWindow(Consumer<? super WindowProfile> listener) {
      listeners.add(Objects.requireNonNull(listener, "listener cannot be null"));
      return this;
    }

    /**
     * The profiler.
     *
     * @throws IllegalStateException if no field was declared
     */
    public FieldProfiler<T> build() {
      if (fields.isEmpty()) {
        throw new IllegalStateException(
            "profiler of stage '"
                + stage
                + "' has no field: declare one with number() or category()");
      }
      return new FieldProfiler<>(this);
    }
  }
}
