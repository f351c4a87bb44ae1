package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.StageContext;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.Handover;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Delivers a last stage's outputs: notes the delivery in the store, calls the sink (as a batch
 * stage with its own policies) on the caller's thread, and ends what it took; replaces a caller the
 * sink hung.
 */
final class SinkDelivery {
  private static final ApiAccess API = ApiAccess.api();

  private static final Logger LOG = LoggerFactory.getLogger(Run.class);

  private final Run run;

  SinkDelivery(Run run) {
    this.run = run;
  }

  void publish(List<Envelope<Object>> outputs) throws InterruptedException {
    deliver(run.sinkStage, outputs, null);
  }

  /**
   * Delivers records claimed back at a route branch's sink (due from the retry queue, or sent back
   * after that sink failed on them) to that sink. Their input to the route is not known: those the
   * sink still fails on are dead letters at the sink's own step.
   */
  void publishAt(RunStage branchSink, List<Envelope<Object>> records) throws InterruptedException {
    deliver(branchSink, records, null);
  }

  /**
   * Takes the records of a route stage's batch whose branch ends at a sink out of its outputs and
   * delivers them to their branch's sink, as the pipeline's sink is delivered to (the delivery
   * note, the fencing token, the sink's retries and halving); returns the outputs that go on.
   */
  List<Envelope<Object>> routeExits(@Nullable RunStage[] exits, List<Envelope<Object>> outputs)
      throws InterruptedException {
    List<Envelope<Object>> rest = null;
    List<List<Envelope<Object>>> byArm = null;
    Map<String, Object> inputs = null;
    for (int i = 0; i < outputs.size(); i++) {
      Envelope<Object> e = outputs.get(i);
      if (!(e.payload() instanceof RouteExit exit)) {
        if (rest != null) {
          rest.add(e);
        }
        continue;
      }
      if (rest == null) {
        rest = new ArrayList<>(outputs.subList(0, i));
        byArm = new ArrayList<>(exits.length);
        for (int a = 0; a < exits.length; a++) {
          byArm.add(null);
        }
        inputs = new HashMap<>();
      }
      List<Envelope<Object>> to = byArm.get(exit.arm());
      if (to == null) {
        to = new ArrayList<>();
        byArm.set(exit.arm(), to);
      }
      to.add(e.withPayload(exit.value()));
      inputs.put(e.id(), exit.input());
    }
    if (rest == null) {
      return outputs;
    }
    for (int a = 0; a < exits.length; a++) {
      List<Envelope<Object>> to = byArm.get(a);
      if (to != null) {
        deliver(Objects.requireNonNull(exits[a]), to, inputs);
      }
    }
    return rest;
  }

  /**
   * Delivers a batch to a sink: the pipeline's, or a route branch's ({@code inputs} then holds each
   * record's payload as it entered the route, for its dead letter, unless the records were claimed
   * back at the sink).
   */
  private void deliver(
      @Nullable RunStage sinkStage,
      List<Envelope<Object>> outputs,
      @Nullable Map<String, Object> inputs)
      throws InterruptedException {
    List<String> ids = new ArrayList<>(outputs.size());
    for (Envelope<Object> e : outputs) {
      ids.add(e.id());
    }
    if (sinkStage == null && run.store.isDurable()) {
      // no sink: nothing outside sees the records handed over, so there is no delivery to note;
      // they end with the next write of ended records, which the completion itself fences
      BatchWork work = new BatchWork(outputs);
      work.outputs.addAll(outputs);
      delivered(null, work, true);
      return;
    }
    Handover handover;
    if (run.store.isDurable()) {
      // the delivery note, in one write with what ended since the last one (the batch the sink
      // took before this one, records filtered or dead-lettered at stages). It is fenced: only
      // records this worker still holds are noted (and their leases renewed)
      List<Run.Ended> carried = run.endings.takeEnded();
      try {
        handover = run.store.completeAndDeliver(run.pipeline, Endings.completionsOf(carried), ids);
      } catch (RuntimeException e) {
        run.endings.putBack(carried);
        throw e;
      }
      run.endings.count(carried, handover.fenced());
    } else {
      handover = run.store.completeAndDeliver(run.pipeline, List.of(), ids);
    }
    outputs = delivering(outputs, handover);
    if (outputs.isEmpty()) {
      return;
    }
    if (run.store.isDurable()) {
      // the last look before the sink: a worker paused since the note for about a lease may have
      // lost the records to a worker that delivered them meanwhile. What is left is the window
      // between this look and the sink call (see the architecture notes)
      List<String> handed = new ArrayList<>(outputs.size());
      for (Envelope<Object> e : outputs) {
        handed.add(e.id());
      }
      Set<String> gone = run.notHeld(handed);
      if (!gone.isEmpty()) {
        outputs = drop(outputs, gone);
        if (outputs.isEmpty()) {
          return;
        }
      }
    }
    BatchWork work = new BatchWork(outputs);
    work.routeInputs = inputs;
    if (run.lineage != null) {
      work.entered = run.clock.now();
    }
    RunStage to = sinkStage;
    if (to == null) {
      work.outputs.addAll(outputs);
    } else {
      callSink(to, work, callerRole(Thread.currentThread(), to.route));
      if (run.lineage != null) {
        run.lineage.record(to, work);
      }
    }
    delivered(to, work, false);
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
    // a store gives one token to a whole hand-over, or a few: its text is made once for each, and
    // records that came with the same metadata (a source's tag) and get the same token share the
    // marked map, one map per run of them instead of a copy per record
    Long lastToken = null;
    String tokenText = null;
    Map<String, String> lastIn = null;
    Envelope<Object> lastMarked = null;
    for (Envelope<Object> e : outputs) {
      Long token = tokens.get(e.id());
      if (token != null) {
        if (!token.equals(lastToken)) {
          lastToken = token;
          tokenText = Long.toString(token);
          lastIn = null;
        }
        if (lastMarked != null && e.metadata() == lastIn) {
          e = API.withMetadataOf(e, lastMarked);
        } else {
          lastIn = e.metadata();
          e = e.withMetadata(Envelope.FENCING_TOKEN, Objects.requireNonNull(tokenText));
          lastMarked = e;
        }
      }
      marked.add(redelivered.contains(e.id()) ? e.withMetadata(Envelope.REDELIVERED, "true") : e);
    }
    return marked;
  }

  /** The records without those another worker took over, which are counted and forgotten. */
  List<Envelope<Object>> drop(List<Envelope<Object>> outputs, Set<String> gone) {
    List<Envelope<Object>> kept = new ArrayList<>(outputs.size());
    for (Envelope<Object> e : outputs) {
      if (gone.contains(e.id())) {
        run.forget(e.id());
      } else {
        kept.add(e);
      }
    }
    run.takenOver.add(outputs.size() - kept.size());
    run.wakeClaimer();
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
    String callerStage = MDC.get(StageContext.MDC_STAGE);
    long start = run.clock.nanoTime();
    StageRecorder recorder = to.recorder;
    recorder.started(start);
    recorder.in.add(work.batch.size());
    CallContext context = run.context(to);
    try {
      context.enter();
      run.worker.processBatchStage(to, slot, context, work);
    } finally {
      to.slots.remove(slot);
      context.leave();
      if (callerStage != null) {
        MDC.put(StageContext.MDC_STAGE, callerStage);
      }
      recorder.passed.add(work.outputs.size());
      recorder.retries.add(work.retries);
      recorder.busyNanos.add(work.busyNanos);
      to.recordLatencies(work.latencies, work.latencyCount);
      recorder.active(run.clock.nanoTime());
    }
  }

  /**
   * What the thread calling the sink does besides: claim records, or work at the last stage. If its
   * sink call hangs and is abandoned, the replacement takes that role over.
   */
  private Runnable callerRole(Thread caller, @Nullable RunStage route) {
    if (caller == run.claimer) {
      return run::startClaimer;
    }
    RunStage last = route != null ? route : run.stages[run.stages.length - 1];
    return () -> {
      last.slots.removeIf(s -> s.thread == caller);
      run.workers.start(last, null);
    };
  }

  /**
   * Replaces a thread whose sink call hung past its timeout and ignored the interrupt: a new thread
   * finishes the batch (the hung call's records go to the dead letter queue, the rest to the sink)
   * and then takes over the hung thread's role.
   */
  void replaceSinkCaller(RunStage to, WorkerSlot hung, @Nullable BatchWork work) {
    Runnable role = Objects.requireNonNull(hung.resume);
    Thread replacement =
        Thread.ofVirtual()
            .name(run.pipeline + "-sink-" + to.workerNames.incrementAndGet())
            .unstarted(
                () -> {
                  try {
                    if (work != null) {
                      callSink(to, work, role);
                      if (run.lineage != null) {
                        run.lineage.record(to, work);
                      }
                      delivered(to, work, false);
                    }
                  } catch (WorkerSlot.Abandoned e) {
                    return; // hung too: its own replacement goes on
                  } catch (InterruptedException e) {
                    // cancelled: the role still ends as a cancelled run's threads do
                  } catch (Throwable error) {
                    run.fail(error);
                  } finally {
                    run.threads.remove(Thread.currentThread());
                  }
                  role.run();
                });
    run.threads.add(replacement);
    replacement.start();
  }

  /**
   * The dead letters of a route branch's sink, kept at the route stage with their payload as they
   * entered it, so that reprocessing routes them again; their errors name the branch's sink.
   */
  private static List<Completion> atRoute(
      List<Completion> failed, String route, Map<String, Object> inputs) {
    List<Completion> moved = new ArrayList<>(failed.size());
    for (Completion c : failed) {
      Envelope<?> record = c.record();
      Object input = inputs.get(c.recordId());
      if (record != null && input != null) {
        record =
            API.withoutMetadata(
                API.withoutMetadata(record.withPayload(input), Envelope.FENCING_TOKEN),
                Envelope.REDELIVERED);
      }
      moved.add(
          new Completion(
              c.recordId(),
              c.status(),
              route,
              c.reason(),
              record,
              c.errors(),
              c.attempts(),
              c.at()));
    }
    return moved;
  }

  /**
   * Ends the records of a batch the sink was handed: at once on a store that is not durable; on a
   * durable one, with the next batch's delivery note (or when the claimer writes what waits).
   * Records the sink's circuit held, or whose retry waits long, go to the store's retry queue.
   *
   * @param sink the pipeline's sink or a route branch's, null if the pipeline has none
   */
  private void delivered(@Nullable RunStage sink, BatchWork work, boolean mayFlush) {
    RunStage route = sink == null ? null : sink.route;
    Map<String, Object> inputs = work.routeInputs;
    String last = (route != null ? route : run.stages[run.stages.length - 1]).def.name().value();
    Instant now = run.clock.now();
    List<Completion> completions = new ArrayList<>(work.batch.size());
    for (Envelope<Object> e : work.outputs) {
      List<ErrorInfo> errors = run.passedErrors.take(e.id());
      completions.add(
          new Completion(
              e.id(),
              RecordStatus.PUBLISHED,
              last,
              null,
              null,
              errors,
              Endings.attemptsAt(last, errors),
              now));
    }
    List<Completion> failed = work.completions;
    if (route != null && inputs != null && !failed.isEmpty()) {
      failed = atRoute(failed, last, inputs);
    }
    completions.addAll(run.passedErrors.putFirst(failed));
    // first what the sink took: a write to the retry queue that fails (a cancelled run's
    // interrupt, the store) must not lose their ending
    run.endings.write(sink, completions, mayFlush);
    if (!work.parked.isEmpty()) {
      Set<String> fenced = run.store.scheduleRetries(run.pipeline, work.parked, run.clock.now());
      run.parked.add(work.parked.size() - fenced.size());
      run.takenOver.add(fenced.size());
      if (sink != null) {
        sink.recorder.parked.add(work.parked.size());
        run.telemetry.parked(sink, work.parked);
      }
    }
  }
}
