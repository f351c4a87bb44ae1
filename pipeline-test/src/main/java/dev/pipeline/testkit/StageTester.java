package dev.pipeline.testkit;

import dev.pipeline.BatchStage;
import dev.pipeline.MergeFunction;
import dev.pipeline.Parallel;
import dev.pipeline.PipelineException;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.ReferenceData;
import dev.pipeline.Route;
import dev.pipeline.SplitStage;
import dev.pipeline.Stage;
import dev.pipeline.StageException;
import dev.pipeline.StageFunction;
import dev.pipeline.StageName;
import dev.pipeline.StageOptions;
import dev.pipeline.engine.Attempt;
import dev.pipeline.engine.CallGuard;
import dev.pipeline.engine.Fallbacks;
import dev.pipeline.engine.Invoker;
import dev.pipeline.engine.Merges;
import dev.pipeline.engine.OutputShape;
import dev.pipeline.engine.Outputs;
import dev.pipeline.engine.Retries;
import dev.pipeline.engine.Splits;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.ReferenceDataMetrics;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.Consumer;
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
 * <p>The stage is called through the engine's own call path, with the stage's {@link
 * #options(Consumer) options}: its circuit breaker's permission, its rate limit's tokens, its
 * timeout, then the call. A {@link RecordFilteredException} filters the record; any other {@link
 * Throwable} (an {@link Error} too), a null output, or an output without its declared shape (an
 * {@link dev.pipeline.OutputShapeException}, checked as a pipeline checks it: see {@code
 * StageOptions.Builder.shapeCheck}; the declared type is the options' or the stage's class's) fails
 * the attempt; a failed attempt is retried while the retry policy allows it and the error is not a
 * {@link VirtualMachineError}, after the policy's delay, which the tester sleeps on its {@link
 * ManualClock} and so costs no real time. A record the stage gives up on takes the stage's skip or
 * function {@link dev.pipeline.resilience.Fallback} if it has one (its result is passed and {@link
 * StageResult#isDegraded() degraded}), else it fails, as the engine would dead-letter it. A batch
 * stage is called as in a pipeline: a call that fails as a whole is retried as one, or halved until
 * the records at fault are alone; single records may be filtered or failed through {@link
 * dev.pipeline.StageContext#filter} and {@link dev.pipeline.StageContext#fail}. Attempts count from
 * 1. Records are named {@code "record-1"}, {@code "record-2"}, ... in the order the tester sees
 * them, unless given an id.
 *
 * <p>Time is the tester's clock: a call times out when the clock passes the stage's timeout during
 * the call (a stage that sleeps on it, or a test that advances it), since there is no watchdog
 * thread to interrupt it. {@link dev.pipeline.resilience.Fallback#hold()} parks records in a
 * durable store's retry queue, which the tester has not: as in a pipeline without one, a refused
 * call then fails the attempt.
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
  private StageOptions options = StageOptions.defaults();
  private boolean optionsSet;
  private @Nullable Invoker invoker;
  private @Nullable Stage<I, O> boundStage;
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

  // whether the stage is a split stage's splitter, whose output is the list of its children
  private final boolean splits;
  // whether the stage is a merge stage's merger, whose input is the list of a group's parts
  private boolean merges;

  // the user's function, whose class may declare the stage's output type
  private final Object function;
  private @Nullable OutputShape shape;
  private boolean shapeMade;

  private StageTester(
      @Nullable Stage<I, O> single,
      @Nullable BatchStage<I, O> batch,
      boolean splits,
      Object function) {
    this.single = single;
    this.batch = batch;
    this.splits = splits;
    this.function = function;
  }

  /**
   * A tester of a stage that needs its context.
   *
   * @throws NullPointerException if {@code stage} is null
   */
  public static <I, O> StageTester<I, O> of(Stage<I, O> stage) {
    return new StageTester<>(
        Objects.requireNonNull(stage, "stage cannot be null"), null, false, stage);
  }

  /**
   * A tester of a stage that is a plain function of the payload.
   *
   * @throws NullPointerException if {@code function} is null
   */
  public static <I, O> StageTester<I, O> of(StageFunction<I, O> function) {
    Objects.requireNonNull(function, "function cannot be null");
    return new StageTester<>((input, context) -> function.apply(input), null, false, function);
  }

  /**
   * A tester of a batch stage. {@link #runAll(List)} hands it all its inputs in one batch; {@link
   * #run(Object)} a batch of one.
   *
   * @throws NullPointerException if {@code stage} is null
   */
  public static <I, O> StageTester<I, O> ofBatch(BatchStage<I, O> stage) {
    return new StageTester<>(
        null, Objects.requireNonNull(stage, "stage cannot be null"), false, stage);
  }

  /**
   * A tester of a split stage's splitter ({@code PipelineBuilder.splitStage}). A record that passes
   * has the list of its children's payloads as its output, child {@code i} being the record {@code
   * recordId/i} in a pipeline. As in a pipeline, a null child fails the attempt (retried by the
   * policy), an empty list filters the record with the reason {@value SplitStage#NO_RECORDS}, and a
   * split whose children's ids would be too long (or that makes more than 100,000 children) fails
   * the record without a retry. A skip or function fallback, which a pipeline refuses on a split
   * stage, makes {@code run} throw {@link IllegalStateException}.
   *
   * @throws NullPointerException if {@code splitter} is null
   */
  public static <I, O> StageTester<I, List<O>> ofSplit(SplitStage<I, O> splitter) {
    Objects.requireNonNull(splitter, "splitter cannot be null");
    Stage<I, List<O>> adapted =
        (input, context) -> {
          List<O> children = splitter.split(input, context);
          return Splits.children(context.stage().value(), context.recordId(), children) == null
              ? null
              : List.copyOf(children);
        };
    return new StageTester<>(adapted, null, true, splitter);
  }

  /**
   * A tester of a merge stage's merger ({@code PipelineBuilder.mergeStage}): its input is the list
   * of a group's parts (the payloads of the children that reached the merge stage, in the split's
   * order), its output the merged record's payload; in a pipeline the record id is {@code
   * parentId/merged}. As in a pipeline, the merger is called through the stage's policies, and an
   * empty group makes no record (the result is filtered with the reason {@value Merges#NO_PARTS}).
   * A fallback, which a pipeline refuses on a merge stage, makes {@code run} throw {@link
   * IllegalStateException}.
   *
   * @throws NullPointerException if {@code merger} is null
   */
  public static <C, R> StageTester<List<C>, R> ofMerge(MergeFunction<C, R> merger) {
    Objects.requireNonNull(merger, "merger cannot be null");
    StageTester<List<C>, R> tester =
        new StageTester<>(
            (parts, context) -> merger.merge(List.copyOf(parts), context), null, false, merger);
    tester.merges = true;
    return tester;
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
    beforeFirstRun();
    retrySet = once(retrySet, "retry policy");
    if (optionsSet) {
      throw new IllegalStateException(
          "the stage's options were already set; set the retry policy in them");
    }
    this.retry = policy;
    return this;
  }

  /**
   * Calls the stage with the options it has in the pipeline: give the same {@code configure} the
   * pipeline's {@code stage(name, stage, configure)} gets. Its retry policy, circuit breaker, rate
   * limit, timeout and fallback apply; its concurrency, batch size and checkpoint do not, to one
   * stage called on the test's thread.
   *
   * <pre>{@code
   * static final Consumer<StageOptions.Builder> PRICING =
   *     o -> o.retry(RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1)))
   *         .circuitBreaker(CircuitBreaker.failureRate(0.5))
   *         .fallback(Fallback.skip());
   *
   * StageTester.of(new PriceLookup(service)).options(PRICING).run("excavator");
   * }</pre>
   *
   * @throws IllegalArgumentException if the options are invalid (as the pipeline's build() would
   *     say)
   * @throws IllegalStateException if the options or the retry policy were already set, or the
   *     tester has run
   */
  public StageTester<I, O> options(Consumer<StageOptions.Builder> configure) {
    Objects.requireNonNull(configure, "configure cannot be null");
    beforeFirstRun();
    optionsSet = once(optionsSet, "stage options");
    if (retrySet) {
      throw new IllegalStateException(
          "the retry policy was already set; set it in the options instead");
    }
    this.options = StageOptions.of(configure);
    this.retry = options.retryPolicy();
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
    beforeFirstRun();
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
    beforeFirstRun();
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
    return runSingle(stage(), recordId, input);
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
      results.add(runSingle(stage(), ids.get(i), copy.get(i)));
    }
    return List.copyOf(results);
  }

  private StageResult<O> runSingle(Stage<I, O> stage, String recordId, I input) {
    if (splits && Fallbacks.degrades(options.fallback())) {
      throw new IllegalStateException(
          "a split stage cannot have a skip or function fallback (a pipeline's build() refuses"
              + " it): use Fallback.hold() or no fallback");
    }
    if (merges && options.fallback() != null) {
      throw new IllegalStateException(
          "a merge stage cannot have a fallback (a pipeline's build() refuses it): remove it");
    }
    if (merges && ((List<?>) input).isEmpty()) {
      return StageResult.filtered(recordId, Merges.NO_PARTS, List.of(), 0, List.of());
    }
    CapturingLogger logger = logger();
    int firstLog = book.size();
    Map<String, String> recordMetadata = recordMetadata();
    Invoker invoker = invoker();
    Invoker.Check<O> check =
        splits
            ? Outputs.children(stageName.value(), shape())
            : Outputs.single(stageName.value(), shape());
    List<Throwable> errors = new ArrayList<>();
    for (int attempt = 1; ; attempt++) {
      TestStageContext context = context(logger, false, List.of(recordId), recordMetadata, attempt);
      Attempt<O> call =
          call(
              invoker,
              1,
              recordId,
              () -> {
                try {
                  return stage.process(input, context);
                } finally {
                  context.end();
                }
              },
              check);
      switch (call.kind()) {
        case PASSED -> {
          if (splits) {
            List<?> children = (List<?>) Objects.requireNonNull(call.value());
            if (children.isEmpty()) {
              return StageResult.filtered(
                  recordId, SplitStage.NO_RECORDS, errors, attempt, book.from(firstLog));
            }
            StageException problem = Splits.problem(stageName.value(), recordId, children.size());
            if (problem != null) {
              addError(errors, problem);
              return StageResult.failed(recordId, errors, attempt, book.from(firstLog));
            }
          }
          return StageResult.passed(
              recordId,
              Objects.requireNonNull(call.value()),
              errors,
              attempt,
              book.from(firstLog),
              context.addedMetadata());
        }
        case FILTERED -> {
          return StageResult.filtered(
              recordId,
              Objects.requireNonNull(call.filterReason()),
              errors,
              attempt,
              book.from(firstLog));
        }
        case REFUSED -> {
          if (Fallbacks.degrades(options.fallback())) {
            return giveUp(recordId, input, call.failure(), errors, attempt, logger, firstLog);
          }
        }
        default -> {}
      }
      Throwable error = call.failure();
      addError(errors, error);
      if (!Retries.retries(retry, error, attempt)) {
        return giveUp(recordId, input, error, errors, attempt, logger, firstLog);
      }
      backOff(attempt, List.of(recordId));
    }
  }

  /** The records of a batch stage's call: their places in the input, their attempt. */
  private record Chunk(List<Integer> indexes, int attempt) {}

  private List<StageResult<O>> runBatch(BatchStage<I, O> stage, List<String> ids, List<I> inputs) {
    CapturingLogger logger = logger();
    int firstLog = book.size();
    Map<String, String> recordMetadata = recordMetadata();
    Invoker invoker = invoker();
    Invoker.Check<List<O>> check = Outputs.batch(stageName.value());
    List<@Nullable StageResult<O>> results = new ArrayList<>(Collections.nCopies(ids.size(), null));
    List<List<Throwable>> errors = new ArrayList<>(ids.size());
    List<Integer> all = new ArrayList<>(ids.size());
    for (int i = 0; i < ids.size(); i++) {
      errors.add(new ArrayList<>());
      all.add(i);
    }
    Deque<Chunk> chunks = new ArrayDeque<>();
    chunks.add(new Chunk(all, 1));
    Chunk chunk;
    while ((chunk = chunks.poll()) != null) {
      List<Integer> pending = chunk.indexes();
      int attempt = chunk.attempt();
      List<String> pendingIds = new ArrayList<>(pending.size());
      List<I> pendingInputs = new ArrayList<>(pending.size());
      for (int index : pending) {
        pendingIds.add(ids.get(index));
        pendingInputs.add(inputs.get(index));
      }
      TestStageContext context =
          context(logger, true, pendingIds, recordMetadata, attempt, pending.size());
      Attempt<List<O>> call =
          call(
              invoker,
              pending.size(),
              pendingIds.get(0),
              () -> {
                try {
                  return stage.process(Collections.unmodifiableList(pendingInputs), context);
                } finally {
                  context.end();
                }
              },
              check);
      Throwable error = call.error();
      if (call.kind() == Attempt.Kind.REFUSED && Fallbacks.degrades(options.fallback())) {
        for (int index : pending) {
          results.set(
              index,
              giveUp(
                  ids.get(index),
                  inputs.get(index),
                  call.failure(),
                  errors.get(index),
                  attempt,
                  logger,
                  firstLog));
        }
        continue;
      }
      if (call.kind() == Attempt.Kind.FAILED
          && Retries.wholeCall(retry, call.failure(), attempt, pending.size())
              instanceof Retries.WholeCall whole) {
        if (whole == Retries.WholeCall.RETRY) {
          backOff(attempt, pendingIds);
          chunks.addFirst(new Chunk(pending, attempt + 1));
        } else {
          int half = pending.size() / 2;
          chunks.addFirst(new Chunk(pending.subList(half, pending.size()), attempt));
          chunks.addFirst(new Chunk(pending.subList(0, half), attempt));
        }
        continue;
      }
      List<LogEntry> logs = book.from(firstLog);
      List<O> outputs = call.value();
      List<Integer> again = new ArrayList<>();
      for (int position = 0; position < pending.size(); position++) {
        int index = pending.get(position);
        String recordId = ids.get(index);
        Throwable recordError = error;
        String reason = call.filterReason();
        @Nullable O output = null;
        if (call.kind() == Attempt.Kind.PASSED) {
          reason = context.filterReason(position);
          recordError = context.failure(position);
          output = Objects.requireNonNull(outputs).get(position);
          if (recordError == null && reason == null) {
            recordError = Outputs.inBatch(stageName.value(), recordId, output, shape());
          }
        }
        List<Throwable> recordErrors = errors.get(index);
        if (reason != null && recordError == null) {
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
                  context.addedMetadata()));
        } else {
          addError(recordErrors, recordError);
          if (Retries.retries(retry, recordError, attempt)) {
            again.add(index);
          } else {
            results.set(
                index,
                giveUp(
                    recordId,
                    inputs.get(index),
                    recordError,
                    recordErrors,
                    attempt,
                    logger,
                    firstLog));
          }
        }
      }
      if (!again.isEmpty()) {
        List<String> againIds = new ArrayList<>(again.size());
        for (int index : again) {
          againIds.add(ids.get(index));
        }
        backOff(attempt, againIds);
        chunks.addFirst(new Chunk(again, attempt + 1));
      }
    }
    List<StageResult<O>> done = new ArrayList<>(results.size());
    for (StageResult<O> result : results) {
      done.add(Objects.requireNonNull(result));
    }
    return List.copyOf(done);
  }

  /**
   * A record the stage gave up on: it passes degraded through the stage's skip or function
   * fallback, or fails (the engine would dead-letter it, with the fallback's error if it failed).
   */
  @SuppressWarnings("unchecked")
  private StageResult<O> giveUp(
      String recordId,
      I input,
      Throwable cause,
      List<Throwable> errors,
      int attempts,
      CapturingLogger logger,
      int firstLog) {
    Fallback<?, ?> fallback = options.fallback();
    if (Fallbacks.degrades(fallback)) {
      TestStageContext context =
          context(logger, false, List.of(recordId), recordMetadata(), attempts);
      Fallbacks.Made made;
      try {
        made = Fallbacks.apply(fallback, stageName.value(), recordId, input, cause, context);
      } finally {
        context.end();
      }
      if (made.error() == null) {
        Map<String, String> added = new LinkedHashMap<>(context.addedMetadata());
        added.put(
            Fallback.DEGRADED,
            Fallbacks.degradedMark(metadata.get(Fallback.DEGRADED), stageName.value()));
        return StageResult.passed(
            recordId,
            (O) Objects.requireNonNull(made.output()),
            errors,
            attempts,
            book.from(firstLog),
            added);
      }
      addError(errors, made.error());
    }
    return StageResult.failed(recordId, errors, attempts, book.from(firstLog));
  }

  private <R> Attempt<R> call(
      Invoker invoker, int records, String firstId, Invoker.Call<R> call, Invoker.Check<R> check) {
    try {
      return invoker.call(records, firstId, guard(invoker), call, check);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PipelineException(
          "interrupted while waiting for the rate limit of stage '" + stageName + "'", e);
    }
  }

  /**
   * The stage as a pipeline runs it, made at the first run: a fan-out ({@link Parallel}) or a route
   * ({@link Route}) gets its branches' circuit breakers, rate limits, retries and timeouts on the
   * tester's clock, as {@code build()} binds them to the pipeline's.
   */
  @SuppressWarnings("unchecked")
  private Stage<I, O> stage() {
    Stage<I, O> made = boundStage;
    if (made == null) {
      Stage<I, O> stage = Objects.requireNonNull(single);
      made =
          stage instanceof Parallel<?, ?> fanOut
              ? (Stage<I, O>) (Stage<?, ?>) fanOut.bind(clock)
              : stage instanceof Route<?, ?> route
                  ? (Stage<I, O>) (Stage<?, ?>) route.bind(clock)
                  : stage;
      boundStage = made;
    }
    return made;
  }

  /**
   * The stage's invoker, made at the first run: its circuit breaker and rate limit are bound to the
   * tester's clock then and keep their state across runs, as a stage's do across records.
   */
  private Invoker invoker() {
    Invoker made = invoker;
    if (made == null) {
      made =
          new Invoker(
              stageName.value(),
              options.circuitBreaker().bind(clock),
              options.rateLimit().bind(clock),
              options.timeout(),
              clock,
              () -> false,
              false);
      invoker = made;
    }
    return made;
  }

  /** What the stage's outputs must be, as in a pipeline: made at the first run. */
  private @Nullable OutputShape shape() {
    if (!shapeMade) {
      shape = OutputShape.of(stageName.value(), options, function);
      shapeMade = true;
    }
    return shape;
  }

  /** A call's timeout on the tester's clock: it timed out if the clock passed it meanwhile. */
  private CallGuard guard(Invoker invoker) {
    Duration timeout = invoker.timeout();
    if (timeout == null) {
      return CallGuard.UNTIMED;
    }
    long limit = timeout.toNanos();
    return new CallGuard() {
      @Override
      public long begin(long now) {
        return now;
      }

      @Override
      public boolean end(long call) {
        return clock.nanoTime() - call <= limit;
      }
    };
  }

  private TestStageContext context(
      CapturingLogger logger,
      boolean batch,
      List<String> recordIds,
      Map<String, String> recordMetadata,
      int attempt) {
    return context(logger, batch, recordIds, recordMetadata, attempt, recordIds.size());
  }

  private TestStageContext context(
      CapturingLogger logger,
      boolean batch,
      List<String> recordIds,
      Map<String, String> recordMetadata,
      int attempt,
      int records) {
    return new TestStageContext(
        pipelineName,
        stageName,
        logger,
        book,
        clock,
        batch,
        recordIds,
        Collections.nCopies(records, recordMetadata),
        attempt,
        references.tables(pipelineName, stageName, clock));
  }

  private static void addError(List<Throwable> errors, Throwable error) {
    errors.add(error);
    if (errors.size() > ErrorText.KEPT_LAST_ERRORS + 1) {
      errors.remove(1);
    }
  }

  private void backOff(int attempt, List<String> recordIds) {
    Duration delay = Retries.delay(retry, attempt, random);
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

  /** The policies are bound at the first run: what they depend on is set before it. */
  private void beforeFirstRun() {
    if (invoker != null) {
      throw new IllegalStateException(
          "the tester has run: set its options, retry policy, clock and stage name before its"
              + " first run");
    }
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
