package dev.pipeline.bench;

import dev.pipeline.Envelope;
import dev.pipeline.ReferenceData;
import dev.pipeline.ReferenceLookup;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The context a Spring Batch processor gives a stage function of ours that needs one (the example's
 * rules gate): one per step, moved to each item before its call, as our engine's context is. It
 * holds a copy of the item's metadata, to which the function's additions go straight (ours keeps
 * the item's map and collects the additions apart); a Spring Batch item has nowhere to keep them,
 * so they are dropped with the next item. Single-record only: a baseline's processor calls one item
 * at a time, on one thread.
 */
final class ItemStageContext implements StageContext {
  private static final Logger LOG = LoggerFactory.getLogger(ItemStageContext.class);

  private final String pipeline;
  private final StageName stage;
  private final Map<String, String> metadata = new HashMap<>();
  private String recordId = "";

  ItemStageContext(String pipeline, StageName stage) {
    this.pipeline = pipeline;
    this.stage = stage;
  }

  /** Moves the context to {@code item}: its id, its metadata, nothing added yet. */
  void moveTo(Envelope<?> item) {
    recordId = item.id();
    metadata.clear();
    metadata.putAll(item.metadata());
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
    return metadata;
  }

  @Override
  public Map<String, String> metadata(int index) {
    if (index != 0) {
      throw new IndexOutOfBoundsException("one item per call, index " + index);
    }
    return metadata;
  }

  @Override
  public void putMetadata(String key, String value) {
    metadata.put(key, value);
  }

  @Override
  public void filter(int index, String reason) {
    throw new UnsupportedOperationException("a single-record call filters by throwing");
  }

  @Override
  public void fail(int index, Throwable error) {
    throw new UnsupportedOperationException("a single-record call fails by throwing");
  }

  @Override
  public Logger logger() {
    return LOG;
  }

  @Override
  public Instant now() {
    return Instant.now();
  }

  @Override
  public <K, V> ReferenceLookup<K, V> reference(ReferenceData<K, V> data) {
    throw new UnsupportedOperationException("no reference data in the baseline");
  }
}
