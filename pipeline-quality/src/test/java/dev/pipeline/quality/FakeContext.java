package dev.pipeline.quality;

import dev.pipeline.ReferenceData;
import dev.pipeline.ReferenceLookup;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A stage context of one record, for calling a gate from many threads at once. */
final class FakeContext implements StageContext {
  private final String recordId;
  private final Supplier<Instant> now;
  final Map<String, String> added = new HashMap<>();

  FakeContext(String recordId, Supplier<Instant> now) {
    this.recordId = recordId;
    this.now = now;
  }

  @Override
  public StageName stage() {
    return StageName.VALIDATION;
  }

  @Override
  public String pipeline() {
    return "fake";
  }

  @Override
  public String recordId() {
    return recordId;
  }

  @Override
  public List<String> recordIds() {
    return List.of(recordId);
  }

  @Override
  public int attempt() {
    return 1;
  }

  @Override
  public Map<String, String> metadata() {
    return Map.of();
  }

  @Override
  public Map<String, String> metadata(int index) {
    return Map.of();
  }

  @Override
  public void putMetadata(String key, String value) {
    added.put(key, value);
  }

  @Override
  public void filter(int index, String reason) {
    throw new UnsupportedOperationException("not a batch");
  }

  @Override
  public void fail(int index, Throwable error) {
    throw new UnsupportedOperationException("not a batch");
  }

  @Override
  public Logger logger() {
    return LoggerFactory.getLogger(FakeContext.class);
  }

  @Override
  public Instant now() {
    return now.get();
  }

  @Override
  public <K, V> ReferenceLookup<K, V> reference(ReferenceData<K, V> data) {
    throw new IllegalArgumentException("no reference data in this context");
  }
}
