package dev.pipeline.testkit;

import dev.pipeline.Envelope;
import dev.pipeline.RunResult;
import dev.pipeline.StageName;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.PipelineStore;
import dev.pipeline.store.RecordState;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Where every record of one {@link PipelineTester} run ended, with what the stages logged.
 *
 * <p>Every record read is in exactly one of {@link #published()}, {@link #filtered()} and {@link
 * #deadLetters()} when the run completed, but for one a split stage split into records of its own
 * ({@code RunResult.split()} counts them; the store has it as SPLIT): its children, ids {@code
 * recordId/index}, are in {@link #published()} and {@link #deadLetters()} by their own ids, and
 * {@link #filtered()} lists only records read. {@link #runResult()} holds the counts, the status
 * and the metrics.
 *
 * <p>Immutable and thread-safe (as far as the payloads are).
 *
 * @param <O> the pipeline's output type
 */
public final class PipelineTestResult<O> {
  private final RunResult runResult;
  private final List<String> recordIds;
  private final List<Envelope<O>> publishedEnvelopes;
  private final Map<String, O> published;
  private final Map<String, String> filtered;
  private final List<DeadLetter> deadLetters;
  private final List<LogEntry> logs;
  private final ManualClock clock;
  private final PipelineStore store;
  private final String pipeline;

  PipelineTestResult(
      RunResult runResult,
      List<String> recordIds,
      List<Envelope<O>> publishedEnvelopes,
      Map<String, String> filtered,
      List<DeadLetter> deadLetters,
      List<LogEntry> logs,
      ManualClock clock,
      PipelineStore store,
      String pipeline) {
    this.runResult = runResult;
    this.recordIds = List.copyOf(recordIds);
    this.publishedEnvelopes = List.copyOf(publishedEnvelopes);
    Map<String, O> outputs = new LinkedHashMap<>();
    for (Envelope<O> envelope : publishedEnvelopes) {
      outputs.putIfAbsent(envelope.id(), envelope.payload());
    }
    this.published = Collections.unmodifiableMap(outputs);
    this.filtered = Collections.unmodifiableMap(new LinkedHashMap<>(filtered));
    this.deadLetters = List.copyOf(deadLetters);
    this.logs = List.copyOf(logs);
    this.clock = clock;
    this.store = store;
    this.pipeline = pipeline;
  }

  /** The engine's account of the run: status, counts, duration, source errors and metrics. */
  public RunResult runResult() {
    return runResult;
  }

  /** The ids of the records the source yielded, in order, each once. */
  public List<String> recordIds() {
    return recordIds;
  }

  /** The outputs the sink received, by record id, in the order they arrived. */
  public Map<String, O> published() {
    return published;
  }

  /** The envelopes the sink received, in the order they arrived, with their metadata. */
  public List<Envelope<O>> publishedEnvelopes() {
    return publishedEnvelopes;
  }

  /**
   * The output of one published record.
   *
   * @throws NullPointerException if {@code recordId} is null
   * @throws IllegalStateException if the record was not published; the message says where it ended
   */
  public O output(String recordId) {
    Objects.requireNonNull(recordId, "recordId cannot be null");
    O output = published.get(recordId);
    if (output == null) {
      throw new IllegalStateException(
          "record '" + recordId + "' was not published: " + fate(recordId));
    }
    return output;
  }

  /** The filtered records' reasons, by record id, in reading order. */
  public Map<String, String> filtered() {
    return filtered;
  }

  /** The dead letters, oldest first, each with its record as it entered the failing stage. */
  public List<DeadLetter> deadLetters() {
    return deadLetters;
  }

  /**
   * The dead letter of one record.
   *
   * @throws NullPointerException if {@code recordId} is null
   * @throws IllegalStateException if the record was not dead-lettered; the message says where it
   *     ended
   */
  public DeadLetter deadLetter(String recordId) {
    Objects.requireNonNull(recordId, "recordId cannot be null");
    for (DeadLetter deadLetter : deadLetters) {
      if (deadLetter.recordId().equals(recordId)) {
        return deadLetter;
      }
    }
    throw new IllegalStateException(
        "record '" + recordId + "' was not dead-lettered: " + fate(recordId));
  }

  /**
   * What the store holds of one record: status, stage, attempts, reason, errors.
   *
   * @throws NullPointerException if {@code recordId} is null
   */
  public Optional<RecordState> state(String recordId) {
    Objects.requireNonNull(recordId, "recordId cannot be null");
    return store.find(pipeline, recordId);
  }

  /** What every stage logged through its context, in the order it was logged. */
  public List<LogEntry> logs() {
    return logs;
  }

  /**
   * What one stage logged through its context, in the order it was logged.
   *
   * @throws NullPointerException if {@code stage} is null
   */
  public List<LogEntry> logs(StageName stage) {
    Objects.requireNonNull(stage, "stage cannot be null");
    List<LogEntry> ofStage = new ArrayList<>();
    for (LogEntry entry : logs) {
      if (entry.stage().equals(stage)) {
        ofStage.add(entry);
      }
    }
    return List.copyOf(ofStage);
  }

  /** The clock the run used, where it stopped (runs of one tester share it). */
  public ManualClock clock() {
    return clock;
  }

  private String fate(String recordId) {
    Optional<RecordState> found = state(recordId);
    if (found.isEmpty()) {
      return "no record of that id was read (ids read: "
          + (recordIds.size() <= 10 ? recordIds : recordIds.subList(0, 10) + "...")
          + ")";
    }
    RecordState state = found.get();
    String where = state.status() + " at stage '" + state.stage() + "'";
    if (state.reason() != null) {
      where += " because '" + state.reason() + "'";
    }
    ErrorInfo error = state.lastError();
    if (error != null) {
      where +=
          " after "
              + state.attempts()
              + " attempts, last error "
              + error.exceptionClass()
              + ": "
              + error.message();
    }
    return where;
  }

  @Override
  public String toString() {
    return "PipelineTestResult["
        + runResult.pipeline()
        + ": "
        + recordIds.size()
        + " read, "
        + published.size()
        + " published, "
        + filtered.size()
        + " filtered, "
        + deadLetters.size()
        + " dead-lettered]";
  }
}
