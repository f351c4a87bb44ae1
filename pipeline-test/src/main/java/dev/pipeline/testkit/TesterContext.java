package dev.pipeline.testkit;

import dev.pipeline.ReferenceData;
import dev.pipeline.ReferenceLookup;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.internal.ReferenceTables;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * The {@link StageContext} of one call made by a {@link StageTester}: the engine's contract, plus a
 * check that the stage does not use it after the call returned. Not thread-safe.
 */
final class TesterContext implements StageContext {
  private final String pipeline;
  private final StageName stage;
  private final Logger logger;
  private final ManualClock clock;
  private final boolean batch;
  private final List<String> recordIds;
  private final List<Map<String, String>> metadata;
  private final int attempt;
  private final Map<String, String> added = new LinkedHashMap<>();
  private final @Nullable String[] filterReasons;
  private final @Nullable Throwable[] failures;
  private final ReferenceTables references;
  private boolean ended;

  TesterContext(
      String pipeline,
      StageName stage,
      Logger logger,
      ManualClock clock,
      boolean batch,
      List<String> recordIds,
      List<Map<String, String>> metadata,
      int attempt,
      ReferenceTables references) {
    this.references = references;
    this.pipeline = pipeline;
    this.stage = stage;
    this.logger = logger;
    this.clock = clock;
    this.batch = batch;
    this.recordIds = List.copyOf(recordIds);
    this.metadata = List.copyOf(metadata);
    this.attempt = attempt;
    this.filterReasons = new String[recordIds.size()];
    this.failures = new Throwable[recordIds.size()];
  }

  /** Ends the call: from now on the stage may no longer change what it reported. */
  void end() {
    ended = true;
  }

  Map<String, String> added() {
    return Map.copyOf(added);
  }

  @Nullable String filterReason(int index) {
    return filterReasons[index];
  }

  @Nullable Throwable failure(int index) {
    return failures[index];
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
    inCall("putMetadata");
    added.put(key, value);
  }

  @Override
  public void filter(int index, String reason) {
    Objects.requireNonNull(reason, "reason cannot be null");
    batchOnly();
    inCall("filter");
    filterReasons[Objects.checkIndex(index, recordIds.size())] = reason;
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
}
