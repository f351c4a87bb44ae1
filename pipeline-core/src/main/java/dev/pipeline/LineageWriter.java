package dev.pipeline;

import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.spi.RecordLedger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a run's lineage events to the store off the workers' threads: workers offer a batch's
 * events to a bounded buffer (never waiting), and one background thread drains it, appending the
 * events of many batches in one bulk write. When the store cannot keep up and the buffer is full,
 * the events offered are dropped and counted (lineage never slows or stops a run); a write that
 * fails is logged, counted and dropped likewise. Closing drains what is buffered.
 *
 * <p>Thread-safe.
 */
final class LineageWriter {
  /** Batches of events the buffer holds. */
  static final int BUFFERED_BATCHES = 1_024;

  /** The most events appended in one write. */
  static final int EVENTS_PER_WRITE = 5_000;

  private static final List<LineageEvent> END = List.of();
  private static final Logger LOG = LoggerFactory.getLogger(LineageWriter.class);

  private final String pipeline;
  private final RecordLedger store;
  private final ErrorText errorText;
  private final BlockingQueue<List<LineageEvent>> buffer =
      new ArrayBlockingQueue<>(BUFFERED_BATCHES);
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong written = new AtomicLong();
  private final Thread thread;

  LineageWriter(String pipeline, RecordLedger store, ErrorText errorText) {
    this.pipeline = pipeline;
    this.store = store;
    this.errorText = errorText;
    this.thread =
        Thread.ofPlatform().daemon().name("pipeline-lineage-" + pipeline).unstarted(this::drain);
    thread.start();
  }

  /** Offers a batch's events; drops and counts them if the buffer is full. */
  void offer(List<LineageEvent> events) {
    if (!buffer.offer(events)) {
      dropped.addAndGet(events.size());
    }
  }

  /** Events written so far. */
  long written() {
    return written.get();
  }

  /** Events dropped so far (a full buffer, a failed write). */
  long dropped() {
    return dropped.get();
  }

  /** Writes what is buffered and stops, waiting up to {@code timeout}. */
  void close(Duration timeout) {
    boolean interrupted = Thread.interrupted();
    try {
      while (!buffer.offer(END, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
        if (!thread.isAlive()) {
          break;
        }
      }
      if (!thread.join(timeout)) {
        LOG.warn(
            "pipeline '{}': lineage events still unwritten after {}; they are dropped",
            pipeline,
            timeout);
        thread.interrupt();
      }
    } catch (InterruptedException e) {
      interrupted = true;
      thread.interrupt();
    }
    if (dropped.get() > 0) {
      LOG.warn(
          "pipeline '{}': {} lineage events were dropped (the store could not keep up or failed)",
          pipeline,
          dropped.get());
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private void drain() {
    List<List<LineageEvent>> taken = new ArrayList<>();
    List<LineageEvent> events = new ArrayList<>();
    boolean ending = false;
    while (!ending) {
      try {
        taken.add(buffer.take());
      } catch (InterruptedException e) {
        return;
      }
      buffer.drainTo(taken);
      for (List<LineageEvent> batch : taken) {
        if (batch == END) {
          ending = true;
          continue;
        }
        events.addAll(batch);
        if (events.size() >= EVENTS_PER_WRITE) {
          write(events);
        }
      }
      taken.clear();
      write(events);
    }
  }

  private void write(List<LineageEvent> events) {
    if (events.isEmpty()) {
      return;
    }
    try {
      store.appendLineage(pipeline, List.copyOf(events));
      written.addAndGet(events.size());
    } catch (RuntimeException e) {
      dropped.addAndGet(events.size());
      LOG.warn(
          "pipeline '{}': could not write {} lineage events; they are dropped: {}",
          pipeline,
          events.size(),
          errorText.describe(e));
    }
    events.clear();
  }
}
