package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.Route;
import dev.pipeline.Sink;
import dev.pipeline.SplitStage;
import dev.pipeline.Stage;
import dev.pipeline.StageException;
import dev.pipeline.StageOptions;
import dev.pipeline.StageTimeoutException;
import dev.pipeline.engine.Attempt;
import dev.pipeline.engine.Fallbacks;
import dev.pipeline.engine.Invoker;
import dev.pipeline.engine.Merges;
import dev.pipeline.engine.Outputs;
import dev.pipeline.engine.Retries;
import dev.pipeline.engine.Splits;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.ScheduledRetry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.event.Level;

/**
 * Works a batch at a stage: calls the stage (or the sink) through its invoker on each record or
 * chunk, retries, halves failing batches, parks records in the retry queue, passes them through the
 * stage's fallback or ends them as dead letters.
 */
final class StageWorker {
  private static final ApiAccess API = ApiAccess.api();

  private final Run run;

  StageWorker(Run run) {
    this.run = run;
  }

  void process(RunStage stage, WorkerSlot slot, CallContext context, BatchWork work)
      throws InterruptedException {
    context.enter();
    try {
      if (stage.def.isBatch()) {
        processBatchStage(stage, slot, context, work);
      } else if (Merger.merges(stage)) {
        run.merger.process(stage, slot, context, work);
      } else {
        processSingleStage(stage, slot, context, work);
      }
    } finally {
      context.leave();
    }
    run.hand(stage, work);
  }

  private void processSingleStage(
      RunStage stage, WorkerSlot slot, CallContext context, BatchWork work)
      throws InterruptedException {
    StageOptions options = stage.def.options();
    Stage<Object, Object> fn = stage.def.single();
    RetryPolicy retry = options.retryPolicy();
    CircuitBreaker breaker = options.circuitBreaker();
    Invoker invoker = stage.invoker;
    String stageName = stage.def.name().value();

    if (work.abandoned) {
      // the call in hand hung past its timeout and ignored the interrupt: it fails here
      work.abandoned = false;
      Envelope<Object> stuck = work.batch.get(work.index);
      Throwable timeout =
          new StageTimeoutException(
              stageName, stuck.id(), Objects.requireNonNull(options.timeout()), true);
      stage.recorder.error(timeout);
      invoker.abandoned(timeout);
      List<ErrorInfo> errors = work.errors == null ? new ArrayList<>() : work.errors;
      addError(errors, run.errorText.info(stageName, timeout, work.attempt, run.clock.now()));
      giveUp(stage, context, work, stuck, errors, work.attempt, timeout);
      work.index++;
      work.attempt = 1;
      work.errors = null;
    }

    // one call and one outcome for the batch's calls, not an allocation of each per record: the
    // call reads the record in hand from the context, reset before each call
    Invoker.Call<Object> calling = () -> fn.process(context.payload(), context);
    Attempt<Object> call = new Attempt<>();
    long previous = run.clock.nanoTime();
    // read once a batch, not per record (a field shared by every worker): a record claimed back
    // after retries has its attempt noted before it enters a queue, so before its batch is taken
    boolean resumed = run.resumedAttempts.get() > 0;
    for (; work.index < work.batch.size(); work.index++) {
      Envelope<Object> record = work.batch.get(work.index);
      if (work.attempt == 1 && resumed) {
        work.attempt = startingAttempt(record.id());
        work.resumedRetry = work.attempt > 1;
      }
      while (true) {
        context.reset(record, work.attempt);
        invoker.call(1, record.id(), slot, calling, stage.singleCheck, call);
        if (call.kind() == Attempt.Kind.CANCELLED) {
          throw new InterruptedException("run cancelled");
        }
        if (call.kind() == Attempt.Kind.REFUSED) {
          Fallback<?, ?> fallback = options.fallback();
          if (fallback == Fallback.hold() && parkable(stage)) {
            stage.recorder.held.increment();
            park(stage, work, record, work.attempt - 1, heldFor(breaker));
            break;
          }
          if (Fallbacks.degrades(fallback)) {
            // the record leaves through its fallback (or, if that fails, as a dead letter)
            List<ErrorInfo> errors = work.errors == null ? new ArrayList<>() : work.errors;
            record = retryOutcome(stage, work, record, false);
            giveUp(stage, context, work, record, errors, work.attempt, call.failure());
            break;
          }
        }
        if (call.kind() == Attempt.Kind.PASSED || call.kind() == Attempt.Kind.FILTERED) {
          long now = call.startNanos() + call.tookNanos(); // the call's end: no clock read more
          work.latency(now - previous, 1);
          previous = now;
          record = retryOutcome(stage, work, record, true);
          if (call.kind() == Attempt.Kind.FILTERED) {
            work.completions.add(
                new Completion(
                    record.id(),
                    RecordStatus.FILTERED,
                    stageName,
                    call.filterReason(),
                    null,
                    errorsOf(work),
                    work.attempt,
                    run.clock.now()));
          } else if (call.value() instanceof Splits.Children children) {
            split(stage, context, work, record, children);
          } else {
            Object output = Objects.requireNonNull(call.value());
            Envelope<Object> out = record.withPayload(output);
            Map<String, String> added = context.added();
            if (added != null) {
              out = API.withAllMetadata(out, added);
            }
            work.outputs.add(out);
            work.bytes += run.payloadSize.applyAsLong(output);
            if (work.errors != null) {
              run.passedErrors.keep(record.id(), work.errors);
            }
          }
          break;
        }
        Throwable error = call.failure();
        stage.recorder.error(error);
        if (work.errors == null) {
          work.errors = new ArrayList<>(2);
        }
        addError(work.errors, run.errorText.info(stageName, error, work.attempt, run.clock.now()));
        if (Retries.retries(retry, error, work.attempt)) {
          work.retries++;
          Duration delay = Retries.delay(retry, work.attempt, ThreadLocalRandom.current());
          auditRetry(stage, record.id(), work.attempt, delay, error);
          if (delay.compareTo(run.policies.retryQueueAfter()) > 0 && parkable(stage)) {
            park(stage, work, record, work.attempt, delay);
            break;
          }
          run.clock.sleep(delay);
          work.attempt++;
          continue;
        }
        long now = run.clock.nanoTime();
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
   * Ends a record a split stage split: its children (ids {@code parentId/index}, the parent's
   * metadata, {@link Envelope#PARENT_ID}) wait in {@code work} to be stored and handed on, and the
   * parent ends SPLIT once they are stored; with no children it ends FILTERED. A split whose
   * children could not be stored (too many, ids too long) dead-letters the parent, unretried: the
   * same split would give the same children.
   */
  private void split(
      RunStage stage,
      CallContext context,
      BatchWork work,
      Envelope<Object> parent,
      Splits.Children children) {
    String stageName = stage.def.name().value();
    List<Object> payloads = children.payloads();
    List<ErrorInfo> errors = errorsOf(work);
    if (payloads.isEmpty()) {
      work.completions.add(
          new Completion(
              parent.id(),
              RecordStatus.FILTERED,
              stageName,
              SplitStage.NO_RECORDS,
              null,
              errors,
              work.attempt,
              run.clock.now()));
      return;
    }
    StageException problem = Splits.problem(stageName, parent.id(), payloads.size());
    boolean joined = run.merger.joins(stage);
    if (problem == null && joined) {
      problem = Merges.problem(stageName, parent.id());
    }
    if (problem != null) {
      stage.recorder.error(problem);
      List<ErrorInfo> all = new ArrayList<>(errors);
      addError(all, run.errorText.info(stageName, problem, work.attempt, run.clock.now()));
      work.completions.add(deadLetter(parent, stageName, all, work.attempt));
      return;
    }
    Envelope<Object> base =
        API.withoutMetadata(
                API.withoutMetadata(
                    API.withoutMetadata(parent, Envelope.REDELIVERED), Envelope.FENCING_TOKEN),
                Run.RETRIED_ERRORS)
            .withMetadata(Envelope.PARENT_ID, parent.id());
    Map<String, String> added = context.added();
    if (added != null) {
      base = API.withAllMetadata(base, added);
    }
    if (joined) {
      String enclosing = parent.metadata().get(Envelope.SPLIT_SIZE);
      if (enclosing != null) {
        // the parent is a part of an enclosing group: its size waits under the inner group's
        String outer = parent.metadata().get(Envelope.OUTER_SPLIT_SIZES);
        base =
            base.withMetadata(
                Envelope.OUTER_SPLIT_SIZES, outer == null ? enclosing : outer + "," + enclosing);
      }
      base = base.withMetadata(Envelope.SPLIT_SIZE, Integer.toString(payloads.size()));
    }
    for (int i = 0; i < payloads.size(); i++) {
      Object payload = payloads.get(i);
      work.children.add(API.withId(base, Splits.childId(parent.id(), i)).withPayload(payload));
      work.bytes += run.payloadSize.applyAsLong(payload);
    }
    work.split++;
    work.completions.add(
        Completion.split(
            parent.id(), stageName, payloads.size(), errors, work.attempt, run.clock.now()));
  }

  /**
   * Counts how a record that met errors at a single-record stage ended there (with the error types
   * it met before it was parked, if it came back from the retry queue) and returns it without that
   * engine metadata.
   */
  private static Envelope<Object> retryOutcome(
      RunStage stage, BatchWork work, Envelope<Object> record, boolean recovered) {
    if (work.resumedRetry) {
      stage.recorder.retryOutcome(
          work.errors, record.metadata().get(Run.RETRIED_ERRORS), recovered);
      return API.withoutMetadata(record, Run.RETRIED_ERRORS);
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
    record = API.withoutMetadata(record, Run.RETRIED_ERRORS);
    Fallback<?, ?> fallback = stage.def.options().fallback();
    if (fallback instanceof Fallback.Skip || fallback instanceof Fallback.With<?, ?>) {
      if (degrade(stage, context, work, record, cause, attempts)) {
        run.passedErrors.keep(record.id(), errors);
        return;
      }
      errors =
          ErrorText.append(
              errors,
              List.of(
                  run.errorText.info(
                      stage.def.name().value(),
                      Objects.requireNonNull(work.fallbackError),
                      attempts,
                      run.clock.now())));
      work.fallbackError = null;
    }
    work.completions.add(
        deadLetter(routed(stage, context, record), stage.def.name().value(), errors, attempts));
  }

  /**
   * A record a route gives up on (a branch stage failed, the route's timeout cut the branch short)
   * keeps the branch the route chose for it in its metadata, as the record would have gone on.
   */
  private static Envelope<Object> routed(
      RunStage stage, CallContext context, Envelope<Object> record) {
    if (!(stage.def.single() instanceof Route<?, ?>)) {
      return record;
    }
    String key = Route.metadataKey(stage.def.name());
    String branch = context.addedFor(record.id(), key);
    return branch == null ? record : record.withMetadata(key, branch);
  }

  /**
   * Passes a record on through the stage's skip or function fallback, marked degraded.
   *
   * @return false if the fallback function failed (its error is left in {@code work})
   */
  private boolean degrade(
      RunStage stage,
      CallContext context,
      BatchWork work,
      Envelope<Object> record,
      Throwable cause,
      int attempts) {
    String stageName = stage.def.name().value();
    Fallback<?, ?> fallback = stage.def.options().fallback();
    // a context of its own: a batch stage's context still holds the batch call's results
    CallContext own = fallback instanceof Fallback.With<?, ?> ? run.context(stage) : context;
    if (own != context) {
      own.reset(record, attempts);
    }
    Fallbacks.Made made =
        Fallbacks.apply(fallback, stageName, record.id(), record.payload(), cause, own);
    if (made.error() != null) {
      if (made.thrown()) {
        stage.recorder.error(made.error());
      }
      work.fallbackError = made.error();
      return false;
    }
    Object output = Objects.requireNonNull(made.output());
    Map<String, String> added = own != context ? own.added() : null;
    Envelope<Object> out =
        record
            .withPayload(output)
            .withMetadata(
                Fallback.DEGRADED,
                Fallbacks.degradedMark(record.metadata().get(Fallback.DEGRADED), stageName));
    work.outputs.add(added == null ? out : API.withAllMetadata(out, added));
    work.bytes += run.payloadSize.applyAsLong(output);
    stage.recorder.degraded.increment();
    return true;
  }

  /** Whether records entering the stage can be parked in the store's retry queue. */
  private boolean parkable(RunStage stage) {
    // a route branch's sink has index -1 and parks at its own step
    return stage.index >= 0 ? run.policies.parkable().get(stage.index) : stage.exitParkable;
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
        open.compareTo(Run.MIN_HOLD) < 0
            ? Run.MIN_HOLD
            : open.compareTo(Run.MAX_HOLD) > 0 ? Run.MAX_HOLD : open;
    // spread over [base, 2 * base): the first back make the trial calls, and the rest do not all
    // come back at once to be refused again while the trials are out
    return base.plusNanos((long) (base.toNanos() * ThreadLocalRandom.current().nextDouble()));
  }

  /** Parks a record in the store's retry queue, to come back after {@code delay}. */
  private void park(
      RunStage stage, BatchWork work, Envelope<Object> record, int attemptsMade, Duration delay) {
    RetryPolicy retry = stage.def.options().retryPolicy();
    List<ErrorInfo> earlier = run.passedErrors.take(record.id());
    List<ErrorInfo> here = work.errors == null ? List.of() : work.errors;
    List<ErrorInfo> errors = ErrorText.append(earlier, here);
    String types = record.metadata().get(Run.RETRIED_ERRORS);
    for (ErrorInfo error : here) {
      if (error.stage().equals(stage.def.name().value())
          && !ErrorText.isDropped(error)
          && (types == null || !Arrays.asList(types.split(",")).contains(error.errorType()))) {
        types = types == null ? error.errorType() : types + "," + error.errorType();
      }
    }
    if (types != null) {
      record = record.withMetadata(Run.RETRIED_ERRORS, types);
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

  /**
   * Tells the audit trail of a retry scheduled (at INFO, sampled as the stage's own lines are): the
   * attempt that failed, the error and the wait.
   */
  private void auditRetry(
      RunStage stage, String recordId, int attempt, Duration delay, Throwable error) {
    StageOptions options = stage.def.options();
    if (!run.telemetry.auditing()
        || Level.INFO.toInt() < options.auditLevel().toInt()
        || (options.auditSampling() < 1.0
            && ThreadLocalRandom.current().nextDouble() >= options.auditSampling())) {
      return;
    }
    String type = error.getClass().getSimpleName();
    run.telemetry.decision(
        stage.def.name().value(),
        recordId,
        Level.INFO,
        "retry-scheduled",
        "attempt " + attempt + " failed (" + type + "); retry " + attempt + " in " + delay,
        Map.of("attempt", Integer.toString(attempt), "delay", delay.toString(), "errorType", type));
  }

  /** The attempt a record claimed back from the store starts at (1 unless it was retried). */
  private int startingAttempt(String recordId) {
    Integer made = run.claimedAttempts.remove(recordId);
    if (made == null) {
      return 1;
    }
    run.resumedAttempts.decrementAndGet();
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

  Completion deadLetter(
      Envelope<Object> record, String stage, List<ErrorInfo> errors, int attempts) {
    return new Completion(
        record.id(),
        RecordStatus.DEAD_LETTER,
        stage,
        null,
        record,
        errors,
        attempts,
        run.clock.now());
  }

  void processBatchStage(RunStage stage, WorkerSlot slot, CallContext context, BatchWork work)
      throws InterruptedException {
    StageOptions options = stage.def.options();
    RetryPolicy retry = options.retryPolicy();
    CircuitBreaker breaker = options.circuitBreaker();
    Invoker invoker = stage.invoker;
    String stageName = stage.def.name().value();

    if (work.chunks == null) {
      if (stage.sink != null && run.store.isDurable()) {
        // from before the first call: a claim of these records by this run's claimer at any time
        // until the batch is done makes the copies in hand stale for a retry
        work.atSink = true;
        run.sinkRetries.waiting(work.batch);
      }
      work.chunks = new ArrayDeque<>();
      if (run.resumedAttempts.get() > 0) {
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
          addError(errors, run.errorText.info(stageName, timeout, hung.attempt(), run.clock.now()));
          giveUp(stage, context, work, stuck, errors, hung.attempt(), timeout);
        }
        invoker.abandoned(
            new StageTimeoutException(
                stageName, null, Objects.requireNonNull(options.timeout()), true));
      }
    }
    Chunk chunk;
    while ((chunk = work.chunks.peek()) != null) {
      if (run.cancelled && stage.sink != null) {
        // what the sink took so far stands and is ended; the rest of the batch stays unfinished
        break;
      }
      List<Envelope<Object>> pending = chunk.records();
      int attempt = chunk.attempt();
      if (stage.sink != null && (attempt > 1 || chunk.failedBefore())) {
        // the sink again after a failed call: the wait may have been longer than the lease, and
        // another worker may have taken the records over and delivered them meanwhile under a
        // higher fencing token. Those are dropped here, not handed to the sink a second time
        List<Envelope<Object>> held = run.sinkRetries.stillHeld(pending);
        if (held.size() != pending.size()) {
          work.chunks.poll();
          if (!held.isEmpty()) {
            work.chunks.addFirst(new Chunk(held, attempt, chunk.failedBefore()));
          }
          continue;
        }
      }
      Chunk calling = chunk;
      Attempt<List<Object>> call =
          invoker.call(
              pending.size(),
              pending.get(0).id(),
              slot,
              () -> {
                context.resetBatch(pending, attempt);
                return callBatch(stage, calling, context);
              },
              stage.batchCheck);
      if (call.kind() == Attempt.Kind.CANCELLED) {
        // a stage's outputs are dropped (its records are processed again); a sink's call that
        // returned delivered them, and their ending is written
        if (stage.sink == null) {
          throw new InterruptedException("run cancelled");
        }
        break; // the sink's failed chunk stays unfinished; what it took before stands
      }
      Throwable error = call.error();
      List<Object> outputs = call.value();
      boolean allFiltered = call.kind() == Attempt.Kind.FILTERED;
      String filterAll = call.filterReason();
      long callStart = call.startNanos();
      if (call.kind() == Attempt.Kind.REFUSED) {
        Fallback<?, ?> fallback = options.fallback();
        if (fallback == Fallback.hold() && parkable(stage)) {
          work.chunks.poll();
          for (Envelope<Object> record : pending) {
            stage.recorder.held.increment();
            parkBatched(stage, work, record, attempt - 1, heldFor(breaker));
          }
          continue;
        }
        if (Fallbacks.degrades(fallback)) {
          // each record leaves through the fallback (or, if that fails, as a dead letter)
          work.chunks.poll();
          for (Envelope<Object> record : pending) {
            List<ErrorInfo> errors =
                work.batchErrors.computeIfAbsent(record.id(), k -> new ArrayList<>());
            String earlier = record.metadata().get(Run.RETRIED_ERRORS);
            if (!errors.isEmpty() || earlier != null) {
              stage.recorder.retryOutcome(errors, earlier, false);
            }
            giveUp(stage, context, work, record, errors, attempt, call.failure());
          }
          continue;
        }
      } else if (error != null
          && Retries.wholeCall(retry, error, attempt, pending.size())
              instanceof Retries.WholeCall whole) {
        stage.recorder.error(error);
        work.chunks.poll();
        if (whole == Retries.WholeCall.RETRY) {
          // the whole call failed and may pass if tried again (the service, not a record, may
          // be at fault): the chunk is retried as one, after one backoff
          work.retries += pending.size();
          Duration delay = Retries.delay(retry, attempt, ThreadLocalRandom.current());
          for (Envelope<Object> record : pending) {
            auditRetry(stage, record.id(), attempt, delay, error);
          }
          if (delay.compareTo(run.policies.retryQueueAfter()) > 0 && parkable(stage)) {
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
        // halve the batch: the record(s) that made it fail end up alone
        stage.recorder.splits.increment();
        int half = pending.size() / 2;
        work.chunks.addFirst(new Chunk(pending.subList(half, pending.size()), attempt, true));
        work.chunks.addFirst(new Chunk(pending.subList(0, half), attempt, true));
        continue;
      }
      work.latency(run.clock.nanoTime() - callStart, pending.size());
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
          output = Objects.requireNonNull(outputs).get(i);
          if (recordError == null && reason == null) {
            recordError = Outputs.inBatch(stageName, record.id(), output, stage.shape);
          }
        }
        String earlier = attempt > 1 ? record.metadata().get(Run.RETRIED_ERRORS) : null;
        if (recordError == null) {
          List<ErrorInfo> errors = work.batchErrors.get(record.id());
          if (errors != null || earlier != null) {
            stage.recorder.retryOutcome(errors, earlier, true);
          }
          if (earlier != null) {
            record = API.withoutMetadata(record, Run.RETRIED_ERRORS);
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
                    run.clock.now()));
          } else {
            Envelope<Object> out = record.withPayload(output);
            Map<String, String> added = context.added();
            work.outputs.add(added == null ? out : API.withAllMetadata(out, added));
            work.bytes += run.payloadSize.applyAsLong(output);
            if (errors != null) {
              run.passedErrors.keep(record.id(), errors);
            }
          }
        } else {
          stage.recorder.error(recordError);
          List<ErrorInfo> errors =
              work.batchErrors.computeIfAbsent(record.id(), k -> new ArrayList<>());
          addError(errors, run.errorText.info(stageName, recordError, attempt, run.clock.now()));
          if (Retries.retries(retry, recordError, attempt)) {
            work.retries++;
            if (delay == null) {
              delay = Retries.delay(retry, attempt, ThreadLocalRandom.current());
            }
            auditRetry(stage, record.id(), attempt, delay, recordError);
            if (delay.compareTo(run.policies.retryQueueAfter()) > 0 && parkable(stage)) {
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
    if (work.atSink) {
      work.atSink = false;
      run.sinkRetries.done(work.batch);
    }
  }

  /**
   * Waits before a batch stage's retry. On the sink, of a run cancelled before or during the wait,
   * returns false instead: the batches it took so far must still be ended, so the call returns
   * (with the thread's interrupt kept) rather than throw.
   */
  private boolean backOff(RunStage stage, Duration delay) throws InterruptedException {
    if (stage.sink != null && run.cancelled) {
      return false;
    }
    try {
      run.clock.sleep(delay);
      return true;
    } catch (InterruptedException e) {
      if (stage.sink != null && run.cancelled) {
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
      Envelope<Object> out = API.withoutMetadata(e, Run.RETRIED_ERRORS);
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
}
