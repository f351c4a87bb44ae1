package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.PipelineException;
import dev.pipeline.SeekableSource;
import dev.pipeline.Source;
import dev.pipeline.StageContext;
import dev.pipeline.internal.EngineMetadata;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.resilience.TokenBucket;
import dev.pipeline.store.StorableText;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.SourceSpan;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a run's sources, each on a thread of its own: batches their records (larger ones for a
 * durable store while the first stage is busy), ingests them into the store, and puts what is new
 * on the first stage's queue.
 */
final class SourceReader {
  private static final ApiAccess API = ApiAccess.api();

  private static final Logger LOG = LoggerFactory.getLogger(Run.class);

  private final Run run;

  SourceReader(Run run) {
    this.run = run;
  }

  final LongAdder read = new LongAdder();

  void read(Source<Object> source) {
    int size = run.stages[0].def.options().batchSize();
    // a durable store keeps a seekable source's position with what it ingested from it
    SeekableSource<Object> seekable =
        run.store.isDurable() && source instanceof SeekableSource<Object> s ? s : null;
    // a durable store pays per write, not per record: while the first stage has work waiting, it
    // gets larger batches, as large as the first stage's queue holds (its memory bound)
    Batcher batcher =
        new Batcher(
            size,
            run.store.isDurable()
                ? Math.max(size, Math.min(Run.DURABLE_INGEST_BATCH, run.stages[0].queue.capacity()))
                : size,
            seekable == null ? null : source.id(),
            seekable != null && seekable.reopens());
    Thread ingesting =
        Thread.ofVirtual()
            .name(run.pipeline + "-source-" + ErrorText.loggable(source.id()) + "-ingest")
            .unstarted(batcher::ingestLoop);
    run.threads.add(ingesting);
    ingesting.start();
    TokenBucket limit = run.policies.sourceLimits().get(source.id());
    long yielded = 0;
    // only what the source's next() throws is the source failing; what ingesting its records
    // throws is the store failing, which fails the run
    Throwable sourceError = null;
    try {
      if (seekable != null) {
        sourceError = resume(seekable);
        if (sourceError == null && seekable.reopens()) {
          batcher.startAt(checkedPosition(seekable));
        }
      }
      while (!run.stopReading && sourceError == null) {
        Envelope<Object> next;
        String position = null;
        try {
          next = source.next();
          if (next != null && seekable != null) {
            position = checkedPosition(seekable);
          }
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
        Envelope<Object> record = fromSource(next, source.id());
        if (position != null && run.lineage != null) {
          record = record.withMetadata(Envelope.SOURCE_POSITION, position); // for its lineage
        }
        batcher.add(record, position);
      }
      if (sourceError != null && !run.cancelled) {
        String line =
            ErrorText.escape(
                "source '"
                    + ErrorText.loggable(source.id())
                    + "' failed after yielding "
                    + yielded
                    + " records, and was not read to its end: "
                    + run.errorText.describe(sourceError));
        run.sourceErrors.add(line);
        LOG.error(
            "pipeline '{}': {}; its other sources go on\n{}",
            run.pipeline,
            line,
            run.errorText.stackTrace(sourceError));
      }
      if (sourceError == null || !run.cancelled) {
        batcher.end();
        if (seekable != null && sourceError == null && !run.stopReading) {
          // read to its end: a later run reads it from the start (what it stored is skipped)
          run.store.keepSourcePosition(run.pipeline, source.id(), null);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // cancelled
    } catch (Throwable storeFailure) {
      run.fail(storeFailure); // ingesting the source's records failed: the store, not the source
    } finally {
      batcher.stop();
      try {
        source.close();
      } catch (Exception e) {
        LOG.warn(
            "pipeline '{}': could not close source '{}': {}",
            run.pipeline,
            ErrorText.loggable(source.id()),
            run.errorText.stackTrace(e));
      }
      int live = run.liveReaders.decrementAndGet();
      if (live >= 0) {
        run.stages[0].queue.producerDone();
      }
      if (live == 0) {
        // the records that ended while a reader was live woke no one: the claimer looks now
        run.wakeClaimer();
      }
      run.threads.remove(Thread.currentThread());
    }
  }

  /**
   * The record as the engine takes it from its source: with the source's id in its metadata, unless
   * it names its source itself. A source's records are roots, so one that carries a key the engine
   * alone writes ({@link EngineMetadata}: a forged parent would place it in a merge group that is
   * not its own, a forged fencing token would reach the sink) loses those keys and is marked {@link
   * Envelope#SOURCE_ERROR} saying which: it goes to the dead letter queue at ingestion, and sent
   * back it is a record of its own.
   */
  static Envelope<Object> fromSource(Envelope<Object> record, String sourceId) {
    List<String> forged = EngineMetadata.keysIn(record.metadata());
    if (!forged.isEmpty()) {
      StringBuilder why =
          new StringBuilder(FORGED).append(ErrorText.loggable(sourceId)).append("' gave it ");
      for (String key : forged) {
        why.append(EngineMetadata.shown(key, record.metadata())).append(", ");
        record = API.withoutMetadata(record, key);
      }
      why.append(
          "which the engine alone writes (they place a split's children in their merge groups and"
              + " tell the sink of a hand-over); the record is kept without them: have the source"
              + " use keys of its own, then reprocess it");
      String earlier = record.metadata().get(Envelope.SOURCE_ERROR);
      record =
          record.withMetadata(
              Envelope.SOURCE_ERROR, earlier == null ? why.toString() : earlier + "; " + why);
    }
    Map<String, String> bounded = EngineMetadata.withinBounds(record.metadata());
    if (bounded != null) {
      // one copy, whatever the number of entries left out
      int dropped = record.metadata().size() - bounded.size();
      record = API.withAllMetadata(Envelope.of(record.id(), record.payload()), bounded);
      String why =
          FORGED
              + ErrorText.loggable(sourceId)
              + "' gave it "
              + dropped
              + " metadata entries out of bounds (a key of 1 to "
              + StageContext.MAX_METADATA_KEY_CHARS
              + " characters, a value of at most "
              + StageContext.MAX_METADATA_VALUE_CHARS
              + ", at most "
              + StageContext.MAX_METADATA_ENTRIES
              + " entries); the record is kept without them: have the source keep large data in"
              + " the payload, then reprocess it";
      String earlier = record.metadata().get(Envelope.SOURCE_ERROR);
      record =
          record.withMetadata(Envelope.SOURCE_ERROR, earlier == null ? why : earlier + "; " + why);
    }
    return record.sourceId() == null ? record.withMetadata(Envelope.SOURCE_ID, sourceId) : record;
  }

  /** How a {@link Envelope#SOURCE_ERROR} that {@link #fromSource} set begins. */
  private static final String FORGED = "its source '";

  /**
   * The source's position, checked before the store is asked to keep it: a position no store can
   * keep (too long, NUL, a lone surrogate) is the source failing, not the store.
   */
  private static String checkedPosition(SeekableSource<Object> source) {
    String position =
        Objects.requireNonNull(
            source.position(),
            () -> "source '" + ErrorText.loggable(source.id()) + "' gave a null position");
    // a store keeps a position as it keeps a record id: SeekableSource.MAX_POSITION_CHARS is
    // StorableText.MAX_ID_LENGTH
    String problem = StorableText.idProblem(position);
    if (problem != null) {
      throw new IllegalStateException(
          "source '" + ErrorText.loggable(source.id()) + "' gave a position that " + problem);
    }
    return position;
  }

  /**
   * Seeks a seekable source to where an earlier run stopped reading it, if the store kept a
   * position; returns the error that makes the source unreadable, or null.
   */
  private @Nullable Throwable resume(SeekableSource<Object> source) throws InterruptedException {
    Optional<String> position = run.store.sourcePosition(run.pipeline, source.id());
    if (position.isEmpty()) {
      return null;
    }
    try {
      source.seek(position.get());
    } catch (InterruptedException e) {
      throw e;
    } catch (Throwable error) {
      return new PipelineException(
          "source '"
              + ErrorText.loggable(source.id())
              + "' cannot resume at the position an earlier run kept ("
              + ErrorText.loggable(position.get())
              + "): "
              + run.errorText.describe(error)
              + "; to read it from its start, forget the position with"
              + " store.keepSourcePosition(pipeline, sourceId, null)",
          error);
    }
    LOG.info(
        "pipeline '{}': source '{}' resumes where an earlier run stopped reading it ({})",
        run.pipeline,
        ErrorText.loggable(source.id()),
        ErrorText.loggable(position.get()));
    return null;
  }

  /**
   * The records a source's reader has read and not ingested yet, and the thread that ingests them:
   * the reader only adds records (waiting while a largest batch is already buffered), so it goes on
   * reading while the store writes, and each ingest takes everything buffered since the last one. A
   * slow store thus gets larger batches rather than a waiting reader (a durable store's cost is per
   * write, not per record). The ingesting thread ingests a whole batch once the first stage has
   * less than a batch waiting (or a largest batch is buffered), and a partial one once its first
   * record has waited the pipeline's source linger, since the reader may be blocked in the source's
   * {@code next()} for as long as the source likes. The first ingest takes one batch at most, at
   * once: the source's first records should not wait for a largest batch's write (on PostgreSQL
   * about 16 ms for 1,024 records on a warm connection), nor, when the claimer has filled the first
   * stage with an earlier run's records, for that backlog to drain. The reader's cost per record is
   * one uncontended lock.
   */
  private final class Batcher {
    private final int size;
    private final int largest;
    // the most the reader buffers: a batch until the first ingest, so that the run's first records
    // reach the first stage after one batch's write, not after a largest one's; then largest
    private int cap; // guarded by lock
    private final long lingerNanos = run.policies.sourceLinger().toNanos();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition filled = lock.newCondition(); // for the ingesting thread
    private final Condition drained = lock.newCondition(); // for the reader
    // held by the ingesting thread while it ingests, taken before it lets go of lock: stop() waits
    // on it for an ingest under way, so that none follows stop()
    private final ReentrantLock ingesting = new ReentrantLock();
    // guarded by lock; ingests happen one at a time, in the order read
    private List<Envelope<Object>> buffer;
    private long firstAt; // clock nanos when the buffer's first record came
    private boolean unreadable; // the buffer holds a record marked SOURCE_ERROR
    private boolean busy; // an ingest is under way
    private boolean now; // ingest what is buffered without waiting for more
    private boolean ended; // the source ended: ingest everything, then stop
    private boolean stopped;
    private @Nullable Throwable failed; // an ingest failed (the run fails with it)
    // a seekable source's id on a durable store, and its position after the buffer's last record
    private final @Nullable String positioned;
    private @Nullable String positionAfter;
    // a source the store may keep spans of: the position before the buffer's first record, and
    // the position after the last record read
    private final boolean spanned;
    private @Nullable String spanStart;
    private @Nullable String lastPosition;

    /**
     * @param size the records that make a batch, ingested at once while the first stage has less
     *     than a batch waiting
     * @param largest the records that make a batch while it has more, and the most the reader
     *     buffers while an ingest is under way
     * @param positioned the id of the source, if the store keeps its positions
     * @param spanned whether the store may keep the source's batches as spans ({@link SourceSpan})
     */
    Batcher(int size, int largest, @Nullable String positioned, boolean spanned) {
      this.size = size;
      this.largest = largest;
      this.cap = size;
      this.positioned = positioned;
      this.spanned = spanned;
      this.buffer = new ArrayList<>(size);
    }

    /** The source's position before the first record read: where the first span starts. */
    void startAt(String position) {
      lock.lock();
      try {
        lastPosition = position;
      } finally {
        lock.unlock();
      }
    }

    /**
     * Adds a record read, with the source's position after it if the store keeps it; waits while a
     * largest batch waits for its ingest.
     */
    void add(Envelope<Object> record, @Nullable String position) throws InterruptedException {
      lock.lock();
      try {
        while (buffer.size() >= cap && failed == null && !stopped) {
          drained.await();
        }
        checkIngesting();
        if (buffer.isEmpty()) {
          firstAt = run.clock.nanoTime();
          spanStart = lastPosition;
          filled.signal();
        }
        lastPosition = position;
        buffer.add(record);
        positionAfter = position;
        unreadable |= record.metadata().containsKey(Envelope.SOURCE_ERROR);
        int buffered = buffer.size();
        if (buffered == size || buffered >= cap) {
          filled.signal();
        }
      } finally {
        lock.unlock();
      }
    }

    /** Has what is buffered ingested without waiting for more records. */
    void flush() {
      lock.lock();
      try {
        now = true;
        filled.signal();
      } finally {
        lock.unlock();
      }
    }

    /** Ingests what is left, and waits for it: the source ended. */
    void end() throws InterruptedException {
      lock.lock();
      try {
        ended = true;
        filled.signal();
        while ((busy || !buffer.isEmpty()) && failed == null && !stopped) {
          drained.await();
        }
        if (busy || !buffer.isEmpty() || failed != null) {
          checkIngesting();
        }
      } finally {
        lock.unlock();
      }
    }

    /** Ends the ingesting thread; nothing is ingested after this returns. */
    void stop() {
      lock.lock();
      try {
        stopped = true;
        filled.signal();
        drained.signalAll();
      } finally {
        lock.unlock();
      }
      ingesting.lock(); // an ingest under way ends first
      ingesting.unlock();
    }

    /**
     * Throws if an ingest failed (the run fails with that failure, so the reader stops), or if the
     * ingesting thread was stopped (the run was cancelled: what is buffered is not ingested).
     */
    private void checkIngesting() throws InterruptedException {
      if (failed != null) {
        throw new IllegalStateException("ingesting the source's records failed", failed);
      }
      if (stopped) {
        throw new InterruptedException("the run stopped ingesting");
      }
    }

    /** The ingesting thread: takes what is buffered, when it should go, and ingests it. */
    void ingestLoop() {
      lock.lock();
      try {
        while (!stopped) {
          int buffered = buffer.size();
          if (buffered == 0) {
            if (ended) {
              return;
            }
            filled.await();
            continue;
          }
          // before the first ingest the buffer holds one batch at most (cap): nothing to wait for
          if (!now && !ended && buffered < cap) {
            if (buffered >= size) {
              // a whole batch held for a larger one while the first stage has work: it goes as
              // soon as the stage runs short (looked at each millisecond, the reader may be
              // blocked in its source meanwhile)
              if (run.stages[0].queue.size() >= size) {
                filled.awaitNanos(Run.BULK_POLL_NANOS);
                continue;
              }
            } else {
              // measured on the pipeline's clock, waited for in real time: a test clock that does
              // not move holds the batch until the test moves it
              long wait = firstAt + lingerNanos - run.clock.nanoTime();
              if (wait > 0) {
                filled.awaitNanos(Math.min(wait, lingerNanos));
                continue;
              }
            }
          }
          ingestBuffered();
        }
      } catch (InterruptedException e) {
        // cancelled
      } catch (Throwable error) {
        failed = error;
        run.fail(error);
      } finally {
        stopped = true;
        drained.signalAll();
        lock.unlock();
        run.threads.remove(Thread.currentThread());
      }
    }

    /** Takes the buffer and ingests it, letting the reader add to the next one meanwhile. */
    private void ingestBuffered() throws InterruptedException {
      List<Envelope<Object>> taken = buffer;
      boolean marked = unreadable;
      SourceSpan span =
          spanned && positioned != null && spanStart != null && lastPosition != null
              ? new SourceSpan(positioned, spanStart, taken.size(), lastPosition)
              : null;
      String after = positionAfter;
      buffer = new ArrayList<>(Math.min(2 * taken.size(), largest));
      cap = largest;
      unreadable = false;
      now = false;
      busy = true;
      drained.signalAll();
      ingesting.lock();
      lock.unlock();
      try {
        ingest(taken, marked, span);
        if (positioned != null && after != null) {
          // after the records are stored: a crash in between reads them again, as duplicates
          run.store.keepSourcePosition(run.pipeline, positioned, after);
        }
      } finally {
        ingesting.unlock();
        lock.lock();
        busy = false;
        drained.signalAll();
      }
    }
  }

  /**
   * Ingests a batch read; {@code span} says where it was read, if the store may keep that instead
   * of its payloads (only for a batch ingested whole, in the order read).
   */
  private void ingest(List<Envelope<Object>> buffer, boolean unreadable, @Nullable SourceSpan span)
      throws InterruptedException {
    if (buffer.isEmpty()) {
      return;
    }
    read.add(buffer.size());
    String first = run.stages[0].def.name().value();
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
    // a batch with a repeated id is still its span: the store keeps the first occurrence at its
    // place and skips the later ones
    Set<String> known =
        span != null && !unreadable && unfit.isEmpty()
            ? run.store.ingest(run.pipeline, buffer, first, run.clock.now(), span)
            : run.store.ingest(run.pipeline, unique, first, run.clock.now());
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
      int resuming = run.store.unfinished(run.pipeline, known).size();
      run.heldUnfinished.add(resuming);
      rejected -= resuming;
    }
    if (rejected > 0) {
      run.duplicates.add(rejected);
      LOG.debug("pipeline '{}': {} duplicate records skipped at ingestion", run.pipeline, rejected);
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
      run.endings.write(null, dead, true);
    }
    if (unreadable) {
      unique = deadLetterUnreadable(unique);
    }
    run.stages[0].queue.put(unique);
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
      Envelope<Object> kept = API.withId(e, id).withMetadata(StorableText.ORIGINAL_ID, e.id());
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
          id,
          run.worker.deadLetter(
              kept, first, List.of(run.errorText.info(first, error, 1, run.clock.now())), 0));
    }
    return out;
  }

  /**
   * Sends the records their source could not read whole (marked {@link Envelope#SOURCE_ERROR}) to
   * the dead letter queue at the first stage, and returns the others.
   */
  private List<Envelope<Object>> deadLetterUnreadable(List<Envelope<Object>> records) {
    String first = run.stages[0].def.name().value();
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
                  + StorableText.escape(record.id(), 200)
                  + (why.startsWith(FORGED)
                      ? "' went to the dead letter queue without entering a stage: "
                      : "' could not be read whole by its source and went to the dead letter queue"
                          + " without entering a stage: ")
                  + why);
      unreadable.add(
          run.worker.deadLetter(
              record, first, List.of(run.errorText.info(first, error, 0, run.clock.now())), 0));
    }
    // no stage counts them: none of them entered a stage
    run.endings.write(null, unreadable, true);
    return readable;
  }
}
