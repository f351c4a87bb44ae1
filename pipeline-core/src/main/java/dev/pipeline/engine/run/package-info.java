/**
 * A run of a pipeline, in parts with one job each; not API, and not exported to any module. {@link
 * dev.pipeline.Pipeline} starts a {@link dev.pipeline.engine.run.Run}; everything else here is the
 * run's own.
 *
 * <ul>
 *   <li>Lifecycle: {@link dev.pipeline.engine.run.Run} holds a run's shared state, starts its
 *       threads, cancels and finishes it, and reports progress and metrics; {@link
 *       dev.pipeline.engine.run.RunPolicies} and {@link dev.pipeline.engine.run.Observability} are
 *       what it is given besides its stages ({@link dev.pipeline.engine.run.StageDefinition}, one
 *       stage as the builder made it).
 *   <li>Reading sources: {@link dev.pipeline.engine.run.SourceReader} batches each source's records
 *       (a thread per source, and its ingesting thread), ingests them and queues what is new.
 *   <li>Claiming: {@link dev.pipeline.engine.run.Claimer} claims records back from the store
 *       (retries due, records of a crashed worker) and says what a run waits for.
 *   <li>Working a stage: {@link dev.pipeline.engine.run.RunStage} is a stage during a run (its
 *       {@link dev.pipeline.engine.run.RecordQueue}, worker slots, invoker, recorder); {@link
 *       dev.pipeline.engine.run.Workers} starts its worker threads and runs their loop, taking
 *       batches sized by {@link dev.pipeline.engine.run.TakeSizer} where they are timed; {@link
 *       dev.pipeline.engine.run.StageWorker} works a batch through the stage's invoker (retries,
 *       halving, parking, fallbacks, dead letters), carried by a {@link
 *       dev.pipeline.engine.run.BatchWork} in chunks ({@link dev.pipeline.engine.run.Chunk}), the
 *       call's {@link dev.pipeline.StageContext} being a {@link
 *       dev.pipeline.engine.run.CallContext}; {@link dev.pipeline.engine.run.AdaptiveBatchSize}
 *       tunes a stage's batch size.
 *   <li>Merging: {@link dev.pipeline.engine.run.Merger} gives a merge stage's children (and the
 *       children ending between a split and its merge) to the store as parts of their groups,
 *       merges the groups it finds complete and stores their records before the children end.
 *   <li>Ending records: {@link dev.pipeline.engine.run.Endings} writes terminal states, counts them
 *       and raises dead-letter alerts; {@link dev.pipeline.engine.run.PassedErrors} keeps the
 *       errors of records that passed a stage anyway until they end.
 *   <li>Delivering to the sink: {@link dev.pipeline.engine.run.SinkDelivery} notes deliveries and
 *       calls the pipeline's sink, or a route branch's ({@link dev.pipeline.engine.run.RouteExit});
 *       {@link dev.pipeline.engine.run.SinkRetries} looks at the leases again before a failed sink
 *       call is retried.
 *   <li>Watching timeouts: {@link dev.pipeline.engine.run.TimeoutWatch} interrupts calls past their
 *       timeout and replaces the workers that hang, each worker's {@link
 *       dev.pipeline.engine.run.WorkerSlot} the place they meet.
 *   <li>Recording: {@link dev.pipeline.engine.run.StageRecorder} and {@link
 *       dev.pipeline.engine.run.LatencyHistogram} a stage's counts and latencies, {@link
 *       dev.pipeline.engine.run.MeteredLedger} the store's, {@link
 *       dev.pipeline.engine.run.MetricsHistory} windows of them, {@link
 *       dev.pipeline.engine.run.ResourceSampler} the stages' CPU and allocations, {@link
 *       dev.pipeline.engine.run.LineageRecorder} lineage events, {@link
 *       dev.pipeline.engine.run.AuditLogger} the audit trail's lines; {@link
 *       dev.pipeline.engine.run.Telemetry} writes them to the store in the background.
 * </ul>
 *
 * <p>Members of the API's classes that are not API reach the run through {@link
 * dev.pipeline.engine.run.ApiAccess}, which {@code Pipeline} installs.
 */
@NullMarked
package dev.pipeline.engine.run;

import org.jspecify.annotations.NullMarked;
