package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.PipelineClock;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.store.AuditEntry;
import dev.pipeline.store.AuditQuery;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.Page;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.StatusCounts;
import dev.pipeline.store.spi.Claimed;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.Handover;
import dev.pipeline.store.spi.HeldLeases;
import dev.pipeline.store.spi.MergeOutcome;
import dev.pipeline.store.spi.MergePart;
import dev.pipeline.store.spi.RecordLedger;
import dev.pipeline.store.spi.ScheduledRetry;
import dev.pipeline.store.spi.SourceReplay;
import dev.pipeline.store.spi.SourceSpan;
import dev.pipeline.store.spi.StageDescriptor;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A run's store, timed: every call a run makes on the record path (ingest, checkpoint, complete,
 * deliver, claim, park, lease checks) is measured as the store's "stage" of the metrics, so that a
 * run the store limits names the store as its bottleneck. Its busy time is the time with at least
 * one call under way; its latencies are per call. Calls the run does not make on the record path
 * (reads, registration) go straight through. Thread-safe.
 */
final class MeteredLedger implements RecordLedger {
  private final RecordLedger store;
  private final PipelineClock clock;
  // calls and records, counted as a stage's records in and out
  final StageRecorder recorder;
  private final ReentrantLock lock = new ReentrantLock();
  private final ReentrantLock latencyLock = new ReentrantLock();
  // guarded by latencyLock
  private final LatencyHistogram latency = new LatencyHistogram();
  private int inFlight; // guarded by lock
  private long busySince; // guarded by lock

  MeteredLedger(RecordLedger store, PipelineClock clock) {
    this.store = store;
    this.clock = clock;
    this.recorder =
        new StageRecorder(
            StageWindow.STORE, 1, () -> 0, this::copyLatency, StageRecorder.Live.NONE);
  }

  private LatencyHistogram copyLatency() {
    latencyLock.lock();
    try {
      return latency.copy();
    } finally {
      latencyLock.unlock();
    }
  }

  private long enter() {
    long now = clock.nanoTime();
    lock.lock();
    try {
      if (inFlight++ == 0) {
        busySince = now;
      }
    } finally {
      lock.unlock();
    }
    recorder.started(now);
    return now;
  }

  private void leave(long start, int records) {
    long now = clock.nanoTime();
    lock.lock();
    try {
      if (--inFlight == 0) {
        recorder.busyNanos.add(Math.max(0, now - busySince));
      }
    } finally {
      lock.unlock();
    }
    latencyLock.lock();
    try {
      latency.recordValue(now - start);
    } finally {
      latencyLock.unlock();
    }
    recorder.in.add(records);
    recorder.passed.add(records);
    recorder.active(now);
  }

  private <T> T timed(int records, Supplier<T> call) {
    long start = enter();
    try {
      return call.get();
    } finally {
      leave(start, records);
    }
  }

  @Override
  public void register(String pipeline, List<StageDescriptor> stages) {
    store.register(pipeline, stages);
  }

  @Override
  public void unregister(String pipeline) {
    store.unregister(pipeline);
  }

  @Override
  public Set<String> ingest(
      String pipeline, List<? extends Envelope<?>> records, String stage, Instant at) {
    return timed(records.size(), () -> store.ingest(pipeline, records, stage, at));
  }

  @Override
  public Set<String> ingest(
      String pipeline,
      List<? extends Envelope<?>> records,
      String stage,
      Instant at,
      SourceSpan span) {
    return timed(records.size(), () -> store.ingest(pipeline, records, stage, at, span));
  }

  @Override
  public void replayFrom(String pipeline, SourceReplay replay) {
    store.replayFrom(pipeline, replay);
  }

  @Override
  public void checkpoint(
      String pipeline, List<? extends Envelope<?>> records, String nextStage, Instant at) {
    timed(
        records.size(),
        () -> {
          store.checkpoint(pipeline, records, nextStage, at);
          return null;
        });
  }

  @Override
  public Set<String> complete(String pipeline, List<Completion> completions) {
    return timed(completions.size(), () -> store.complete(pipeline, completions));
  }

  @Override
  public Set<String> beginDelivery(String pipeline, List<String> recordIds) {
    return timed(recordIds.size(), () -> store.beginDelivery(pipeline, recordIds));
  }

  @Override
  public Handover completeAndDeliver(
      String pipeline, List<Completion> completions, List<String> delivering) {
    return timed(
        completions.size() + delivering.size(),
        () -> store.completeAndDeliver(pipeline, completions, delivering));
  }

  @Override
  public Set<String> notHeld(String pipeline, Collection<String> recordIds) {
    return timed(0, () -> store.notHeld(pipeline, recordIds));
  }

  /** Not timed: answered from memory for every batch at every stage (see {@link #notHeld}). */
  @Override
  public Collection<String> inDoubt(String pipeline, Collection<String> recordIds) {
    return store.inDoubt(pipeline, recordIds);
  }

  @Override
  public Set<String> unfinished(String pipeline, Collection<String> recordIds) {
    return timed(0, () -> store.unfinished(pipeline, recordIds));
  }

  @Override
  public List<HeldLeases> leasesHeldElsewhere(String pipeline) {
    return store.leasesHeldElsewhere(pipeline);
  }

  @Override
  public List<Claimed> claim(String pipeline, int max) {
    return timed(0, () -> store.claim(pipeline, max));
  }

  @Override
  public List<Claimed> claim(String pipeline, int max, Instant now) {
    return timed(0, () -> store.claim(pipeline, max, now));
  }

  @Override
  public Optional<Instant> nextDue(String pipeline) {
    return store.nextDue(pipeline);
  }

  @Override
  public boolean hasRetryQueue() {
    return store.hasRetryQueue();
  }

  @Override
  public boolean keepsMergeGroups() {
    return store.keepsMergeGroups();
  }

  @Override
  public MergeOutcome merge(String pipeline, String stage, List<MergePart> parts, Instant at) {
    return timed(parts.size(), () -> store.merge(pipeline, stage, parts, at));
  }

  @Override
  public Set<String> scheduleRetries(String pipeline, List<ScheduledRetry> retries, Instant at) {
    return timed(retries.size(), () -> store.scheduleRetries(pipeline, retries, at));
  }

  @Override
  public void release(String pipeline) {
    store.release(pipeline);
  }

  @Override
  public void appendAudit(List<AuditEntry> entries) {
    store.appendAudit(entries);
  }

  @Override
  public void appendMetrics(List<StageWindow> windows) {
    store.appendMetrics(windows);
  }

  @Override
  public void appendLineage(String pipeline, List<LineageEvent> events) {
    store.appendLineage(pipeline, events);
  }

  @Override
  public List<LineageEvent> lineage(String pipeline, String recordId) {
    return store.lineage(pipeline, recordId);
  }

  @Override
  public Set<String> reprocess(String pipeline, Collection<String> recordIds, Instant at) {
    return store.reprocess(pipeline, recordIds, at);
  }

  @Override
  public Set<String> discard(
      String pipeline, Collection<String> recordIds, String reason, Instant at) {
    return store.discard(pipeline, recordIds, reason, at);
  }

  @Override
  public Optional<String> sourcePosition(String pipeline, String sourceId) {
    return store.sourcePosition(pipeline, sourceId);
  }

  @Override
  public void keepSourcePosition(String pipeline, String sourceId, @Nullable String position) {
    timed(
        0,
        () -> {
          store.keepSourcePosition(pipeline, sourceId, position);
          return null;
        });
  }

  @Override
  public Page<AuditEntry> auditTrail(String pipeline, AuditQuery query) {
    return store.auditTrail(pipeline, query);
  }

  @Override
  public List<StageWindow> metricsHistory(String pipeline, String stage, Instant from, Instant to) {
    return store.metricsHistory(pipeline, stage, from, to);
  }

  @Override
  public boolean hasUnfinished(String pipeline) {
    return store.hasUnfinished(pipeline);
  }

  @Override
  public boolean hasUnfinishedToTake(String pipeline) {
    return store.hasUnfinishedToTake(pipeline);
  }

  @Override
  public Map<String, Long> waitingForSources(String pipeline) {
    return store.waitingForSources(pipeline);
  }

  @Override
  public Optional<RecordState> find(String pipeline, String recordId) {
    return store.find(pipeline, recordId);
  }

  @Override
  public Page<DeadLetter> deadLetters(String pipeline, DeadLetterQuery query) {
    return store.deadLetters(pipeline, query);
  }

  @Override
  public StatusCounts counts(String pipeline) {
    return store.counts(pipeline);
  }

  @Override
  public long count(String pipeline, RecordStatus status, long limit) {
    return store.count(pipeline, status, limit);
  }

  @Override
  public boolean isDurable() {
    return store.isDurable();
  }

  /** Does nothing: the pipeline closes the store it owns, not a run. */
  @Override
  public void close() {}

  @Override
  public String toString() {
    return store.toString();
  }
}
