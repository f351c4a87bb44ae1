package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import dev.pipeline.StageException;
import dev.pipeline.engine.Attempt;
import dev.pipeline.engine.CallGuard;
import dev.pipeline.engine.MergeStep;
import dev.pipeline.engine.Merges;
import dev.pipeline.engine.Retries;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.Completion;
import dev.pipeline.store.spi.MergeOutcome;
import dev.pipeline.store.spi.MergePart;
import dev.pipeline.store.spi.MergedGroup;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Merges the children of a split again: at a merge stage, gives each child to the store as a part
 * of its parent's group and ends it MERGED; at the stages between the split and the merge, gives
 * the children that end there as absent parts; and whenever the store says a group is complete,
 * calls the merge stage's function through its invoker and stores the merged record ({@code
 * parentId/merged}) before the children's states are written.
 */
final class Merger {
  private static final Logger LOG = LoggerFactory.getLogger(Run.class);
  private static final ApiAccess API = ApiAccess.api();

  private final Run run;
  // by stage index: the merge stage whose groups the records ending there belong to, or null
  private final @Nullable RunStage[] windows;
  // by stage index: whether a merge stage joins that split stage's children
  private final boolean[] joined;

  /**
   * Children a nested merge stage dead-lettered because the store refused their part: they do not
   * make their parent absent one level out, as a group that failed its merge does.
   */
  private final Set<String> misfits = java.util.concurrent.ConcurrentHashMap.newKeySet();

  Merger(Run run) {
    this.run = run;
    RunStage[] stages = run.stages;
    this.windows = new RunStage[stages.length];
    this.joined = new boolean[stages.length];
    // in stage order an inner merge stage comes before the one enclosing it, and keeps its window
    for (RunStage stage : stages) {
      if (stage.def.single() instanceof MergeStep merge && merge.splitOrder() > 0) {
        // orders count from 1: the split stage's index is its order - 1
        joined[merge.splitOrder() - 1] = true;
        for (int i = merge.splitOrder(); i < stage.index; i++) {
          if (windows[i] == null) {
            windows[i] = stage;
          }
        }
      }
    }
  }

  /** Whether a merge stage joins the children of this split stage again. */
  boolean joins(RunStage split) {
    return split.index >= 0 && split.index < joined.length && joined[split.index];
  }

  /** Whether the stage is a merge stage. */
  static boolean merges(RunStage stage) {
    return stage.def.single() instanceof MergeStep;
  }

  /**
   * Works a batch at a merge stage: the children's parts go to the store in one call; each child
   * ends MERGED (FILTERED if it came late to a group merged without it); each group the store finds
   * complete is merged, its record left in {@code work.merged} to be stored before the children's
   * states are written.
   */
  void process(RunStage stage, WorkerSlot slot, CallContext context, BatchWork work)
      throws InterruptedException {
    String name = stage.def.name().value();
    work.abandoned = false; // the store's call is idempotent: a replacement gives the parts again
    work.completions.clear();
    work.merged.clear();
    List<MergePart> parts = new ArrayList<>(work.batch.size());
    Map<String, List<Envelope<Object>>> byParent = new LinkedHashMap<>();
    for (Envelope<Object> child : work.batch) {
      try {
        MergePart part = Merges.part(name, child, false);
        parts.add(part);
        byParent.computeIfAbsent(part.parentId(), k -> new ArrayList<>(2)).add(child);
      } catch (StageException e) {
        stage.recorder.error(e);
        work.completions.add(
            run.worker.deadLetter(
                child, name, List.of(run.errorText.info(name, e, 1, run.clock.now())), 1));
      }
    }
    if (parts.isEmpty()) {
      return;
    }
    MergeOutcome outcome = run.store.merge(run.pipeline, name, parts, run.clock.now());
    Map<String, String> refused = outcome.refused();
    Map<String, Made> made = new HashMap<>();
    for (MergedGroup group : outcome.complete()) {
      List<Envelope<Object>> inHand = byParent.get(group.parentId());
      if (inHand != null) {
        made.put(group.parentId(), merge(stage, slot, context, work, group, inHand.get(0)));
      }
    }
    for (Map.Entry<String, List<Envelope<Object>>> e : byParent.entrySet()) {
      Made group = made.get(e.getKey());
      for (Envelope<Object> child : e.getValue()) {
        String misfit = refused.get(child.id());
        if (misfit != null) {
          // it does not fit the group it names: it fails alone, its group waits for its own part
          StageException error = new StageException(name, child.id(), misfit);
          if (window(stage) != null) {
            misfits.add(child.id()); // not its parent's absence one level out: see absent()
          }
          stage.recorder.error(error);
          work.completions.add(
              run.worker.deadLetter(
                  child, name, List.of(run.errorText.info(name, error, 1, run.clock.now())), 1));
          continue;
        }
        work.completions.add(ending(stage, child, group, outcome.late()));
      }
    }
  }

  /** How a child in hand at the merge stage ends, given what became of its group. */
  private Completion ending(
      RunStage stage, Envelope<Object> child, @Nullable Made group, Set<String> late) {
    String name = stage.def.name().value();
    if (late.contains(child.id())) {
      return filtered(child.id(), name, Merges.LATE, List.of());
    }
    String mergedId = Merges.mergedId(child.metadata().getOrDefault(Envelope.PARENT_ID, ""));
    if (group == null || group.merged != null) {
      return Completion.merged(child.id(), name, mergedId, List.of(), 1, run.clock.now());
    }
    if (group.filterReason != null) {
      return filtered(child.id(), name, group.filterReason, group.errors);
    }
    return run.worker.deadLetter(child, name, group.errors, group.attempts);
  }

  private Completion filtered(String id, String stage, String reason, List<ErrorInfo> errors) {
    return new Completion(
        id, RecordStatus.FILTERED, stage, reason, null, errors, 1, run.clock.now());
  }

  /** A group merged: its record, or why there is none (filtered, or failed with errors). */
  private record Made(
      @Nullable Envelope<Object> merged,
      @Nullable String filterReason,
      List<ErrorInfo> errors,
      int attempts) {}

  /**
   * Calls the merge stage's function on a complete group through its invoker, retrying as its
   * policy says; a merged record goes to {@code work.merged}.
   */
  private Made merge(
      RunStage stage,
      CallGuard guard,
      CallContext context,
      BatchWork work,
      MergedGroup group,
      Envelope<Object> like)
      throws InterruptedException {
    String name = stage.def.name().value();
    if (group.payloads().isEmpty()) {
      // every child ended on the way: nothing to merge, nothing goes on
      return new Made(null, Merges.NO_PARTS, List.of(), 0);
    }
    MergeStep fn = (MergeStep) Objects.requireNonNull(stage.def.single());
    Envelope<Object> input = lifted(like);
    for (String key : List.of(Envelope.REDELIVERED, Envelope.FENCING_TOKEN, Run.RETRIED_ERRORS)) {
      input = API.withoutMetadata(input, key);
    }
    Envelope<Object> merged =
        API.withId(input, Merges.mergedId(group.parentId())).withPayload(group.payloads());
    List<ErrorInfo> errors = new ArrayList<>(0);
    long start = run.clock.nanoTime();
    for (int attempt = 1; ; attempt++) {
      int current = attempt;
      Attempt<Object> call =
          stage.invoker.call(
              1,
              merged.id(),
              guard,
              () -> {
                context.reset(merged, current);
                return fn.process(merged.payload(), context);
              },
              stage.singleCheck);
      if (call.kind() == Attempt.Kind.CANCELLED) {
        throw new InterruptedException("run cancelled");
      }
      if (call.kind() == Attempt.Kind.PASSED) {
        work.latency(run.clock.nanoTime() - start, 1);
        Object output = Objects.requireNonNull(call.value());
        Envelope<Object> out = merged.withPayload(output);
        Map<String, String> added = context.added();
        if (added != null) {
          out = API.withAllMetadata(out, added);
        }
        work.merged.add(out);
        work.bytes += run.payloadSize.applyAsLong(output);
        if (run.lineage != null) {
          run.lineage.merged(
              stage, merged, out, group.parentId(), group.size(), attempt, work.entered);
        }
        return new Made(out, null, errors, attempt);
      }
      if (call.kind() == Attempt.Kind.FILTERED) {
        return new Made(null, call.filterReason(), errors, attempt);
      }
      Throwable error = call.failure();
      stage.recorder.error(error);
      errors.add(run.errorText.info(name, error, attempt, run.clock.now()));
      if (!Retries.retries(stage.def.options().retryPolicy(), error, attempt)) {
        return new Made(null, null, ErrorText.bounded(errors), attempt);
      }
      work.retries++;
      Duration delay =
          Retries.delay(stage.def.options().retryPolicy(), attempt, ThreadLocalRandom.current());
      run.clock.sleep(delay);
    }
  }

  /**
   * The record a child stands for one level out once its group is merged: its parent, with the
   * enclosing group's {@link Envelope#PARENT_ID} and {@link Envelope#SPLIT_SIZE} taken back from
   * {@link Envelope#OUTER_SPLIT_SIZES} if that parent was itself a part of a group (nested pairs),
   * else with neither. A blank parent (metadata a stage forged) names no record: the child then
   * stands in no group, and no group one level out takes it.
   */
  static Envelope<Object> lifted(Envelope<Object> child) {
    String parent = child.metadata().get(Envelope.PARENT_ID);
    Envelope<Object> up = child;
    for (String key :
        List.of(Envelope.PARENT_ID, Envelope.SPLIT_SIZE, Envelope.OUTER_SPLIT_SIZES)) {
      up = API.withoutMetadata(up, key);
    }
    if (parent == null || parent.isBlank()) {
      return up;
    }
    up = API.withId(up, parent);
    String outer = child.metadata().get(Envelope.OUTER_SPLIT_SIZES);
    String enclosing = Merges.enclosingParent(parent);
    if (outer == null || enclosing == null) {
      return up;
    }
    int comma = outer.lastIndexOf(',');
    up =
        up.withMetadata(Envelope.PARENT_ID, enclosing)
            .withMetadata(Envelope.SPLIT_SIZE, outer.substring(comma + 1));
    return comma < 0 ? up : up.withMetadata(Envelope.OUTER_SPLIT_SIZES, outer.substring(0, comma));
  }

  /** The merge stage whose groups the records ending at this stage belong to, or null. */
  private @Nullable RunStage window(RunStage stage) {
    return stage.index >= 0 && stage.index < windows.length ? windows[stage.index] : null;
  }

  /**
   * Whether an ending makes an absent part: a child filtered or dead-lettered between a split and
   * its merge; at a merge stage nested in another pair, a child whose group made no record there
   * (filtered or failed, not merged nor late), whose parent is then absent one level out.
   */
  private static boolean endsAbsent(Completion c, boolean atMerge) {
    return c.status() == RecordStatus.DEAD_LETTER
        || (c.status() == RecordStatus.FILTERED && !(atMerge && Merges.LATE.equals(c.reason())));
  }

  /**
   * Before the endings of a stage between a split and its merge are written: gives the children
   * that end there to the store as absent parts, and merges the groups that completes (the merged
   * record is stored and handed on at once). A group whose merge fails sends the child that
   * completed it to the dead letter queue at its stage, with the merge's errors: sending it back
   * ends it here again, and merges the group again. At a merge stage nested in another pair, the
   * parents of the groups that made no record are the absent parts, of the enclosing groups.
   */
  void absent(RunStage stage, BatchWork work) throws InterruptedException {
    RunStage merge = window(stage);
    if (merge == null || work.completions.isEmpty()) {
      return;
    }
    boolean atMerge = merges(stage);
    String mergeName = merge.def.name().value();
    Map<String, Envelope<Object>> entered = null;
    List<MergePart> parts = new ArrayList<>();
    Set<String> given = new HashSet<>();
    Map<String, Integer> byParent = new HashMap<>();
    Map<String, Envelope<Object>> likes = new HashMap<>();
    for (int i = 0; i < work.completions.size(); i++) {
      Completion c = work.completions.get(i);
      if (!endsAbsent(c, atMerge) || (atMerge && misfits.remove(c.recordId()))) {
        continue;
      }
      @SuppressWarnings("unchecked")
      Envelope<Object> record = (Envelope<Object>) c.record();
      if (record == null) {
        if (entered == null) {
          entered = new HashMap<>();
          for (Envelope<Object> e : work.batch) {
            entered.put(e.id(), e);
          }
        }
        record = entered.get(c.recordId());
      }
      if (record == null || record.metadata().get(Envelope.PARENT_ID) == null) {
        continue;
      }
      Envelope<Object> standing = atMerge ? lifted(record) : record;
      try {
        MergePart part = Merges.part(mergeName, standing, true);
        if (given.add(part.recordId())) {
          parts.add(part);
        }
        byParent.putIfAbsent(part.parentId(), i);
        likes.putIfAbsent(part.parentId(), standing);
      } catch (StageException e) {
        LOG.debug("pipeline '{}': {}", run.pipeline, ErrorText.loggable(e.getMessage()));
      }
    }
    if (parts.isEmpty()) {
      return;
    }
    Map<String, Made> failed = giveAbsent(merge, parts, likes);
    for (Map.Entry<String, Made> f : failed.entrySet()) {
      int at = byParent.get(f.getKey());
      Completion c = work.completions.get(at);
      Envelope<Object> child = entered != null ? entered.get(c.recordId()) : null;
      if (child == null) {
        @SuppressWarnings("unchecked")
        Envelope<Object> record = (Envelope<Object>) Objects.requireNonNull(c.record());
        child = record;
      }
      List<ErrorInfo> errors = ErrorText.append(c.errors(), f.getValue().errors);
      work.completions.set(at, run.worker.deadLetter(child, c.stage(), errors, c.attempts()));
    }
  }

  /**
   * Gives absent parts to a merge stage's groups, merges the groups that completes and hands their
   * records on; a group that makes no record makes its parent absent one level out, if the pair is
   * nested in another. Returns the groups whose merge failed (there or one level out), by parent.
   */
  private Map<String, Made> giveAbsent(
      RunStage merge, List<MergePart> parts, Map<String, Envelope<Object>> likes)
      throws InterruptedException {
    MergeOutcome outcome =
        run.store.merge(run.pipeline, merge.def.name().value(), parts, run.clock.now());
    if (!outcome.refused().isEmpty()) {
      // an absent part that does not fit its group: the record already ended, nothing to count
      LOG.debug(
          "pipeline '{}': {}",
          run.pipeline,
          ErrorText.loggable(outcome.refused().values().iterator().next()));
    }
    if (outcome.complete().isEmpty()) {
      return Map.of();
    }
    BatchWork made = new BatchWork(List.of());
    CallContext context = run.context(merge);
    RunStage outer = window(merge);
    Map<String, Made> failed = new HashMap<>();
    List<MergePart> outerParts = new ArrayList<>();
    Map<String, Envelope<Object>> outerLikes = new HashMap<>();
    Map<String, String> innerOf = new HashMap<>();
    for (MergedGroup group : outcome.complete()) {
      Envelope<Object> like = likes.get(group.parentId());
      if (like == null) {
        continue;
      }
      // the merge stage's timeout is not watched here: the call is made on this stage's worker
      Made result = merge(merge, CallGuard.UNTIMED, context, made, group, like);
      if (result.merged == null && result.filterReason == null) {
        failed.put(group.parentId(), result);
      }
      if (result.merged == null && outer != null) {
        Envelope<Object> parent = lifted(like);
        try {
          MergePart part = Merges.part(outer.def.name().value(), parent, true);
          outerParts.add(part);
          outerLikes.putIfAbsent(part.parentId(), parent);
          innerOf.putIfAbsent(part.parentId(), group.parentId());
        } catch (StageException e) {
          LOG.debug("pipeline '{}': {}", run.pipeline, ErrorText.loggable(e.getMessage()));
        }
      }
    }
    merge.recorder.passed.add(made.merged.size());
    if (!made.merged.isEmpty()) {
      List<Envelope<Object>> fresh = store(merge, made.merged);
      if (merge.next != null) {
        merge.next.queue.put(fresh);
      } else if (!fresh.isEmpty()) {
        run.delivery.publish(fresh);
      }
    }
    if (outer != null && !outerParts.isEmpty()) {
      giveAbsent(outer, outerParts, outerLikes)
          .forEach((parent, result) -> failed.put(innerOf.get(parent), result));
    }
    return failed;
  }

  /**
   * Stores the records a merge stage merged, in one idempotent ingest at the step after it, and
   * returns those this run carries on: one stored before (the group merged again after a crash) is
   * the store's to hand over.
   */
  List<Envelope<Object>> store(RunStage merge, List<Envelope<Object>> merged) {
    String step = merge.next != null ? merge.next.def.name().value() : Run.SINK_STEP;
    Set<String> held = run.store.ingest(run.pipeline, merged, step, run.clock.now());
    List<Envelope<Object>> fresh = merged;
    if (!held.isEmpty()) {
      fresh = new ArrayList<>(merged.size());
      for (Envelope<Object> record : merged) {
        if (!held.contains(record.id())) {
          fresh.add(record);
        }
      }
      LOG.debug(
          "pipeline '{}': {} groups merged at stage '{}' were merged before (a merge repeated"
              + " after a crash); their records are not made again",
          run.pipeline,
          held.size(),
          merge.def.name());
    }
    run.mergedRecords.add(fresh.size());
    return fresh;
  }
}
