package dev.pipeline.engine.run;

import dev.pipeline.AlertListener;
import dev.pipeline.LineageLevel;
import dev.pipeline.StageCallListener;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.internal.ReferenceTables;
import dev.pipeline.resilience.TokenBucket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a run needs beyond its stages: where alerts go, the sources' rate limits, and when a retry
 * leaves the worker for the store's retry queue.
 *
 * @param alerts receives every alert
 * @param sourceLimits token buckets by source id
 * @param retryQueueAfter retries waiting longer than this are parked in the store's retry queue
 * @param parkable by stage index, and one more for the sink: whether the store can keep records
 *     entering it (a durable store needs the codec of the stage's input)
 * @param sourceLinger how long a source's partial batch waits for more records before it is
 *     ingested
 * @param errorText how errors are rendered, and how much of their text is kept
 * @param references the pipeline's reference data caches, which its stages look up
 * @param callListener told of every stage and sink call, or null
 * @param lineage how much lineage the run keeps
 * @param lineageShare the share of records traced at {@link LineageLevel#SAMPLED}
 */
public record RunPolicies(
    AlertListener alerts,
    Map<String, TokenBucket> sourceLimits,
    Duration retryQueueAfter,
    List<Boolean> parkable,
    Duration sourceLinger,
    ErrorText errorText,
    ReferenceTables references,
    @Nullable StageCallListener callListener,
    LineageLevel lineage,
    double lineageShare) {

  public RunPolicies {
    sourceLimits = Map.copyOf(sourceLimits);
    parkable = List.copyOf(parkable);
  }

  /** Policies of a run without reference data. */
  public RunPolicies(
      AlertListener alerts,
      Map<String, TokenBucket> sourceLimits,
      Duration retryQueueAfter,
      List<Boolean> parkable,
      Duration sourceLinger,
      ErrorText errorText) {
    this(
        alerts,
        sourceLimits,
        retryQueueAfter,
        parkable,
        sourceLinger,
        errorText,
        ReferenceTables.none(),
        null,
        LineageLevel.NONE,
        0);
  }
}
