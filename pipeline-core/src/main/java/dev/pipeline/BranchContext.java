package dev.pipeline;

import dev.pipeline.internal.EngineMetadata;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * A branch's context: the record as it entered the fan-out, with the branch's own attempt and
 * metadata. One per branch run, used by that branch's thread only.
 */
final class BranchContext implements StageContext, EngineMetadata.Marks {
  private final Parallel<?, ?>.Fork fork;
  private final PipelineClock clock;
  private int attempt;
  private @Nullable Map<String, String> added;

  /**
   * How many of {@link #added} are {@link EngineMetadata.Marks marks}, outside the call's count.
   */
  private int marks;

  BranchContext(Parallel<?, ?>.Fork fork, PipelineClock clock) {
    this.fork = fork;
    this.clock = clock;
  }

  void reset(int attempt) {
    this.attempt = attempt;
    this.added = null;
    this.marks = 0;
  }

  @Nullable Map<String, String> added() {
    return added;
  }

  @Override
  public StageName stage() {
    return fork.names.stage;
  }

  @Override
  public String pipeline() {
    return fork.names.pipeline;
  }

  @Override
  public String recordId() {
    return fork.recordId;
  }

  @Override
  public List<String> recordIds() {
    return List.of(fork.recordId);
  }

  @Override
  public int attempt() {
    return attempt;
  }

  @Override
  public Map<String, String> metadata() {
    return fork.metadata;
  }

  @Override
  public Map<String, String> metadata(int index) {
    Objects.checkIndex(index, 1);
    return fork.metadata;
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
    throw oneRecord();
  }

  @Override
  public void fail(int index, Throwable error) {
    throw oneRecord();
  }

  private IllegalStateException oneRecord() {
    return new IllegalStateException(
        "a branch of stage '"
            + fork.names.stage
            + "' processes one record: filter and fail by index are for batch stages; throw"
            + " RecordFilteredException or an exception instead");
  }

  @Override
  public Logger logger() {
    return fork.logger;
  }

  @Override
  public Instant now() {
    return clock.now();
  }

  @Override
  public <K, V> ReferenceLookup<K, V> reference(ReferenceData<K, V> data) {
    return fork.outer.reference(data);
  }
}
