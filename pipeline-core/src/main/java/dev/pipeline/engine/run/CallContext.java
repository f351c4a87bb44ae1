package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.PipelineClock;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.ReferenceData;
import dev.pipeline.ReferenceLookup;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.StageOptions;
import dev.pipeline.internal.EngineMetadata;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.internal.ReferenceTables;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.MDC;
import org.slf4j.helpers.NOPMDCAdapter;

/**
 * The context of one call, reused by its worker from call to call so the hot path allocates nothing
 * for it. Not thread-safe: one per worker.
 */
public final class CallContext implements StageContext, EngineMetadata.Marks {
  private final String pipeline;
  private final StageName stage;
  private final Logger logger;
  private final PipelineClock clock;
  private final ReferenceTables references;

  private @Nullable Envelope<Object> record;
  private @Nullable List<Envelope<Object>> batch;
  private int attempt;
  private @Nullable Map<String, String> added;

  /**
   * How many of {@link #added} are {@link EngineMetadata.Marks marks}, outside the call's count.
   */
  private int marks;

  private @Nullable String @Nullable [] filterReasons;
  private @Nullable Throwable @Nullable [] failures;

  public CallContext(
      String pipeline,
      StageName stage,
      Logger logger,
      PipelineClock clock,
      ReferenceTables references) {
    this(pipeline, stage, logger, clock, references, null, StageOptions.defaults());
  }

  /**
   * A context whose logger copies the stage's lines into the audit trail, if {@code telemetry} is
   * given and keeps one.
   */
  CallContext(
      String pipeline,
      StageName stage,
      Logger logger,
      PipelineClock clock,
      ReferenceTables references,
      @Nullable Telemetry telemetry,
      StageOptions options) {
    this.references = references;
    this.pipeline = pipeline;
    this.stage = stage;
    this.logger =
        telemetry != null && telemetry.auditing()
            ? new AuditLogger(
                logger, this, telemetry, options.auditLevel(), options.auditSampling())
            : logger;
    this.clock = clock;
  }

  /** Sets the MDC of the calls to come on this thread: the pipeline and the stage. */
  void enter() {
    MDC.put(StageContext.MDC_PIPELINE, pipeline);
    MDC.put(StageContext.MDC_STAGE, stage.value());
  }

  /** Clears the record from the MDC once the calls are done. */
  void leave() {
    MDC.remove(StageContext.MDC_RECORD_ID);
  }

  /**
   * The record a line of the audit trail is about: this call's, or for a batch call none (the
   * batch's first id and size go to the metadata).
   */
  @Nullable String auditRecordId(Map<String, String> metadata) {
    if (record != null) {
      return record.id();
    }
    if (batch != null && !batch.isEmpty()) {
      metadata.put("firstRecord", batch.get(0).id());
      metadata.put("records", Integer.toString(batch.size()));
    }
    return null;
  }

  /** The longest record id put in the MDC. */
  static final int MDC_ID_CHARS = 200;

  /**
   * Whether the logging backend keeps an MDC: without one (SLF4J's simple or no-op logger) the
   * record's id is neither escaped nor put, which would cost every call a read of the id's text.
   */
  private static final boolean MDC_KEPT = !(MDC.getMDCAdapter() instanceof NOPMDCAdapter);

  private static String mdcId(String id) {
    return ErrorText.escape(id.length() > MDC_ID_CHARS ? ErrorText.cut(id, MDC_ID_CHARS) : id);
  }

  public void reset(Envelope<Object> record, int attempt) {
    if (MDC_KEPT) {
      MDC.put(StageContext.MDC_RECORD_ID, mdcId(record.id()));
    }
    this.record = record;
    this.batch = null;
    this.attempt = attempt;
    this.added = null;
    this.marks = 0;
  }

  /** The payload of the record of a single-record call (after {@link #reset}). */
  Object payload() {
    return single("payload", "a batch's inputs").payload();
  }

  void resetBatch(List<Envelope<Object>> batch, int attempt) {
    if (MDC_KEPT && !batch.isEmpty()) {
      String first = mdcId(batch.get(0).id());
      MDC.put(
          StageContext.MDC_RECORD_ID,
          batch.size() == 1 ? first : first + " (+" + (batch.size() - 1) + ")");
    }
    this.record = null;
    this.batch = batch;
    this.attempt = attempt;
    this.added = null;
    this.marks = 0;
    this.filterReasons = null;
    this.failures = null;
  }

  /** The metadata a stage added during the call, or null if none. */
  public @Nullable Map<String, String> added() {
    return added;
  }

  /**
   * What the last call added under {@code key} if it was a call on the record {@code id}, or null.
   */
  @Nullable String addedFor(String id, String key) {
    return added == null || record == null || !record.id().equals(id) ? null : added.get(key);
  }

  @Nullable String filterReason(int index) {
    return filterReasons == null ? null : filterReasons[index];
  }

  @Nullable Throwable failure(int index) {
    return failures == null ? null : failures[index];
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
    return single("recordId", "recordIds()").id();
  }

  @Override
  public List<String> recordIds() {
    if (record != null) {
      return List.of(record.id());
    }
    List<String> ids = new ArrayList<>(batch().size());
    for (Envelope<Object> e : batch()) {
      ids.add(e.id());
    }
    return Collections.unmodifiableList(ids);
  }

  @Override
  public int attempt() {
    return attempt;
  }

  @Override
  public Map<String, String> metadata() {
    return single("metadata", "metadata(index)").metadata();
  }

  @Override
  public Map<String, String> metadata(int index) {
    if (record != null) {
      Objects.checkIndex(index, 1);
      return record.metadata();
    }
    return batch().get(index).metadata();
  }

  @Override
  public void putMetadata(String key, String value) {
    Objects.requireNonNull(key, "key cannot be null");
    Objects.requireNonNull(value, "value cannot be null");
    EngineMetadata.checkStageKey(key);
    put(key, value, false);
  }

  @Override
  public void putMark(String key, String value) {
    Objects.requireNonNull(key, "key cannot be null");
    Objects.requireNonNull(value, "value cannot be null");
    put(key, value, true);
  }

  private void put(String key, String value, boolean mark) {
    if (EngineMetadata.admit(added, marks, key, value, mark, this)) {
      marks++;
    }
    added = EngineMetadata.with(added, key, value);
  }

  @Override
  public void filter(int index, String reason) {
    Objects.requireNonNull(reason, "reason cannot be null");
    int size = batch().size();
    Objects.checkIndex(index, size);
    if (filterReasons == null) {
      filterReasons = new String[size];
    }
    // kept as a filter signal keeps it: bounded
    filterReasons[index] = RecordFilteredException.because(reason).reason();
  }

  @Override
  public void fail(int index, Throwable error) {
    Objects.requireNonNull(error, "error cannot be null");
    int size = batch().size();
    Objects.checkIndex(index, size);
    if (failures == null) {
      failures = new Throwable[size];
    }
    failures[index] = error;
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

  private Envelope<Object> single(String what, String instead) {
    if (record == null) {
      throw new IllegalStateException(
          "stage '"
              + stage
              + "' is a batch stage: "
              + what
              + "() has no single answer; use "
              + instead);
    }
    return record;
  }

  private List<Envelope<Object>> batch() {
    if (batch == null) {
      throw new IllegalStateException(
          "stage '"
              + stage
              + "' processes one record at a time: filter and fail by index are for"
              + " batch stages; throw RecordFilteredException or an exception instead");
    }
    return batch;
  }
}
