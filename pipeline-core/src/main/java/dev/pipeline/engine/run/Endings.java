package dev.pipeline.engine.run;

import dev.pipeline.Alert;
import dev.pipeline.StageOptions;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.Completion;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Ends records: writes their terminal states to the store (at once, or with the next delivery note
 * or bulk write on a durable store), counts them, and raises dead-letter alerts.
 */
final class Endings {
  private static final Logger LOG = LoggerFactory.getLogger(Run.class);

  private final Run run;

  Endings(Run run) {
    this.run = run;
  }

  /**
   * Ends records filtered or dead-lettered at a stage: at once on a store that is not durable; on a
   * durable one, with the next delivery note (or once four batches' worth, and at least four
   * ingests' worth, wait, once the first has waited a second, or when the sources are done and the
   * claimer finds nothing to claim).
   */
  void end(RunStage stage, List<Completion> completions) {
    write(stage, completions, true);
  }

  /**
   * Ends records at a stage, or handed to a sink (stage: the pipeline's sink's or a route branch
   * sink's pseudo-stage, null when the pipeline has no sink): at once on a store that is not
   * durable; on a durable one, they wait to be written with the next delivery note, unless {@code
   * mayFlush} and the waiting records reached the limit.
   */
  void write(@Nullable RunStage stage, List<Completion> completions, boolean mayFlush) {
    if (!run.store.isDurable()) {
      // written at once: no ended records to keep waiting, so none are wrapped
      Set<String> fenced = run.store.complete(run.pipeline, completions);
      for (Completion c : completions) {
        count(stage, c, fenced);
      }
      alertDeadLetters(completions, fenced);
      return;
    }
    List<Run.Ended> now = new ArrayList<>(completions.size());
    for (Completion c : completions) {
      now.add(new Run.Ended(stage, c));
    }
    if (run.store.isDurable()) {
      synchronized (run.endedLock) {
        if (run.ended.isEmpty()) {
          run.endedSince = run.clock.nanoTime();
        }
        run.ended.addAll(now);
        run.endedUnwritten.add(now.size());
        boolean due =
            (mayFlush && run.ended.size() >= run.endedLimit)
                || run.clock.nanoTime() - run.endedSince >= Run.ENDED_MAX_AGE_NANOS;
        if (!due) {
          return;
        }
        now = run.ended;
        run.ended = new ArrayList<>();
      }
    }
    writeTaken(now);
  }

  /** Writes ended records taken from the waiting ones; puts them back if the store fails. */
  private void writeTaken(List<Run.Ended> taken) {
    Set<String> fenced;
    try {
      fenced = run.store.complete(run.pipeline, completionsOf(taken));
    } catch (RuntimeException e) {
      if (run.store.isDurable()) {
        putBack(taken);
      }
      throw e;
    }
    count(taken, fenced);
  }

  /** Puts back ended records whose write failed, first, for a later write to take. */
  void putBack(List<Run.Ended> taken) {
    if (taken.isEmpty()) {
      return;
    }
    synchronized (run.endedLock) {
      List<Run.Ended> all = new ArrayList<>(taken.size() + run.ended.size());
      all.addAll(taken);
      all.addAll(run.ended);
      run.ended = all;
      run.endedSince = Math.min(run.endedSince, run.clock.nanoTime());
    }
  }

  /** Takes the ended records not written yet. */
  List<Run.Ended> takeEnded() {
    synchronized (run.endedLock) {
      if (run.ended.isEmpty()) {
        return List.of();
      }
      List<Run.Ended> taken = run.ended;
      run.ended = new ArrayList<>();
      return taken;
    }
  }

  /** Writes the ended records not written yet: all, or only if the first has waited too long. */
  void writeEnded(boolean now) {
    if (!now) {
      synchronized (run.endedLock) {
        if (run.ended.isEmpty()
            || run.clock.nanoTime() - run.endedSince < Run.ENDED_MAX_AGE_NANOS) {
          return;
        }
      }
    }
    List<Run.Ended> taken = takeEnded();
    if (!taken.isEmpty()) {
      writeTaken(taken);
    }
  }

  /**
   * Counts ended records, now in the store, and alerts of the dead-lettered ones; those another
   * worker took over (fenced) are its to count.
   */
  void count(List<Run.Ended> written, Set<String> fenced) {
    List<Completion> completions = new ArrayList<>(written.size());
    for (Run.Ended e : written) {
      completions.add(e.completion());
      count(e.stage(), e.completion(), fenced);
    }
    // after they are counted: meanwhile they count twice as out of flight, never as in it
    run.endedUnwritten.add(-written.size());
    alertDeadLetters(completions, fenced);
  }

  /** Counts one ended record, now in the store (see {@link #count(List, Set)}). */
  private void count(@Nullable RunStage stage, Completion c, Set<String> fenced) {
    if (!fenced.isEmpty() && fenced.contains(c.recordId())) {
      run.takenOver.increment(); // its new holder finishes it
    } else if (c.status() == RecordStatus.PUBLISHED) {
      run.published.increment();
    } else if (c.status() == RecordStatus.FILTERED) {
      run.filtered.increment();
      if (stage != null) {
        stage.recorder.filtered.increment();
      }
    } else if (c.status() == RecordStatus.SPLIT) {
      run.split.increment(); // its children were counted when they were stored
    } else if (c.status() == RecordStatus.MERGED) {
      run.merged.increment(); // its group's record was counted when it was stored
    } else {
      run.deadLettered.increment();
      RunStage at = stage != null ? stage : run.sinkStage;
      if (at != null) {
        at.recorder.failed.increment();
      }
    }
  }

  /** Tells the alert listeners of each record that went to the dead letter queue. */
  private void alertDeadLetters(List<Completion> completions, Set<String> fenced) {
    for (Completion c : completions) {
      if (c.status() != RecordStatus.DEAD_LETTER || fenced.contains(c.recordId())) {
        continue;
      }
      ErrorInfo last = c.errors().isEmpty() ? null : c.errors().get(c.errors().size() - 1);
      auditDeadLetter(c, last);
      alert(
          new Alert(
              Alert.Kind.DEAD_LETTER,
              run.pipeline,
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

  /** Tells the audit trail of a record that went to the dead letter queue (at WARN). */
  private void auditDeadLetter(Completion c, @Nullable ErrorInfo last) {
    if (!run.telemetry.auditing() || Level.WARN.toInt() < auditLevel(c.stage()).toInt()) {
      return;
    }
    Map<String, String> facts = new LinkedHashMap<>();
    facts.put("attempts", Integer.toString(c.attempts()));
    if (last != null) {
      facts.put("errorType", last.errorType());
      facts.put("errorMessage", last.message());
    }
    run.telemetry.decision(
        c.stage(),
        c.recordId(),
        Level.WARN,
        "dead-lettered",
        "dead-lettered after "
            + c.attempts()
            + (c.attempts() == 1 ? " attempt" : " attempts")
            + (last == null ? "" : " (" + last.errorType() + ": " + last.message() + ")"),
        facts);
  }

  /** The audit level of the stage (or the sink) a record ended at. */
  private Level auditLevel(String stage) {
    for (RunStage s : run.stages) {
      if (s.def.name().value().equals(stage)) {
        return s.def.options().auditLevel();
      }
    }
    RunStage sink = run.sinkStage;
    return sink != null ? sink.def.options().auditLevel() : StageOptions.DEFAULT_AUDIT_LEVEL;
  }

  private void alert(Alert alert) {
    try {
      run.policies.alerts().onAlert(alert);
    } catch (RuntimeException e) {
      LOG.warn(
          "pipeline '{}': an alert listener failed on {}: {}",
          run.pipeline,
          ErrorText.loggable(alert),
          run.errorText.stackTrace(e));
    }
  }

  static List<Completion> completionsOf(List<Run.Ended> ended) {
    List<Completion> all = new ArrayList<>(ended.size());
    for (Run.Ended e : ended) {
      all.add(e.completion());
    }
    return all;
  }

  /** Attempts at a stage a record passed: one per error it met there, and the one that passed. */
  static int attemptsAt(String stage, List<ErrorInfo> errors) {
    if (errors.isEmpty()) {
      return 1; // most records: no iterator made
    }
    int attempts = 1;
    for (ErrorInfo error : errors) {
      if (error.stage().equals(stage)) {
        attempts += ErrorText.count(error);
      }
    }
    return attempts;
  }
}
