package dev.pipeline.store;

import dev.pipeline.Envelope;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Where a pipeline keeps the state of its records: statuses, checkpoints, errors, attempts and dead
 * letters. The engine calls it in batches, never once per record per stage.
 *
 * <p>This is a service provider interface: users pick an implementation ({@link
 * InMemoryPipelineStore}, or the JDBC store of {@code pipeline-jdbc}) and rarely call it
 * themselves. All implementations have the same semantics, so the engine has one code path:
 *
 * <ul>
 *   <li>{@link #ingest} is idempotent on the record id: an id the store already holds is reported
 *       back as a duplicate and not ingested again;
 *   <li>every ingested record ends in exactly one terminal state through {@link #complete}, and a
 *       second completion of the same record is ignored;
 *   <li>a dead letter keeps its record as it entered the failing stage and every error it met.
 * </ul>
 *
 * <p>Implementations are thread-safe.
 */
public interface PipelineStore extends AutoCloseable {

  /**
   * Records a pipeline's stages (the {@code pipeline_stages} table). Called once when a pipeline is
   * built; calling it again with the same pipeline replaces the definition.
   */
  void register(String pipeline, List<StageDescriptor> stages);

  /**
   * Adds records in the READY state at the given stage.
   *
   * @return the ids among them the store already held, which were not added again
   */
  Set<String> ingest(
      String pipeline, List<? extends Envelope<?>> records, String stage, Instant at);

  /** Saves records as they left a checkpoint stage, so that a restart resumes after it. */
  void checkpoint(String pipeline, List<? extends Envelope<?>> records, String stage, Instant at);

  /** Moves records to their terminal states; a record already terminal is left as it is. */
  void complete(String pipeline, List<Completion> completions);

  /** What the store knows of one record, if anything. */
  Optional<RecordState> find(String pipeline, String recordId);

  /** One page of dead letters matching the query, oldest first. */
  Page<DeadLetter> deadLetters(String pipeline, DeadLetterQuery query);

  /** How many records are in each state. */
  StatusCounts counts(String pipeline);

  /** Whether records survive the end of the process. */
  boolean isDurable();

  /** Releases the store's resources. */
  @Override
  void close();
}
