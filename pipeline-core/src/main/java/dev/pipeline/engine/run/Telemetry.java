package dev.pipeline.engine.run;

import dev.pipeline.Alert;
import dev.pipeline.AlertListener;
import dev.pipeline.PipelineClock;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.store.AuditEntry;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.spi.RecordLedger;
import dev.pipeline.store.spi.ScheduledRetry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * A pipeline's audit trail, metrics history and record lineage on their way to the store: bounded
 * buffers that stages and the engine add to without ever waiting, drained by one background
 * platform thread in bulk writes ({@link RecordLedger#appendAudit}, {@link
 * RecordLedger#appendMetrics}, {@link RecordLedger#appendLineage}: the one bulk-append path for
 * per-record facts). What does not fit is dropped, counted, logged and alerted on ({@link
 * Alert.Kind#AUDIT_DROPPED}); a failed write drops its lines the same way, and never fails a run.
 * Lineage events are held by record until the record ends ({@link LineageHold}), so that a record's
 * events reach the store together.
 *
 * <p>The writer also asks the current run to take its metrics window when one is due, so windows
 * are taken while the stages are idle too. Thread-safe.
 */
public final class Telemetry {
  private static final Logger LOG = LoggerFactory.getLogger(Telemetry.class);

  /** Lines written to the store at once, at most. */
  static final int WRITE_BATCH = 1_000;

  // how often the writer looks for work while lineage is kept (its hold counts these polls), in
  // real time: it paces I/O, it does not stamp anything
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  // how long the writer waits otherwise, at most: audit lines reach the store within it (at once
  // when a quarter of the buffer waits) and each write carries a second's lines; a metrics window
  // due sooner wakes it then. One wake-up a second instead of ten, where the writer costs CPU
  // per wake-up whatever it writes
  private static final long QUIET_POLL_NANOS = TimeUnit.SECONDS.toNanos(1);

  // real time with nothing to do after which the writer ends
  private static final long IDLE_NANOS = TimeUnit.SECONDS.toNanos(5);

  // windows waiting (a few per stage per window): dropped and counted like lines if ever full
  private static final int WINDOW_BUFFER = 4_096;

  // batches of lineage events waiting; their events are dropped and counted if ever full
  static final int LINEAGE_BUFFER = 8_192;

  /** Lineage events written to the store at once, at most (a batch's are never split). */
  static final int LINEAGE_WRITE = 5_000;

  private final String pipeline;
  private final RecordLedger store;
  private final PipelineClock clock;
  private final AlertListener alerts;
  private final boolean auditing;
  private final int capacity;
  private final ArrayBlockingQueue<AuditEntry> lines;
  private final ArrayBlockingQueue<StageWindow> windows = new ArrayBlockingQueue<>(WINDOW_BUFFER);
  // lineage events, one list per batch handed on (see LineageRecorder)
  private final ArrayBlockingQueue<LineageBatch> lineage = new ArrayBlockingQueue<>(LINEAGE_BUFFER);
  // lineage events taken from the queue, held by record until it ends (guarded by writeLock)
  private final LineageHold held = new LineageHold();
  private final AtomicLong polls = new AtomicLong(); // the writer's: the age of held lineage
  private final LongAdder dropped = new LongAdder();
  private final LongAdder written = new LongAdder();
  private final ReentrantLock writeLock = new ReentrantLock();
  // guards starting and stopping the writer (never held while writing: a stage may take it)
  private final ReentrantLock startLock = new ReentrantLock();
  private long droppedSaid; // guarded by writeLock
  private volatile @Nullable Thread writer;
  // what the writer waits on between polls (a burst, a close)
  private final Wakeup wakeup = new Wakeup();
  private volatile boolean closed;
  private volatile @Nullable MetricsHistory current;

  public Telemetry(
      String pipeline,
      RecordLedger store,
      PipelineClock clock,
      AlertListener alerts,
      boolean auditing,
      int capacity) {
    this.pipeline = pipeline;
    this.store = store;
    this.clock = clock;
    this.alerts = alerts;
    this.auditing = auditing;
    this.capacity = capacity;
    this.lines = new ArrayBlockingQueue<>(Math.max(1, capacity));
  }

  /** Whether the pipeline keeps an audit trail. */
  public boolean auditing() {
    return auditing;
  }

  /** Adds a line to the audit trail without waiting; drops and counts it if the buffer is full. */
  void audit(AuditEntry line) {
    if (!auditing) {
      return;
    }
    if (!lines.offer(line)) {
      dropped.increment();
    }
    startWriter();
    if (lines.size() > capacity / 4) {
      wakeup.wake(); // a burst of lines does not wait for the next poll
    }
  }

  /** An engine decision about a record (or a stage, with a null record id). */
  public void decision(
      @Nullable String stage,
      @Nullable String recordId,
      Level level,
      String event,
      String message,
      Map<String, String> metadata) {
    if (auditing) {
      audit(
          new AuditEntry(
              0, clock.now(), pipeline, stage, recordId, level, event, message, metadata));
    }
  }

  /** Tells the audit trail of records parked in the retry queue at a stage (or the sink). */
  void parked(RunStage stage, List<ScheduledRetry> retries) {
    if (!auditing || Level.INFO.toInt() < stage.def.options().auditLevel().toInt()) {
      return;
    }
    for (ScheduledRetry r : retries) {
      ErrorInfo last = r.errors().isEmpty() ? null : r.errors().get(r.errors().size() - 1);
      Map<String, String> facts = new LinkedHashMap<>();
      facts.put("delay", r.delay().toString());
      facts.put("attempts", Integer.toString(r.attempts()));
      if (last != null) {
        facts.put("errorType", last.errorType());
      }
      decision(
          r.stage(),
          r.record().id(),
          Level.INFO,
          "parked",
          "parked in the retry queue for "
              + r.delay()
              + " after "
              + r.attempts()
              + (r.attempts() == 1 ? " attempt" : " attempts")
              + (last == null
                  ? " (held while the circuit is open)"
                  : " (" + last.errorType() + ")"),
          facts);
    }
  }

  /** Adds the windows of a metrics snapshot without waiting. */
  void windows(List<StageWindow> taken) {
    for (StageWindow w : taken) {
      if (!windows.offer(w)) {
        dropped.increment();
      }
    }
    startWriter();
  }

  /** Adds a batch's lineage events without waiting; drops and counts them if the buffer is full. */
  void lineage(LineageBatch events) {
    if (!lineage.offer(events)) {
      dropped.add(events.events().size());
    }
    startWriter();
    if (lineage.size() > LINEAGE_BUFFER / 4) {
      wakeup.wake(); // a busy pipeline's lineage does not wait for the next poll
    }
  }

  /** The run whose windows the writer takes when due, or null. */
  void follow(@Nullable MetricsHistory history) {
    current = history;
    if (history != null) {
      startWriter();
    }
  }

  /** Lines and windows dropped so far (buffer full, or a failed write). */
  long dropped() {
    return dropped.sum();
  }

  /** Lines written to the store so far. */
  long written() {
    return written.sum();
  }

  private void startWriter() {
    if (writer != null || closed) {
      return;
    }
    startLock.lock();
    try {
      if (writer == null && !closed) {
        // a platform thread: a virtual one waits for a carrier behind CPU-bound stages, and lines
        // pile up meanwhile
        // the wakes it has seen are those before it was made: a burst's wake right after this,
        // before the thread first runs, still ends its first wait
        long seen = wakeup.seen();
        Thread t =
            Thread.ofPlatform()
                .daemon()
                .name(pipeline + "-telemetry")
                .unstarted(() -> writeLoop(seen));
        writer = t;
        t.start();
      }
    } finally {
      startLock.unlock();
    }
  }

  private void writeLoop(long seenAtStart) {
    long idleSince = System.nanoTime();
    boolean keepsLineage = false;
    long seen = seenAtStart;
    while (!closed) {
      try {
        wakeup.await(seen, keepsLineage ? POLL_NANOS : quietPoll());
      } catch (InterruptedException e) {
        // taken as a wake: this thread is the telemetry's own, ended by close() or when idle
      }
      seen = wakeup.seen(); // before the flush: a burst during its store calls is not missed
      MetricsHistory history = current;
      if (history != null) {
        history.takeIfDue();
      }
      boolean work = !lines.isEmpty() || !windows.isEmpty() || !lineage.isEmpty();
      polls.incrementAndGet();
      keepsLineage = flush(false);
      long now = System.nanoTime();
      if (work || history != null) {
        idleSince = now;
      } else if (now - idleSince >= IDLE_NANOS && stopIfIdle()) {
        return; // a pipeline left unclosed does not keep a thread polling forever
      }
    }
  }

  /** How long the writer waits when no lineage is held: a second, or until a window is due. */
  private long quietPoll() {
    MetricsHistory history = current;
    long due = history == null ? QUIET_POLL_NANOS : history.nanosUntilDue();
    return Math.clamp(due, POLL_NANOS, QUIET_POLL_NANOS);
  }

  /** Lets the writer end when nothing waits and no run is followed; the next line restarts it. */
  private boolean stopIfIdle() {
    startLock.lock();
    try {
      if (current != null || !lines.isEmpty() || !windows.isEmpty() || !lineage.isEmpty()) {
        return false;
      }
      if (!writeLock.tryLock()) {
        return false;
      }
      try {
        if (!held.isEmpty()) {
          return false; // an idle poll writes held lineage: the next one ends the writer
        }
      } finally {
        writeLock.unlock();
      }
      writer = null;
      return true;
    } finally {
      startLock.unlock();
    }
  }

  /**
   * Writes what waits, in the calling thread (the lineage of records still going on only once held
   * long enough: see {@link LineageHold}); what the store refuses is dropped and counted.
   */
  public void flush() {
    flush(false);
  }

  /**
   * Writes what waits and all lineage held, in the calling thread: at the end of a run, when
   * closed, and before a read of a record's lineage, which then sees every event handed on before
   * it, of records still going on too, without waiting for the writer's next poll (up to a second
   * once the pipeline was idle). A write the writer has under way is waited for on its lock: what
   * it drained is in the store once the lock is had.
   */
  public void flushAll() {
    flush(true);
  }

  /**
   * Whether lineage is held or waits after the flush (the writer then polls as often as before).
   */
  private boolean flush(boolean all) {
    writeLock.lock();
    try {
      List<AuditEntry> batch = new ArrayList<>(Math.min(WRITE_BATCH, capacity));
      while (lines.drainTo(batch, WRITE_BATCH) > 0) {
        write(batch, true);
        batch.clear();
      }
      List<StageWindow> taken = new ArrayList<>();
      while (windows.drainTo(taken, WRITE_BATCH) > 0) {
        write(taken, false);
        taken.clear();
      }
      long poll = polls.get();
      List<LineageBatch> batches = new ArrayList<>();
      while (lineage.drainTo(batches, LINEAGE_BUFFER) > 0) {
        for (LineageBatch one : batches) {
          held.add(one, poll);
        }
        batches.clear();
      }
      writeLineage(held.take(poll, all));
      long now = dropped.sum();
      if (now > droppedSaid) {
        sayDropped(now - droppedSaid, now);
        droppedSaid = now;
      }
      return !held.isEmpty() || !lineage.isEmpty();
    } finally {
      writeLock.unlock();
    }
  }

  @SuppressWarnings("unchecked")
  private void write(List<?> batch, boolean audit) {
    try {
      if (audit) {
        store.appendAudit((List<AuditEntry>) batch);
        written.add(batch.size());
      } else {
        store.appendMetrics((List<StageWindow>) batch);
      }
    } catch (RuntimeException e) {
      dropped.add(batch.size());
      LOG.warn(
          "pipeline '{}': the store failed to write {} {}; they are dropped: {}",
          pipeline,
          batch.size(),
          audit ? "audit trail lines" : "metrics windows",
          ErrorText.defaults().describe(e));
    }
  }

  /** Appends the events, at most {@link #LINEAGE_WRITE} a call, never splitting a record's. */
  private void writeLineage(List<LineageEvent> events) {
    int from = 0;
    while (from < events.size()) {
      int to = Math.min(from + LINEAGE_WRITE, events.size());
      int cut = to;
      while (cut > from
          && cut < events.size()
          && events.get(cut).recordId().equals(events.get(cut - 1).recordId())) {
        cut--; // a record's events stay in one append (one row of a JDBC store)
      }
      if (cut > from) {
        to = cut; // else one record's events fill a whole append: they are split
      }
      List<LineageEvent> part = List.copyOf(events.subList(from, to));
      try {
        store.appendLineage(pipeline, part);
      } catch (RuntimeException e) {
        dropped.add(part.size());
        LOG.warn(
            "pipeline '{}': the store failed to write {} lineage events; they are dropped: {}",
            pipeline,
            part.size(),
            ErrorText.defaults().describe(e));
      }
      from = to;
    }
  }

  private void sayDropped(long since, long total) {
    String message =
        "pipeline '"
            + pipeline
            + "': the audit trail, metrics history and lineage dropped "
            + since
            + " lines ("
            + total
            + " since the pipeline was built): the buffer of "
            + capacity
            + " lines was full, or the store failed a write; raise auditBuffer(...) on the"
            + " pipeline's builder, raise the stages' auditLevel(...) or lower their"
            + " auditSampling(...)";
    LOG.warn(message);
    try {
      alerts.onAlert(
          new Alert(Alert.Kind.AUDIT_DROPPED, pipeline, "audit", null, message, clock.now()));
    } catch (RuntimeException e) {
      LOG.warn(
          "pipeline '{}': an alert listener failed on: {}; {}",
          pipeline,
          message,
          ErrorText.defaults().stackTrace(e));
    }
  }

  /**
   * Stops the writer after writing what waits; a later line or window starts it again (a closed
   * pipeline may run again).
   */
  public void close() {
    closed = true;
    Thread t = writer;
    if (t != null) {
      wakeup.wake();
      try {
        t.join(Duration.ofSeconds(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    flushAll();
    startLock.lock();
    try {
      writer = null;
      closed = false;
    } finally {
      startLock.unlock();
    }
  }
}
