package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.PipelineException;
import dev.pipeline.internal.EngineMetadata;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.StorableText;
import dev.pipeline.store.spi.Claimed;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.HeldLeases;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Claims a run's records back from the store (retries that came due, records of a crashed or paused
 * worker, checkpoints) and feeds them to the stage each waits for; says what a run that has nothing
 * left to do is waiting for.
 */
final class Claimer {
  private static final Logger LOG = LoggerFactory.getLogger(Run.class);
  private static final ApiAccess API = ApiAccess.api();

  /** The most sources {@link #sayWhatIsLeft} names. */
  private static final int MAX_SOURCES_NAMED = 10;

  /**
   * The most characters of a source's id {@link #sayWhatIsLeft} shows: ten ids at the default cut,
   * each control character escaped to six, would make a warning of a quarter of a megabyte.
   */
  private static final int MAX_SOURCE_ID_SHOWN = 200;

  private final Run run;

  Claimer(Run run) {
    this.run = run;
  }

  /**
   * Feeds the pipeline with records the store hands over: never processed, left by a dead worker
   * whose lease expired, parked in the retry queue and now due, or sent back for reprocessing. Each
   * enters at the stage it is to resume at. Ends when the sources are read and the store holds no
   * unfinished record of the pipeline, so a run outlives the records other workers might abandon
   * and the retries it parked.
   */
  void claim() {
    Map<String, RunStage> byName = new HashMap<>();
    for (RunStage stage : run.stages) {
      byName.put(stage.def.name().value(), stage);
    }
    for (RunStage branchSink : run.branchSinks()) {
      byName.put(branchSink.def.name().value(), branchSink);
    }
    int max = run.stages[0].def.options().batchSize();
    long idleNanos = Run.MIN_IDLE_NANOS;
    boolean replaced = false;
    try {
      while (!run.cancelled) {
        // before the sources are looked at: a wake from the last reader's end is not missed
        long wakes = run.claimerWakeup.seen();
        boolean sourcesDone = run.liveReaders.get() == 0;
        List<Claimed> claimed =
            run.sinkRetries.claim(() -> run.store.claim(run.pipeline, max, run.clock.now()));
        // before asking whether anything is unfinished, or when they have waited long enough
        run.endings.writeEnded(sourcesDone && claimed.isEmpty());
        if (!claimed.isEmpty()) {
          run.resumed.add(claimed.size());
          run.waiting = null;
          idleNanos = Run.MIN_IDLE_NANOS;
          feed(byName, claimed);
          continue;
        }
        if (sourcesDone && !run.store.isDurable()) {
          // records live in this run only (a cancelled run's are lost), except those parked in the
          // store: done when none is in flight or parked
          if (run.inFlight() == 0) {
            Optional<Instant> due = run.store.nextDue(run.pipeline);
            if (due.isEmpty()) {
              break;
            }
            // all this run holds is parked: wait for the next one to be due, on the pipeline's
            // clock
            Duration wait = Duration.between(run.clock.now(), due.get());
            if (wait.isPositive()) {
              run.clock.sleep(wait.compareTo(Run.MAX_DUE_WAIT) > 0 ? Run.MAX_DUE_WAIT : wait);
            }
            continue;
          }
        } else if (sourcesDone) {
          if (!run.store.hasUnfinishedToTake(run.pipeline)) {
            sayWhatIsLeft();
            break;
          }
          sayWhatWaits();
        }
        // a wake since this look began (records finished meanwhile) makes the next look at once
        run.claimerWakeup.await(wakes, idleNanos);
        idleNanos = Math.min(Run.MAX_IDLE_NANOS, idleNanos * 2);
      }
    } catch (InterruptedException e) {
      // cancelled
    } catch (WorkerSlot.Abandoned e) {
      replaced = true; // its sink call hung: a new claimer has taken over
    } catch (Throwable error) {
      run.fail(error);
    } finally {
      if (!replaced) {
        for (RunStage stage : run.stages) {
          stage.queue.producerDone();
        }
      }
      run.threads.remove(Thread.currentThread());
    }
  }

  /**
   * Says, in the log and the progress, whose leases a run with nothing left to do waits for, and
   * for how long at most: a rerun after a crash waits for the crashed worker's leases to expire.
   */
  private void sayWhatWaits() {
    long now = run.clock.nanoTime();
    if (waitingCheckedAt != Long.MIN_VALUE && now - waitingCheckedAt < Run.WAITING_CHECK_NANOS) {
      return;
    }
    waitingCheckedAt = now;
    List<HeldLeases> held = run.store.leasesHeldElsewhere(run.pipeline);
    if (held.isEmpty()) {
      run.waiting = null;
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
    run.waiting = text.toString();
    if (news) {
      LOG.info(
          "pipeline '{}': {}; a worker that died on this host is taken over at once, one"
              + " elsewhere once its leases expire",
          run.pipeline,
          run.waiting);
    }
  }

  /**
   * Says, in the log, which sources the records a run ends without wait for: records kept as
   * positions in a source this run does not read (an earlier run's, a crashed worker's) are taken
   * only by a run that reads that source, so a run that waited for them would never end.
   */
  private void sayWhatIsLeft() {
    Map<String, Long> left = run.store.waitingForSources(run.pipeline);
    if (left.isEmpty()) {
      return;
    }
    LOG.warn(
        "pipeline '{}': the run ends with {} unfinished: they are kept as positions in those"
            + " sources, not as payloads, and only a run that reads the same source (the same"
            + " source id, reading the same data) can take them; a worker reading it may be at"
            + " work on them now, else run the pipeline with that source to finish them",
        run.pipeline,
        whatIsLeft(left));
  }

  /**
   * The records left for other sources, as {@link #sayWhatIsLeft} names them: the first {@value
   * #MAX_SOURCES_NAMED} sources, each id escaped and cut (the store's ids are text from outside),
   * then how many more.
   */
  static String whatIsLeft(Map<String, Long> left) {
    StringBuilder text = new StringBuilder();
    int named = 0;
    for (Map.Entry<String, Long> e : left.entrySet()) {
      if (named++ == MAX_SOURCES_NAMED) {
        text.append(" and those of ")
            .append(left.size() - MAX_SOURCES_NAMED)
            .append(" more sources");
        break;
      }
      text.append(text.isEmpty() ? "" : ", ")
          .append(e.getValue())
          .append(Long.valueOf(1).equals(e.getValue()) ? " record" : " records")
          .append(" of source '")
          .append(ErrorText.loggable(e.getKey(), MAX_SOURCE_ID_SHOWN))
          .append('\'');
    }
    return text.toString();
  }

  /**
   * Puts claimed records on the queues of the stages they resume at, or hands them to the sink or
   * the route branch's sink they wait for.
   */
  private void feed(Map<String, RunStage> byName, List<Claimed> claimed)
      throws InterruptedException {
    Map<RunStage, List<Envelope<Object>>> byStage = new LinkedHashMap<>();
    List<Envelope<Object>> toSink = new ArrayList<>();
    List<Completion> strays = new ArrayList<>();
    for (Claimed c : claimed) {
      @SuppressWarnings("unchecked")
      Envelope<Object> record = (Envelope<Object>) c.record();
      // what the sink is told of a hand-over is the store's to say afresh (a row may carry a stale
      // or a forged one)
      record =
          API.withoutMetadata(
              API.withoutMetadata(record, Envelope.FENCING_TOKEN), Envelope.REDELIVERED);
      if (c.stage().equals(Run.SINK_STEP)) {
        // held or retried at the sink, or sent back for reprocessing after the sink failed on it
        String forged = EngineMetadata.storedProblem(record.id(), record.metadata());
        if (forged != null) {
          strays.add(forged(record, c.stage(), forged));
          continue;
        }
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
                    + run.pipeline
                    + "' does not have (was a stage renamed or removed while records were in"
                    + " flight?); it is in the dead letter queue: bring the stage back, then"
                    + " reprocess it");
        strays.add(
            run.worker.deadLetter(
                record,
                c.stage(),
                List.of(run.errorText.info(c.stage(), error, 1, run.clock.now())),
                1));
        continue;
      }
      String forged = EngineMetadata.storedProblem(record.id(), record.metadata());
      if (forged != null) {
        // a row edited by hand: its keys would place it in a merge group that is not its own, or
        // reach the sink; this record cannot go on, the others can
        strays.add(forged(record, c.stage(), forged));
        continue;
      }
      countAttempts(record, c.attempts());
      byStage.computeIfAbsent(stage, k -> new ArrayList<>()).add(record);
    }
    if (!strays.isEmpty()) {
      LOG.error(
          "pipeline '{}': {} claimed records are at stages it does not have or carry metadata the"
              + " engine did not write (first '{}' at '{}'); they go to the dead letter queue",
          run.pipeline,
          strays.size(),
          ErrorText.loggable(strays.get(0).recordId()),
          ErrorText.loggable(strays.get(0).stage()));
      run.endings.write(null, strays, true);
    }
    for (Map.Entry<RunStage, List<Envelope<Object>>> e : byStage.entrySet()) {
      if (e.getKey().sink != null) {
        // parked at a route branch's sink, or sent back after it failed on them
        run.delivery.publishAt(e.getKey(), e.getValue());
      } else {
        e.getKey().queue.put(e.getValue());
      }
    }
    if (!toSink.isEmpty()) {
      run.delivery.publish(toSink);
    }
  }

  /**
   * The dead letter of a claimed record whose engine metadata the engine did not write as it is
   * ({@link EngineMetadata#storedProblem}), at the stage it was claimed at.
   */
  private Completion forged(Envelope<Object> record, String stage, String problem) {
    PipelineException error =
        new PipelineException(
            "the store holds record '"
                + StorableText.escape(record.id(), 200)
                + "' of pipeline '"
                + run.pipeline
                + "' with "
                + problem
                + " (was its row edited?); it is in the dead letter queue and did not go on:"
                + " discard it, or restore its metadata as the engine wrote it and reprocess it");
    return run.worker.deadLetter(
        record, stage, List.of(run.errorText.info(stage, error, 1, run.clock.now())), 1);
  }

  /** Keeps the attempts a claimed record made, for the worker that takes it to go on from. */
  private void countAttempts(Envelope<Object> record, int attempts) {
    if (attempts > 0 && run.claimedAttempts.put(record.id(), attempts) == null) {
      run.resumedAttempts.incrementAndGet();
    }
  }

  private long waitingCheckedAt = Long.MIN_VALUE; // claimer thread only

  private String waitingFor = ""; // the workers waited for, as last logged; claimer thread only
}
