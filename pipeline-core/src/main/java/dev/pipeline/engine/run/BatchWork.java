package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.ScheduledRetry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A batch a worker has taken, with what it has made of it so far. Kept in the worker's slot so
 * that, if the worker hangs and is abandoned, its replacement finishes the batch: nothing taken is
 * ever lost.
 */
final class BatchWork {
  final List<Envelope<Object>> batch;
  final List<Envelope<Object>> outputs;
  final List<Completion> completions = new ArrayList<>();
  final long[] latencies;
  int latencyCount;
  long busyNanos;
  long bytes;
  long retries;

  /** Single-record stages: the index of the record in hand. */
  int index;

  /** The attempt at the record (or batch call) in hand. */
  int attempt = 1;

  /** Whether the record in hand came back from the retry queue (single-record stages). */
  boolean resumedRetry;

  /** Errors of the record in hand (single-record stages). */
  @Nullable List<ErrorInfo> errors;

  /** Batch stages: each record's errors so far. */
  final Map<String, List<ErrorInfo>> batchErrors = new HashMap<>();

  /**
   * Split stages: the children made so far, to be stored before their parents' SPLIT completions
   * (in {@link #completions}) are written; empty otherwise.
   */
  final List<Envelope<Object>> children = new ArrayList<>(0);

  /**
   * Merge stages: the records merged from complete groups, to be stored before the children's
   * MERGED completions (in {@link #completions}) are written; empty otherwise.
   */
  final List<Envelope<Object>> merged = new ArrayList<>(0);

  /** Split stages: the records split so far into at least one child. */
  int split;

  /** Records to park in the store's retry queue. */
  final List<ScheduledRetry> parked = new ArrayList<>(0);

  /** The sink on a durable store: whether the batch's ids are noted in {@link SinkRetries}. */
  boolean atSink;

  /** Batch stages: the parts of the batch still to call, first first (a failed batch is halved). */
  @Nullable Deque<Chunk> chunks;

  /** The error of a fallback function that failed, for the dead letter it leads to. */
  @Nullable Throwable fallbackError;

  /** When the worker took the batch, if the run keeps lineage. */
  @Nullable Instant entered;

  /**
   * A route branch's sink: each record's payload as it entered the route, for its dead letter; null
   * for the pipeline's sink, and for records claimed back at the branch's sink.
   */
  @Nullable Map<String, Object> routeInputs;

  /** Set when a replacement takes over after the call in hand was abandoned. */
  boolean abandoned;

  BatchWork(List<Envelope<Object>> batch) {
    this(batch, new long[batch.size()]);
  }

  /**
   * A batch whose calls' latencies are noted in {@code latencies} if it is long enough (a worker's
   * own array, reused from batch to batch: the latencies are read when the batch is handed on,
   * before the worker takes the next), else in a new array.
   */
  BatchWork(List<Envelope<Object>> batch, long[] latencies) {
    this.batch = batch;
    this.outputs = new ArrayList<>(batch.size());
    this.latencies = latencies.length >= batch.size() ? latencies : new long[batch.size()];
  }

  void latency(long nanos, int records) {
    long each = Math.max(0, nanos);
    for (int i = 0; i < records && latencyCount < batch.size(); i++) {
      latencies[latencyCount++] = each;
    }
    busyNanos += Math.max(0, nanos);
  }
}
