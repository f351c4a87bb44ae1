package dev.pipeline;

import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.resilience.TokenBucket;
import dev.pipeline.store.Claimed;
import dev.pipeline.store.Completion;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.Handover;
import dev.pipeline.store.HeldLeases;
import dev.pipeline.store.PipelineStore;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.ScheduledRetry;
import dev.pipeline.store.StorableText;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of a pipeline: the engine.
 *
 * <p>Each source has a reader thread that ingests records in batches into the first stage's queue.
 * Each stage has {@code concurrency} worker threads that take up to {@code batchSize} records from
 * its queue, run them through the stage's decorators (rate limit, circuit breaker, retry, timeout)
 * and put the outputs on the next stage's queue in one hand-off. Terminal states are reported to
 * the store once per batch. All threads are virtual.
 */
final class Run implements PipelineRun {
  private static final Logger LOG = LoggerFactory.getLogger(Run.class);

  /**
   * Metadata of a record parked in the retry queue: the error types it met at the stage it waits
   * for, so that its retry outcome is counted under them when it comes back. Removed when the
   * record leaves the stage.
   */
  static final String RETRIED_ERRORS = "pipeline.retried-errors";

  /** The step name of records the sink failed on. */
  static final String SINK_STEP = "sink";

  private static final Duration MIN_HOLD = Duration.ofMillis(100);
  private static final Duration MAX_HOLD = Duration.ofDays(365);
  private static final Duration MAX_RETRY_DELAY =
      dev.pipeline.resilience.ExponentialRetryPolicy.MAX_DELAY;
  private static final Duration MAX_DUE_WAIT = Duration.ofSeconds(1);
  private static final long MIN_IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  private static final long MAX_IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  // how long ended records wait for a batch of the sink to be written with, at most
  private static final long ENDED_MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(1);

  /**
   * The most records a reader ingests at once into a durable store while the first stage has work
   * waiting (never more than that stage's queue capacity): a store's cost is per write (a round
   * trip, a commit), so batches of the default stage size would pay it eight times as often.
   */
  static final int DURABLE_INGEST_BATCH = 1024;

  /** How often a whole batch held for a larger one looks whether the first stage ran short. */
  private static final long BULK_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  // how often a waiting run asks whose leases it waits for
  private static final long WAITING_CHECK_NANOS = TimeUnit.SECONDS.toNanos(2);

  private final String pipeline;
  private final PipelineStore store;
  private final PipelineClock clock;
  private final @Nullable Sink<Object> sink;
  // the sink, called as a batch stage (with its options) by whoever hands it records; null if none
  private final @Nullable RunStage sinkStage;
  private final ToLongFunction<Object> payloadSize;
  private final List<Source<Object>> sources;
  private final RunStage[] stages;
  private final Function<StageName, Logger> stageLoggers;

  private final LongAdder read = new LongAdder();
  private final LongAdder resumed = new LongAdder();
  private final LongAdder duplicates = new LongAdder();
  private final LongAdder published = new LongAdder();
  private final LongAdder filtered = new LongAdder();
  private final LongAdder deadLettered = new LongAdder();
  private final LongAdder parked = new LongAdder();
  // records whose lease this worker lost (paused or cut off from the database for longer than the
  // lease) and that another worker took over: dropped here, finished there
  private final LongAdder takenOver = new LongAdder();
  // records read again whose ids the store holds unfinished from an earlier run or another
  // worker: not duplicates; resumed by a claim once free
  private final LongAdder heldUnfinished = new LongAdder();
  // what the run waits for when it has nothing to do but unfinished records remain, or null
  private volatile @Nullable String waiting;
  private long waitingCheckedAt = Long.MIN_VALUE; // claimer thread only
  private String waitingFor = ""; // the workers waited for, as last logged; claimer thread only
  private final RunPolicies policies;
  private final ErrorText errorText;
  // attempts already made by records claimed back from the retry queue, until a worker takes them
  private final Map<String, Integer> claimedAttempts = new ConcurrentHashMap<>();
  private final AtomicInteger resumedAttempts = new AtomicInteger();
  private volatile @Nullable Thread claimer;
  private final List<String> sourceErrors = new CopyOnWriteArrayList<>();
  // errors of records that failed an attempt at a stage and then passed it, until they end, so
  // that their final state lists every error they met; empty unless something was retried
  private final Map<String, List<ErrorInfo>> passedErrors = new ConcurrentHashMap<>();
  private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
  private final List<Thread> readers = new CopyOnWriteArrayList<>();
  private final AtomicInteger liveReaders = new AtomicInteger();
  private final AtomicReference<RunStatus> status = new AtomicReference<>(RunStatus.RUNNING);
  private final AtomicReference<@Nullable Throwable> failure = new AtomicReference<>();
  private final CountDownLatch done = new CountDownLatch(1);
  // terminal states not written yet (durable stores only): of records the sink took, and of
  // records filtered or dead-lettered at stages. They go to the store with the next delivery note,
  // so that a batch costs one write besides its ingestion, not one for its delivery, one for its
  // completion and one per stage where some of its records ended
  private final Object endedLock = new Object();
  private List<Ended> ended = new ArrayList<>(); // guarded by endedLock
  private long endedSince; // clock nanos of ended's first entry; guarded by endedLock
  private final int endedLimit;

  private volatile boolean stopReading;
  private volatile boolean cancelled;
  private volatile @Nullable RunResult result;
  private long startNanos;

  Run(
      String pipeline,
      List<StageDefinition> definitions,
      PipelineStore store,
      PipelineClock clock,
      @Nullable Sink<Object> sink,
      StageDefinition sinkDefinition,
      ToLongFunction<Object> payloadSize,
      int queueCapacity,
      Function<StageName, Logger> stageLoggers,
      List<Source<Object>> sources,
      RunPolicies policies) {
    this.pipeline = pipeline;
    this.policies = policies;
    this.errorText = policies.errorText();
    this.store = store;
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
              null);
    }
    // the sink has no queue or workers of its own: its queue stays empty
    this.sinkStage =
        sink == null
            ? null
            : new RunStage(sinkDefinition, new RecordQueue(1, 1), null, stages.length, sink);
    int largest = 1;
    for (StageDefinition d : definitions) {
      largest = Math.max(largest, Math.max(d.options().batchSize(), d.options().maxBatchSize()));
    }
    // room for a sink batch waiting for the next delivery note and what stages ended meanwhile
    this.endedLimit = Math.max(4 * largest, DURABLE_INGEST_BATCH);
  }

  void start() {
    startNanos = clock.nanoTime();
    liveReaders.set(sources.size());
    for (RunStage stage : stages) {
      for (int i = 0; i < stage.def.options().concurrency(); i++) {
        startWorker(stage, null);
      }
    }
    for (Source<Object> source : sources) {
      Thread reader =
          Thread.ofVirtual()
              .name(pipeline + "-source-" + ErrorText.loggable(source.id()))
              .unstarted(() -> read(source));
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
          Thread.ofVirtual().name(pipeline + "-timeouts").unstarted(this::watchTimeouts);
      threads.add(watchdog);
      watchdog.start();
    }
  }

  private void startClaimer() {
    Thread claiming = Thread.ofVirtual().name(pipeline + "-claimer").unstarted(this::claim);
    claimer = claiming;
    threads.add(claiming);
    claiming.start();
  }

  /** The stages, and the sink if there is one: what the timeout watchdog looks at. */
  private List<RunStage> timed() {
    List<RunStage> all = new ArrayList<>(Arrays.asList(stages));
    if (sinkStage != null) {
      all.add(sinkStage);
    }
    return all;
  }

  // ---------------------------------------------------------------- sources

  private void read(Source<Object> source) {
    int size = stages[0].def.options().batchSize();
    // a durable store pays per write, not per record: while the first stage has work waiting, it
    // gets larger batches, as large as the first stage's queue holds (its memory bound)
    Batcher batcher =
        new Batcher(
            size,
            store.isDurable()
                ? Math.max(size, Math.min(DURABLE_INGEST_BATCH, stages[0].queue.capacity()))
                : size);
    Thread lingering =
        Thread.ofVirtual()
            .name(pipeline + "-source-" + ErrorText.loggable(source.id()) + "-linger")
            .unstarted(batcher::flushLingering);
    threads.add(lingering);
    lingering.start();
    TokenBucket limit = policies.sourceLimits().get(source.id());
    long yielded = 0;
    // only what the source's next() throws is the source failing; what ingesting its records
    // throws is the store failing, which fails the run
    Throwable sourceError = null;
    try {
      while (!stopReading) {
        Envelope<Object> next;
        try {
          next = source.next();
        } catch (InterruptedException e) {
          throw e;
        } catch (Throwable error) {
          sourceError = error;
          break;
        }
        if (next == null) {
          break;
        }
        yielded++;
        if (limit != null && !limit.tryAcquire(1)) {
          batcher.flush(); // what the limit let through goes on while this one waits
          limit.acquire(1);
        }
        batcher.add(
            next.sourceId() == null ? next.withMetadata(Envelope.SOURCE_ID, source.id()) : next);
      }
      if (sourceError != null && !cancelled) {
        String line =
            ErrorText.escape(
                "source '"
                    + ErrorText.loggable(source.id())
                    + "' failed after yielding "
                    + yielded
                    + " records, and was not read to its end: "
                    + errorText.describe(sourceError));
        sourceErrors.add(line);
        LOG.error(
            "pipeline '{}': {}; its other sources go on\n{}",
            pipeline,
            line,
            errorText.stackTrace(sourceError));
      }
      if (sourceError == null || !cancelled) {
        batcher.end();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // cancelled
    } catch (Throwable storeFailure) {
      fail(storeFailure); // ingesting the source's records failed: the store, not the source
    } finally {
      batcher.stop();
      try {
        source.close();
      } catch (Exception e) {
        LOG.warn(
            "pipeline '{}': could not close source '{}': {}",
            pipeline,
            ErrorText.loggable(source.id()),
            errorText.stackTrace(e));
      }
      if (liveReaders.decrementAndGet() >= 0) {
        stages[0].queue.producerDone();
      }
      threads.remove(Thread.currentThread());
    }
  }

  /**
   * The records a source's reader has read and not ingested yet: ingested when they fill a batch,
   * by the reader, or once the first of them has waited the pipeline's source linger, by a linger
   * thread, since the reader may be blocked in the source's {@code next()} for as long as the
   * source likes. The reader's cost per record is one uncontended lock; the linger thread wakes
   * once per linger at most.
   */
  private final class Batcher {
    private final int size;
    private final int largest;
    private final long lingerNanos = policies.sourceLinger().toNanos();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition filled = lock.newCondition();
    // guarded by lock: ingestions happen under it too, so they keep the source's order, and none
    // follows stop()
    private List<Envelope<Object>> buffer;
    private long firstAt; // clock nanos when the buffer's first record came
    private boolean unreadable; // the buffer holds a record marked SOURCE_ERROR
    private boolean stopped;

    /**
     * @param size the records that make a batch, ingested at once while the first stage has less
     *     than a batch waiting
     * @param largest the records that make a batch while it has more
     */
    Batcher(int size, int largest) {
      this.size = size;
      this.largest = largest;
      this.buffer = new ArrayList<>(size);
    }

    void add(Envelope<Object> record) throws InterruptedException {
      lock.lock();
      try {
        if (buffer.isEmpty()) {
          firstAt = clock.nanoTime();
          filled.signal();
        }
        buffer.add(record);
        unreadable |= record.metadata().containsKey(Envelope.SOURCE_ERROR);
        int buffered = buffer.size();
        if (buffered >= largest || (buffered >= size && stages[0].queue.size() < size)) {
          flushLocked();
        } else if (buffered == size) {
          filled.signal(); // held for a larger batch: the linger thread watches the stage
        }
      } finally {
        lock.unlock();
      }
    }

    void flush() throws InterruptedException {
      lock.lock();
      try {
        flushLocked();
      } finally {
        lock.unlock();
      }
    }

    /** Ingests what is left: the source ended. */
    void end() throws InterruptedException {
      lock.lock();
      try {
        flushLocked();
        stopped = true;
        filled.signal();
      } finally {
        lock.unlock();
      }
    }

    /** Ends the linger thread; nothing is ingested after this returns. */
    void stop() {
      lock.lock();
      try {
        stopped = true;
        filled.signal();
      } finally {
        lock.unlock();
      }
    }

    private void flushLocked() throws InterruptedException {
      if (buffer.isEmpty() || stopped) {
        return;
      }
      List<Envelope<Object>> taken = buffer;
      boolean marked = unreadable;
      buffer = new ArrayList<>(Math.min(2 * taken.size(), largest));
      unreadable = false;
      try {
        ingest(taken, marked);
      } catch (RuntimeException storeFailure) {
        buffer = taken; // nothing was added meanwhile: the lock is held
        unreadable = marked;
        throw storeFailure;
      }
    }

    /** The linger thread: ingests a partial batch once its first record has waited the linger. */
    void flushLingering() {
      lock.lock();
      try {
        while (!stopped) {
          if (buffer.isEmpty()) {
            filled.await();
            continue;
          }
          if (buffer.size() >= size) {
            // a whole batch held for a larger one while the first stage had work: it goes as soon
            // as the stage runs short (looked at each millisecond, the reader may be blocked in
            // its source meanwhile)
            if (stages[0].queue.size() < size) {
              flushLocked();
            } else {
              filled.awaitNanos(BULK_POLL_NANOS);
            }
            continue;
          }
          // measured on the pipeline's clock, waited for in real time: a test clock that does not
          // move holds the batch until the test moves it
          long wait = firstAt + lingerNanos - clock.nanoTime();
          if (wait > 0) {
            filled.awaitNanos(Math.min(wait, lingerNanos));
            continue;
          }
          flushLocked();
        }
      } catch (InterruptedException e) {
        // cancelled
      } catch (Throwable error) {
        fail(error);
      } finally {
        lock.unlock();
        threads.remove(Thread.currentThread());
      }
    }
  }

  private void ingest(List<Envelope<Object>> buffer, boolean unreadable)
      throws InterruptedException {
    if (buffer.isEmpty()) {
      return;
    }
    read.add(buffer.size());
    String first = stages[0].def.name().value();
    // a record whose id no store can keep is kept under an id derived from it, as a dead letter
    Map<String, Completion> unfit = new HashMap<>();
    buffer = keepUnfitIds(buffer, first, unfit);
    // a repeated id within the batch is a duplicate of its first occurrence
    Set<String> ids = new HashSet<>(buffer.size() * 2);
    List<Envelope<Object>> unique = buffer;
    for (int i = 0; i < buffer.size(); i++) {
      if (!ids.add(buffer.get(i).id())) {
        unique = new ArrayList<>(buffer.size());
        Set<String> kept = new HashSet<>();
        for (Envelope<Object> e : buffer) {
          if (kept.add(e.id())) {
            unique.add(e);
          }
        }
        break;
      }
    }
    Set<String> known = store.ingest(pipeline, unique, first, clock.now());
    if (!known.isEmpty()) {
      List<Envelope<Object>> fresh = new ArrayList<>(unique.size());
      for (Envelope<Object> e : unique) {
        if (!known.contains(e.id())) {
          fresh.add(e);
        }
      }
      unique = fresh;
    }
    int rejected = buffer.size() - unique.size();
    if (!known.isEmpty()) {
      // a rerun after a crash reads the crashed run's records again: they are resumed, not
      // duplicates
      int resuming = store.unfinished(pipeline, known).size();
      heldUnfinished.add(resuming);
      rejected -= resuming;
    }
    if (rejected > 0) {
      duplicates.add(rejected);
      LOG.debug("pipeline '{}': {} duplicate records skipped at ingestion", pipeline, rejected);
    }
    if (!unfit.isEmpty()) {
      List<Completion> dead = new ArrayList<>();
      for (Envelope<Object> e : unique) {
        Completion c = unfit.get(e.id());
        if (c != null && !known.contains(e.id())) {
          dead.add(c);
        }
      }
      unique.removeIf(e -> unfit.containsKey(e.id()));
      write(null, dead, true);
    }
    if (unreadable) {
      unique = deadLetterUnreadable(unique);
    }
    stages[0].queue.put(unique);
  }

  /**
   * The batch with each record whose id no store can keep ({@link StorableText#idProblem}) under
   * the id derived from it ({@link StorableText#storableId}), its original id in its metadata; puts
   * its dead letter, with the error, in {@code unfit} by that id. The same list if there is none.
   */
  private List<Envelope<Object>> keepUnfitIds(
      List<Envelope<Object>> buffer, String first, Map<String, Completion> unfit) {
    List<Envelope<Object>> out = buffer;
    for (int i = 0; i < buffer.size(); i++) {
      Envelope<Object> e = buffer.get(i);
      String problem = StorableText.idProblem(e.id());
      if (problem == null) {
        continue;
      }
      String id = StorableText.storableId(e.id());
      Envelope<Object> kept = e.withId(id).withMetadata(StorableText.ORIGINAL_ID, e.id());
      if (out == buffer) {
        out = new ArrayList<>(buffer);
      }
      out.set(i, kept);
      String shown = StorableText.escape(e.id());
      if (shown.length() > 1_000) {
        shown = StorableText.escape(e.id(), 1_000) + "...(cut)";
      }
      PipelineException error =
          new PipelineException(
              "record id '"
                  + shown
                  + "' cannot be stored: it "
                  + problem
                  + "; the record is in the dead letter queue under the id '"
                  + id
                  + "', with its original id in its metadata '"
                  + StorableText.ORIGINAL_ID
                  + "'. Give records ids of at most "
                  + StorableText.MAX_ID_LENGTH
                  + " characters without NUL (U+0000) or unpaired surrogates, e.g. a hash of the"
                  + " content");
      unfit.put(
          id, deadLetter(kept, first, List.of(errorText.info(first, error, 1, clock.now())), 0));
    }
    return out;
  }

  /**
   * Sends the records their source could not read whole (marked {@link Envelope#SOURCE_ERROR}) to
   * the dead letter queue at the first stage, and returns the others.
   */
  private List<Envelope<Object>> deadLetterUnreadable(List<Envelope<Object>> records) {
    String first = stages[0].def.name().value();
    List<Envelope<Object>> readable = new ArrayList<>(records.size());
    List<Completion> unreadable = new ArrayList<>();
    for (Envelope<Object> record : records) {
      String why = record.metadata().get(Envelope.SOURCE_ERROR);
      if (why == null) {
        readable.add(record);
        continue;
      }
      if (why.length() > Envelope.MAX_SOURCE_ERROR) {
        why =
            why.substring(0, Envelope.MAX_SOURCE_ERROR)
                + "... (cut: "
                + why.length()
                + " characters)";
        record = record.withMetadata(Envelope.SOURCE_ERROR, why);
      }
      PipelineException error =
          new PipelineException(
              "record '"
                  + record.id()
                  + "' could not be read whole by its source and went to the dead letter queue"
                  + " without entering a stage: "
                  + why);
      unreadable.add(
          deadLetter(record, first, List.of(errorText.info(first, error, 0, clock.now())), 0));
    }
    // no stage counts them: none of them entered a stage
    write(null, unreadable, true);
    return readable;
  }

  /**
   * Feeds the pipeline with records the store hands over: never processed, left by a dead worker
   * whose lease expired, parked in the retry queue and now due, or sent back for reprocessing. Each
   * enters at the stage it is to resume at. Ends when the sources are read and the store holds no
   * unfinished record of the pipeline, so a run outlives the records other workers might abandon
   * and the retries it parked.
   */
  private void claim() {
    Map<String, RunStage> byName = new HashMap<>();
    for (RunStage stage : stages) {
      byName.put(stage.def.name().value(), stage);
    }
    int max = stages[0].def.options().batchSize();
    long idleNanos = MIN_IDLE_NANOS;
    boolean replaced = false;
    try {
      while (!cancelled) {
        boolean sourcesDone = liveReaders.get() == 0;
        List<Claimed> claimed = store.claim(pipeline, max, clock.now());
        // before asking whether anything is unfinished, or when they have waited long enough
        writeEnded(sourcesDone && claimed.isEmpty());
        if (!claimed.isEmpty()) {
          resumed.add(claimed.size());
          waiting = null;
          idleNanos = MIN_IDLE_NANOS;
          feed(byName, claimed);
          continue;
        }
        if (sourcesDone && !store.isDurable()) {
          // records live in this run only (a cancelled run's are lost), except those parked in the
          // store: done when none is in flight or parked
          if (inFlight() == 0) {
            Optional<Instant> due = store.nextDue(pipeline);
            if (due.isEmpty()) {
              break;
            }
            // all this run holds is parked: wait for the next one to be due, on the pipeline's
            // clock
            Duration wait = Duration.between(clock.now(), due.get());
            if (wait.isPositive()) {
              clock.sleep(wait.compareTo(MAX_DUE_WAIT) > 0 ? MAX_DUE_WAIT : wait);
            }
            continue;
          }
        } else if (sourcesDone) {
          if (!store.hasUnfinished(pipeline)) {
            break;
          }
          sayWhatWaits();
        }
        LockSupport.parkNanos(idleNanos);
        if (Thread.interrupted()) {
          break; // cancelled
        }
        idleNanos = Math.min(MAX_IDLE_NANOS, idleNanos * 2);
      }
    } catch (InterruptedException e) {
      // cancelled
    } catch (WorkerSlot.Abandoned e) {
      replaced = true; // its sink call hung: a new claimer has taken over
    } catch (Throwable error) {
      fail(error);
    } finally {
      if (!replaced) {
        for (RunStage stage : stages) {
          stage.queue.producerDone();
        }
      }
      threads.remove(Thread.currentThread());
    }
  }

  /**
   * Says, in the log and the progress, whose leases a run with nothing left to do waits for, and
   * for how long at most: a rerun after a crash waits for the crashed worker's leases to expire.
   */
  private void sayWhatWaits() {
    long now = clock.nanoTime();
    if (waitingCheckedAt != Long.MIN_VALUE && now - waitingCheckedAt < WAITING_CHECK_NANOS) {
      return;
    }
    waitingCheckedAt = now;
    List<HeldLeases> held = store.leasesHeldElsewhere(pipeline);
    if (held.isEmpty()) {
      waiting = null;
      return;
    }
    StringBuilder text = new StringBuilder();
    StringBuilder workers = new StringBuilder();
    for (HeldLeases h : held) {
      text.append(text.isEmpty() ? "waiting for " : "; and for ")
          .append(h.records())
          .append(h.records() == 1 ? " lease" : " leases")
          .append(" of worker ")
          .append(ErrorText.loggable(h.worker()))
          .append(" to expire (at most ")
          .append(h.expiresWithin().toSeconds())
          .append(" s) or their records to be finished");
      workers.append(h.worker()).append(' ');
    }
    boolean news = !workers.toString().equals(waitingFor);
    waitingFor = workers.toString();
    waiting = text.toString();
    if (news) {
      LOG.info(
          "pipeline '{}': {}; a worker that died on this host is taken over at once, one"
              + " elsewhere once its leases expire",
          pipeline,
          waiting);
    }
  }

  /** Puts claimed records on the queues of the stages they resume at, or hands them to the sink. */
  private void feed(Map<String, RunStage> byName, List<Claimed> claimed)
      throws InterruptedException {
    Map<RunStage, List<Envelope<Object>>> byStage = new LinkedHashMap<>();
    List<Envelope<Object>> toSink = new ArrayList<>();
    List<Completion> strays = new ArrayList<>();
    for (Claimed c : claimed) {
      @SuppressWarnings("unchecked")
      Envelope<Object> record = (Envelope<Object>) c.record();
      if (c.stage().equals(SINK_STEP)) {
        // held or retried at the sink, or sent back for reprocessing after the sink failed on it
        countAttempts(record, c.attempts());
        toSink.add(record);
        continue;
      }
      RunStage stage = byName.get(c.stage());
      if (stage == null) {
        // a stage renamed or removed while records were in flight: this record cannot go on,
        // the others can
        PipelineException error =
            new PipelineException(
                "the store holds record '"
                    + record.id()
                    + "' at stage '"
                    + c.stage()
                    + "', which pipeline '"
                    + pipeline
                    + "' does not have (was a stage renamed or removed while records were in"
                    + " flight?); it is in the dead letter queue: bring the stage back, then"
                    + " reprocess it");
        strays.add(
            deadLetter(
                record, c.stage(), List.of(errorText.info(c.stage(), error, 1, clock.now())), 1));
        continue;
      }
      countAttempts(record, c.attempts());
      byStage.computeIfAbsent(stage, k -> new ArrayList<>()).add(record);
    }
    if (!strays.isEmpty()) {
      LOG.error(
          "pipeline '{}': {} claimed records are at stages it does not have (first '{}' at '{}');"
              + " they go to the dead letter queue",
          pipeline,
          strays.size(),
          ErrorText.loggable(strays.get(0).recordId()),
          ErrorText.loggable(strays.get(0).stage()));
      write(null, strays, true);
    }
    for (Map.Entry<RunStage, List<Envelope<Object>>> e : byStage.entrySet()) {
      e.getKey().queue.put(e.getValue());
    }
    if (!toSink.isEmpty()) {
      publish(toSink);
    }
  }

  /** Keeps the attempts a claimed record made, for the worker that takes it to go on from. */
  private void countAttempts(Envelope<Object> record, int attempts) {
    if (attempts > 0 && claimedAttempts.put(record.id(), attempts) == null) {
      resumedAttempts.incrementAndGet();
    }
  }

  /** Records of this run not yet finished or parked. */
  private long inFlight() {
    return read.sum()
        - duplicates.sum()
        - heldUnfinished.sum()
        + resumed.sum()
        - published.sum()
        - filtered.sum()
        - deadLettered.sum()
        - parked.sum()
        - takenOver.sum();
  }

  /** Lets the claimer look again at once, when the sources are done and records finish. */
  private void wakeClaimer() {
    Thread waiting = claimer;
    if (waiting != null && liveReaders.get() == 0) {
      LockSupport.unpark(waiting);
    }
  }

  // ---------------------------------------------------------------- workers

  private void startWorker(RunStage stage, @Nullable BatchWork resumed) {
    WorkerSlot slot = new WorkerSlot();
    stage.slots.add(slot);
    Thread worker =
        Thread.ofVirtual()
            .name(pipeline + "-" + stage.def.name() + "-" + stage.workerNames.incrementAndGet())
            .unstarted(() -> work(stage, slot, resumed));
    slot.thread = worker;
    threads.add(worker);
    worker.start();
  }

  private void work(RunStage stage, WorkerSlot slot, @Nullable BatchWork resumed) {
    CallContext context =
        new CallContext(
            pipeline,
            stage.def.name(),
            stageLoggers.apply(stage.def.name()),
            clock,
            policies.references());
    try {
      if (resumed != null) {
        slot.work = resumed;
        process(stage, slot, context, resumed);
      }
      List<Envelope<Object>> batch;
      AdaptiveBatchSize adaptive = stage.adaptive;
      int size = adaptive == null ? stage.def.options().batchSize() : adaptive.size();
      while ((batch = stage.queue.take(size)) != null) {
        batch = stillHeld(batch);
        if (batch.isEmpty()) {
          continue;
        }
        long now = clock.nanoTime();
        stage.recorder.started(now);
        stage.recorder.in.add(batch.size());
        BatchWork work = new BatchWork(batch);
        slot.work = work;
        process(stage, slot, context, work);
        if (adaptive != null) {
          adaptive.record(size, batch.size(), clock.nanoTime() - now);
          size = adaptive.size();
        }
      }
    } catch (WorkerSlot.Abandoned e) {
      return; // a replacement owns the batch and this worker's place
    } catch (InterruptedException e) {
      if (!cancelled) {
        fail(
            new PipelineException(
                "stage '" + stage.def.name() + "' worker interrupted outside a call", e));
      }
    } catch (Throwable error) {
      fail(error);
    } finally {
      threads.remove(Thread.currentThread());
    }
    stage.slots.remove(slot);
    if (stage.next != null) {
      stage.next.queue.producerDone(); // each worker is one of the next queue's producers
    } else if (stage.liveWorkers.decrementAndGet() == 0) {
      finish();
    }
  }

  /**
   * The records of a batch this worker still holds the leases of (all of them unless the store is
   * durable and the worker was paused or cut off from the database for about a lease): the others
   * were taken over by another worker, which processes them, and are dropped here.
   */
  private List<Envelope<Object>> stillHeld(List<Envelope<Object>> batch) {
    if (!store.isDurable() || batch.isEmpty()) {
      return batch;
    }
    List<String> ids = new ArrayList<>(batch.size());
    for (Envelope<Object> e : batch) {
      ids.add(e.id());
    }
    Set<String> gone = store.notHeld(pipeline, ids);
    return gone.isEmpty() ? batch : drop(batch, gone);
  }

  /** Forgets what the run keeps about a record it dropped. */
  private void forget(String recordId) {
    takeErrors(recordId);
    if (claimedAttempts.remove(recordId) != null) {
      resumedAttempts.decrementAndGet();
    }
  }

  private void process(RunStage stage, WorkerSlot slot, CallContext context, BatchWork work)
      throws InterruptedException {
    if (stage.def.isBatch()) {
      processBatchStage(stage, slot, context, work);
    } else {
      processSingleStage(stage, slot, context, work);
    }
    hand(stage, work);
  }

  private void processSingleStage(
      RunStage stage, WorkerSlot slot, CallContext context, BatchWork work)
      throws InterruptedException {
    StageOptions options = stage.def.options();
    Stage<Object, Object> fn = stage.def.single();
    RetryPolicy retry = options.retryPolicy();
    CircuitBreaker breaker = options.circuitBreaker();
    TokenBucket bucket = options.rateLimit();
    boolean limited = bucket != TokenBucket.unlimited();
    boolean guarded = breaker != CircuitBreaker.disabled();
    boolean timed = options.timeout() != null;
    String stageName = stage.def.name().value();

    if (work.abandoned) {
      // the call in hand hung past its timeout and ignored the interrupt: it fails here
      work.abandoned = false;
      Envelope<Object> stuck = work.batch.get(work.index);
      Throwable timeout = new StageTimeoutException(stageName, stuck.id(), options.timeout(), true);
      stage.recorder.error(timeout);
      breaker.onFailure(0, timeout); // the hung call had the circuit's permission
      List<ErrorInfo> errors = work.errors == null ? new ArrayList<>() : work.errors;
      addError(errors, errorText.info(stageName, timeout, work.attempt, clock.now()));
      giveUp(stage, context, work, stuck, errors, work.attempt, timeout);
      work.index++;
      work.attempt = 1;
      work.errors = null;
    }

    long previous = clock.nanoTime();
    for (; work.index < work.batch.size(); work.index++) {
      Envelope<Object> record = work.batch.get(work.index);
      if (work.attempt == 1 && resumedAttempts.get() > 0) {
        work.attempt = startingAttempt(record.id());
        work.resumedRetry = work.attempt > 1;
      }
      while (true) {
        Throwable error = null;
        Object output = null;
        String filterReason = null;
        if (guarded && !breaker.tryAcquirePermission()) {
          CircuitOpenException refused =
              new CircuitOpenException(
                  stageName, record.id(), breaker.state(), breaker.remainingOpen());
          Fallback<?, ?> fallback = options.fallback();
          if (fallback == Fallback.hold() && parkable(stage)) {
            stage.recorder.held.increment();
            park(stage, work, record, work.attempt - 1, heldFor(breaker));
            break;
          }
          if (fallback instanceof Fallback.Skip || fallback instanceof Fallback.With<?, ?>) {
            // the record leaves through its fallback (or, if that fails, as a dead letter)
            List<ErrorInfo> errors = work.errors == null ? new ArrayList<>() : work.errors;
            record = retryOutcome(stage, work, record, false);
            giveUp(stage, context, work, record, errors, work.attempt, refused);
            break;
          }
          error = refused;
        } else {
          if (limited) {
            bucket.acquire(1); // only calls that may go ahead take a token
          }
          long callStart = clock.nanoTime();
          context.reset(record, work.attempt);
          long call = timed ? slot.begin(callStart) : 0;
          try {
            output = fn.process(record.payload(), context);
          } catch (RecordFilteredException filter) {
            filterReason = filter.reason();
          } catch (Throwable thrown) {
            error = thrown;
          }
          if (timed && !slot.end(call)) {
            error = new StageTimeoutException(stageName, record.id(), options.timeout(), false);
            output = null;
            filterReason = null;
          }
          if (cancelled) {
            breaker.onFailure(0, new InterruptedException("run cancelled")); // frees its permit
            throw new InterruptedException("run cancelled");
          }
          if (error == null && output == null && filterReason == null) {
            error =
                new StageException(
                    stageName,
                    record.id(),
                    "stage '"
                        + stageName
                        + "' returned null for record '"
                        + record.id()
                        + "'; return a value, or throw RecordFilteredException.because(reason) to"
                        + " drop the record");
          }
          long took = clock.nanoTime() - callStart;
          if (guarded) {
            if (error == null) {
              breaker.onSuccess(took);
            } else {
              breaker.onFailure(took, error);
            }
          }
          if (limited) {
            bucket.onResult(took, error != null);
          }
        }
        if (error == null) {
          long now = clock.nanoTime();
          work.latency(now - previous, 1);
          previous = now;
          record = retryOutcome(stage, work, record, true);
          if (filterReason != null) {
            work.completions.add(
                new Completion(
                    record.id(),
                    RecordStatus.FILTERED,
                    stageName,
                    filterReason,
                    null,
                    errorsOf(work),
                    work.attempt,
                    clock.now()));
          } else {
            Envelope<Object> out = record.withPayload(output);
            Map<String, String> added = context.added();
            if (added != null) {
              out = out.withAllMetadata(added);
            }
            work.outputs.add(out);
            work.bytes += payloadSize.applyAsLong(output);
            if (work.errors != null) {
              keepErrors(record.id(), work.errors);
            }
          }
          break;
        }
        stage.recorder.error(error);
        if (work.errors == null) {
          work.errors = new ArrayList<>(2);
        }
        addError(work.errors, errorText.info(stageName, error, work.attempt, clock.now()));
        if (work.attempt <= retry.maxRetries()
            && work.attempt < Integer.MAX_VALUE
            && retry.isRetryable(error)
            && !(error instanceof VirtualMachineError)) {
          work.retries++;
          Duration delay = delay(retry, work.attempt);
          if (delay.compareTo(policies.retryQueueAfter()) > 0 && parkable(stage)) {
            park(stage, work, record, work.attempt, delay);
            break;
          }
          clock.sleep(delay);
          work.attempt++;
          continue;
        }
        long now = clock.nanoTime();
        work.latency(now - previous, 1);
        previous = now;
        record = retryOutcome(stage, work, record, false);
        giveUp(stage, context, work, record, work.errors, work.attempt, error);
        break;
      }
      work.attempt = 1;
      work.errors = null;
      work.resumedRetry = false;
    }
  }

  /**
   * The policy's wait before retry {@code retry}, within [0, {@link
   * dev.pipeline.resilience.ExponentialRetryPolicy#MAX_DELAY}]: a policy of the user's that returns
   * a negative or a vast wait must not make the clock's or the store's arithmetic overflow.
   */
  private static Duration delay(RetryPolicy retry, int attempt) {
    Duration wait = retry.delay(attempt, ThreadLocalRandom.current());
    if (wait.isNegative()) {
      return Duration.ZERO;
    }
    return wait.compareTo(MAX_RETRY_DELAY) > 0 ? MAX_RETRY_DELAY : wait;
  }

  /** {@code d} in nanoseconds, saturated at the bounds of a long instead of overflowing. */
  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }

  /**
   * Counts how a record that met errors at a single-record stage ended there (with the error types
   * it met before it was parked, if it came back from the retry queue) and returns it without that
   * engine metadata.
   */
  private static Envelope<Object> retryOutcome(
      RunStage stage, BatchWork work, Envelope<Object> record, boolean recovered) {
    if (work.resumedRetry) {
      stage.recorder.retryOutcome(work.errors, record.metadata().get(RETRIED_ERRORS), recovered);
      return record.withoutMetadata(RETRIED_ERRORS);
    }
    if (work.errors != null) {
      stage.recorder.retryOutcome(work.errors, recovered);
    }
    return record;
  }

  /**
   * A record the stage could not process: it takes the stage's skip or function fallback if there
   * is one, else it goes to the dead letter queue.
   */
  private void giveUp(
      RunStage stage,
      CallContext context,
      BatchWork work,
      Envelope<Object> record,
      List<ErrorInfo> errors,
      int attempts,
      Throwable cause) {
    record = record.withoutMetadata(RETRIED_ERRORS);
    Fallback<?, ?> fallback = stage.def.options().fallback();
    if (fallback instanceof Fallback.Skip || fallback instanceof Fallback.With<?, ?>) {
      if (degrade(stage, context, work, record, cause, attempts)) {
        keepErrors(record.id(), errors);
        return;
      }
      errors =
          ErrorText.append(
              errors,
              List.of(
                  errorText.info(
                      stage.def.name().value(),
                      Objects.requireNonNull(work.fallbackError),
                      attempts,
                      clock.now())));
      work.fallbackError = null;
    }
    work.completions.add(deadLetter(record, stage.def.name().value(), errors, attempts));
  }

  /**
   * Passes a record on through the stage's skip or function fallback, marked degraded.
   *
   * @return false if the fallback function failed (its error is left in {@code work})
   */
  @SuppressWarnings("unchecked")
  private boolean degrade(
      RunStage stage,
      CallContext context,
      BatchWork work,
      Envelope<Object> record,
      Throwable cause,
      int attempts) {
    String stageName = stage.def.name().value();
    Object output = record.payload();
    Map<String, String> added = null;
    if (stage.def.options().fallback() instanceof Fallback.With<?, ?> with) {
      // a context of its own: a batch stage's context still holds the batch call's results
      CallContext own =
          new CallContext(
              pipeline, stage.def.name(), context.logger(), clock, policies.references());
      own.reset(record, attempts);
      try {
        output =
            ((Fallback.Function<Object, Object>) with.function())
                .apply(record.payload(), cause, own);
        added = own.added();
      } catch (Throwable thrown) {
        stage.recorder.error(thrown);
        work.fallbackError = thrown;
        return false;
      }
      if (output == null) {
        work.fallbackError =
            new StageException(
                stageName,
                record.id(),
                "the fallback of stage '"
                    + stageName
                    + "' returned null for record '"
                    + record.id()
                    + "'; return a value or throw");
        return false;
      }
    }
    String skipped = record.metadata().get(Fallback.DEGRADED);
    Envelope<Object> out =
        record
            .withPayload(output)
            .withMetadata(
                Fallback.DEGRADED, skipped == null ? stageName : skipped + "," + stageName);
    work.outputs.add(added == null ? out : out.withAllMetadata(added));
    work.bytes += payloadSize.applyAsLong(output);
    stage.recorder.degraded.increment();
    return true;
  }

  /** Whether records entering the stage can be parked in the store's retry queue. */
  private boolean parkable(RunStage stage) {
    return policies.parkable().get(stage.index);
  }

  /**
   * How long held records wait: until the circuit lets trial calls through (at least {@link
   * #MIN_HOLD}, so that records refused while a half-open circuit's trial calls are out do not come
   * straight back), and up to as long again.
   */
  private static Duration heldFor(CircuitBreaker breaker) {
    Duration open = breaker.remainingOpen();
    // a breaker of the user's may say anything: keep the wait where the arithmetic holds
    Duration base =
        open.compareTo(MIN_HOLD) < 0 ? MIN_HOLD : open.compareTo(MAX_HOLD) > 0 ? MAX_HOLD : open;
    // spread over [base, 2 * base): the first back make the trial calls, and the rest do not all
    // come back at once to be refused again while the trials are out
    return base.plusNanos((long) (base.toNanos() * ThreadLocalRandom.current().nextDouble()));
  }

  /** Parks a record in the store's retry queue, to come back after {@code delay}. */
  private void park(
      RunStage stage, BatchWork work, Envelope<Object> record, int attemptsMade, Duration delay) {
    RetryPolicy retry = stage.def.options().retryPolicy();
    List<ErrorInfo> earlier = takeErrors(record.id());
    List<ErrorInfo> here = work.errors == null ? List.of() : work.errors;
    List<ErrorInfo> errors = ErrorText.append(earlier, here);
    String types = record.metadata().get(RETRIED_ERRORS);
    for (ErrorInfo error : here) {
      if (error.stage().equals(stage.def.name().value())
          && !ErrorText.isDropped(error)
          && (types == null || !Arrays.asList(types.split(",")).contains(error.errorType()))) {
        types = types == null ? error.errorType() : types + "," + error.errorType();
      }
    }
    if (types != null) {
      record = record.withMetadata(RETRIED_ERRORS, types);
    }
    work.parked.add(
        new ScheduledRetry(
            record,
            stage.def.name().value(),
            Math.max(0, attemptsMade),
            retry.maxRetries(),
            delay,
            retry.backoffMultiplier(),
            errors));
  }

  /** The attempt a record claimed back from the store starts at (1 unless it was retried). */
  private int startingAttempt(String recordId) {
    Integer made = claimedAttempts.remove(recordId);
    if (made == null) {
      return 1;
    }
    resumedAttempts.decrementAndGet();
    return made + 1;
  }

  private static List<ErrorInfo> errorsOf(BatchWork work) {
    return work.errors == null ? List.of() : work.errors;
  }

  /** Adds an error to a record's errors at a stage, keeping them a bounded history. */
  private static void addError(List<ErrorInfo> errors, ErrorInfo error) {
    errors.add(error);
    if (errors.size() > ErrorText.KEPT_LAST_ERRORS + 2) {
      List<ErrorInfo> kept = ErrorText.bounded(errors);
      errors.clear();
      errors.addAll(kept);
    }
  }

  private void keepErrors(String recordId, List<ErrorInfo> errors) {
    passedErrors.merge(
        recordId,
        ErrorText.bounded(List.copyOf(errors)),
        (earlier, more) -> ErrorText.append(earlier, more));
  }

  /** Takes the errors a record met at the stages it passed; empty if none. */
  private List<ErrorInfo> takeErrors(String recordId) {
    if (passedErrors.isEmpty()) {
      return List.of();
    }
    List<ErrorInfo> errors = passedErrors.remove(recordId);
    return errors == null ? List.of() : errors;
  }

  /** The completions, each with the errors its record met at the stages it passed put first. */
  private List<Completion> withPassedErrors(List<Completion> completions) {
    if (passedErrors.isEmpty()) {
      return completions;
    }
    List<Completion> all = new ArrayList<>(completions.size());
    for (Completion c : completions) {
      List<ErrorInfo> earlier = takeErrors(c.recordId());
      if (earlier.isEmpty()) {
        all.add(c);
      } else {
        List<ErrorInfo> errors = ErrorText.append(earlier, c.errors());
        all.add(
            new Completion(
                c.recordId(),
                c.status(),
                c.stage(),
                c.reason(),
                c.record(),
                errors,
                c.attempts(),
                c.at()));
      }
    }
    return all;
  }

  private Completion deadLetter(
      Envelope<Object> record, String stage, List<ErrorInfo> errors, int attempts) {
    return new Completion(
        record.id(), RecordStatus.DEAD_LETTER, stage, null, record, errors, attempts, clock.now());
  }

  private void processBatchStage(
      RunStage stage, WorkerSlot slot, CallContext context, BatchWork work)
      throws InterruptedException {
    StageOptions options = stage.def.options();
    RetryPolicy retry = options.retryPolicy();
    CircuitBreaker breaker = options.circuitBreaker();
    TokenBucket bucket = options.rateLimit();
    boolean limited = bucket != TokenBucket.unlimited();
    boolean timed = options.timeout() != null;
    String stageName = stage.def.name().value();

    if (work.chunks == null) {
      work.chunks = new ArrayDeque<>();
      if (resumedAttempts.get() > 0) {
        // records claimed back after retries go on from their own attempt
        Map<Integer, List<Envelope<Object>>> byAttempt = new TreeMap<>();
        for (Envelope<Object> e : work.batch) {
          byAttempt.computeIfAbsent(startingAttempt(e.id()), k -> new ArrayList<>()).add(e);
        }
        byAttempt.forEach((attempt, records) -> work.chunks.add(new Chunk(records, attempt)));
      } else {
        work.chunks.add(new Chunk(work.batch, 1));
      }
    }
    if (work.abandoned) {
      work.abandoned = false;
      Chunk hung = work.chunks.poll();
      if (hung != null) {
        for (Envelope<Object> stuck : hung.records()) {
          Throwable timeout =
              new StageTimeoutException(stageName, stuck.id(), options.timeout(), true);
          stage.recorder.error(timeout);
          List<ErrorInfo> errors =
              work.batchErrors.computeIfAbsent(stuck.id(), k -> new ArrayList<>());
          addError(errors, errorText.info(stageName, timeout, hung.attempt(), clock.now()));
          giveUp(stage, context, work, stuck, errors, hung.attempt(), timeout);
        }
        breaker.onFailure(0, new StageTimeoutException(stageName, null, options.timeout(), true));
      }
    }
    Chunk chunk;
    while ((chunk = work.chunks.peek()) != null) {
      if (cancelled && stage.sink != null) {
        // what the sink took so far stands and is ended; the rest of the batch stays unfinished
        break;
      }
      List<Envelope<Object>> pending = chunk.records();
      int attempt = chunk.attempt();
      long callStart = clock.nanoTime();
      Throwable error = null;
      List<Object> outputs = null;
      boolean allFiltered = false;
      String filterAll = null;
      if (!breaker.tryAcquirePermission()) {
        CircuitOpenException refused =
            new CircuitOpenException(
                stageName, pending.get(0).id(), breaker.state(), breaker.remainingOpen());
        Fallback<?, ?> fallback = options.fallback();
        if (fallback == Fallback.hold() && parkable(stage)) {
          work.chunks.poll();
          for (Envelope<Object> record : pending) {
            stage.recorder.held.increment();
            parkBatched(stage, work, record, attempt - 1, heldFor(breaker));
          }
          continue;
        }
        if (fallback instanceof Fallback.Skip || fallback instanceof Fallback.With<?, ?>) {
          // each record leaves through the fallback (or, if that fails, as a dead letter)
          work.chunks.poll();
          for (Envelope<Object> record : pending) {
            List<ErrorInfo> errors =
                work.batchErrors.computeIfAbsent(record.id(), k -> new ArrayList<>());
            String earlier = record.metadata().get(RETRIED_ERRORS);
            if (!errors.isEmpty() || earlier != null) {
              stage.recorder.retryOutcome(errors, earlier, false);
            }
            giveUp(stage, context, work, record, errors, attempt, refused);
          }
          continue;
        }
        error = refused;
      } else {
        if (limited) {
          bucket.acquire(pending.size()); // only calls that may go ahead take tokens
          callStart = clock.nanoTime();
        }
        context.resetBatch(pending, attempt);
        long call = timed ? slot.begin(callStart) : 0;
        try {
          outputs = callBatch(stage, chunk, context);
        } catch (RecordFilteredException filter) {
          allFiltered = true;
          filterAll = filter.reason();
        } catch (Throwable thrown) {
          error = thrown;
        }
        if (timed && !slot.end(call)) {
          error =
              new StageTimeoutException(stageName, pending.get(0).id(), options.timeout(), false);
          allFiltered = false;
        }
        if (cancelled && (error != null || stage.sink == null)) {
          // a stage's outputs are dropped (its records are processed again); a sink's call that
          // returned delivered them, and their ending is written
          breaker.onFailure(0, new InterruptedException("run cancelled")); // frees its permit
          if (stage.sink == null) {
            throw new InterruptedException("run cancelled");
          }
          break; // the sink's failed chunk stays unfinished; what it took before stands
        }
        if (error == null
            && !allFiltered
            && (outputs == null || outputs.size() != pending.size())) {
          error =
              new StageException(
                  stageName,
                  null,
                  "batch stage '"
                      + stageName
                      + "' returned "
                      + (outputs == null ? "null" : outputs.size() + " outputs")
                      + " for "
                      + pending.size()
                      + " inputs (first record '"
                      + pending.get(0).id()
                      + "'); return one output per input, in order");
        }
        long took = clock.nanoTime() - callStart;
        if (error == null) {
          breaker.onSuccess(took);
        } else {
          breaker.onFailure(took, error);
        }
        if (limited) {
          bucket.onResult(took, error != null);
        }
        if (error != null && pending.size() > 1 && !(error instanceof VirtualMachineError)) {
          stage.recorder.error(error);
          work.chunks.poll();
          if (attempt <= retry.maxRetries()
              && attempt < Integer.MAX_VALUE
              && retry.isRetryable(error)) {
            // the whole call failed and may pass if tried again (the service, not a record, may
            // be at fault): the chunk is retried as one, after one backoff
            work.retries += pending.size();
            Duration delay = delay(retry, attempt);
            if (delay.compareTo(policies.retryQueueAfter()) > 0 && parkable(stage)) {
              for (Envelope<Object> record : pending) {
                parkBatched(stage, work, record, attempt, delay);
              }
            } else {
              if (!backOff(stage, delay)) {
                break; // a cancelled run: what the sink took stands, the chunk stays unfinished
              }
              work.chunks.addFirst(new Chunk(pending, attempt + 1));
            }
            continue;
          }
          // not retryable, or its retries are used up: halve the batch so that the records that
          // can pass do, and the record(s) that made it fail end up alone, each meeting the
          // retry policy (and the dead letter queue) on its own
          stage.recorder.splits.increment();
          int half = pending.size() / 2;
          work.chunks.addFirst(new Chunk(pending.subList(half, pending.size()), attempt, true));
          work.chunks.addFirst(new Chunk(pending.subList(0, half), attempt, true));
          continue;
        }
      }
      work.latency(clock.nanoTime() - callStart, pending.size());
      List<Envelope<Object>> again = new ArrayList<>();
      Duration delay = null;
      for (int i = 0; i < pending.size(); i++) {
        Envelope<Object> record = pending.get(i);
        Throwable recordError = error;
        String reason = allFiltered ? filterAll : null;
        Object output = null;
        if (error == null && !allFiltered) {
          reason = context.filterReason(i);
          recordError = context.failure(i);
          output = outputs.get(i);
          if (recordError == null && reason == null && output == null) {
            recordError =
                new StageException(
                    stageName,
                    record.id(),
                    "batch stage '"
                        + stageName
                        + "' returned null for record '"
                        + record.id()
                        + "' without filtering or failing it through the context");
          }
        }
        String earlier = attempt > 1 ? record.metadata().get(RETRIED_ERRORS) : null;
        if (recordError == null) {
          List<ErrorInfo> errors = work.batchErrors.get(record.id());
          if (errors != null || earlier != null) {
            stage.recorder.retryOutcome(errors, earlier, true);
          }
          if (earlier != null) {
            record = record.withoutMetadata(RETRIED_ERRORS);
          }
          if (reason != null) {
            work.completions.add(
                new Completion(
                    record.id(),
                    RecordStatus.FILTERED,
                    stageName,
                    reason,
                    null,
                    errors == null ? List.of() : errors,
                    attempt,
                    clock.now()));
          } else {
            Envelope<Object> out = record.withPayload(output);
            Map<String, String> added = context.added();
            work.outputs.add(added == null ? out : out.withAllMetadata(added));
            work.bytes += payloadSize.applyAsLong(output);
            if (errors != null) {
              keepErrors(record.id(), errors);
            }
          }
        } else {
          stage.recorder.error(recordError);
          List<ErrorInfo> errors =
              work.batchErrors.computeIfAbsent(record.id(), k -> new ArrayList<>());
          addError(errors, errorText.info(stageName, recordError, attempt, clock.now()));
          if (attempt <= retry.maxRetries()
              && attempt < Integer.MAX_VALUE
              && retry.isRetryable(recordError)
              && !(recordError instanceof VirtualMachineError)) {
            work.retries++;
            if (delay == null) {
              delay = delay(retry, attempt);
            }
            if (delay.compareTo(policies.retryQueueAfter()) > 0 && parkable(stage)) {
              parkBatched(stage, work, record, attempt, delay);
            } else {
              again.add(record);
            }
          } else {
            stage.recorder.retryOutcome(errors, earlier, false);
            giveUp(stage, context, work, record, errors, attempt, recordError);
          }
        }
      }
      work.chunks.poll();
      if (!again.isEmpty()) {
        if (!backOff(stage, Objects.requireNonNull(delay))) {
          break; // a cancelled run: what the sink took stands, the records to retry stay unfinished
        }
        work.chunks.addFirst(new Chunk(again, attempt + 1));
      }
    }
    work.chunks = null;
  }

  /**
   * Waits before a batch stage's retry. On the sink, of a run cancelled before or during the wait,
   * returns false instead: the batches it took so far must still be ended, so the call returns
   * (with the thread's interrupt kept) rather than throw.
   */
  private boolean backOff(RunStage stage, Duration delay) throws InterruptedException {
    if (stage.sink != null && cancelled) {
      return false;
    }
    try {
      clock.sleep(delay);
      return true;
    } catch (InterruptedException e) {
      if (stage.sink != null && cancelled) {
        Thread.currentThread().interrupt();
        return false;
      }
      throw e;
    }
  }

  /**
   * Calls a batch stage, or the sink, on the records in hand. The sink's outputs are its inputs; it
   * is told of records it may have seen in an earlier, failed call (a retry, or a half of a batch
   * whose call failed).
   */
  private static List<Object> callBatch(RunStage stage, Chunk chunk, CallContext context)
      throws Exception {
    List<Envelope<Object>> pending = chunk.records();
    List<Object> inputs = new ArrayList<>(pending.size());
    for (Envelope<Object> e : pending) {
      inputs.add(e.payload());
    }
    Sink<Object> to = stage.sink;
    if (to == null) {
      return Objects.requireNonNull(stage.def.batch())
          .process(Collections.unmodifiableList(inputs), context);
    }
    List<Envelope<Object>> delivered = new ArrayList<>(pending.size());
    for (Envelope<Object> e : pending) {
      Envelope<Object> out = e.withoutMetadata(RETRIED_ERRORS);
      boolean again = chunk.attempt() > 1 || chunk.failedBefore();
      delivered.add(again ? out.withMetadata(Envelope.REDELIVERED, "true") : out);
    }
    to.publish(Collections.unmodifiableList(delivered));
    return inputs;
  }

  /** Parks a record of a batch stage, with its errors there so far. */
  private void parkBatched(
      RunStage stage, BatchWork work, Envelope<Object> record, int attemptsMade, Duration delay) {
    List<ErrorInfo> saved = work.errors;
    work.errors = work.batchErrors.remove(record.id());
    park(stage, work, record, attemptsMade, delay);
    work.errors = saved;
  }

  /**
   * Hands a processed batch on: outputs to the next stage or the sink, terminal states to the
   * store.
   */
  private void hand(RunStage stage, BatchWork work) throws InterruptedException {
    StageRecorder recorder = stage.recorder;
    if (!work.parked.isEmpty()) {
      Set<String> fenced = store.scheduleRetries(pipeline, work.parked, clock.now());
      parked.add(work.parked.size() - fenced.size());
      takenOver.add(fenced.size());
      recorder.parked.add(work.parked.size());
    }
    if (!work.completions.isEmpty()) {
      end(stage, withPassedErrors(work.completions));
    }
    recorder.retries.add(work.retries);
    recorder.passed.add(work.outputs.size());
    recorder.bytesOut.add(work.bytes);
    recorder.busyNanos.add(work.busyNanos);
    stage.recordLatencies(work.latencies, work.latencyCount);
    recorder.active(clock.nanoTime());

    List<Envelope<Object>> outputs = work.outputs;
    if (stage.def.options().checkpoint()
        && store.isDurable()
        && stage.next != null
        && !outputs.isEmpty()) {
      store.checkpoint(pipeline, outputs, stage.next.def.name().value(), clock.now());
    }
    if (stage.next != null) {
      stage.next.queue.put(outputs);
    } else if (!outputs.isEmpty()) {
      publish(outputs);
    }
    if (!work.completions.isEmpty() || !work.parked.isEmpty() || stage.next == null) {
      wakeClaimer();
    }
  }

  /**
   * A record that ended: filtered or dead-lettered at a stage, or handed to the sink (stage null)
   * and published or, if the sink failed, dead-lettered.
   */
  private record Ended(@Nullable RunStage stage, Completion completion) {}

  /**
   * Ends records filtered or dead-lettered at a stage: at once on a store that is not durable; on a
   * durable one, with the next delivery note (or once four batches' worth wait, once the first has
   * waited a second, or when the sources are done and the claimer finds nothing to claim).
   */
  private void end(RunStage stage, List<Completion> completions) {
    write(stage, completions, true);
  }

  /**
   * Ends records at a stage, or handed to the sink (stage null): at once on a store that is not
   * durable; on a durable one, they wait to be written with the next delivery note, unless {@code
   * mayFlush} and the waiting records reached the limit.
   */
  private void write(@Nullable RunStage stage, List<Completion> completions, boolean mayFlush) {
    List<Ended> now = new ArrayList<>(completions.size());
    for (Completion c : completions) {
      now.add(new Ended(stage, c));
    }
    if (store.isDurable()) {
      synchronized (endedLock) {
        if (ended.isEmpty()) {
          endedSince = clock.nanoTime();
        }
        ended.addAll(now);
        boolean due =
            (mayFlush && ended.size() >= endedLimit)
                || clock.nanoTime() - endedSince >= ENDED_MAX_AGE_NANOS;
        if (!due) {
          return;
        }
        now = ended;
        ended = new ArrayList<>();
      }
    }
    writeTaken(now);
  }

  /** Writes ended records taken from the waiting ones; puts them back if the store fails. */
  private void writeTaken(List<Ended> taken) {
    Set<String> fenced;
    try {
      fenced = store.complete(pipeline, completionsOf(taken));
    } catch (RuntimeException e) {
      if (store.isDurable()) {
        putBack(taken);
      }
      throw e;
    }
    count(taken, fenced);
  }

  /** Puts back ended records whose write failed, first, for a later write to take. */
  private void putBack(List<Ended> taken) {
    if (taken.isEmpty()) {
      return;
    }
    synchronized (endedLock) {
      List<Ended> all = new ArrayList<>(taken.size() + ended.size());
      all.addAll(taken);
      all.addAll(ended);
      ended = all;
      endedSince = Math.min(endedSince, clock.nanoTime());
    }
  }

  /** Takes the ended records not written yet. */
  private List<Ended> takeEnded() {
    synchronized (endedLock) {
      if (ended.isEmpty()) {
        return List.of();
      }
      List<Ended> taken = ended;
      ended = new ArrayList<>();
      return taken;
    }
  }

  /** Writes the ended records not written yet: all, or only if the first has waited too long. */
  private void writeEnded(boolean now) {
    if (!now) {
      synchronized (endedLock) {
        if (ended.isEmpty() || clock.nanoTime() - endedSince < ENDED_MAX_AGE_NANOS) {
          return;
        }
      }
    }
    List<Ended> taken = takeEnded();
    if (!taken.isEmpty()) {
      writeTaken(taken);
    }
  }

  /**
   * Counts ended records, now in the store, and alerts of the dead-lettered ones; those another
   * worker took over (fenced) are its to count.
   */
  private void count(List<Ended> written, Set<String> fenced) {
    List<Completion> completions = new ArrayList<>(written.size());
    for (Ended e : written) {
      Completion c = e.completion();
      completions.add(c);
      if (fenced.contains(c.recordId())) {
        takenOver.increment(); // its new holder finishes it
        continue;
      }
      RunStage stage = e.stage();
      if (c.status() == RecordStatus.PUBLISHED) {
        published.increment();
      } else if (c.status() == RecordStatus.FILTERED) {
        filtered.increment();
        if (stage != null) {
          stage.recorder.filtered.increment();
        }
      } else {
        deadLettered.increment();
        if (stage != null) {
          stage.recorder.failed.increment();
        }
      }
    }
    alertDeadLetters(completions, fenced);
  }

  /** Tells the alert listeners of each record that went to the dead letter queue. */
  private void alertDeadLetters(List<Completion> completions, Set<String> fenced) {
    for (Completion c : completions) {
      if (c.status() != RecordStatus.DEAD_LETTER || fenced.contains(c.recordId())) {
        continue;
      }
      ErrorInfo last = c.errors().isEmpty() ? null : c.errors().get(c.errors().size() - 1);
      alert(
          new Alert(
              Alert.Kind.DEAD_LETTER,
              pipeline,
              c.stage(),
              c.recordId(),
              "record '"
                  + ErrorText.loggable(c.recordId())
                  + "' failed at stage '"
                  + c.stage()
                  + "' after "
                  + c.attempts()
                  + (c.attempts() == 1 ? " attempt" : " attempts")
                  + (last == null
                      ? ""
                      : " ("
                          + last.errorType()
                          + ": "
                          + ErrorText.escape(last.message()) // cut when it was kept
                          + ")")
                  + " and is in the dead letter queue; fix the cause, then reprocess it with"
                  + " pipeline.deadLetters().reprocess(...)",
              c.at()));
    }
  }

  private void alert(Alert alert) {
    try {
      policies.alerts().onAlert(alert);
    } catch (RuntimeException e) {
      LOG.warn(
          "pipeline '{}': an alert listener failed on {}: {}",
          pipeline,
          ErrorText.loggable(alert),
          errorText.stackTrace(e));
    }
  }

  private void publish(List<Envelope<Object>> outputs) throws InterruptedException {
    List<String> ids = new ArrayList<>(outputs.size());
    for (Envelope<Object> e : outputs) {
      ids.add(e.id());
    }
    if (sinkStage == null && store.isDurable()) {
      // no sink: nothing outside sees the records handed over, so there is no delivery to note;
      // they end with the next write of ended records, which the completion itself fences
      BatchWork work = new BatchWork(outputs);
      work.outputs.addAll(outputs);
      delivered(work, true);
      return;
    }
    Handover handover;
    if (store.isDurable()) {
      // the delivery note, in one write with what ended since the last one (the batch the sink
      // took before this one, records filtered or dead-lettered at stages). It is fenced: only
      // records this worker still holds are noted (and their leases renewed)
      List<Ended> carried = takeEnded();
      try {
        handover = store.completeAndDeliver(pipeline, completionsOf(carried), ids);
      } catch (RuntimeException e) {
        putBack(carried);
        throw e;
      }
      count(carried, handover.fenced());
    } else {
      handover = store.completeAndDeliver(pipeline, List.of(), ids);
    }
    outputs = delivering(outputs, handover);
    if (outputs.isEmpty()) {
      return;
    }
    if (store.isDurable()) {
      // the last look before the sink: a worker paused since the note for about a lease may have
      // lost the records to a worker that delivered them meanwhile. What is left is the window
      // between this look and the sink call (see the architecture notes)
      List<String> handed = new ArrayList<>(outputs.size());
      for (Envelope<Object> e : outputs) {
        handed.add(e.id());
      }
      Set<String> gone = store.notHeld(pipeline, handed);
      if (!gone.isEmpty()) {
        outputs = drop(outputs, gone);
        if (outputs.isEmpty()) {
          return;
        }
      }
    }
    BatchWork work = new BatchWork(outputs);
    RunStage to = sinkStage;
    if (to == null) {
      work.outputs.addAll(outputs);
    } else {
      callSink(to, work, callerRole(Thread.currentThread()));
    }
    delivered(work, false);
  }

  /**
   * The records of a batch to hand to the sink, as the delivery note found them: without those this
   * worker no longer holds (counted as taken over), flagged if handed over before, with their
   * fencing tokens.
   */
  private List<Envelope<Object>> delivering(List<Envelope<Object>> outputs, Handover handover) {
    if (!handover.lost().isEmpty()) {
      outputs = drop(outputs, handover.lost());
    }
    Set<String> redelivered = handover.redelivered();
    Map<String, Long> tokens = handover.tokens();
    if (redelivered.isEmpty() && tokens.isEmpty()) {
      return outputs;
    }
    List<Envelope<Object>> marked = new ArrayList<>(outputs.size());
    for (Envelope<Object> e : outputs) {
      Long token = tokens.get(e.id());
      if (token != null) {
        e = e.withMetadata(Envelope.FENCING_TOKEN, Long.toString(token));
      }
      marked.add(redelivered.contains(e.id()) ? e.withMetadata(Envelope.REDELIVERED, "true") : e);
    }
    return marked;
  }

  /** The records without those another worker took over, which are counted and forgotten. */
  private List<Envelope<Object>> drop(List<Envelope<Object>> outputs, Set<String> gone) {
    List<Envelope<Object>> kept = new ArrayList<>(outputs.size());
    for (Envelope<Object> e : outputs) {
      if (gone.contains(e.id())) {
        forget(e.id());
      } else {
        kept.add(e);
      }
    }
    takenOver.add(outputs.size() - kept.size());
    wakeClaimer();
    return kept;
  }

  /**
   * Calls the sink on a batch through its options as a batch stage is called (rate limit, circuit
   * breaker, retry, timeout, hold; a batch that still fails is halved), in a slot the timeout
   * watchdog watches. Leaves in {@code work} the records the sink took, those that go to the dead
   * letter queue and those parked in the retry queue.
   *
   * @param role what a replacement does once it has finished the batch, if this call hangs
   */
  private void callSink(RunStage to, BatchWork work, Runnable role) throws InterruptedException {
    WorkerSlot slot = new WorkerSlot();
    slot.thread = Thread.currentThread();
    slot.work = work;
    slot.resume = role;
    to.slots.add(slot);
    try {
      CallContext context =
          new CallContext(
              pipeline,
              to.def.name(),
              stageLoggers.apply(to.def.name()),
              clock,
              policies.references());
      processBatchStage(to, slot, context, work);
    } finally {
      to.slots.remove(slot);
    }
  }

  /**
   * What the thread calling the sink does besides: claim records, or work at the last stage. If its
   * sink call hangs and is abandoned, the replacement takes that role over.
   */
  private Runnable callerRole(Thread caller) {
    if (caller == claimer) {
      return this::startClaimer;
    }
    RunStage last = stages[stages.length - 1];
    return () -> {
      last.slots.removeIf(s -> s.thread == caller);
      startWorker(last, null);
    };
  }

  /**
   * Replaces a thread whose sink call hung past its timeout and ignored the interrupt: a new thread
   * finishes the batch (the hung call's records go to the dead letter queue, the rest to the sink)
   * and then takes over the hung thread's role.
   */
  private void replaceSinkCaller(RunStage to, WorkerSlot hung, @Nullable BatchWork work) {
    Runnable role = Objects.requireNonNull(hung.resume);
    Thread replacement =
        Thread.ofVirtual()
            .name(pipeline + "-sink-" + to.workerNames.incrementAndGet())
            .unstarted(
                () -> {
                  try {
                    if (work != null) {
                      callSink(to, work, role);
                      delivered(work, false);
                    }
                  } catch (WorkerSlot.Abandoned e) {
                    return; // hung too: its own replacement goes on
                  } catch (InterruptedException e) {
                    // cancelled: the role still ends as a cancelled run's threads do
                  } catch (Throwable error) {
                    fail(error);
                  } finally {
                    threads.remove(Thread.currentThread());
                  }
                  role.run();
                });
    threads.add(replacement);
    replacement.start();
  }

  /**
   * Ends the records of a batch the sink was handed: at once on a store that is not durable; on a
   * durable one, with the next batch's delivery note (or when the claimer writes what waits).
   * Records the sink's circuit held, or whose retry waits long, go to the store's retry queue.
   */
  private void delivered(BatchWork work, boolean mayFlush) {
    String last = stages[stages.length - 1].def.name().value();
    Instant now = clock.now();
    List<Completion> completions = new ArrayList<>(work.batch.size());
    for (Envelope<Object> e : work.outputs) {
      List<ErrorInfo> errors = takeErrors(e.id());
      completions.add(
          new Completion(
              e.id(),
              RecordStatus.PUBLISHED,
              last,
              null,
              null,
              errors,
              attemptsAt(last, errors),
              now));
    }
    completions.addAll(withPassedErrors(work.completions));
    // first what the sink took: a write to the retry queue that fails (a cancelled run's
    // interrupt, the store) must not lose their ending
    write(null, completions, mayFlush);
    if (!work.parked.isEmpty()) {
      Set<String> fenced = store.scheduleRetries(pipeline, work.parked, clock.now());
      parked.add(work.parked.size() - fenced.size());
      takenOver.add(fenced.size());
    }
  }

  private static List<Completion> completionsOf(List<Ended> ended) {
    List<Completion> all = new ArrayList<>(ended.size());
    for (Ended e : ended) {
      all.add(e.completion());
    }
    return all;
  }

  /** Attempts at a stage a record passed: one per error it met there, and the one that passed. */
  private static int attemptsAt(String stage, List<ErrorInfo> errors) {
    int attempts = 1;
    for (ErrorInfo error : errors) {
      if (error.stage().equals(stage)) {
        attempts += ErrorText.count(error);
      }
    }
    return attempts;
  }

  // ---------------------------------------------------------------- timeouts

  private void watchTimeouts() {
    long shortest = Long.MAX_VALUE;
    for (RunStage stage : timed()) {
      Duration t = stage.def.options().timeout();
      if (t != null) {
        shortest = Math.min(shortest, saturatedNanos(t));
      }
    }
    // stages whose check failed, each logged once: the others' timeouts are still enforced
    Set<RunStage> failing = new HashSet<>();
    // poll often enough to catch an overdue call within a quarter of the shortest timeout
    long period =
        Math.max(
            TimeUnit.MILLISECONDS.toNanos(1),
            Math.min(shortest / 4, TimeUnit.MILLISECONDS.toNanos(50)));
    try {
      List<RunStage> watched = timed();
      while (!status.get().isDone()) {
        long now = clock.nanoTime();
        for (RunStage stage : watched) {
          Duration timeout = stage.def.options().timeout();
          if (timeout != null) {
            try {
              checkTimeouts(stage, saturatedNanos(timeout), now);
            } catch (Throwable e) {
              if (failing.add(stage)) {
                LOG.error(
                    "pipeline '{}': the timeout check of stage '{}' failed; the other stages'"
                        + " timeouts are still enforced",
                    pipeline,
                    stage.def.name(),
                    e);
              }
            }
          }
        }
        TimeUnit.NANOSECONDS.sleep(period);
      }
    } catch (InterruptedException e) {
      // the run ended
    } finally {
      threads.remove(Thread.currentThread());
    }
  }

  private void checkTimeouts(RunStage stage, long timeout, long now) {
    long grace = Math.max(timeout, TimeUnit.SECONDS.toNanos(1));
    for (WorkerSlot slot : stage.slots) {
      long state = slot.state.get();
      if (state > 0 && now - slot.startedAt > timeout) {
        if (slot.state.compareAndSet(state, -state)) {
          slot.timedOutAt = now;
          Thread worker = slot.thread;
          if (worker != null) {
            worker.interrupt();
          }
          slot.interruptedCall = state;
        }
      } else if (state < 0 && state != WorkerSlot.ABANDONED && now - slot.timedOutAt > grace) {
        if (slot.state.compareAndSet(state, WorkerSlot.ABANDONED)) {
          BatchWork work = slot.work;
          stage.slots.remove(slot);
          threads.remove(slot.thread);
          LOG.error(
              "pipeline '{}': stage '{}' ignored the interrupt {}ms after its timeout; abandoning its thread"
                  + " and starting a replacement worker",
              pipeline,
              stage.def.name(),
              TimeUnit.NANOSECONDS.toMillis(now - slot.timedOutAt));
          if (work != null) {
            work.abandoned = true;
          }
          if (stage == sinkStage) {
            replaceSinkCaller(stage, slot, work);
          } else {
            startWorker(stage, work);
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- lifecycle

  private void fail(Throwable error) {
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

  private void finish() {
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
          writeEnded(true);
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
    status.set(end);
    long readCount = read.sum();
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
            metrics());
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
    if (done.await(saturatedNanos(timeout), TimeUnit.NANOSECONDS)) {
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
        read.sum(),
        resumed.sum(),
        duplicates.sum(),
        published.sum(),
        filtered.sum(),
        deadLettered.sum(),
        perStage,
        sourceErrors,
        Objects.requireNonNullElse(waiting, ""));
  }

  PipelineMetrics metrics() {
    List<StageMetrics> snapshots = new ArrayList<>(stages.length);
    for (RunStage stage : stages) {
      snapshots.add(stage.snapshot());
    }
    long dups = duplicates.sum();
    return new PipelineMetrics(
        pipeline,
        clock.now(),
        snapshots,
        read.sum() - dups - heldUnfinished.sum(),
        dups,
        published.sum(),
        filtered.sum(),
        deadLettered.sum(),
        policies.references().snapshot());
  }

  /** A stage during this run: its queue, workers and metrics. */
  private static final class RunStage {
    final StageDefinition def;
    final int index;
    final @Nullable AdaptiveBatchSize adaptive;
    final RecordQueue queue;
    final @Nullable RunStage next;
    final @Nullable Sink<Object> sink; // set on the sink's pseudo-stage only
    final StageRecorder recorder;
    final AtomicInteger liveWorkers;
    final AtomicInteger workerNames = new AtomicInteger();
    final List<WorkerSlot> slots = new CopyOnWriteArrayList<>();
    private final ReentrantLock latencyLock = new ReentrantLock();
    // guarded by latencyLock
    private final LatencyHistogram latency = new LatencyHistogram();

    RunStage(
        StageDefinition def,
        RecordQueue queue,
        @Nullable RunStage next,
        int index,
        @Nullable Sink<Object> sink) {
      this.def = def;
      this.sink = sink;
      this.index = index;
      this.adaptive =
          def.options().adaptiveBatchSize()
              ? new AdaptiveBatchSize(
                  def.options().minBatchSize(),
                  def.options().maxBatchSize(),
                  def.options().batchSize())
              : null;
      this.queue = queue;
      this.next = next;
      this.liveWorkers = new AtomicInteger(def.options().concurrency());
      StageOptions options = def.options();
      AdaptiveBatchSize sizes = adaptive;
      this.recorder =
          new StageRecorder(
              def.name().value(),
              options.concurrency(),
              queue::size,
              this::copyLatency,
              new StageRecorder.Live() {
                @Override
                public CircuitBreaker.@Nullable State circuit() {
                  CircuitBreaker breaker = options.circuitBreaker();
                  return breaker == CircuitBreaker.disabled() ? null : breaker.state();
                }

                @Override
                public double ratePerSecond() {
                  return options.rateLimit().ratePerSecond();
                }

                @Override
                public int batchSize() {
                  return sizes == null ? options.batchSize() : sizes.size();
                }
              });
    }

    void recordLatencies(long[] values, int count) {
      latencyLock.lock();
      try {
        for (int i = 0; i < count; i++) {
          latency.recordValue(values[i]);
        }
      } finally {
        latencyLock.unlock();
      }
    }

    LatencyHistogram copyLatency() {
      latencyLock.lock();
      try {
        return latency.copy();
      } finally {
        latencyLock.unlock();
      }
    }

    StageMetrics snapshot() {
      return recorder.snapshot();
    }
  }
}
