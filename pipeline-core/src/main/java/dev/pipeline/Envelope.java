package dev.pipeline;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import org.jspecify.annotations.Nullable;

/**
 * A record travelling through a pipeline: a stable id, a payload and a little string metadata.
 *
 * <p>The id is the record's idempotency key: it stays the same from ingestion to publishing, across
 * retries, re-deliveries after a crash and reprocessing of dead letters. Sinks use it to publish
 * each record once. An id no store can keep (longer than 1,000 characters, or with NUL or an
 * unpaired surrogate: see {@link dev.pipeline.store.StorableText}) is the exception: such a record
 * goes to the dead letter queue at ingestion, under an id derived from its own.
 *
 * <p>Immutable and thread-safe (as far as the payload is).
 *
 * @param <T> the payload type
 */
public final class Envelope<T> {
  /** Metadata key of the id of the source a record came from. */
  public static final String SOURCE_ID = "source";

  /**
   * Metadata key of where a record stood in its source: the {@code SeekableSource}'s position after
   * it was read (at most {@code SeekableSource.MAX_POSITION_CHARS} characters). Set only when the
   * pipeline keeps lineage and its store is durable, and kept in the lineage events of the record
   * at the first stage.
   */
  public static final String SOURCE_POSITION = "source-position";

  /** Metadata key of the id of the parent record, for records split from another. */
  public static final String PARENT_ID = "parent";

  /**
   * Metadata key of the number of records a record's parent was split into, set on the children of
   * a split stage that a merge stage joins again (see {@link MergeFunction}).
   */
  public static final String SPLIT_SIZE = "split-size";

  /**
   * Metadata key of the sizes of the groups a record's enclosing groups belong to, outermost first,
   * separated by commas: set on the children of a split stage nested in another split-and-merge
   * pair (split, split, merge, merge), whose parent is itself a part of a group. The inner merge
   * stage takes the last size back as {@link #SPLIT_SIZE} of its merged record, whose {@link
   * #PARENT_ID} becomes the outer parent again.
   */
  public static final String OUTER_SPLIT_SIZES = "outer-split-sizes";

  /**
   * Metadata key set to "true" on a record handed to the sink a second time (after a crash, with a
   * durable store): the sink has probably stored it already under the same id.
   */
  public static final String REDELIVERED = "redelivered";

  /**
   * Metadata key a source sets on a record it could not read whole (a line that is not valid UTF-8,
   * or longer than the limit), saying why: the record goes to the dead letter queue at ingestion,
   * at the first stage, with this text as its error (cut to {@value #MAX_SOURCE_ERROR} characters),
   * and goes through no stage. Reprocessing it sends it through the stages as it is.
   */
  public static final String SOURCE_ERROR = "source-error";

  /** The longest {@link #SOURCE_ERROR} text kept, in characters. */
  public static final int MAX_SOURCE_ERROR = 4_096;

  /**
   * Metadata key of a record's fencing token, set on each record handed to the sink when the store
   * gives one: a number that grows with every new holder of the record (each worker that takes it
   * over after a lease ran out, each reprocessing). A sink that stores it beside the record and
   * refuses a write carrying a lower token than the one stored cannot be overwritten by a stale
   * worker (one paused past its lease while another delivered the record). See {@link
   * #fencingToken()}.
   */
  public static final String FENCING_TOKEN = "fencing-token";

  private final String id;
  private final T payload;
  private final Map<String, String> metadata;

  private Envelope(String id, T payload, Map<String, String> metadata) {
    this.id = id;
    this.payload = payload;
    this.metadata = metadata;
  }

  /**
   * Creates an envelope with no metadata.
   *
   * @throws NullPointerException if the id or the payload is null
   * @throws IllegalArgumentException if the id is blank
   */
  public static <T> Envelope<T> of(String id, T payload) {
    return new Envelope<>(
        checkId(id), Objects.requireNonNull(payload, "payload cannot be null"), Map.of());
  }

  /**
   * Creates an envelope tagged with the id of the source it came from.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the id is blank
   */
  public static <T> Envelope<T> of(String id, T payload, String sourceId) {
    Objects.requireNonNull(sourceId, "sourceId cannot be null");
    return new Envelope<>(
        checkId(id),
        Objects.requireNonNull(payload, "payload cannot be null"),
        Map.of(SOURCE_ID, sourceId));
  }

  /** An envelope tagged with a source, sharing the source's metadata map (no copy per record). */
  static <T> Envelope<T> tagged(String id, T payload, Map<String, String> sourceTag) {
    return new Envelope<>(
        checkId(id), Objects.requireNonNull(payload, "payload cannot be null"), sourceTag);
  }

  private static String checkId(String id) {
    Objects.requireNonNull(id, "record id cannot be null");
    if (id.isBlank()) {
      throw new IllegalArgumentException("record id cannot be blank: give each record a stable id");
    }
    return id;
  }

  /** The stable id of this record, its idempotency key. */
  public String id() {
    return id;
  }

  /** The payload. */
  public T payload() {
    return payload;
  }

  /** The metadata, unmodifiable. */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** The id of the source this record came from, or null if untagged. */
  public @Nullable String sourceId() {
    return metadata.get(SOURCE_ID);
  }

  /**
   * The record's {@link #FENCING_TOKEN fencing token}, on a record handed to the sink by a store
   * that gives one; empty otherwise.
   */
  public OptionalLong fencingToken() {
    String token = metadata.get(FENCING_TOKEN);
    if (token == null) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(token));
    } catch (NumberFormatException e) {
      return OptionalLong.empty(); // set by hand to something else
    }
  }

  /**
   * Returns an envelope with the same id and metadata and another payload.
   *
   * @throws NullPointerException if the payload is null
   */
  public <R> Envelope<R> withPayload(R newPayload) {
    return new Envelope<>(
        id, Objects.requireNonNull(newPayload, "payload cannot be null"), metadata);
  }

  /**
   * Returns an envelope with one more metadata entry (replacing an entry of the same key).
   *
   * @throws NullPointerException if the key or value is null
   */
  public Envelope<T> withMetadata(String key, String value) {
    Objects.requireNonNull(key, "key cannot be null");
    Objects.requireNonNull(value, "value cannot be null");
    if (value.equals(metadata.get(key))) {
      return this;
    }
    Map<String, String> copy = new LinkedHashMap<>(metadata);
    copy.put(key, value);
    return new Envelope<>(id, payload, Collections.unmodifiableMap(copy));
  }

  /**
   * Returns an envelope with the same id and payload and the metadata of {@code from}, shared (both
   * maps are unmodifiable): records given the same entries share one map instead of a copy each.
   */
  Envelope<T> withMetadataOf(Envelope<?> from) {
    return from.metadata == metadata ? this : new Envelope<>(id, payload, from.metadata);
  }

  /** Returns an envelope with the same payload and metadata under another id. */
  Envelope<T> withId(String newId) {
    return new Envelope<>(checkId(newId), payload, metadata);
  }

  /** Returns an envelope without the metadata entry of this key (this one if it has none). */
  Envelope<T> withoutMetadata(String key) {
    if (!metadata.containsKey(key)) {
      return this;
    }
    Map<String, String> copy = new LinkedHashMap<>(metadata);
    copy.remove(key);
    return new Envelope<>(id, payload, Collections.unmodifiableMap(copy));
  }

  Envelope<T> withAllMetadata(Map<String, String> extra) {
    if (extra.isEmpty()) {
      return this;
    }
    Map<String, String> copy = new LinkedHashMap<>(metadata);
    copy.putAll(extra);
    return new Envelope<>(id, payload, Collections.unmodifiableMap(copy));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Envelope<?> that
        && id.equals(that.id)
        && payload.equals(that.payload)
        && metadata.equals(that.metadata);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, payload, metadata);
  }

  @Override
  public String toString() {
    return "Envelope[id=" + id + ", metadata=" + metadata + "]";
  }
}
