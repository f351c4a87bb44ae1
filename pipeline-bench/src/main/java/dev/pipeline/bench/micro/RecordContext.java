package dev.pipeline.bench.micro;

import dev.pipeline.ReferenceData;
import dev.pipeline.ReferenceLookup;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.helpers.NOPLogger;

/**
 * A record's context with a map for metadata a stage adds, as the engine gives a single-record
 * stage (made per record by the benchmarks that add metadata).
 */
final class RecordContext implements StageContext {
  private final StageName stage;
  private final Map<String, String> added = new LinkedHashMap<>();

  RecordContext(StageName stage) {
    this.stage = stage;
  }

  @Override
  public StageName stage() {
    return stage;
  }

  @Override
  public String pipeline() {
    return "bench";
  }

  @Override
  public String recordId() {
    return "r1";
  }

  @Override
  public List<String> recordIds() {
    return List.of("r1");
  }

  @Override
  public int attempt() {
    return 1;
  }

  @Override
  public Map<String, String> metadata() {
    return added;
  }

  @Override
  public Map<String, String> metadata(int index) {
    return added;
  }

  @Override
  public void putMetadata(String key, String value) {
    added.put(key, value);
  }

  @Override
  public void filter(int index, String reason) {
    throw new IllegalStateException("not a batch stage");
  }

  @Override
  public void fail(int index, Throwable error) {
    throw new IllegalStateException("not a batch stage");
  }

  @Override
  public Logger logger() {
    return NOPLogger.NOP_LOGGER;
  }

  @Override
  public Instant now() {
    return Instant.now();
  }

  @Override
  public <K, V> ReferenceLookup<K, V> reference(ReferenceData<K, V> data) {
    throw new IllegalStateException("the benchmark's stages use no reference data");
  }
}
