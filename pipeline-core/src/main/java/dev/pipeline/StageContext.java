package dev.pipeline;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;

/**
 * What a stage may know of the record it is processing and of its surroundings.
 *
 * <p>A context belongs to one call of a stage and must not be kept after the call returns. It is
 * not thread-safe: use it from the calling thread only.
 */
public interface StageContext {
  /** The longest metadata key a stage may add, in characters. */
  int MAX_METADATA_KEY_CHARS = 200;

  /**
   * The longest metadata value a stage may add, in characters: as long as a filter reason ({@link
   * RecordFilteredException#MAX_REASON_CHARS}).
   */
  int MAX_METADATA_VALUE_CHARS = 4_096;

  /** The most metadata keys one call of a stage may add. */
  int MAX_METADATA_ENTRIES = 64;

  /**
   * The SLF4J MDC key of the pipeline's name, set on the thread while a stage is called, so that
   * every line logged inside a stage (through {@link #logger()} or any other logger) carries it.
   */
  String MDC_PIPELINE = "pipeline";

  /** The SLF4J MDC key of the stage's name ({@code "sink"} for the sink). */
  String MDC_STAGE = "stage";

  /**
   * The SLF4J MDC key of the record's id (escaped for a log line and cut to 200 characters); for a
   * batch call, the first record's id followed by how many more the call holds, e.g. {@code "a17
   * (+127)"}.
   */
  String MDC_RECORD_ID = "recordId";

  /** The name of the stage being run. */
  StageName stage();

  /** The name of the pipeline. */
  String pipeline();

  /**
   * The id of the record being processed, its idempotency key.
   *
   * @throws IllegalStateException in a {@link BatchStage}, which has several: use {@link
   *     #recordIds()}
   */
  String recordId();

  /**
   * The ids of the records of this call: one for a {@link Stage}, the batch for a {@link
   * BatchStage}.
   */
  List<String> recordIds();

  /** The attempt at this stage, counting from 1; greater than 1 when retrying. */
  int attempt();

  /**
   * The record's metadata as it entered the stage, unmodifiable.
   *
   * @throws IllegalStateException in a {@link BatchStage}: use {@link #metadata(int)}
   */
  Map<String, String> metadata();

  /** The metadata of the record at {@code index} of the batch. */
  Map<String, String> metadata(int index);

  /**
   * Adds a metadata entry to the record's outgoing envelope (for all records of a batch).
   *
   * <p>Metadata is a little text that travels with the record into every row, error and lineage
   * event the store writes of it, so it is bounded: a key of 1 to {@value #MAX_METADATA_KEY_CHARS}
   * characters, a value of at most {@value #MAX_METADATA_VALUE_CHARS}, at most {@value
   * #MAX_METADATA_ENTRIES} keys added by one call. Keep larger data in the payload.
   *
   * @throws NullPointerException if the key or value is null
   * @throws IllegalArgumentException if the key is one the engine alone writes ({@link
   *     Envelope#PARENT_ID}, {@link Envelope#SPLIT_SIZE}, {@link Envelope#OUTER_SPLIT_SIZES},
   *     {@link Envelope#FENCING_TOKEN}, {@link Envelope#REDELIVERED}), or the entry is out of those
   *     bounds: the call then fails, as a call that throws does
   */
  void putMetadata(String key, String value);

  /**
   * Marks the record at {@code index} of a batch as filtered; the stage puts null at its place in
   * the returned list.
   *
   * @throws IndexOutOfBoundsException if there is no such record
   * @throws NullPointerException if the reason is null
   */
  void filter(int index, String reason);

  /**
   * Marks the record at {@code index} of a batch as failed with an error; the stage puts null at
   * its place in the returned list. The record is retried or dead-lettered on its own.
   *
   * @throws IndexOutOfBoundsException if there is no such record
   * @throws NullPointerException if the error is null
   */
  void fail(int index, Throwable error);

  /**
   * A logger named after the pipeline and stage; what a stage logs here the test kit captures. The
   * lines at or above the stage's audit level ({@link StageOptions.Builder#auditLevel}) also go to
   * the pipeline's audit trail, with the record they are about.
   */
  Logger logger();

  /** The pipeline's notion of now; a test can control it. */
  Instant now();

  /**
   * The pipeline's cache of some reference data, declared for this stage (on the pipeline with
   * {@link PipelineBuilder#referenceData(ReferenceData)}, or on this stage's options with {@link
   * StageOptions.Builder#referenceData(ReferenceData)}). The lookup is typed by the declaration,
   * and may be kept: it is the same for every call of the stage.
   *
   * <pre>{@code
   * long rate = context.reference(EUR_RATES).get(listing.currency());
   * }</pre>
   *
   * @throws NullPointerException if {@code data} is null
   * @throws IllegalArgumentException if the reference data is not declared for this stage (the
   *     message says where to declare it)
   */
  <K, V> ReferenceLookup<K, V> reference(ReferenceData<K, V> data);
}
