package dev.pipeline;

import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.StageMetrics;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * What a finished run did.
 *
 * @param pipeline the pipeline's name
 * @param status COMPLETED, CANCELLED or FAILED
 * @param duration from start to end
 * @param read records read from the sources
 * @param resumed records the store handed over to finish: dead letters sent back for reprocessing,
 *     parked retries come due, and on a durable store records left unfinished by an earlier run or
 *     a dead worker
 * @param duplicates records rejected because their id was already known (finished, or held by this
 *     run); not those in {@code heldUnfinished}
 * @param published records handed to the sink
 * @param filtered records dropped on purpose
 * @param deadLettered records sent to the dead letter queue
 * @param parked times records were parked in the store's retry queue (long retries, records held
 *     while a circuit was open); each one that came back during the run is counted in {@code
 *     resumed} too
 * @param unfinished records left in flight by a cancellation or failure (0 when completed)
 * @param takenOver records this run dropped because its lease on them ran out and another worker
 *     took them over (this worker was paused, or cut off from the database, for longer than the
 *     lease): that worker finishes them, so a COMPLETED run may count some here. Always 0 on a
 *     store without leases. {@code read - heldUnfinished + resumed - duplicates + children +
 *     mergedRecords} equals {@code published + filtered + deadLettered + parked + unfinished +
 *     takenOver + split + merged}
 * @param heldUnfinished records read again whose ids the store held unfinished: left by an earlier
 *     run that crashed (or was cancelled), or held by another worker. Not duplicates: they are
 *     finished through claims, and those this run claims are counted in {@code resumed}
 * @param sourceErrors one line per source that failed to read, naming it and the error; a run with
 *     any is FAILED, since not all of its input was read
 * @param failure what stopped a FAILED run (or, if a source failed, names it), or null
 * @param metrics the stages' metrics at the end
 * @param split records a split stage split into records of their own (their terminal state is
 *     SPLIT); one split into no records is counted in {@code filtered}
 * @param children the records split stages made that this run stored and carried on; each ends in a
 *     terminal state of its own, counted above
 * @param merged the children a merge stage joined with their siblings (their terminal state is
 *     MERGED)
 * @param mergedRecords the records merge stages made of complete groups that this run stored and
 *     carried on; each ends in a terminal state of its own, counted above
 */
public record RunResult(
    String pipeline,
    RunStatus status,
    Duration duration,
    long read,
    long resumed,
    long duplicates,
    long published,
    long filtered,
    long deadLettered,
    long parked,
    long unfinished,
    long takenOver,
    long heldUnfinished,
    List<String> sourceErrors,
    @Nullable Throwable failure,
    PipelineMetrics metrics,
    long split,
    long children,
    long merged,
    long mergedRecords) {

  /** Copies the error list. */
  public RunResult {
    sourceErrors = List.copyOf(sourceErrors);
  }

  /** Records per second from start to end, over every record that reached a terminal state. */
  public double recordsPerSecond() {
    double seconds = duration.toNanos() / 1e9;
    return seconds <= 0 ? 0 : (published + filtered + deadLettered) / seconds;
  }

  /** A readable summary: the totals, then a line per stage. */
  public String summary() {
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            Locale.ROOT,
            "pipeline '%s' %s in %.2fs: %d records in%s%s%s%s, %d published, %d filtered, %d"
                + " dead-lettered, %d duplicates%s%s (%.0f records/s)%n",
            pipeline,
            status.name().toLowerCase(Locale.ROOT),
            duration.toNanos() / 1e9,
            read,
            heldUnfinished > 0
                ? " (" + heldUnfinished + " of them held unfinished from before: not duplicates)"
                : "",
            resumed > 0 ? " (+" + resumed + " resumed)" : "",
            split > 0 ? ", " + split + " split into " + children + " records" : "",
            merged > 0 ? ", " + merged + " merged into " + mergedRecords + " records" : "",
            published,
            filtered,
            deadLettered,
            duplicates,
            unfinished > 0 ? ", " + unfinished + " unfinished" : "",
            takenOver > 0
                ? ", "
                    + takenOver
                    + " taken over by another worker after this one's lease on them ran out"
                : "",
            recordsPerSecond()));
    out.append(metrics.table());
    metrics
        .bottleneck()
        .map(StageMetrics::stage)
        .ifPresent(s -> out.append("bottleneck: ").append(s).append(System.lineSeparator()));
    for (String error : sourceErrors) {
      out.append("source error: ").append(error).append(System.lineSeparator());
    }
    if (failure != null) {
      out.append("failure: ").append(failure).append(System.lineSeparator());
    }
    return out.toString();
  }
}
