package dev.pipeline.testkit;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.PipelineException;
import dev.pipeline.PipelineRun;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.Page;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * Runs a whole pipeline in memory, on the engine's real threads, and tells where every record
 * ended: published (with its output), filtered (with the reason) or dead-lettered (with its
 * errors), with what each stage logged.
 *
 * <pre>{@code
 * PipelineTester<String, String> tester =
 *     PipelineTester.forPipeline(
 *         "listings",
 *         String.class,
 *         pipeline ->
 *             pipeline
 *                 .stage(StageName.CLEANING, Cleaner::clean)
 *                 .stage(StageName.VALIDATION, Validator::validate));
 * PipelineTestResult<String> result = tester.run(List.of("  Excavator ", "", "crane"));
 * assertThat(result.published()).containsEntry("record-1", "excavator");
 * assertThat(result.filtered()).containsEntry("record-2", "empty listing");
 * }</pre>
 *
 * <p>The tester builds a new pipeline for every run: it calls {@link Pipeline#builder}, hands the
 * builder to the configuration function to add the stages (and their options, the payload size or
 * the queue capacity), then sets the clock, the store and the sink itself, so the configuration
 * must not set those. Each run has its own {@link InMemoryPipelineStore}, keeping every record's
 * state, so runs do not see each other's records; all runs share the tester's {@link ManualClock}.
 * The inputs of {@link #run(List)} get the ids {@code "record-1"}, {@code "record-2"}, ... in
 * order.
 *
 * <p>The clock is manual, so retries' backoff costs no real time. The engine measures stage
 * timeouts on the same clock: a call times out only once the clock moves past its timeout, whether
 * the test advances it (from another thread, while the call hangs) or another worker's backoff
 * does. The tester's own {@link #timeout(Duration)} is in real time, so a stuck run fails the test
 * instead of hanging it.
 *
 * <p>Not thread-safe to configure; once configured, each run is independent of the others.
 *
 * @param <I> the type the pipeline's sources yield
 * @param <O> the output type of its last stage
 */
public final class PipelineTester<I, O> {
  /** The source id of the inputs given to {@link #run(List)}, and so the prefix of their ids. */
  public static final String SOURCE_ID = "record";

  /** How long a run may take, in real time, unless set. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(1);

  private final String name;
  private final Class<I> inputType;
  private final Function<PipelineBuilder<I, I>, PipelineBuilder<I, O>> configuration;
  private ManualClock clock = ManualClock.create();
  private Duration timeout = DEFAULT_TIMEOUT;
  private boolean clockSet;
  private boolean timeoutSet;

  private PipelineTester(
      String name,
      Class<I> inputType,
      Function<PipelineBuilder<I, I>, PipelineBuilder<I, O>> configuration) {
    this.name = name;
    this.inputType = inputType;
    this.configuration = configuration;
  }

  /**
   * A tester of the pipeline the function configures.
   *
   * @param name the pipeline's name
   * @param inputType the type its sources yield
   * @param configuration adds the stages to the builder it is given and returns the builder the
   *     last {@code stage} call returned; called once per run
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the name is blank
   */
  public static <I, O> PipelineTester<I, O> forPipeline(
      String name,
      Class<I> inputType,
      Function<PipelineBuilder<I, I>, PipelineBuilder<I, O>> configuration) {
    Objects.requireNonNull(name, "name cannot be null");
    Objects.requireNonNull(inputType, "inputType cannot be null");
    Objects.requireNonNull(configuration, "configuration cannot be null");
    if (name.isBlank()) {
      throw new IllegalArgumentException("pipeline name cannot be blank");
    }
    return new PipelineTester<>(name, inputType, configuration);
  }

  /**
   * Sets the clock every run uses; a fresh {@link ManualClock#create()} unless set.
   *
   * @return this tester
   * @throws NullPointerException if {@code clock} is null
   * @throws IllegalStateException if the clock was already set
   */
  public PipelineTester<I, O> clock(ManualClock clock) {
    Objects.requireNonNull(clock, "clock cannot be null");
    if (clockSet) {
      throw new IllegalStateException("clock was already set");
    }
    clockSet = true;
    this.clock = clock;
    return this;
  }

  /**
   * Sets how long a run may take in real time before the tester cancels it and fails; {@link
   * #DEFAULT_TIMEOUT} unless set.
   *
   * @return this tester
   * @throws NullPointerException if {@code timeout} is null
   * @throws IllegalArgumentException if {@code timeout} is not positive
   * @throws IllegalStateException if the timeout was already set
   */
  public PipelineTester<I, O> timeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout cannot be null");
    if (!timeout.isPositive()) {
      throw new IllegalArgumentException("timeout must be positive, was " + timeout);
    }
    if (timeoutSet) {
      throw new IllegalStateException("timeout was already set");
    }
    timeoutSet = true;
    this.timeout = timeout;
    return this;
  }

  /** The clock the runs use: the one set, or the one the tester made. */
  public ManualClock clock() {
    return clock;
  }

  /**
   * Runs a new pipeline over the inputs, with the ids {@code "record-1"}, {@code "record-2"}, ...,
   * and waits for it to finish.
   *
   * @throws NullPointerException if the list or one of its inputs is null
   * @throws dev.pipeline.PipelineConfigurationException if the configured pipeline is invalid
   * @throws IllegalStateException if the configuration set the clock, store or sink, or returned
   *     null
   * @throws PipelineException if the run did not finish within the {@link #timeout(Duration)
   *     timeout} (it is cancelled) or the thread was interrupted while waiting
   */
  public PipelineTestResult<O> run(List<? extends I> inputs) {
    Objects.requireNonNull(inputs, "inputs cannot be null");
    List<I> copy = new ArrayList<>(inputs.size());
    for (I input : inputs) {
      copy.add(Objects.requireNonNull(input, "inputs cannot hold null"));
    }
    return run(Source.of(SOURCE_ID, copy.iterator()));
  }

  /**
   * Runs a new pipeline over the source and waits for it to finish.
   *
   * @throws NullPointerException if {@code source} is null
   * @throws dev.pipeline.PipelineConfigurationException if the configured pipeline is invalid
   * @throws IllegalStateException if the configuration set the clock, store or sink, or returned
   *     null
   * @throws PipelineException if the run did not finish within the {@link #timeout(Duration)
   *     timeout} (it is cancelled) or the thread was interrupted while waiting
   */
  public PipelineTestResult<O> run(Source<? extends I> source) {
    Objects.requireNonNull(source, "source cannot be null");
    LogBook logs = new LogBook();
    CollectingSink<O> sink = new CollectingSink<>();
    InMemoryPipelineStore store =
        InMemoryPipelineStore.builder().retainCompleted(Integer.MAX_VALUE).build();
    Pipeline<I, O> pipeline = build(logs, sink, store);
    RecordingSource<? extends I> recording = new RecordingSource<>(source);
    RunResult runResult;
    try (pipeline) {
      runResult = await(pipeline.start(recording));
    }
    List<String> ids = List.copyOf(new LinkedHashSet<>(recording.ids()));
    Map<String, String> filtered = new LinkedHashMap<>();
    for (String id : ids) {
      Optional<RecordState> state = store.find(name, id);
      if (state.isPresent() && state.get().status() == RecordStatus.FILTERED) {
        filtered.put(id, String.valueOf(state.get().reason()));
      }
    }
    return new PipelineTestResult<>(
        runResult,
        ids,
        sink.received(),
        filtered,
        deadLetters(pipeline),
        logs.from(0),
        clock,
        store,
        name);
  }

  private Pipeline<I, O> build(LogBook logs, CollectingSink<O> sink, InMemoryPipelineStore store) {
    PipelineBuilder<I, O> builder = configuration.apply(Pipeline.builder(name, inputType));
    if (builder == null) {
      throw new IllegalStateException(
          "the configuration of pipeline '"
              + name
              + "' returned null; return the builder its last stage(...) call returned");
    }
    try {
      builder.clock(clock).store(store).sink(sink);
    } catch (IllegalStateException e) {
      throw new IllegalStateException(
          "the configuration of pipeline '"
              + name
              + "' set the clock, store or sink ("
              + e.getMessage()
              + "); PipelineTester sets them itself: remove them, and give the tester a clock"
              + " with clock(ManualClock)",
          e);
    }
    builder.stageLoggers(
        stage ->
            new CapturingLogger("dev.pipeline.stage." + name + "." + stage.value(), stage, logs));
    return builder.build();
  }

  private RunResult await(PipelineRun run) {
    try {
      Optional<RunResult> result = run.await(timeout);
      if (result.isPresent()) {
        return result.get();
      }
      String progress = run.progress().line();
      run.cancel();
      run.await(Duration.ofSeconds(5));
      throw new PipelineException(
          "pipeline '"
              + name
              + "' did not finish within "
              + timeout
              + " and was cancelled; progress then: "
              + progress
              + "; a stage may be stuck, or the test may need a longer timeout(...)");
    } catch (InterruptedException e) {
      run.cancel();
      Thread.currentThread().interrupt();
      throw new PipelineException(
          "interrupted while waiting for pipeline '" + name + "'; the run was cancelled", e);
    }
  }

  private List<DeadLetter> deadLetters(Pipeline<I, O> pipeline) {
    List<DeadLetter> all = new ArrayList<>();
    DeadLetterQuery query = DeadLetterQuery.all().limit(10_000);
    while (true) {
      Page<DeadLetter> page = pipeline.deadLetters().find(query);
      all.addAll(page.items());
      String next = page.nextCursor();
      if (next == null) {
        return all;
      }
      query = query.after(next);
    }
  }

  @Override
  public String toString() {
    return "PipelineTester[" + name + ", clock=" + clock + ", timeout=" + timeout + "]";
  }
}
