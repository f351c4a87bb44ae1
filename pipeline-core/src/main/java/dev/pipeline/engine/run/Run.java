package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.LineageLevel;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.PipelineClock;
import dev.pipeline.PipelineException;
import dev.pipeline.PipelineRun;
import dev.pipeline.Progress;
import dev.pipeline.Route;
import dev.pipeline.RouteBranch;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Sink;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.StageOptions;
import dev.pipeline.engine.Invoker;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.RouteMetrics;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.RecordLedger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of a pipeline: its shared state and its lifecycle (start, cancel, finish, progress).
 *
 * <p>Each source has a reader thread ({@link SourceReader}) that ingests records in batches into
 * the first stage's queue. Each stage ({@link RunStage}) has {@code concurrency} worker threads
 * that take up to {@code batchSize} records from its queue, work them ({@link StageWorker}: every
 * call through the stage's {@link dev.pipeline.engine.Invoker}) and put the outputs on the next
 * stage's queue in one hand-off. The last stage's outputs go to the sink ({@link SinkDelivery});
 * terminal states are written to the store once per batch or in bulk ({@link Endings}). A claimer
 * thread ({@link Claimer}) feeds back records the store holds for this run (retries due, records of
 * a crashed worker), and a watchdog ({@link TimeoutWatch}) interrupts calls past their timeout. All
 * threads are virtual.
 */
public final class Run implements PipelineRun {
  private static final ApiAccess API = ApiAccess.api();

  private static final Logger LOG = LoggerFactory.getLogger(Run.class);

  /**
   * Metadata of a record parked in the retry queue: the error types it met at the stage it waits
   * for, so that its retry outcome is counted under them when it comes back. Removed when the
   * record leaves the stage.
   */
  public static final String RETRIED_ERRORS = "pipeline.retried-errors";

  /** The step name of records the sink failed on. */
  public static final String SINK_STEP = "sink";

  static final Duration MIN_HOLD = Duration.ofMillis(100);
  static final Duration MAX_HOLD = Duration.ofDays(365);
  static final Duration MAX_DUE_WAIT = Duration.ofSeconds(1);
  static final long MIN_IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  static final long MAX_IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  // how long ended records wait for a batch of the sink to be written with, at most
  static final long ENDED_MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(1);

  /**
   * The most records a reader ingests at once into a durable store while the first stage has work
   * waiting (never more than that stage's queue capacity): a store's cost is per write (a round
   * trip, a commit), so batches of the default stage size would pay it eight times as often.
   */
  public static final int DURABLE_INGEST_BATCH = 1024;

  /**
   * How long a worker of a durable run's last stage waits for a whole batch once records wait: each
   * batch it takes costs a store write at the sink.
   */
  static final long DURABLE_SINK_LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  /**
   * About how long a batch of a single-record stage should take on a store that is not durable (see
   * {@link TakeSizer}).
   */
  static final long BATCH_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  /** How often a whole batch held for a larger one looks whether the first stage ran short. */
  static final long BULK_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  // how often a waiting run asks whose leases it waits for
  static final long WAITING_CHECK_NANOS = TimeUnit.SECONDS.toNanos(2);

  final String pipeline;
  // the pipeline's store, timed as the store's stage of the metrics
  final MeteredLedger store;
  final Telemetry telemetry;
  private final @Nullable MetricsHistory history;
  final @Nullable ResourceSampler sampler;
  final PipelineClock clock;
  private final @Nullable Sink<Object> sink;
  // the sink, called as a batch stage (with its options) by whoever hands it records; null if none
  final @Nullable RunStage sinkStage;
  final ToLongFunction<Object> payloadSize;
  private final List<Source<Object>> sources;
  final RunStage[] stages;
  final Function<StageName, Logger> stageLoggers;

  final LongAdder resumed = new LongAdder();
  final LongAdder duplicates = new LongAdder();
  final LongAdder published = new LongAdder();
  final LongAdder filtered = new LongAdder();
  final LongAdder deadLettered = new LongAdder();
  final LongAdder parked = new LongAdder();
  // records a split stage split (terminal SPLIT), and the children it stored that this run carries
  final LongAdder split = new LongAdder();
  final LongAdder children = new LongAdder();
  // children a merge stage joined (terminal MERGED), and the merged records this run stored
  final LongAdder merged = new LongAdder();
  final LongAdder mergedRecords = new LongAdder();
  // records whose lease this worker lost (paused or cut off from the database for longer than the
  // lease) and that another worker took over: dropped here, finished there
  final LongAdder takenOver = new LongAdder();
  // records read again whose ids the store holds unfinished from an earlier run or another
  // worker: not duplicates; resumed by a claim once free
  final LongAdder heldUnfinished = new LongAdder();
  // what the run waits for when it has nothing to do but unfinished records remain, or null
  volatile @Nullable String waiting;
  final RunPolicies policies;

  /** Makes the run's lineage events; null if it keeps none. */
  final @Nullable LineageRecorder lineage;

  final ErrorText errorText;
  // attempts already made by records claimed back from the retry queue, until a worker takes them
  final Map<String, Integer> claimedAttempts = new ConcurrentHashMap<>();
  final AtomicInteger resumedAttempts = new AtomicInteger();
  volatile @Nullable Thread claimer;
  // what the claimer waits on between its looks at the store
  final Wakeup claimerWakeup = new Wakeup();
  final List<String> sourceErrors = new CopyOnWriteArrayList<>();
  // errors of records that failed an attempt at a stage and then passed it, until they end
  final PassedErrors passedErrors = new PassedErrors();
  final Set<Thread> threads = ConcurrentHashMap.newKeySet();
  private final List<Thread> readers = new CopyOnWriteArrayList<>();
  final AtomicInteger liveReaders = new AtomicInteger();
  // the workers still at work of the stages that call a sink (a replacement takes an abandoned
  // worker's place): the run finishes once none is. The last stage's leave last unless a cancel or
  // a failure ended the queues, when a route stage's worker upstream may still be in its branch's
  // sink call, whose records end once it returns
  final AtomicInteger sinkWorkers = new AtomicInteger();
  final AtomicReference<RunStatus> status = new AtomicReference<>(RunStatus.RUNNING);
  private final AtomicReference<@Nullable Throwable> failure = new AtomicReference<>();
  private final CountDownLatch done = new CountDownLatch(1);
  // terminal states not written yet (durable stores only): of records the sink took, and of
  // records filtered or dead-lettered at stages. They go to the store with the next delivery note,
  // so that a batch costs one write besides its ingestion, not one for its delivery, one for its
  // completion and one per stage where some of its records ended
  final Object endedLock = new Object();
  List<Ended> ended = new ArrayList<>(); // guarded by endedLock
  long endedSince; // clock nanos of ended's first entry; guarded by endedLock
  // records ended and not counted yet: waiting in ended, or taken for a write under way
  final LongAdder endedUnwritten = new LongAdder();
  final int endedLimit;

  volatile boolean stopReading;
  volatile boolean cancelled;
  private volatile @Nullable RunResult result;
  private long startNanos;

  final SourceReader reader = new SourceReader(this);
  final Claimer claims = new Claimer(this);
  final StageWorker worker = new StageWorker(this);
  final Workers workers = new Workers(this);
  final Endings endings = new Endings(this);
  final SinkDelivery delivery = new SinkDelivery(this);
  final SinkRetries sinkRetries = new SinkRetries(this);
  final TimeoutWatch timeouts = new TimeoutWatch(this);
  final Merger merger;

  public Run(
      String pipeline,
      List<StageDefinition> definitions,
      RecordLedger store,
      PipelineClock clock,
      @Nullable Sink<Object> sink,
      StageDefinition sinkDefinition,
      ToLongFunction<Object> payloadSize,
      int queueCapacity,
      Function<StageName, Logger> stageLoggers,
      List<Source<Object>> sources,
      RunPolicies policies,
      Telemetry telemetry,
      Observability observability,
      @Nullable ResourceSampler sampler) {
    this.pipeline = pipeline;
    this.policies = policies;
    this.errorText = policies.errorText();
    this.store = new MeteredLedger(store, clock);
    this.telemetry = telemetry;
    this.sampler = sampler;
    this.lineage =
        policies.lineage() == LineageLevel.NONE
            ? null
            : new LineageRecorder(policies.lineage(), policies.lineageShare(), this);
    this.clock = clock;
    this.sink = sink;
    this.payloadSize = payloadSize;
    this.sources = sources;
    this.stageLoggers = stageLoggers;
    this.stages = new RunStage[definitions.size()];
    for (int i = definitions.size() - 1; i >= 0; i--) {
      StageDefinition d = definitions.get(i);
      // the claimer feeds every queue (records resume at their checkpoint's or retry's stage)
      int producers =
          (i == 0 ? sources.size() : definitions.get(i - 1).options().concurrency()) + 1;
      // an adaptive batch size may grow to its maximum: the queue must hold such batches
      int batch = Math.max(d.options().batchSize(), d.options().maxBatchSize());
      int capacity =
          queueCapacity > 0
              ? Math.max(queueCapacity, d.options().maxBatchSize())
              : Math.clamp(
                  4L * batch * d.options().concurrency(), 1024, PipelineBuilder.MAX_QUEUE_CAPACITY);
      stages[i] =
          new RunStage(
              d,
              new RecordQueue(capacity, producers),
              i + 1 < stages.length ? stages[i + 1] : null,
              i,
              null,
              new Invoker(
                  pipeline,
                  d.name().value(),
                  d.options(),
                  clock,
                  () -> cancelled,
                  false,
                  policies.callListener()));
    }
    this.merger = new Merger(this);
    // the sink has no queue or workers of its own: its queue stays empty
    this.sinkStage =
        sink == null
            ? null
            : new RunStage(
                sinkDefinition,
                new RecordQueue(1, 1),
                null,
                stages.length,
                sink,
                new Invoker(
                    pipeline,
                    sinkDefinition.name().value(),
                    sinkDefinition.options(),
                    clock,
                    () -> cancelled,
                    true,
                    policies.callListener()));
    for (RunStage stage : stages) {
      if (stage.def.single() instanceof Route<?, ?> route && API.hasSinks(route)) {
        stage.exits = exits(stage, route);
      }
      // a batch stage's batch is its call, a merge stage's a store call, a durable checkpoint
      // stage's a store write, and the last stage's (or a route's to its branch sinks) the sink's
      // batch: those are taken whole. On a durable store a batch is also a lease check, answered
      // from memory while the leases are recent (a split stage's batch is a store write too: its
      // worker stops timing once it split a record, see Workers)
      stage.timedTakes =
          !(store.isDurable() && stage.def.options().checkpoint())
              && !stage.def.isBatch()
              && stage.adaptive == null
              && stage.next != null
              && stage.exits == null
              && !Merger.merges(stage);
    }
    int largest = 1;
    for (StageDefinition d : definitions) {
      largest = Math.max(largest, Math.max(d.options().batchSize(), d.options().maxBatchSize()));
    }
    // room for a sink batch waiting for the next delivery note and what stages ended meanwhile; and
    // for pipelines whose records end without a delivery note (no sink, or filtered and
    // dead-lettered ones), four ingests' worth: each write of ended records is a commit, which on
    // H2 writes every page it changed, so writing them once per ingest would double the commits
    this.endedLimit = Math.max(4 * largest, 4 * DURABLE_INGEST_BATCH);
    List<StageRecorder> recorders = new ArrayList<>();
    for (RunStage stage : stages) {
      recorders.add(stage.recorder);
    }
    if (sinkStage != null) {
      recorders.add(sinkStage.recorder);
    }
    for (RunStage exit : branchSinks()) {
      recorders.add(exit.recorder);
    }
    recorders.add(this.store.recorder);
    this.history =
        observability.metricsHistory()
            ? new MetricsHistory(
                pipeline,
                clock,
                telemetry,
                recorders,
                observability.metricsWindow(),
                sampler != null)
            : null;
  }

  /** A call context for a stage's (or the sink's) calls, its logger feeding the audit trail. */
  CallContext context(RunStage stage) {
    Logger logger = stage.logger;
    if (logger == null) {
      // once a stage, not once a sink call: the default asks the logging backend by name
      logger = stageLoggers.apply(stage.def.name());
      stage.logger = logger;
    }
    return new CallContext(
        pipeline,
        stage.def.name(),
        logger,
        clock,
        policies.references(),
        telemetry,
        stage.def.options());
  }

  /** Takes the metrics window if it is due; cheap when it is not. */
  void windowIfDue() {
    MetricsHistory h = history;
    if (h != null) {
      h.takeIfDue();
    }
  }

  /** The pseudo-stages of a route's branch sinks, called as the pipeline's sink is. */
  private @Nullable RunStage[] exits(RunStage stage, Route<?, ?> route) {
    List<RouteBranch<?, ?>> branches = API.branches(route);
    @Nullable RunStage[] exits = new RunStage[branches.size()];
    for (int i = 0; i < exits.length; i++) {
      Sink<Object> to = API.sinkOf(route, i);
      if (to == null) {
        continue;
      }
      StageOptions options = API.sinkOptionsOf(route, i);
      StageName name = API.sinkStep(route, stage.def.name(), i);
      exits[i] =
          new RunStage(
              new StageDefinition(name, 0, options, null, null, to.getClass().getName()),
              new RecordQueue(1, 1),
              null,
              -1,
              to,
              new Invoker(
                  pipeline,
                  name.value(),
                  options,
                  clock,
                  () -> cancelled,
                  true,
                  policies.callListener()));
      exits[i].route = stage;
      // a durable store keeps what the branch's sink is given with the codec its options name
      exits[i].exitParkable =
          store.hasRetryQueue() && (!store.isDurable() || options.codec() != null);
    }
    return exits;
  }

  public void start() {
    startNanos = clock.nanoTime();
    telemetry.follow(history);
    liveReaders.set(sources.size());
    if (lineage != null) {
      // no events: it tells the store lineage comes (see RecordLedger.appendLineage)
      store.appendLineage(pipeline, List.of());
    }
    SourceReplays replays = new SourceReplays(sources);
    if (store.isDurable() && !replays.isEmpty()) {
      // before the claimer: a batch kept as a span is claimed only with a replay of its source
      store.replayFrom(pipeline, replays);
    }
    for (RunStage stage : stages) {
      if (stage.callsASink()) {
        sinkWorkers.addAndGet(stage.def.options().concurrency());
      }
    }
    for (RunStage stage : stages) {
      for (int i = 0; i < stage.def.options().concurrency(); i++) {
        workers.start(stage, null);
      }
    }
    for (Source<Object> source : sources) {
      Thread reader =
          Thread.ofVirtual()
              .name(pipeline + "-source-" + ErrorText.loggable(source.id()))
              .unstarted(() -> this.reader.read(source));
      readers.add(reader);
      threads.add(reader);
      reader.start();
    }
    startClaimer();
    boolean anyTimeout = false;
    for (RunStage stage : timed()) {
      anyTimeout |= stage.def.options().timeout() != null;
    }
    if (anyTimeout) {
      Thread watchdog =
          Thread.ofVirtual().name(pipeline + "-timeouts").unstarted(timeouts::watchTimeouts);
      threads.add(watchdog);
      watchdog.start();
    }
  }

  void startClaimer() {
    Thread claiming = Thread.ofVirtual().name(pipeline + "-claimer").unstarted(claims::claim);
    claimer = claiming;
    threads.add(claiming);
    claiming.start();
  }

  /**
   * The stages, the sink if there is one and the route branches' sinks: what the timeout watchdog
   * looks at.
   */
  List<RunStage> timed() {
    List<RunStage> all = new ArrayList<>(Arrays.asList(stages));
    if (sinkStage != null) {
      all.add(sinkStage);
    }
    all.addAll(branchSinks());
    return all;
  }

  /** The pseudo-stages of the route branches' sinks, in pipeline and branch order. */
  List<RunStage> branchSinks() {
    List<RunStage> all = new ArrayList<>();
    for (RunStage stage : stages) {
      @Nullable RunStage[] exits = stage.exits;
      if (exits != null) {
        for (RunStage exit : exits) {
          if (exit != null) {
            all.add(exit);
          }
        }
      }
    }
    return all;
  }

  // ---------------------------------------------------------------- sources

  /** Records of this run not yet finished or parked. */
  long inFlight() {
    return reader.read.sum()
        - duplicates.sum()
        - heldUnfinished.sum()
        + resumed.sum()
        + children.sum()
        - split.sum()
        + mergedRecords.sum()
        - merged.sum()
        - published.sum()
        - filtered.sum()
        - deadLettered.sum()
        - parked.sum()
        - takenOver.sum();
  }

  /**
   * Lets the claimer look again at once, when the sources are done and the run's last records in
   * flight end (or the last source's reader ends with none in flight). While records are in flight
   * it looks on its own idle schedule (up to {@link #MAX_IDLE_NANOS} apart): a look at every
   * hand-on of the last stage cost a claim, an unfinished count and a write of what waits each time
   * (on PostgreSQL, about 250 claims in the last second of a 50k-record run with batches of 16),
   * and found nothing, since what this run holds is in flight here.
   */
  void wakeClaimer() {
    // records ended but not written yet are the claimer's to write (it writes them before it asks
    // whether anything is unfinished), so they do not count as in flight here. Read before the
    // counts inFlight sums: a write counts its records, then takes them off endedUnwritten, so
    // read in this order a write under way is never seen as in flight (read the other way, a
    // write done between the two reads was, and the wake was missed)
    if (liveReaders.get() != 0) {
      return; // nothing summed while the sources are read: this runs at every hand-on
    }
    long unwritten = endedUnwritten.sum();
    if (inFlight() - unwritten <= 0) {
      claimerWakeup.wake();
    }
  }

  // ---------------------------------------------------------------- workers

  /**
   * The records of a batch this worker still holds the leases of (all of them unless the store is
   * durable and the worker was paused or cut off from the database for about a lease): the others
   * were taken over by another worker, which processes them, and are dropped here.
   */
  List<Envelope<Object>> stillHeld(List<Envelope<Object>> batch) {
    if (!store.isDurable() || batch.isEmpty()) {
      return batch;
    }
    List<String> ids = new ArrayList<>(batch.size());
    for (Envelope<Object> e : batch) {
      ids.add(e.id());
    }
    Set<String> gone = notHeld(ids);
    return gone.isEmpty() ? batch : delivery.drop(batch, gone);
  }

  /**
   * The ids among these whose leases this worker no longer holds. The store says first, from
   * memory, which it cannot vouch for, and is asked about those only: a store call timed for every
   * batch at every stage took the ledger's locks each time, under the IO stages' concurrency.
   */
  Set<String> notHeld(List<String> ids) {
    Collection<String> doubtful = store.inDoubt(pipeline, ids);
    return doubtful.isEmpty() ? Set.of() : store.notHeld(pipeline, doubtful);
  }

  /** Forgets what the run keeps about a record it dropped. */
  void forget(String recordId) {
    passedErrors.take(recordId);
    if (claimedAttempts.remove(recordId) != null) {
      resumedAttempts.decrementAndGet();
    }
  }

  /**
   * Hands a processed batch on: outputs to the next stage or the sink, terminal states to the
   * store.
   */
  void hand(RunStage stage, BatchWork work) throws InterruptedException {
    StageRecorder recorder = stage.recorder;
    if (lineage != null) {
      lineage.record(stage, work);
    }
    if (!work.parked.isEmpty()) {
      Set<String> fenced = store.scheduleRetries(pipeline, work.parked, clock.now());
      parked.add(work.parked.size() - fenced.size());
      takenOver.add(fenced.size());
      recorder.parked.add(work.parked.size());
      telemetry.parked(stage, work.parked);
    }
    List<Envelope<Object>> outputs = work.outputs;
    if (!work.children.isEmpty()) {
      // stored before their parents' SPLIT states are: a crash in between splits the parents again
      // and finds these children stored
      outputs = storeChildren(stage, work.children);
    }
    if (!work.merged.isEmpty()) {
      // stored before the children's MERGED states are: a crash in between merges the group again
      // and finds its record stored
      outputs = merger.store(stage, work.merged);
    }
    if (!work.completions.isEmpty()) {
      // children ending between a split and its merge are absent parts of their groups, counted
      // before their states are written
      merger.absent(stage, work);
    }
    if (!work.completions.isEmpty()) {
      endings.end(stage, passedErrors.putFirst(work.completions));
    }
    recorder.retries.add(work.retries);
    recorder.passed.add(work.outputs.size() + work.split + work.merged.size());
    recorder.bytesOut.add(work.bytes);
    recorder.busyNanos.add(work.busyNanos);
    stage.recordLatencies(work.latencies, work.latencyCount);
    recorder.active(clock.nanoTime());

    @Nullable RunStage[] exits = stage.exits;
    if (exits != null && !outputs.isEmpty()) {
      int before = outputs.size();
      outputs = delivery.routeExits(exits, outputs);
      if (outputs.size() != before) {
        wakeClaimer();
      }
    }
    if (stage.def.options().checkpoint()
        && work.children.isEmpty()
        && work.merged.isEmpty()
        && store.isDurable()
        && stage.next != null
        && !outputs.isEmpty()) {
      store.checkpoint(pipeline, outputs, stage.next.def.name().value(), clock.now());
    }
    if (stage.next != null) {
      stage.next.queue.put(outputs);
    } else if (!outputs.isEmpty()) {
      delivery.publish(outputs);
    }
    if (!work.completions.isEmpty() || !work.parked.isEmpty() || stage.next == null) {
      wakeClaimer();
    }
    windowIfDue();
  }

  /**
   * Stores the children a split stage made, in one bulk ingest at the step after the stage (the
   * next stage, or the sink), and returns those this run carries on. Children the store already
   * holds were stored by an earlier split of the same parent (which crashed before its SPLIT state
   * was written): finished ones are not made again, unfinished ones are the store's to hand over
   * through a claim.
   */
  private List<Envelope<Object>> storeChildren(RunStage stage, List<Envelope<Object>> made) {
    String step = stage.next != null ? stage.next.def.name().value() : SINK_STEP;
    Set<String> held = store.ingest(pipeline, made, step, clock.now());
    if (held.isEmpty()) {
      children.add(made.size());
      return made;
    }
    List<Envelope<Object>> fresh = new ArrayList<>(made.size() - held.size());
    for (Envelope<Object> child : made) {
      if (!held.contains(child.id())) {
        fresh.add(child);
      }
    }
    children.add(fresh.size());
    LOG.debug(
        "pipeline '{}': {} children split at stage '{}' were stored before (a split repeated"
            + " after a crash); they are not made again",
        pipeline,
        held.size(),
        stage.def.name());
    return fresh;
  }

  /**
   * A record that ended: filtered or dead-lettered at a stage, or handed to a sink (stage: the
   * sink's pseudo-stage, null without a sink) and published or, if the sink failed, dead-lettered.
   */
  record Ended(@Nullable RunStage stage, Completion completion) {}

  // ---------------------------------------------------------------- lifecycle

  void fail(Throwable error) {
    if (cancelled && failure.get() == null) {
      // cancel() interrupted the run's threads: what they throw now (a store call cut short, a
      // wait for a lock) is the cancel's doing, not a failure of the run
      LOG.debug("pipeline '{}': after the cancel: {}", pipeline, errorText.describe(error));
      return;
    }
    if (failure.compareAndSet(null, error)) {
      LOG.error("pipeline '{}' failed and stops: {}", pipeline, errorText.stackTrace(error));
      stop();
    }
  }

  @Override
  public void shutdown() {
    stopReading = true;
    status.compareAndSet(RunStatus.RUNNING, RunStatus.DRAINING);
  }

  @Override
  public void cancel() {
    if (status.get().isDone() || cancelled) {
      return;
    }
    stop();
  }

  private void stop() {
    cancelled = true;
    stopReading = true;
    for (RunStage stage : stages) {
      stage.queue.cancel();
    }
    for (Thread thread : threads) {
      if (thread != Thread.currentThread()) {
        thread.interrupt();
      }
    }
  }

  void finish() {
    for (Thread reader : readers) {
      try {
        if (!reader.join(Duration.ofSeconds(5))) {
          LOG.warn(
              "pipeline '{}': source reader {} did not stop within 5s",
              pipeline,
              ErrorText.loggable(reader.getName()));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    if (lineage != null) {
      telemetry.flushAll(); // the run's lineage is in the store when it ends
    }
    Throwable failed = failure.get();
    RunStatus end =
        failed != null ? RunStatus.FAILED : cancelled ? RunStatus.CANCELLED : RunStatus.COMPLETED;
    if (end != RunStatus.COMPLETED && store.isDurable()) {
      // the claimer may be writing to the store still: let it stop first
      Thread claiming = claimer;
      boolean interrupted = Thread.interrupted(); // cancel() interrupts: the writes below need I/O
      try {
        if (claiming != null && claiming != Thread.currentThread()) {
          claiming.join(Duration.ofSeconds(5));
        }
      } catch (InterruptedException e) {
        interrupted = true;
      }
      if (end == RunStatus.CANCELLED) {
        // they ended: the sink took them, or a stage filtered them. Not after a failure, which
        // is most often the store's: the records stay unfinished and are processed again
        try {
          endings.writeEnded(true);
        } catch (RuntimeException e) {
          LOG.warn(
              "pipeline '{}': could not write the final states of records that ended; they are"
                  + " processed again: {}",
              pipeline,
              errorText.stackTrace(e));
        }
      }
      try {
        store.release(pipeline);
      } catch (RuntimeException e) {
        LOG.warn(
            "pipeline '{}': could not release its leases; they expire on their own: {}",
            pipeline,
            errorText.stackTrace(e));
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    if (end == RunStatus.COMPLETED && !sourceErrors.isEmpty()) {
      // every record read ended, but not every record was read
      end = RunStatus.FAILED;
      failed =
          new PipelineException(
              "pipeline '"
                  + pipeline
                  + "' did not read all of its input: "
                  + sourceErrors.get(0)
                  + (sourceErrors.size() > 1
                      ? " (and " + (sourceErrors.size() - 1) + " more failed sources)"
                      : ""));
    }
    if (history != null) {
      history.takeLast();
    }
    telemetry.follow(null);
    if (!Thread.currentThread().isInterrupted()) {
      // so that what the run logged is readable once it returned; a cancelled run's interrupted
      // thread leaves the writing to the telemetry thread, since the store would refuse it
      telemetry.flushAll();
    }
    if (sampler != null) {
      sampler.retire(workers.sampled());
    }
    status.set(end);
    long readCount = reader.read.sum();
    long resumedCount = resumed.sum();
    long dups = duplicates.sum();
    long pub = published.sum();
    long fil = filtered.sum();
    long dead = deadLettered.sum();
    long lost = takenOver.sum();
    long rereadHeld = heldUnfinished.sum();
    if (lost > 0) {
      LOG.warn(
          "pipeline '{}': {} records were taken over by another worker after this worker's lease on"
              + " them ran out (the worker was paused, or cut off from the database, for longer"
              + " than the lease); they were dropped here and finished there",
          pipeline,
          lost);
    }
    result =
        new RunResult(
            pipeline,
            end,
            Duration.ofNanos(clock.nanoTime() - startNanos),
            readCount,
            resumedCount,
            dups,
            pub,
            fil,
            dead,
            parked.sum(),
            Math.max(
                0,
                readCount
                    - rereadHeld
                    + resumedCount
                    + children.sum()
                    - split.sum()
                    + mergedRecords.sum()
                    - merged.sum()
                    - dups
                    - pub
                    - fil
                    - dead
                    - parked.sum()
                    - lost),
            lost,
            rereadHeld,
            sourceErrors,
            failed,
            metrics(),
            split.sum(),
            children.sum(),
            merged.sum(),
            mergedRecords.sum());
    for (Thread thread : threads) {
      thread.interrupt(); // the timeout watchdog
    }
    done.countDown();
  }

  @Override
  public RunStatus status() {
    return status.get();
  }

  @Override
  public RunResult await() throws InterruptedException {
    done.await();
    return result;
  }

  @Override
  public Optional<RunResult> await(Duration timeout) throws InterruptedException {
    if (done.await(TimeoutWatch.saturatedNanos(timeout), TimeUnit.NANOSECONDS)) {
      return Optional.of(result);
    }
    return Optional.empty();
  }

  @Override
  public Progress progress() {
    List<Progress.StageProgress> perStage = new ArrayList<>(stages.length);
    for (RunStage stage : stages) {
      StageRecorder r = stage.recorder;
      perStage.add(
          new Progress.StageProgress(
              stage.def.name().value(),
              r.in.sum(),
              r.passed.sum(),
              r.filtered.sum(),
              r.failed.sum(),
              stage.queue.size()));
    }
    return new Progress(
        status.get(),
        Duration.ofNanos(clock.nanoTime() - startNanos),
        reader.read.sum(),
        resumed.sum(),
        duplicates.sum(),
        published.sum(),
        filtered.sum(),
        deadLettered.sum(),
        perStage,
        sourceErrors,
        Objects.requireNonNullElse(waiting, ""));
  }

  public PipelineMetrics metrics() {
    List<StageMetrics> snapshots = new ArrayList<>(stages.length);
    List<RouteMetrics> routes = new ArrayList<>();
    for (RunStage stage : stages) {
      snapshots.add(stage.snapshot());
      if (stage.def.single() instanceof Route<?, ?> route) {
        routes.add(API.metrics(route, stage.def.name()));
      }
    }
    long dups = duplicates.sum();
    return new PipelineMetrics(
        pipeline,
        clock.now(),
        snapshots,
        reader.read.sum() - dups - heldUnfinished.sum(),
        dups,
        published.sum(),
        filtered.sum(),
        deadLettered.sum(),
        policies.references().snapshot(),
        routes,
        sinkStage == null ? null : sinkStage.snapshot(),
        store.recorder.snapshot(),
        telemetry.dropped(),
        branchSinks().stream().map(RunStage::snapshot).toList());
  }
}
