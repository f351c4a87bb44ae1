package dev.pipeline.store;

import dev.pipeline.Envelope;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.internal.TimeRange;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.store.spi.Claimed;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.Handover;
import dev.pipeline.store.spi.MergeOutcome;
import dev.pipeline.store.spi.MergePart;
import dev.pipeline.store.spi.MergedGroup;
import dev.pipeline.store.spi.RecordLedger;
import dev.pipeline.store.spi.Registrations;
import dev.pipeline.store.spi.ScheduledRetry;
import dev.pipeline.store.spi.StageDescriptor;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * A store that keeps everything in this process's memory: the semantics of the JDBC store, minus
 * surviving the process. The default store of a pipeline.
 *
 * <p>So that memory stays flat however many records pass, it keeps the state of at most {@link
 * Builder#retainCompleted(int)} published or filtered records (the most recent ones); older ones
 * are forgotten, like the JDBC store's retention purge, and their ids may then be ingested again.
 * Records in flight and dead letters are always kept, and so is a merged record while its merge
 * group is (at most as many more). Counts by status cover every record.
 *
 * <p>Thread-safe.
 */
public final class InMemoryPipelineStore implements RecordLedger {
  /**
   * Completed records whose state is kept unless set otherwise: 10,000. Each kept state outlives
   * the young generation's collections while it waits its turn to be forgotten, and keeping 100,000
   * cost a CPU-light pipeline about a tenth of its throughput in garbage collection; the smaller
   * window keeps {@code find} answering for the records just completed, and duplicates re-sent
   * within it are still recognized. Set more with {@link Builder#retainCompleted(int)}.
   */
  public static final int DEFAULT_RETAIN_COMPLETED = 10_000;

  /**
   * How many of the oldest completed records one eviction looks at for one it may forget (merged
   * records of groups still kept are passed over); if none, the store keeps one more for now.
   */
  private static final int EVICTION_TRIES = 16;

  /** Audit trail lines kept per pipeline unless set otherwise (the most recent ones). */
  public static final int DEFAULT_RETAIN_AUDIT = 10_000;

  /** Metrics history windows kept per pipeline unless set otherwise (the most recent ones). */
  public static final int DEFAULT_RETAIN_WINDOWS = 10_000;

  /** Lineage events kept per pipeline unless set otherwise: 100,000 (the most recent). */
  public static final int DEFAULT_RETAIN_LINEAGE = 100_000;

  private final int retainCompleted;
  private final int retainLineage;
  private final Map<String, LineageRing> lineage = new ConcurrentHashMap<>();
  private final HistoryRing history;
  private final Map<String, PipelineData> pipelines = new ConcurrentHashMap<>();
  private final AtomicLong deliveryTokens = new AtomicLong();
  private final Registrations registrations = new Registrations();
  private final MergeGroups mergeGroups;

  private InMemoryPipelineStore(
      int retainCompleted, int retainAudit, int retainWindows, int retainLineage) {
    this.retainCompleted = retainCompleted;
    this.mergeGroups = new MergeGroups(retainCompleted);
    this.history = new HistoryRing(retainAudit, retainWindows);
    this.retainLineage = retainLineage;
  }

  /** A store with the default retention. */
  public static InMemoryPipelineStore create() {
    return new InMemoryPipelineStore(
        DEFAULT_RETAIN_COMPLETED,
        DEFAULT_RETAIN_AUDIT,
        DEFAULT_RETAIN_WINDOWS,
        DEFAULT_RETAIN_LINEAGE);
  }

  /** A builder to set the retention. */
  public static Builder builder() {
    return new Builder();
  }

  private PipelineData data(String pipeline) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    return pipelines.computeIfAbsent(pipeline, p -> new PipelineData());
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalStateException if a pipeline built on this store with different stages holds the
   *     name
   */
  @Override
  public void register(String pipeline, List<StageDescriptor> stages) {
    PipelineData data = data(pipeline);
    registrations.hold(toString(), pipeline, stages);
    data.stages = List.copyOf(stages);
  }

  @Override
  public void unregister(String pipeline) {
    registrations.release(pipeline);
  }

  /** The stages registered for a pipeline, in order. */
  public List<StageDescriptor> stages(String pipeline) {
    return data(pipeline).stages;
  }

  @Override
  public Set<String> ingest(
      String pipeline, List<? extends Envelope<?>> records, String stage, Instant at) {
    PipelineData data = data(pipeline);
    for (Envelope<?> record : records) {
      StorableText.checkId(record.id());
    }
    Set<String> duplicates = null;
    for (Envelope<?> record : records) {
      RecordState fresh =
          new RecordState(
              record.id(),
              RecordStatus.READY,
              stage,
              0,
              null,
              List.of(),
              0,
              at,
              at,
              record.metadata().get(Envelope.PARENT_ID));
      if (data.states.putIfAbsent(record.id(), fresh) == null) {
        data.count(RecordStatus.READY).increment();
      } else {
        if (duplicates == null) {
          duplicates = new HashSet<>();
        }
        duplicates.add(record.id());
      }
    }
    return duplicates == null ? Set.of() : duplicates;
  }

  @Override
  public void checkpoint(
      String pipeline, List<? extends Envelope<?>> records, String nextStage, Instant at) {
    PipelineData data = data(pipeline);
    for (Envelope<?> record : records) {
      data.states.computeIfPresent(
          record.id(),
          (id, s) ->
              s.status().isTerminal()
                  ? s
                  : new RecordState(
                      id,
                      s.status(),
                      nextStage,
                      0,
                      null,
                      s.errors(),
                      s.deliveries(),
                      s.startedAt(),
                      at,
                      s.parentId()));
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Keeps the payloads in memory as they are; complete groups are kept (so that a part given
   * again finds its group complete) up to {@link Builder#retainCompleted(int)} groups, the oldest
   * forgotten first.
   */
  @Override
  public boolean keepsMergeGroups() {
    return true;
  }

  @Override
  public MergeOutcome merge(String pipeline, String stage, List<MergePart> parts, Instant at) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(parts, "parts cannot be null");
    return parts.isEmpty() ? MergeOutcome.NONE : mergeGroups.merge(pipeline, parts);
  }

  @Override
  public Set<String> complete(String pipeline, List<Completion> completions) {
    PipelineData data = data(pipeline);
    for (Completion c : completions) {
      RecordState before = data.states.get(c.recordId());
      if (before != null && before.status().isTerminal()) {
        continue;
      }
      Instant startedAt = before == null ? c.at() : before.startedAt();
      List<ErrorInfo> errors =
          before == null ? ErrorText.bounded(c.errors()) : concat(before.errors(), c.errors());
      RecordState after =
          new RecordState(
              c.recordId(),
              c.status(),
              c.stage(),
              c.attempts(),
              c.reason(),
              errors,
              before == null ? (c.status() == RecordStatus.PUBLISHED ? 1 : 0) : before.deliveries(),
              startedAt,
              c.at(),
              before == null ? null : before.parentId());
      // replace only what we saw, so two racing completions of one record count once
      boolean won =
          before == null
              ? data.states.putIfAbsent(c.recordId(), after) == null
              : data.states.replace(c.recordId(), before, after);
      if (!won) {
        continue;
      }
      if (before != null) {
        data.count(before.status()).decrement();
      }
      data.count(c.status()).increment();
      if (c.status() == RecordStatus.DEAD_LETTER) {
        long seq = data.deadLetterSeq.incrementAndGet();
        data.deadLetterSeqs.put(c.recordId(), seq);
        data.deadLetters.put(
            seq,
            new DeadLetter(
                Objects.requireNonNull(c.record()), c.stage(), errors, c.attempts(), c.at()));
      } else {
        data.completedOrder.add(c.recordId());
        if (data.retained.incrementAndGet() > retainCompleted) {
          evictOne(pipeline, data);
        }
      }
    }
    return Set.of();
  }

  @Override
  public Set<String> beginDelivery(String pipeline, List<String> recordIds) {
    PipelineData data = data(pipeline);
    Set<String> redelivered = null;
    for (String id : recordIds) {
      RecordState after =
          data.states.computeIfPresent(
              id,
              (k, s) ->
                  new RecordState(
                      k,
                      s.status(),
                      s.stage(),
                      s.attempts(),
                      s.reason(),
                      s.errors(),
                      s.deliveries() + 1,
                      s.startedAt(),
                      s.updatedAt(),
                      s.parentId()));
      if (after != null && after.deliveries() > 1) {
        if (redelivered == null) {
          redelivered = new HashSet<>();
        }
        redelivered.add(id);
      }
    }
    return redelivered == null ? Set.of() : redelivered;
  }

  /**
   * Completes records and notes the delivery of others, as {@link #complete} then {@link
   * #beginDelivery}; each hand-over gets a fencing token from a counter of this store, so a record
   * handed to the sink again (sent back for reprocessing) carries a higher one.
   */
  @Override
  public Handover completeAndDeliver(
      String pipeline, List<Completion> completions, List<String> delivering) {
    Set<String> fenced = completions.isEmpty() ? Set.of() : complete(pipeline, completions);
    if (delivering.isEmpty()) {
      return new Handover(fenced, Set.of());
    }
    Set<String> redelivered = beginDelivery(pipeline, delivering);
    Long token = deliveryTokens.incrementAndGet();
    Map<String, Long> tokens = new HashMap<>(delivering.size() * 2);
    for (String id : delivering) {
      tokens.put(id, token);
    }
    return new Handover(fenced, redelivered, Set.of(), tokens);
  }

  /**
   * Always empty: the records of an in-memory store live only in the run that ingested them, except
   * those parked by {@link #scheduleRetries} or sent back by {@link #reprocess}, which {@link
   * #claim(String, int, Instant)} hands over.
   */
  @Override
  public List<Claimed> claim(String pipeline, int max) {
    return List.of();
  }

  @Override
  public List<Claimed> claim(String pipeline, int max, Instant now) {
    PipelineData data = data(pipeline);
    List<Claimed> claimed = new ArrayList<>();
    synchronized (data.parked) {
      Parked next;
      while (claimed.size() < max
          && (next = data.parked.peek()) != null
          && !next.due.isAfter(now)) {
        data.parked.poll();
        RecordState before = data.states.get(next.record.id());
        if (before == null || before.status() != next.status) {
          continue; // discarded or purged meanwhile
        }
        data.states.put(
            next.record.id(),
            new RecordState(
                before.recordId(),
                RecordStatus.IN_PROGRESS,
                next.stage,
                next.attempts,
                null,
                before.errors(),
                before.deliveries(),
                before.startedAt(),
                now,
                before.parentId()));
        data.count(before.status()).decrement();
        data.count(RecordStatus.IN_PROGRESS).increment();
        claimed.add(new Claimed(next.record, next.stage, next.attempts));
      }
    }
    return claimed;
  }

  /**
   * When the earliest record parked in the retry queue (or sent back for reprocessing) is due, if
   * any: the engine waits for it on the pipeline's clock.
   */
  @Override
  public Optional<Instant> nextDue(String pipeline) {
    PipelineData data = data(pipeline);
    synchronized (data.parked) {
      Parked next = data.parked.peek();
      return next == null ? Optional.empty() : Optional.of(next.due);
    }
  }

  @Override
  public boolean hasRetryQueue() {
    return true;
  }

  @Override
  public Set<String> scheduleRetries(String pipeline, List<ScheduledRetry> retries, Instant at) {
    PipelineData data = data(pipeline);
    synchronized (data.parked) {
      for (ScheduledRetry r : retries) {
        RecordState before = data.states.get(r.recordId());
        if (before != null && before.status().isTerminal()) {
          continue;
        }
        Instant startedAt = before == null ? at : before.startedAt();
        data.states.put(
            r.recordId(),
            new RecordState(
                r.recordId(),
                RecordStatus.RETRY_WAIT,
                r.stage(),
                r.attempts(),
                null,
                concat(before == null ? List.of() : before.errors(), r.errors()),
                before == null ? 0 : before.deliveries(),
                startedAt,
                at,
                before == null
                    ? r.record().metadata().get(Envelope.PARENT_ID)
                    : before.parentId()));
        if (before != null) {
          data.count(before.status()).decrement();
        }
        data.count(RecordStatus.RETRY_WAIT).increment();
        data.parked.add(
            new Parked(
                r.record(), r.stage(), r.attempts(), due(at, r.delay()), RecordStatus.RETRY_WAIT));
      }
    }
    return Set.of();
  }

  @Override
  public Set<String> reprocess(String pipeline, Collection<String> recordIds, Instant at) {
    return leaveDeadLetters(data(pipeline), recordIds, RecordStatus.READY, null, at, null);
  }

  @Override
  public boolean reprocessWithPayload(
      String pipeline, String recordId, Object payload, Instant at) {
    Objects.requireNonNull(payload, "payload cannot be null");
    return !leaveDeadLetters(
            data(pipeline), List.of(recordId), RecordStatus.READY, null, at, payload)
        .isEmpty();
  }

  @Override
  public Set<String> discard(
      String pipeline, Collection<String> recordIds, String reason, Instant at) {
    Objects.requireNonNull(reason, "reason cannot be null");
    return leaveDeadLetters(data(pipeline), recordIds, RecordStatus.DISCARDED, reason, at, null);
  }

  /**
   * Moves dead letters out of the queue: back to READY at their failing stage (parked as due now,
   * for a claim to hand over, with {@code payload} in place of its own if given), or to DISCARDED
   * with the reason. Ids that are not dead letters are left alone.
   */
  private static Set<String> leaveDeadLetters(
      PipelineData data,
      Collection<String> recordIds,
      RecordStatus to,
      @Nullable String reason,
      Instant at,
      @Nullable Object payload) {
    boolean back = to == RecordStatus.READY;
    Set<String> moved = new LinkedHashSet<>();
    synchronized (data.parked) {
      for (String id : recordIds) {
        DeadLetter letter = takeDeadLetter(data, id);
        if (letter == null) {
          continue;
        }
        RecordState before = Objects.requireNonNull(data.states.get(id));
        data.states.put(
            id,
            new RecordState(
                id,
                to,
                back ? letter.stage() : before.stage(),
                back ? 0 : before.attempts(),
                reason,
                before.errors(),
                before.deliveries(),
                before.startedAt(),
                at,
                before.parentId()));
        data.count(RecordStatus.DEAD_LETTER).decrement();
        data.count(to).increment();
        if (back) {
          Envelope<?> record =
              payload == null ? letter.record() : letter.record().withPayload(payload);
          data.parked.add(new Parked(record, letter.stage(), 0, at, RecordStatus.READY));
        }
        moved.add(id);
      }
    }
    return moved;
  }

  /** Removes a record from the dead letter queue if it is in it, under the parked lock. */
  private static @Nullable DeadLetter takeDeadLetter(PipelineData data, String id) {
    Objects.requireNonNull(id, "record id cannot be null");
    RecordState state = data.states.get(id);
    Long seq = data.deadLetterSeqs.get(id);
    if (state == null || state.status() != RecordStatus.DEAD_LETTER || seq == null) {
      return null;
    }
    data.deadLetterSeqs.remove(id);
    return data.deadLetters.remove(seq);
  }

  /** When a retry parked at {@code at} is due; a delay past the end of time saturates there. */
  private static Instant due(Instant at, Duration delay) {
    try {
      return at.plus(delay);
    } catch (DateTimeException | ArithmeticException e) {
      return delay.isNegative() ? Instant.MIN : Instant.MAX;
    }
  }

  /** A record's errors with more appended, kept a bounded history (first, dropped, last 8). */
  private static List<ErrorInfo> concat(List<ErrorInfo> stored, List<ErrorInfo> more) {
    return ErrorText.append(stored, more);
  }

  /** A record waiting in the retry queue, or sent back from the dead letter queue. */
  private record Parked(
      Envelope<?> record, String stage, int attempts, Instant due, RecordStatus status) {}

  @Override
  public boolean hasUnfinished(String pipeline) {
    PipelineData data = data(pipeline);
    return data.count(RecordStatus.READY).sum() > 0
        || data.count(RecordStatus.IN_PROGRESS).sum() > 0
        || data.count(RecordStatus.RETRY_WAIT).sum() > 0;
  }

  /**
   * Forgets the oldest completed record, unless it is the merged record of a group still kept: a
   * child sent back late merges that group again, and the merged record's ingest must find it
   * stored. Such a record goes behind the newer ones and the next oldest is tried, up to {@link
   * #EVICTION_TRIES} times; it is forgotten at its next turn once its group is. Complete groups are
   * at most {@code retainCompleted}, and so are the merged records kept beyond it.
   */
  private void evictOne(String pipeline, PipelineData data) {
    for (int tries = 0; tries < EVICTION_TRIES; tries++) {
      String oldest = data.completedOrder.poll();
      if (oldest == null) {
        return;
      }
      String parent = MergedGroup.parentOfMerged(oldest);
      if (parent != null && mergeGroups.keepsComplete(pipeline, parent)) {
        data.completedOrder.add(oldest);
        continue;
      }
      data.retained.decrementAndGet();
      data.states.computeIfPresent(oldest, (id, s) -> s.status().isTerminal() ? null : s);
      return;
    }
  }

  @Override
  public Optional<RecordState> find(String pipeline, String recordId) {
    Objects.requireNonNull(recordId, "recordId cannot be null");
    return Optional.ofNullable(data(pipeline).states.get(recordId));
  }

  @Override
  public Page<DeadLetter> deadLetters(String pipeline, DeadLetterQuery query) {
    Objects.requireNonNull(query, "query cannot be null");
    long after = 0;
    if (query.after() != null) {
      try {
        after = Long.parseLong(query.after());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "not a cursor of this store: '" + query.after() + "'", e);
      }
    }
    List<DeadLetter> items = new ArrayList<>();
    String next = null;
    for (Map.Entry<Long, DeadLetter> e :
        data(pipeline).deadLetters.tailMap(after, false).entrySet()) {
      if (!query.matches(e.getValue())) {
        continue;
      }
      if (items.size() == query.limit()) {
        next = Long.toString(e.getKey() - 1);
        break;
      }
      items.add(e.getValue());
    }
    return new Page<>(items, next);
  }

  @Override
  public StatusCounts counts(String pipeline) {
    PipelineData data = data(pipeline);
    Map<RecordStatus, Long> counts = new EnumMap<>(RecordStatus.class);
    data.counts.forEach((status, adder) -> counts.put(status, adder.sum()));
    return new StatusCounts(counts);
  }

  @Override
  public void appendLineage(String pipeline, List<LineageEvent> events) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    lineage.computeIfAbsent(pipeline, k -> new LineageRing(retainLineage)).append(events);
  }

  @Override
  public List<LineageEvent> lineage(String pipeline, String recordId) {
    Objects.requireNonNull(recordId, "recordId cannot be null");
    LineageRing ring = lineage.get(Objects.requireNonNull(pipeline, "pipeline cannot be null"));
    return ring == null ? List.of() : ring.find(recordId, MAX_LINEAGE_EVENTS);
  }

  @Override
  public boolean isDurable() {
    return false;
  }

  @Override
  public void appendAudit(List<AuditEntry> entries) {
    history.appendAudit(entries);
  }

  @Override
  public void appendMetrics(List<StageWindow> windows) {
    history.appendMetrics(windows);
  }

  /** {@inheritDoc} The most recent {@link Builder#retainAudit(int)} lines of the pipeline. */
  @Override
  public Page<AuditEntry> auditTrail(String pipeline, AuditQuery query) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(query, "query cannot be null");
    return history.auditTrail(pipeline, query);
  }

  /**
   * {@inheritDoc} Of the most recent {@link Builder#retainWindows(int)} windows of the pipeline.
   */
  @Override
  public List<StageWindow> metricsHistory(String pipeline, String stage, Instant from, Instant to) {
    TimeRange.check(pipeline, stage, from, to);
    return history.metricsHistory(pipeline, stage, from, to);
  }

  @Override
  public void close() {}

  @Override
  public String toString() {
    return "InMemoryPipelineStore[retainCompleted=" + retainCompleted + "]";
  }

  private static final class PipelineData {
    volatile List<StageDescriptor> stages = List.of();
    final Map<String, RecordState> states = new ConcurrentHashMap<>();
    final ConcurrentLinkedQueue<String> completedOrder = new ConcurrentLinkedQueue<>();
    final AtomicLong retained = new AtomicLong();
    final ConcurrentSkipListMap<Long, DeadLetter> deadLetters = new ConcurrentSkipListMap<>();
    final AtomicLong deadLetterSeq = new AtomicLong();
    final Map<String, Long> deadLetterSeqs = new ConcurrentHashMap<>();
    final PriorityQueue<Parked> parked =
        new PriorityQueue<>(Comparator.comparing(Parked::due).thenComparing(p -> p.record.id()));
    final Map<RecordStatus, LongAdder> counts = new EnumMap<>(RecordStatus.class);

    PipelineData() {
      for (RecordStatus status : RecordStatus.values()) {
        counts.put(status, new LongAdder());
      }
    }

    LongAdder count(RecordStatus status) {
      return counts.get(status);
    }
  }

  /** Builds an in-memory store. Not thread-safe. */
  public static final class Builder {
    private int retainCompleted = DEFAULT_RETAIN_COMPLETED;
    private int retainAudit = DEFAULT_RETAIN_AUDIT;
    private int retainWindows = DEFAULT_RETAIN_WINDOWS;
    private int retainLineage = DEFAULT_RETAIN_LINEAGE;

    private Builder() {}

    /**
     * Sets how many lines of each pipeline's audit trail are kept, the most recent ones (0 keeps
     * none).
     *
     * @throws IllegalArgumentException if negative or over 10,000,000
     */
    public Builder retainAudit(int lines) {
      if (lines < 0 || lines > 10_000_000) {
        throw new IllegalArgumentException(
            "retainAudit must be between 0 and 10000000 lines, was " + lines);
      }
      this.retainAudit = lines;
      return this;
    }

    /**
     * Sets how many windows of each pipeline's metrics history are kept, the most recent ones, all
     * stages together (0 keeps none).
     *
     * @throws IllegalArgumentException if negative or over 10,000,000
     */
    public Builder retainWindows(int windows) {
      if (windows < 0 || windows > 10_000_000) {
        throw new IllegalArgumentException(
            "retainWindows must be between 0 and 10000000 windows, was " + windows);
      }
      this.retainWindows = windows;
      return this;
    }

    /**
     * Sets how many published or filtered records' states are kept (0 keeps none).
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder retainCompleted(int records) {
      if (records < 0) {
        throw new IllegalArgumentException("retainCompleted cannot be negative, was " + records);
      }
      this.retainCompleted = records;
      return this;
    }

    /**
     * Sets how many lineage events are kept per pipeline, the most recent ones (0 keeps none).
     *
     * @throws IllegalArgumentException if not between 0 and 10,000,000
     */
    public Builder retainLineage(int events) {
      if (events < 0 || events > 10_000_000) {
        throw new IllegalArgumentException(
            "retainLineage must be between 0 and 10,000,000 events, was " + events);
      }
      this.retainLineage = events;
      return this;
    }

    /** Builds the store. */
    public InMemoryPipelineStore build() {
      return new InMemoryPipelineStore(retainCompleted, retainAudit, retainWindows, retainLineage);
    }
  }
}
