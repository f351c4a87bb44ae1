package dev.pipeline.store;

import dev.pipeline.internal.TimeRange;
import dev.pipeline.metrics.StageWindow;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Where a pipeline keeps the state of its records (statuses, checkpoints, errors, attempts and dead
 * letters), as users and operators see it: what it knows of a record, how many records are in each
 * state, the dead letter queue and what to do with dead letters, and where a source's next run
 * resumes.
 *
 * <p>Users pick an implementation ({@link InMemoryPipelineStore}, or the JDBC store of {@code
 * pipeline-jdbc}) and give it to the pipeline's builder; {@code Pipeline.store()} hands it back as
 * this type. Every implementation also implements {@link dev.pipeline.store.spi.RecordLedger}, the
 * part the engine drives (registering, ingesting, checkpointing, completing, leasing and parking
 * records), and all keep the same promises:
 *
 * <ul>
 *   <li>a record is stored once per id: a record whose id the store already holds is not ingested
 *       again;
 *   <li>every ingested record ends in exactly one terminal state;
 *   <li>a dead letter keeps its record as it entered the failing stage and every error it met; a
 *       durable store that has no codec for that stage's input keeps it as of its last checkpoint
 *       and says so in {@link DeadLetter#payloadStage()}.
 * </ul>
 *
 * <p>Implementations are thread-safe.
 */
public interface PipelineStore extends AutoCloseable {

  /**
   * Sends dead letters back to be processed again at the stage that failed them, with the payload
   * they had there and a fresh count of attempts; a run of the pipeline claims them. Records that
   * are not (or no longer) dead letters are left alone, so two concurrent calls send each record
   * back once.
   *
   * @return the ids sent back
   */
  default Set<String> reprocess(String pipeline, Collection<String> recordIds, Instant at) {
    throw new UnsupportedOperationException(getClass().getName() + " cannot reprocess");
  }

  /**
   * Sends one dead letter back to be processed again, as {@link #reprocess} does, with {@code
   * payload} in place of the one it kept: the input of its {@link DeadLetter#payloadStage()}, of
   * that stage's input type. A durable store encodes it with that input's codec. Does nothing if
   * the record is not (or no longer) a dead letter.
   *
   * @return whether it was sent back
   * @throws IllegalArgumentException if a durable store has no codec for that input, or the codec
   *     cannot encode the payload
   * @throws UnsupportedOperationException if the store cannot replace a payload
   */
  default boolean reprocessWithPayload(
      String pipeline, String recordId, Object payload, Instant at) {
    throw new UnsupportedOperationException(
        getClass().getName() + " cannot replace a dead letter's payload");
  }

  /**
   * Gives up on dead letters for good: each becomes {@link RecordStatus#DISCARDED} with the reason,
   * and leaves the dead letter queue. Records that are not dead letters are left alone.
   *
   * @return the ids discarded
   */
  default Set<String> discard(
      String pipeline, Collection<String> recordIds, String reason, Instant at) {
    throw new UnsupportedOperationException(getClass().getName() + " cannot discard");
  }

  /**
   * Where a run stopped reading {@code sourceId} before its end, if one did: the position its
   * {@link dev.pipeline.SeekableSource} gave after the last record this store ingested from it. A
   * run of a durable store seeks the source there, so that a run resumed after a crash, a cancel or
   * a failed source reads on from the last records it stored instead of from the start. The default
   * keeps no positions.
   *
   * @throws NullPointerException if an argument is null
   */
  default Optional<String> sourcePosition(String pipeline, String sourceId) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(sourceId, "sourceId cannot be null");
    return Optional.empty();
  }

  /**
   * Keeps the position of {@code sourceId} after records this store has already ingested, or
   * forgets it ({@code position} null) once the source was read to its end, so that a later run
   * reads it from the start again (skipping, as duplicates, the records stored). An operator may
   * forget a position too, to have a source read from its start. The default keeps nothing.
   *
   * @throws NullPointerException if {@code pipeline} or {@code sourceId} is null
   * @throws IllegalArgumentException if the position is longer than {@link
   *     dev.pipeline.SeekableSource#MAX_POSITION_CHARS}
   */
  default void keepSourcePosition(String pipeline, String sourceId, @Nullable String position) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(sourceId, "sourceId cannot be null");
  }

  /**
   * The lineage events the store keeps of a record, oldest first (at most {@code
   * MAX_LINEAGE_EVENTS}); empty if none, or if the store keeps no lineage (this default).
   */
  default List<LineageEvent> lineage(String pipeline, String recordId) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(recordId, "recordId cannot be null");
    return List.of();
  }

  /** The most lineage events {@link #lineage(String, String)} returns of one record. */
  int MAX_LINEAGE_EVENTS = 10_000;

  /**
   * One page of a pipeline's audit trail matching the query, oldest first; pass {@link
   * Page#nextCursor()} to {@link AuditQuery#after(String)} for the next page. A store that keeps no
   * audit trail returns an empty page.
   *
   * @throws NullPointerException if an argument is null
   */
  default Page<AuditEntry> auditTrail(String pipeline, AuditQuery query) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(query, "query cannot be null");
    return new Page<>(List.of(), null);
  }

  /**
   * A stage's metrics history: the windows of {@code stage} ({@link StageWindow#SINK} for the sink,
   * {@link StageWindow#STORE} for the store) that ended from {@code from} (inclusive) to {@code to}
   * (exclusive), oldest first, at most {@link #MAX_HISTORY_WINDOWS}. A store that keeps no history
   * returns an empty list.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code to} is before {@code from}
   */
  default List<StageWindow> metricsHistory(
      String pipeline, String stage, Instant from, Instant to) {
    TimeRange.check(pipeline, stage, from, to);
    return List.of();
  }

  /** The most windows {@link #metricsHistory} returns at once (a day of ten-second windows). */
  int MAX_HISTORY_WINDOWS = 8_640;

  /** Whether any record of the pipeline, held by any worker, has not reached a terminal state. */
  boolean hasUnfinished(String pipeline);

  /** What the store knows of one record, if anything. */
  Optional<RecordState> find(String pipeline, String recordId);

  /** One page of dead letters matching the query, oldest first. */
  Page<DeadLetter> deadLetters(String pipeline, DeadLetterQuery query);

  /** How many records are in each state. */
  StatusCounts counts(String pipeline);

  /**
   * How many records of the pipeline are in one state, counting no further than {@code limit}: a
   * bounded read for a page to show, where {@link #counts} may read every record. A store answers
   * it from an index for the states it can; this default takes it from {@link #counts}.
   *
   * @param limit the most counted, from 1
   * @return the count, at most {@code limit}
   * @throws IllegalArgumentException if {@code limit} is below 1
   */
  default long count(String pipeline, RecordStatus status, long limit) {
    Objects.requireNonNull(status, "status cannot be null");
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1, was " + limit);
    }
    return Math.min(limit, counts(pipeline).get(status));
  }

  /** Whether records survive the end of the process. */
  boolean isDurable();

  /** Releases the store's resources. */
  @Override
  void close();
}
