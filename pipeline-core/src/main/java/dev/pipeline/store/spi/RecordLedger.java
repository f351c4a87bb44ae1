package dev.pipeline.store.spi;

import dev.pipeline.Envelope;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.store.AuditEntry;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.PipelineStore;
import dev.pipeline.store.StorableText;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A store as the engine drives it: the methods through which a pipeline registers its stages,
 * ingests, checkpoints, completes, leases and parks its records, on top of what users read in
 * {@link PipelineStore}. For store implementers; not for pipeline code, which calls {@link
 * PipelineStore}'s methods and names this type at most to hand a store to {@code
 * PipelineBuilder.store}. It follows the engine and may change between releases.
 *
 * <p>The engine calls it in batches, never once per record per stage. All implementations ({@link
 * InMemoryPipelineStore}, the JDBC store of {@code pipeline-jdbc}) have the same semantics, so the
 * engine has one code path:
 *
 * <ul>
 *   <li>{@link #ingest} is idempotent on the record id: an id the store already holds is reported
 *       back as a duplicate and not ingested again;
 *   <li>every ingested record ends in exactly one terminal state through {@link #complete}, and a
 *       second completion of the same record is ignored;
 *   <li>a dead letter keeps its record as it entered the failing stage and every error it met; a
 *       durable store that has no codec for that stage's input keeps it as of its last checkpoint
 *       and says so in {@link DeadLetter#payloadStage()}.
 * </ul>
 *
 * <p>A durable store also leases: records it {@link #ingest}s or {@link #claim}s are held by this
 * store's worker until completed; it renews the leases while the worker lives, and another worker's
 * {@link #claim} takes over records whose lease expired (their worker died). Checkpoints and
 * completions from a worker that lost its lease are refused (fencing), so a record never completes
 * twice.
 *
 * <p>Implementations are thread-safe.
 */
public interface RecordLedger extends PipelineStore {

  /**
   * Records a pipeline's stages (the {@code pipeline_stages} table). Called once when a pipeline is
   * built, and holds the name for it until {@link #unregister}, which {@code Pipeline.close()}
   * calls.
   *
   * <p>While the name is held, registering it again with the same stages (same names in the same
   * order, same input codecs; see {@link Registrations}) is allowed: a rerun, or another pipeline
   * object of the same definition. Registering it with different stages is refused: the records of
   * one pipeline would be read with the other's codecs. A definition kept by a durable store from
   * an earlier process (a previous deploy) holds nothing: registering different stages under its
   * name replaces it, a migration (records at stages that no longer exist go to the dead letter
   * queue when claimed, with a message saying so).
   *
   * @throws IllegalStateException if the name is held on this store object with different stages;
   *     the message names both definitions and the fix
   */
  void register(String pipeline, List<StageDescriptor> stages);

  /**
   * Gives back the hold one {@link #register} took on {@code pipeline}, when that pipeline is
   * closed; the name is free for a different definition once every pipeline that registered it gave
   * its hold back. The stored definition stays (dead letters are still read with its codecs). By
   * default does nothing.
   */
  default void unregister(String pipeline) {}

  /**
   * Adds records at the given stage, whose input they are: the first stage for records read from
   * sources, the stage after a split stage (or {@code "sink"}) for the records it split one into
   * (their ids {@code parentId/index}, metadata {@code Envelope.PARENT_ID}), which the engine adds
   * before it completes the parent as SPLIT. A durable store keeps their payloads and leases them
   * to this worker, which processes them at once.
   *
   * @return the ids among them the store already held, which were not added again
   * @throws IllegalArgumentException if a record's id is one no store keeps ({@link
   *     StorableText#idProblem}: empty, too long, NUL or an unpaired surrogate); nothing is added
   *     then. The engine never sends one: it ingests such a record under {@link
   *     StorableText#storableId} and sends it to the dead letter queue alone.
   */
  Set<String> ingest(
      String pipeline, List<? extends Envelope<?>> records, String stage, Instant at);

  /**
   * Adds records read from a seekable source, as {@link #ingest(String, List, String, Instant)}
   * does, saying where they were read: {@code span.count()} records, exactly these in this order,
   * from {@code span.position()}. An id may come more than once: its first occurrence is added at
   * its place, the later ones are duplicates of it, neither added nor returned. A durable store may
   * keep the span instead of their payloads and read them again through the {@link SourceReplay} of
   * {@link #replayFrom} when it gives them to another run or worker. By default the span is ignored
   * and the first occurrences are added.
   */
  default Set<String> ingest(
      String pipeline,
      List<? extends Envelope<?>> records,
      String stage,
      Instant at,
      SourceSpan span) {
    Set<String> seen = new java.util.HashSet<>(records.size() * 2);
    List<Envelope<?>> first = new java.util.ArrayList<>(records.size());
    for (Envelope<?> r : records) {
      if (seen.add(r.id())) {
        first.add(r);
      }
    }
    return ingest(pipeline, first, stage, at);
  }

  /**
   * Gives the store a way to read again the records of spans of the sources a run reads, before the
   * run claims anything; a later run's replaces it. A store that keeps spans claims a batch kept as
   * a span only while it has a replay for its source. By default does nothing.
   */
  default void replayFrom(String pipeline, SourceReplay replay) {}

  /**
   * Saves records as they left a checkpoint stage, as the input of {@code nextStage}, so that a
   * restart resumes there.
   */
  void checkpoint(
      String pipeline, List<? extends Envelope<?>> records, String nextStage, Instant at);

  /**
   * Moves records to their terminal states; a record already terminal is left as it is. Each
   * completion's errors are added to those the store already holds for the record (from earlier
   * retries or runs).
   *
   * @return the ids whose completion was refused because this worker no longer holds their lease
   *     (another worker took them over); empty for a non-durable store
   */
  Set<String> complete(String pipeline, List<Completion> completions);

  /**
   * Notes that these records are about to be handed to the sink, before it is called: the ledger
   * that makes a re-delivery after a crash visible.
   *
   * @return the ids among them that had been handed to the sink before (re-deliveries)
   */
  Set<String> beginDelivery(String pipeline, List<String> recordIds);

  /**
   * Writes terminal states and notes that other records are about to be handed to the sink, in one
   * write where the store can: the engine writes the states of a batch the sink took with the
   * delivery note of the next, so that a batch costs one write besides its ingestion. By default
   * {@link #complete} then {@link #beginDelivery}: a store that overrides neither writes them
   * separately, and if the delivery note then fails the completions stand but the caller sees only
   * the failure (the records' states are in the store; the run's counts miss them).
   *
   * @param completions terminal states, as for {@link #complete}; may be empty
   * @param delivering ids about to be handed to the sink, as for {@link #beginDelivery}; may be
   *     empty. A store with leases notes only those this worker still holds (and renews their
   *     leases); the others come back in {@link Handover#lost()} and must not be handed to the sink
   */
  default Handover completeAndDeliver(
      String pipeline, List<Completion> completions, List<String> delivering) {
    Set<String> fenced = completions.isEmpty() ? Set.of() : complete(pipeline, completions);
    Set<String> redelivered = delivering.isEmpty() ? Set.of() : beginDelivery(pipeline, delivering);
    return new Handover(fenced, redelivered);
  }

  /**
   * Checks that this worker still holds the leases of records it is about to work on or hand to the
   * sink. A durable store answers from memory while it can vouch for the leases (each was written
   * or renewed less than a lease ago); for a lease it can no longer vouch for (the worker was
   * paused, or the database unreachable, for about a lease) it asks the database, renewing the
   * leases still held. The records returned are no longer this worker's: another worker took them
   * over, or they were given back. The store forgets them (it neither renews nor completes them);
   * the engine drops its copies quietly and counts them.
   *
   * @return the ids among them this worker no longer holds; empty for a store without leases
   */
  default Set<String> notHeld(String pipeline, Collection<String> recordIds) {
    return Set.of();
  }

  /**
   * The ids among these that {@link #notHeld} must be asked about: those whose leases this store
   * cannot vouch for from memory. Answered from memory, never from the database: the engine asks it
   * of every batch before each stage and before the sink, and calls {@code notHeld} (which may ask
   * the database, and is timed as a store call) only with what it returns. The default returns them
   * all, so a store that does not override it is asked {@code notHeld} of every batch, as before.
   *
   * @return some of {@code recordIds}, or all of them; empty when every lease among them is vouched
   *     for; never null
   */
  default Collection<String> inDoubt(String pipeline, Collection<String> recordIds) {
    return recordIds;
  }

  /**
   * Among ids {@link #ingest} reported as already held, those whose records are not finished and
   * not held by this worker: left by an earlier run that crashed or was cancelled, or held by
   * another worker. They are not duplicates: a {@link #claim} hands them over once free, and the
   * engine counts them as resumed then. A store whose records do not outlive their run returns
   * none.
   */
  default Set<String> unfinished(String pipeline, Collection<String> recordIds) {
    return Set.of();
  }

  /**
   * The leases other workers hold on unfinished records of the pipeline, one entry per worker, for
   * a run that waits for them to be finished or to expire (so that it can say so). Empty for a
   * store without leases.
   */
  default List<HeldLeases> leasesHeldElsewhere(String pipeline) {
    return List.of();
  }

  /**
   * Leases up to {@code max} records that need processing and that no live worker holds: ingested
   * but never processed, or held by a worker whose lease expired. A non-durable store has none.
   */
  List<Claimed> claim(String pipeline, int max);

  /**
   * Leases up to {@code max} records as {@link #claim(String, int)} does, and also records whose
   * {@link #scheduleRetries scheduled retry} is due and dead letters sent back by {@link
   * #reprocess}.
   *
   * @param now the pipeline's clock; a store with a clock of its own (a database's) uses that
   *     instead, so that all workers agree
   */
  default List<Claimed> claim(String pipeline, int max, Instant now) {
    return claim(pipeline, max);
  }

  /**
   * Whether the pipeline has a record not ended that this worker's runs could still take: as {@link
   * #hasUnfinished}, less the records of {@link #waitingForSources}. A run that has read its
   * sources ends when this says none is left, rather than wait for records no claim of its can
   * take.
   */
  default boolean hasUnfinishedToTake(String pipeline) {
    return hasUnfinished(pipeline);
  }

  /**
   * The records of the pipeline not ended that no claim of this worker can take, by the id of the
   * source they wait for: kept as {@link SourceSpan spans} of sources this worker cannot read again
   * (no run of its gave their {@link SourceReplay}), leased elsewhere or not. A run of the pipeline
   * that reads such a source takes them. None by default.
   */
  default Map<String, Long> waitingForSources(String pipeline) {
    return Map.of();
  }

  /**
   * When the earliest record of the pipeline parked in the retry queue (or sent back for
   * reprocessing) is due, if any. A run on a store that is not {@link #isDurable() durable} ends
   * when it holds no record in flight and none is parked, and waits for a parked one to be due on
   * the pipeline's clock. A durable store need not say: its runs end when {@link #hasUnfinished}
   * says nothing of the pipeline is left, parked or not.
   */
  default Optional<Instant> nextDue(String pipeline) {
    return Optional.empty();
  }

  /**
   * Whether the store has a retry queue ({@link #scheduleRetries}, and due retries handed over by
   * {@link #claim(String, int, Instant)}). Without one, the engine retries in the worker however
   * long the wait, and {@code Fallback.hold()} is refused when the pipeline is built.
   */
  default boolean hasRetryQueue() {
    return false;
  }

  /**
   * Parks records in the retry queue: each leaves this worker and becomes due after its delay, when
   * any worker's {@link #claim(String, int, Instant)} hands it over at its stage with its attempts
   * so far. The errors given are added to those the store holds. A durable store keeps the queue
   * across restarts.
   *
   * @return the ids refused because this worker no longer holds their lease (see {@link
   *     #complete}); empty for a non-durable store
   * @throws UnsupportedOperationException if the store has no {@link #hasRetryQueue() retry queue}
   */
  default Set<String> scheduleRetries(String pipeline, List<ScheduledRetry> retries, Instant at) {
    throw new UnsupportedOperationException(getClass().getName() + " has no retry queue");
  }

  /**
   * Whether the store keeps merge groups ({@link #merge}): a pipeline with a merge stage needs one,
   * and {@code build()} says so otherwise. False by default.
   */
  default boolean keepsMergeGroups() {
    return false;
  }

  /**
   * Counts the parts of merge groups (the children of a split that a merge stage joins again), in
   * one transaction: each part is kept once per group and index (a part given again, after a crash,
   * changes nothing), an arrived part with its payload (encoded with {@code stage}'s input codec),
   * an absent one as a mark. A part that arrives where its index was marked absent takes the mark's
   * place while the group is incomplete; in a complete group it is {@link MergeOutcome#late()
   * late}. Two workers giving the last two parts of a group at once both see the group complete (or
   * the one that commits second does): a durable store serializes them on the group.
   *
   * <p>The engine gives the parts of children before their terminal states are written (the arrived
   * ones' {@code MERGED}, the absent ones' own), and stores the merged record (id {@code
   * parentId/merged}, an idempotent {@link #ingest}) before that too: after a crash in between, a
   * child given again finds its group complete and the merge is made again, its record a duplicate.
   *
   * @param stage the merge stage
   * @return the complete groups among those of {@code parts}, with their payloads, and the late
   *     parts
   * @throws UnsupportedOperationException if the store cannot merge (this default)
   */
  default MergeOutcome merge(String pipeline, String stage, List<MergePart> parts, Instant at) {
    throw new UnsupportedOperationException(
        getClass().getName() + " cannot keep merge groups; use a store that can");
  }

  /**
   * Gives up this worker's leases on the pipeline's unfinished records so that another run or
   * worker can claim them at once instead of waiting for the leases to expire. Called when a run is
   * cancelled or fails. Does nothing for a non-durable store.
   */
  default void release(String pipeline) {}

  /**
   * Appends lineage events of a pipeline's records, in one bulk write; called by a run's lineage
   * writer, off the workers' threads, with the events of many batches at once. A store that keeps
   * no lineage ignores them (this default). A run that keeps lineage also calls it once with no
   * events as it starts, so that a store may prepare: the JDBC store keeps from then on the batch
   * each record ends in, whose row its events then go to.
   *
   * @throws RuntimeException if the store could not write them (the writer logs it and goes on)
   */
  default void appendLineage(String pipeline, List<LineageEvent> events) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(events, "events cannot be null");
  }

  /**
   * Appends lines to pipelines' audit trails, in one write: the engine's background writer calls it
   * with what its bounded buffer holds, never a record's worker. A store that keeps no audit trail
   * ignores them.
   *
   * @param entries the lines, in order, with id 0; the store numbers them
   */
  default void appendAudit(List<AuditEntry> entries) {}

  /**
   * Appends windows to pipelines' metrics histories, in one write, from the engine's background
   * writer. A store that keeps no history ignores them.
   */
  default void appendMetrics(List<StageWindow> windows) {}
}
