package dev.pipeline.testkit;

import dev.pipeline.BatchStage;
import dev.pipeline.PipelineException;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.ReferenceData;
import dev.pipeline.Stage;
import dev.pipeline.StageException;
import dev.pipeline.StageFunction;
import dev.pipeline.StageName;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.ReferenceDataMetrics;
import dev.pipeline.resilience.RetryPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * Runs one stage on the calling thread, without a pipeline, and tells what it made of each record.
 *
 * <pre>{@code
 * StageResult<String> cleaned = StageTester.of(Cleaner::clean).run("  Excavator ");
 * assertThat(cleaned.output()).isEqualTo("excavator");
 *
 * ManualClock clock = ManualClock.create();
 * StageResult<String> priced =
 *     StageTester.of(new PriceLookup(flakyService))
 *         .retry(RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1)))
 *         .clock(clock)
 *         .run("excavator");
 * assertThat(priced.attempts()).isEqualTo(3);
 * assertThat(clock.sleeps()).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2));
 * }</pre>
 *
 * <p>The stage is called as the engine calls it: a {@link RecordFilteredException} filters the
 * record; any other {@link Throwable} (an {@link Error} too) or a null output fails the attempt; a
 * failed attempt is retried while the {@link #retry retry policy} allows it and the error is not a
 * {@link VirtualMachineError}, after the policy's delay, which the tester sleeps on its {@link
 * ManualClock} and so costs no real time. A batch stage's records are retried on their own, and it
 * may filter or fail single records through {@link dev.pipeline.StageContext#filter} and {@link
 * dev.pipeline.StageContext#fail}. Attempts count from 1. Records are named {@code "record-1"},
 * {@code "record-2"}, ... in the order the tester sees them, unless given an id.
 *
 * <p>What the tester does not model: timeouts, circuit breakers and rate limits, which need the
 * engine's threads; test those with {@link PipelineTester}.
 *
 * <p>Not thread-safe: configure it and run it from one thread.
 *
 * @param <I> the stage's input type
 * @param <O> the stage's output type
 */
public final class StageTester<I, O> {
  /** The name a tester gives its stage unless told otherwise. */
  public static final StageName DEFAULT_STAGE_NAME = StageName.of("stage-under-test");

  /** The pipeline name the stage's context reports unless told otherwise. */
  public static final String DEFAULT_PIPELINE_NAME = "test";

  private final @Nullable Stage<I, O> single;
  private final @Nullable BatchStage<I, O> batch;
  private final LogBook book = new LogBook();
  private final Map<String, String> metadata = new LinkedHashMap<>();
  private final TesterReferences references = new TesterReferences();
  private RetryPolicy retry = RetryPolicy.none();
  private ManualClock clock = ManualClock.create();
  private StageName stageName = DEFAULT_STAGE_NAME;
  private String pipelineName = DEFAULT_PIPELINE_NAME;
  private RandomGenerator random = new SplittableRandom(0);
  private boolean retrySet;
  private boolean clockSet;
  private boolean stageNameSet;
  private boolean pipelineNameSet;
  private boolean randomSet;
  private int nextRecord = 1;

  private StageTester(@Nullable Stage<I, O> single, @Nullable BatchStage<I, O> batch) {
    this.single = single;
    this.batch = batch;
  }

  /**
   * A tester of a stage that needs its context.
   *
   * @throws NullPointerException if {@code stage} is null
   */
  public static <I, O> StageTester<I, O> of(Stage<I, O> stage) {
    return new StageTester<>(Objects.requireNonNull(stage, "stage cannot be null"), null);
  }

  /**
   * A tester of a stage that is a plain function of the payload.
   *
   * @throws NullPointerException if {@code function} is null
   */
  public static <I, O> StageTester<I, O> of(StageFunction<I, O> function) {
    Objects.requireNonNull(function, "function cannot be null");
    return new StageTester<>((input, context) -> function.apply(input), null);
  }

  /**
   * A tester of a batch stage. {@link #runAll(List)} hands it all its inputs in one batch; {@link
   * #run(Object)} a batch of one.
   *
   * @throws NullPointerException if {@code stage} is null
   */
  public static <I, O> StageTester<I, O> ofBatch(BatchStage<I, O> stage) {
    return new StageTester<>(null, Objects.requireNonNull(stage, "stage cannot be null"));
  }

  /**
   * Sets the retry policy, as {@code StageOptions.Builder.retry} would; {@link RetryPolicy#none()}
   * unless set.
   *
   * @return this tester
   * @throws NullPointerException if {@code policy} is null
   * @throws IllegalStateException if the retry policy was already set
   */
  public StageTester<I, O> retry(RetryPolicy policy) {
    Objects.requireNonNull(policy, "policy cannot be null");
    retrySet = once(retrySet, "retry policy");
    this.retry = policy;
    return this;
  }

  /**
   * Sets the clock the stage's context reads and the tester sleeps on between retries; a fresh
   * {@link ManualClock#create()} unless set.
   *
   * @return this tester
   * @throws NullPointerException if {@code clock} is null
   * @throws IllegalStateException if the clock was already set
   */
  public StageTester<I, O> clock(ManualClock clock) {
    Objects.requireNonNull(clock, "clock cannot be null");
    clockSet = once(clockSet, "clock");
    this.clock = clock;
    return this;
  }

  /**
   * Sets the stage name the context reports and errors name; {@link #DEFAULT_STAGE_NAME} unless
   * set.
   *
   * @return this tester
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalStateException if the stage name was already set
   */
  public StageTester<I, O> stageName(StageName name) {
    Objects.requireNonNull(name, "name cannot be null");
    stageNameSet = once(stageNameSet, "stage name");
    this.stageName = name;
    return this;
  }

  /**
   * Sets the pipeline name the context reports; {@link #DEFAULT_PIPELINE_NAME} unless set.
   *
   * @return this tester
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if {@code name} is blank
   * @throws IllegalStateException if the pipeline name was already set
   */
  public StageTester<I, O> pipelineName(String name) {
    Objects.requireNonNull(name, "name cannot be null");
    if (name.isBlank()) {
      throw new IllegalArgumentException("pipeline name cannot be blank");
    }
    pipelineNameSet = once(pipelineNameSet, "pipeline name");
    this.pipelineName = name;
    return this;
  }

  /**
   * Adds a metadata entry every record carries into the stage ({@link
   * dev.pipeline.StageContext#metadata()}); none unless added.
   *
   * @return this tester
   * @throws NullPointerException if the key or value is null
   * @throws IllegalStateException if the key was already added
   */
  public StageTester<I, O> metadata(String key, String value) {
    Objects.requireNonNull(key, "key cannot be null");
    Objects.requireNonNull(value, "value cannot be null");
    if (metadata.containsKey(key)) {
      throw new IllegalStateException(
          "metadata '" + key + "' was already set (to '" + metadata.get(key) + "')");
    }
    metadata.put(key, value);
    return this;
  }

  /**
   * Sets the source of the retry policy's jitter; unless set, a generator with a fixed seed, so
   * that a test's delays are the same on every run.
   *
   * @return this tester
   * @throws NullPointerException if {@code random} is null
   * @throws IllegalStateException if it was already set
   */
  public StageTester<I, O> random(RandomGenerator random) {
    Objects.requireNonNull(random, "random cannot be null");
    randomSet = once(randomSet, "random generator");
    this.random = random;
    return this;
  }

  /**
   * Gives the stage reference data, as a pipeline that declares it for the stage does: {@link
   * dev.pipeline.StageContext#reference} reaches a cache of each, built at the first run on the
   * tester's clock and kept across runs. Loads and refreshes run on the calling thread, so a stale
   * entry's refresh ends before its lookup returns (in a pipeline the old value is returned
   * meanwhile).
   *
   * @return this tester
   * @throws NullPointerException if {@code data} is or holds null
   * @throws IllegalStateException if a declaration or a name is given twice, or the tester already
   *     ran
   */
  public StageTester<I, O> withReferenceData(ReferenceData<?, ?>... data) {
    references.add(data);
    return this;
  }

  /** What the stage's reference data caches counted so far; empty before the first run. */
  public List<ReferenceDataMetrics> referenceMetrics() {
    return references.metrics();
  }

  /** The clock the tester runs on: the one set, or the one it made. */
  public ManualClock clock() {
    return clock;
  }

  /**
   * Runs the stage on one input, under the next id ({@code "record-1"}, {@code "record-2"}, ...).
   *
   * @throws NullPointerException if {@code input} is null
   * @throws PipelineException if the thread is interrupted while backing off between retries
   */
  public StageResult<O> run(I input) {
    Objects.requireNonNull(input, "input cannot be null");
    return run(nextId(), input);
  }

  /**
   * Runs the stage on one input under the given record id.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code recordId} is blank
   * @throws PipelineException if the thread is interrupted while backing off between retries
   */
  public StageResult<O> run(String recordId, I input) {
    Objects.requireNonNull(recordId, "recordId cannot be null");
    Objects.requireNonNull(input, "input cannot be null");
    if (recordId.isBlank()) {
      throw new IllegalArgumentException("recordId cannot be blank");
    }
    if (batch != null) {
      return runBatch(batch, List.of(recordId), List.of(input)).get(0);
    }
    return runSingle(Objects.requireNonNull(single), recordId, input);
  }

  /**
   * Runs the stage on several inputs, under the next ids: one after the other for a stage, as one
   * batch for a batch stage.
   *
   * @return one result per input, in order
   * @throws NullPointerException if the list or one of its inputs is null
   * @throws PipelineException if the thread is interrupted while backing off between retries
   */
  public List<StageResult<O>> runAll(List<? extends I> inputs) {
    Objects.requireNonNull(inputs, "inputs cannot be null");
    List<I> copy = new ArrayList<>(inputs.size());
    for (I input : inputs) {
      copy.add(Objects.requireNonNull(input, "inputs cannot hold null"));
    }
    List<String> ids = new ArrayList<>(copy.size());
    for (int i = 0; i < copy.size(); i++) {
      ids.add(nextId());
    }
    if (batch != null) {
      return copy.isEmpty() ? List.of() : runBatch(batch, ids, copy);
    }
    List<StageResult<O>> results = new ArrayList<>(copy.size());
    for (int i = 0; i < copy.size(); i++) {
      results.add(runSingle(Objects.requireNonNull(single), ids.get(i), copy.get(i)));
    }
    return List.copyOf(results);
  }

  private StageResult<O> runSingle(Stage<I, O> stage, String recordId, I input) {
    CapturingLogger logger = logger();
    int firstLog = book.size();
    Map<String, String> recordMetadata = recordMetadata();
    List<Throwable> errors = new ArrayList<>();
    for (int attempt = 1; ; attempt++) {
      TesterContext context =
          new TesterContext(
              pipelineName,
              stageName,
              logger,
              clock,
              false,
              List.of(recordId),
              List.of(recordMetadata),
              attempt,
              references.tables(pipelineName, stageName, clock));
      @Nullable O output = null;
      String reason = null;
      Throwable error = null;
      try {
        output = stage.process(input, context);
      } catch (RecordFilteredException filter) {
        reason = filter.reason();
      } catch (Throwable thrown) {
        error = thrown;
      } finally {
        context.end();
      }
      if (error == null && output == null && reason == null) {
        error =
            new StageException(
                stageName.value(),
                recordId,
                "stage '"
                    + stageName
                    + "' returned null for record '"
                    + recordId
                    + "'; return a value, or throw RecordFilteredException.because(reason) to"
                    + " drop the record");
      }
      if (error == null) {
        List<LogEntry> logs = book.from(firstLog);
        return reason != null
            ? StageResult.filtered(recordId, reason, errors, attempt, logs)
            : StageResult.passed(
                recordId, Objects.requireNonNull(output), errors, attempt, logs, context.added());
      }
      addError(errors, error);
      if (!retries(error, attempt)) {
        return StageResult.failed(recordId, errors, attempt, book.from(firstLog));
      }
      backOff(attempt, List.of(recordId));
    }
  }

  private List<StageResult<O>> runBatch(BatchStage<I, O> stage, List<String> ids, List<I> inputs) {
    CapturingLogger logger = logger();
    int firstLog = book.size();
    Map<String, String> recordMetadata = recordMetadata();
    List<@Nullable StageResult<O>> results = new ArrayList<>(Collections.nCopies(ids.size(), null));
    List<List<Throwable>> errors = new ArrayList<>(ids.size());
    List<Integer> pending = new ArrayList<>(ids.size());
    for (int i = 0; i < ids.size(); i++) {
      errors.add(new ArrayList<>());
      pending.add(i);
    }
    for (int attempt = 1; !pending.isEmpty(); attempt++) {
      List<String> pendingIds = new ArrayList<>(pending.size());
      List<I> pendingInputs = new ArrayList<>(pending.size());
      for (int index : pending) {
        pendingIds.add(ids.get(index));
        pendingInputs.add(inputs.get(index));
      }
      TesterContext context =
          new TesterContext(
              pipelineName,
              stageName,
              logger,
              clock,
              true,
              pendingIds,
              Collections.nCopies(pending.size(), recordMetadata),
              attempt,
              references.tables(pipelineName, stageName, clock));
      List<O> outputs = null;
      String filterAll = null;
      Throwable error = null;
      try {
        outputs = stage.process(Collections.unmodifiableList(pendingInputs), context);
      } catch (RecordFilteredException filter) {
        filterAll = filter.reason();
      } catch (Throwable thrown) {
        error = thrown;
      } finally {
        context.end();
      }
      if (error == null
          && filterAll == null
          && (outputs == null || outputs.size() != pending.size())) {
        error =
            new StageException(
                stageName.value(),
                null,
                "batch stage '"
                    + stageName
                    + "' returned "
                    + (outputs == null ? "null" : outputs.size() + " outputs")
                    + " for "
                    + pending.size()
                    + " inputs (first record '"
                    + pendingIds.get(0)
                    + "'); return one output per input, in order");
      }
      List<LogEntry> logs = book.from(firstLog);
      List<Integer> again = new ArrayList<>();
      for (int position = 0; position < pending.size(); position++) {
        int index = pending.get(position);
        String recordId = ids.get(index);
        Throwable recordError = error;
        String reason = filterAll;
        @Nullable O output = null;
        if (error == null && filterAll == null) {
          reason = context.filterReason(position);
          recordError = context.failure(position);
          output = Objects.requireNonNull(outputs).get(position);
          if (recordError == null && reason == null && output == null) {
            recordError =
                new StageException(
                    stageName.value(),
                    recordId,
                    "batch stage '"
                        + stageName
                        + "' returned null for record '"
                        + recordId
                        + "' without filtering or failing it through the context");
          }
        }
        List<Throwable> recordErrors = errors.get(index);
        if (reason != null) {
          results.set(index, StageResult.filtered(recordId, reason, recordErrors, attempt, logs));
        } else if (recordError == null) {
          results.set(
              index,
              StageResult.passed(
                  recordId,
                  Objects.requireNonNull(output),
                  recordErrors,
                  attempt,
                  logs,
                  context.added()));
        } else {
          addError(recordErrors, recordError);
          if (retries(recordError, attempt)) {
            again.add(index);
          } else {
            results.set(index, StageResult.failed(recordId, recordErrors, attempt, logs));
          }
        }
      }
      if (!again.isEmpty()) {
        List<String> againIds = new ArrayList<>(again.size());
        for (int index : again) {
          againIds.add(ids.get(index));
        }
        backOff(attempt, againIds);
      }
      pending = again;
    }
    List<StageResult<O>> done = new ArrayList<>(results.size());
    for (StageResult<O> result : results) {
      done.add(Objects.requireNonNull(result));
    }
    return List.copyOf(done);
  }

  /** Keeps a record's errors bounded as the engine does: its first and its last few. */
  private static void addError(List<Throwable> errors, Throwable error) {
    errors.add(error);
    if (errors.size() > ErrorText.KEPT_LAST_ERRORS + 1) {
      errors.remove(1);
    }
  }

  private boolean retries(Throwable error, int attempt) {
    return attempt <= retry.maxRetries()
        && retry.isRetryable(error)
        && !(error instanceof VirtualMachineError);
  }

  private void backOff(int attempt, List<String> recordIds) {
    Duration delay = retry.delay(attempt, random);
    try {
      clock.sleep(delay);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PipelineException(
          "interrupted while backing off "
              + delay
              + " before retry "
              + attempt
              + " of records "
              + recordIds
              + " at stage '"
              + stageName
              + "'",
          e);
    }
  }

  private CapturingLogger logger() {
    return new CapturingLogger(
        "dev.pipeline.stage." + pipelineName + "." + stageName.value(), stageName, book);
  }

  private Map<String, String> recordMetadata() {
    return Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
  }

  private String nextId() {
    return "record-" + nextRecord++;
  }

  private static boolean once(boolean set, String what) {
    if (set) {
      throw new IllegalStateException(what + " was already set");
    }
    return true;
  }

  @Override
  public String toString() {
    return "StageTester["
        + (batch != null ? "batch stage '" : "stage '")
        + stageName
        + "', retry="
        + retry
        + ", clock="
        + clock
        + "]";
  }
}
