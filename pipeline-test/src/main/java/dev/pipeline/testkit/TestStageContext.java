package dev.pipeline.testkit;

import dev.pipeline.PipelineClock;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.ReferenceData;
import dev.pipeline.ReferenceLookup;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.internal.EngineMetadata;
import dev.pipeline.internal.ReferenceTables;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * A {@link StageContext} for calling a stage function directly in a unit test, without a pipeline
 * and without {@link StageTester}: the engine's contract (a single-record call refuses the batch
 * methods, a batch call the single-record ones), with the time of a clock of the test's choosing, a
 * logger whose lines are kept ({@link #logs()}), the reference data declared on it, and what the
 * stage reported ({@link #addedMetadata()}, {@link #filterReason(int)}, {@link #failure(int)}).
 *
 * <pre>{@code
 * ManualClock clock = ManualClock.create();
 * TestStageContext context =
 *     TestStageContext.builder()
 *         .stage(StageName.CLEANING)
 *         .recordId("listing-17")
 *         .metadata(Map.of("source", "scraper-a"))
 *         .clock(clock)
 *         .referenceData(EUR_RATES)
 *         .build();
 *
 * Listing cleaned = new Cleaner().process(listing, context);
 *
 * assertThat(context.addedMetadata()).containsEntry("cleaned-by", "v2");
 * assertThat(context.logs()).extracting(LogEntry::message).contains("price converted");
 * }</pre>
 *
 * <p>{@link StageTester} gives its stage one of these per call, and ends it when the call returns:
 * from then on the context refuses changes, since a stage must not keep its context.
 *
 * <p>Not thread-safe, as every stage context: one call's context, used by its thread.
 */
public final class TestStageContext implements StageContext {
  static {
    // a composite stage's own marks (a route's branch, a balancer's choice, a fallback's degraded
    // mark, the entries a parallel stage's branches added) are outside the count of entries a call
    // may add, as the engine's contexts take them; the public type keeps the engine's interface out
    EngineMetadata.takeMarksThrough(TestStageContext.class, context -> context::putMark);
  }

  private final String pipeline;
  private final StageName stage;
  private final Logger logger;
  private final LogBook book;
  private final int firstLog;
  private final PipelineClock clock;
  private final boolean batch;
  private final List<String> recordIds;
  private final List<Map<String, String>> metadata;
  private final int attempt;
  private final Map<String, String> added = new LinkedHashMap<>();
  private int marks; // how many of added are a composite stage's marks, outside the call's count
  private final @Nullable String[] filterReasons;
  private final @Nullable Throwable[] failures;
  private final ReferenceTables references;
  private boolean ended;

  TestStageContext(
      String pipeline,
      StageName stage,
      CapturingLogger logger,
      LogBook book,
      PipelineClock clock,
      boolean batch,
      List<String> recordIds,
      List<Map<String, String>> metadata,
      int attempt,
      ReferenceTables references) {
    this.references = references;
    this.pipeline = pipeline;
    this.stage = stage;
    this.logger = logger;
    this.book = book;
    this.firstLog = book.size();
    this.clock = clock;
    this.batch = batch;
    this.recordIds = List.copyOf(recordIds);
    this.metadata = List.copyOf(metadata);
    this.attempt = attempt;
    this.filterReasons = new String[recordIds.size()];
    this.failures = new Throwable[recordIds.size()];
  }

  /** A builder of a context for one record, {@code "record-1"}, at its first attempt. */
  public static Builder builder() {
    return new Builder();
  }

  /** Ends the call: from now on the stage may no longer change what it reported. */
  void end() {
    ended = true;
  }

  /** The metadata the stage added with {@link #putMetadata}, in the order added; a copy. */
  public Map<String, String> addedMetadata() {
    return Collections.unmodifiableMap(new LinkedHashMap<>(added));
  }

  /**
   * Why the stage filtered the record at {@code index} of its batch, or null if it did not.
   *
   * @throws IndexOutOfBoundsException if there is no such record
   */
  public @Nullable String filterReason(int index) {
    return filterReasons[Objects.checkIndex(index, recordIds.size())];
  }

  /**
   * The error the stage failed the record at {@code index} of its batch with, or null if it did
   * not.
   *
   * @throws IndexOutOfBoundsException if there is no such record
   */
  public @Nullable Throwable failure(int index) {
    return failures[Objects.checkIndex(index, recordIds.size())];
  }

  /** The lines the stage logged through {@link #logger()}, oldest first; a copy. */
  public List<LogEntry> logs() {
    return book.from(firstLog);
  }

  @Override
  public StageName stage() {
    return stage;
  }

  @Override
  public String pipeline() {
    return pipeline;
  }

  @Override
  public String recordId() {
    single("recordId", "recordIds()");
    return recordIds.get(0);
  }

  @Override
  public List<String> recordIds() {
    return recordIds;
  }

  @Override
  public int attempt() {
    return attempt;
  }

  @Override
  public Map<String, String> metadata() {
    single("metadata", "metadata(index)");
    return metadata.get(0);
  }

  @Override
  public Map<String, String> metadata(int index) {
    return metadata.get(Objects.checkIndex(index, metadata.size()));
  }

  @Override
  public void putMetadata(String key, String value) {
    Objects.requireNonNull(key, "key cannot be null");
    Objects.requireNonNull(value, "value cannot be null");
    EngineMetadata.checkStageKey(key);
    put(key, value, false);
  }

  /** A composite stage's mark: held to the lengths, not counted (see the static initializer). */
  private void putMark(String key, String value) {
    Objects.requireNonNull(key, "key cannot be null");
    Objects.requireNonNull(value, "value cannot be null");
    put(key, value, true);
  }

  private void put(String key, String value, boolean mark) {
    inCall("putMetadata");
    if (EngineMetadata.admit(added, marks, key, value, mark, this)) {
      marks++;
    }
    added.put(key, value);
  }

  @Override
  public void filter(int index, String reason) {
    Objects.requireNonNull(reason, "reason cannot be null");
    batchOnly();
    inCall("filter");
    filterReasons[Objects.checkIndex(index, recordIds.size())] =
        RecordFilteredException.because(reason).reason();
  }

  @Override
  public void fail(int index, Throwable error) {
    Objects.requireNonNull(error, "error cannot be null");
    batchOnly();
    inCall("fail");
    failures[Objects.checkIndex(index, recordIds.size())] = error;
  }

  @Override
  public Logger logger() {
    return logger;
  }

  @Override
  public Instant now() {
    return clock.now();
  }

  @Override
  public <K, V> ReferenceLookup<K, V> reference(ReferenceData<K, V> data) {
    return references.lookup(data, stage);
  }

  private void single(String what, String instead) {
    if (batch) {
      throw new IllegalStateException(
          "stage '"
              + stage
              + "' is a batch stage: "
              + what
              + "() has no single answer; use "
              + instead);
    }
  }

  private void batchOnly() {
    if (!batch) {
      throw new IllegalStateException(
          "stage '"
              + stage
              + "' processes one record at a time: filter and fail by index are for"
              + " batch stages; throw RecordFilteredException or an exception instead");
    }
  }

  private void inCall(String what) {
    if (ended) {
      throw new IllegalStateException(
          "stage '"
              + stage
              + "' called "
              + what
              + "() on the context of records "
              + recordIds
              + " after its call returned; a context belongs to one call and must not be kept");
    }
  }

  /**
   * Configures a {@link TestStageContext}. Not thread-safe.
   *
   * <p>Defaults: pipeline {@value StageTester#DEFAULT_PIPELINE_NAME}, stage {@code
   * stage-under-test}, one record {@code "record-1"} without metadata, attempt 1, a {@link
   * ManualClock} at {@link ManualClock#DEFAULT_START}, no reference data.
   */
  public static final class Builder {
    private String pipeline = StageTester.DEFAULT_PIPELINE_NAME;
    private StageName stage = StageTester.DEFAULT_STAGE_NAME;
    private List<String> recordIds = List.of("record-1");
    private boolean batch;
    private Map<String, String> metadata = Map.of();
    private int attempt = 1;
    private PipelineClock clock = ManualClock.create();
    private final TesterReferences references = new TesterReferences();

    private Builder() {}

    /**
     * The pipeline's name.
     *
     * @throws NullPointerException if the name is null
     */
    public Builder pipeline(String name) {
      this.pipeline = Objects.requireNonNull(name, "name cannot be null");
      return this;
    }

    /**
     * The stage's name.
     *
     * @throws NullPointerException if the name is null
     */
    public Builder stage(StageName name) {
      this.stage = Objects.requireNonNull(name, "name cannot be null");
      return this;
    }

    /**
     * A call of a single-record stage on the record with this id.
     *
     * @throws NullPointerException if the id is null
     */
    public Builder recordId(String id) {
      this.recordIds = List.of(Objects.requireNonNull(id, "id cannot be null"));
      this.batch = false;
      return this;
    }

    /**
     * A call of a batch stage on the records with these ids, in this order.
     *
     * @throws NullPointerException if the list is or holds null
     * @throws IllegalArgumentException if it is empty
     */
    public Builder batch(List<String> ids) {
      List<String> copy = List.copyOf(Objects.requireNonNull(ids, "ids cannot be null"));
      if (copy.isEmpty()) {
        throw new IllegalArgumentException("a batch holds at least one record id");
      }
      this.recordIds = copy;
      this.batch = true;
      return this;
    }

    /**
     * The metadata each record enters the stage with.
     *
     * @throws NullPointerException if the map is or holds null
     */
    public Builder metadata(Map<String, String> metadata) {
      this.metadata =
          Collections.unmodifiableMap(
              new LinkedHashMap<>(Objects.requireNonNull(metadata, "metadata cannot be null")));
      this.metadata.forEach(
          (k, v) -> Objects.requireNonNull(v, () -> "metadata '" + k + "' cannot be null"));
      return this;
    }

    /**
     * The attempt at the stage, from 1.
     *
     * @throws IllegalArgumentException if it is less than 1
     */
    public Builder attempt(int attempt) {
      if (attempt < 1) {
        throw new IllegalArgumentException("attempt counts from 1, was " + attempt);
      }
      this.attempt = attempt;
      return this;
    }

    /**
     * The clock {@link StageContext#now()} reads and reference data loads and expires on; a {@link
     * ManualClock} lets the test move time.
     *
     * @throws NullPointerException if the clock is null
     */
    public Builder clock(PipelineClock clock) {
      this.clock = Objects.requireNonNull(clock, "clock cannot be null");
      return this;
    }

    /**
     * Reference data the stage may look up with {@link StageContext#reference}: loaded on the
     * calling thread at the first lookup, cached on the context's clock.
     *
     * @throws NullPointerException if the array is or holds null
     * @throws IllegalStateException if a declaration, or its name, is given twice
     */
    public Builder referenceData(ReferenceData<?, ?>... data) {
      references.add(data);
      return this;
    }

    /**
     * A new context; each call gives one of its own (sharing the reference data's caches, built at
     * the first call).
     */
    public TestStageContext build() {
      LogBook book = new LogBook();
      return new TestStageContext(
          pipeline,
          stage,
          new CapturingLogger("dev.pipeline.stage." + pipeline + "." + stage.value(), stage, book),
          book,
          clock,
          batch,
          recordIds,
          Collections.nCopies(recordIds.size(), metadata),
          attempt,
          references.tables(
              "the TestStageContext of pipeline '" + pipeline + "'",
              "give it to the context with TestStageContext.builder().referenceData(...)",
              stage,
              clock));
    }
  }
}
