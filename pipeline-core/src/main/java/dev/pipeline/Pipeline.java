package dev.pipeline;

import dev.pipeline.engine.run.ApiAccess;
import dev.pipeline.engine.run.Observability;
import dev.pipeline.engine.run.ResourceSampler;
import dev.pipeline.engine.run.Run;
import dev.pipeline.engine.run.RunPolicies;
import dev.pipeline.engine.run.StageDefinition;
import dev.pipeline.engine.run.Telemetry;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.internal.ReferenceTables;
import dev.pipeline.internal.TimeRange;
import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.QualityReporter;
import dev.pipeline.metrics.Report;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.TokenBucket;
import dev.pipeline.store.AuditEntry;
import dev.pipeline.store.AuditQuery;
import dev.pipeline.store.Lineage;
import dev.pipeline.store.Page;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.PipelineStore;
import dev.pipeline.store.StorableText;
import dev.pipeline.store.spi.RecordLedger;
import dev.pipeline.store.spi.StageDescriptor;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * A built pipeline: typed stages between sources and a sink, ready to run any number of times.
 *
 * <pre>{@code
 * Pipeline<String, Listing> pipeline = Pipeline.builder("equipment", String.class)
 *     .stage(INGESTION, Parser::parse)
 *     .stage(CLEANING, Cleaner::clean, s -> s.concurrency(4))
 *     .stage(PUBLISHING, publisher::publish)
 *     .sink(index)
 *     .build();
 * RunResult result = pipeline.run(Source.lines("scraper-a", file));
 * }</pre>
 *
 * <p>Every record read ends in exactly one terminal state: published (handed to the sink), filtered
 * (with a reason) or dead-lettered (with its errors); a failing record never stops the others. Runs
 * happen on virtual threads, one per stage worker and per source; queues between stages are
 * bounded, so memory stays flat however large the sources.
 *
 * <p>Thread-safe.
 *
 * @param <I> the type sources yield
 * @param <O> the type the sink receives
 */
public final class Pipeline<I, O> implements AutoCloseable {
  private final String name;
  private final List<StageDefinition> stages;
  private final RecordLedger store;
  private final boolean ownsStore;
  private final PipelineClock clock;
  private final @Nullable Sink<Object> sink;
  private final StageDefinition sinkStage;
  private final ToLongFunction<Object> payloadSize;
  private final int queueCapacity;
  private final Function<StageName, Logger> stageLoggers;
  private final AtomicReference<@Nullable Run> lastRun = new AtomicReference<>();
  private final DeadLetters deadLetters;
  private final RunPolicies policies;
  private final Map<String, Deque<CircuitBreaker.Transition>> transitions = new HashMap<>();
  private final List<StageDescriptor> descriptors;
  private final ReferenceTables references;
  // whether close() gave the pipeline's name back to the store; a later run takes it again
  private final AtomicBoolean unregistered = new AtomicBoolean();
  private final Observability observability;
  private final Telemetry telemetry;
  private final @Nullable ResourceSampler sampler;
  private final AtomicBoolean released = new AtomicBoolean();

  /** Circuit transitions kept per stage. */
  static final int KEPT_TRANSITIONS = 1_000;

  private static final Logger LOG = LoggerFactory.getLogger(Pipeline.class);

  static {
    ApiAccess.install(new EngineAccess());
  }

  Pipeline(
      String name,
      List<StageDefinition> stages,
      RecordLedger store,
      boolean ownsStore,
      PipelineClock clock,
      @Nullable Sink<Object> sink,
      StageOptions sinkOptions,
      ToLongFunction<Object> payloadSize,
      int queueCapacity,
      Function<StageName, Logger> stageLoggers,
      @Nullable PayloadCodec<?> inputCodec,
      List<AlertListener> alerts,
      Map<String, TokenBucket> sourceLimits,
      Duration retryQueueAfter,
      Duration sourceLinger,
      ErrorText errorText,
      ReferenceTables references,
      @Nullable StageCallListener callListener,
      Observability observability,
      LineageLevel lineage,
      double lineageShare) {
    this.name = name;
    this.references = references;
    this.observability = observability;
    AlertListener alert = alerts.isEmpty() ? AlertListener.logging() : all(alerts);
    this.telemetry =
        new Telemetry(
            name, store, clock, alert, observability.auditTrail(), observability.auditBuffer());
    this.deadLetters = new DeadLetters(name, store, clock, telemetry);
    this.stageLoggers = stageLoggers;
    this.stages = stages;
    this.store = store;
    this.ownsStore = ownsStore;
    this.clock = clock;
    this.sink = sink;
    // the sink is called as a batch stage after the last one, with its own options
    this.sinkStage =
        new StageDefinition(
            StageName.of(Run.SINK_STEP),
            stages.size() + 1,
            sinkOptions,
            null,
            null,
            sink == null ? "none" : sink.getClass().getName());
    this.payloadSize = payloadSize;
    this.queueCapacity = queueCapacity;
    List<StageDescriptor> descriptors = new ArrayList<>();
    List<Boolean> parkable = new ArrayList<>();
    PayloadCodec<?> codec = inputCodec;
    for (StageDefinition stage : stages) {
      descriptors.add(stage.describe(codec));
      parkable.add(store.hasRetryQueue() && (!store.isDurable() || codec != null));
      codec = stage.options().codec();
    }
    parkable.add(store.hasRetryQueue() && (!store.isDurable() || codec != null)); // the sink
    if (store.isDurable()) {
      // the records the sink failed on are kept, and sent back, as its input
      descriptors.add(sinkStage.describe(codec));
      describeBranchSinks(stages, descriptors);
    }
    this.policies =
        new RunPolicies(
            alert,
            sourceLimits,
            retryQueueAfter,
            parkable,
            sourceLinger,
            errorText,
            references,
            callListener,
            lineage,
            lineageShare);
    for (StageDefinition stage : stages) {
      watchCircuit(stage, alert);
    }
    watchCircuit(sinkStage, alert);
    for (StageDefinition stage : stages) {
      if (stage.single() instanceof Route<?, ?> route) {
        watchBranchSinks(stage.name(), route, alert);
      }
    }
    this.descriptors = List.copyOf(descriptors);
    try {
      store.register(name, descriptors);
    } catch (IllegalStateException e) {
      // another live pipeline holds the name with different stages (or the store is closed)
      throw new PipelineConfigurationException(name, List.of(e.getMessage()));
    }
    this.sampler = observability.resourceSampling() ? ResourceSampler.acquire() : null;
  }

  /**
   * Adds the route branch sinks' pseudo-stages after the sink, each with the codec its options name
   * (if any), so that a durable store keeps the records parked or dead-lettered at such a sink as
   * what it is given, and hands them back to it after a restart.
   */
  private static void describeBranchSinks(
      List<StageDefinition> stages, List<StageDescriptor> descriptors) {
    for (StageDefinition stage : stages) {
      if (!(stage.single() instanceof Route<?, ?> route)) {
        continue;
      }
      for (int arm = 0; arm < route.branches().size(); arm++) {
        Sink<Object> sink = route.sinkOf(arm);
        if (sink != null) {
          StageOptions options = route.sinkOptionsOf(arm);
          descriptors.add(
              new StageDefinition(
                      route.sinkStep(stage.name(), arm),
                      descriptors.size() + 1,
                      options,
                      null,
                      null,
                      sink.getClass().getName())
                  .describe(options.codec()));
        }
      }
    }
  }

  /** Watches the circuits of a route's branch sinks, under their pseudo-stages' names. */
  private void watchBranchSinks(StageName stage, Route<?, ?> route, AlertListener alert) {
    for (int arm = 0; arm < route.branches().size(); arm++) {
      Sink<Object> sink = route.sinkOf(arm);
      if (sink != null) {
        watchCircuit(
            new StageDefinition(
                route.sinkStep(stage, arm),
                0,
                route.sinkOptionsOf(arm),
                null,
                null,
                sink.getClass().getName()),
            alert);
      }
    }
  }

  /** Records a stage's circuit transitions, alerts on them and tells its rate limit. */
  private void watchCircuit(StageDefinition stage, AlertListener alert) {
    CircuitBreaker breaker = stage.options().circuitBreaker();
    if (breaker == CircuitBreaker.disabled()) {
      return;
    }
    String stageName = stage.name().value();
    Deque<CircuitBreaker.Transition> log = new ArrayDeque<>();
    transitions.put(stageName, log);
    TokenBucket bucket = stage.options().rateLimit();
    breaker.addListener(
        t -> {
          synchronized (log) {
            if (log.size() == KEPT_TRANSITIONS) {
              log.removeFirst();
            }
            log.addLast(t);
          }
          if (t.to() == CircuitBreaker.State.OPEN) {
            bucket.onCircuitOpen();
          }
          Level level = t.to() == CircuitBreaker.State.OPEN ? Level.WARN : Level.INFO;
          if (level.toInt() >= stage.options().auditLevel().toInt()) {
            telemetry.decision(
                stageName,
                null,
                level,
                "circuit-" + t.to().name().toLowerCase(Locale.ROOT).replace('_', '-'),
                "circuit went from " + t.from() + " to " + t.to() + ": " + t.reason(),
                Map.of("from", t.from().name(), "to", t.to().name()));
          }
          Alert.Kind kind =
              switch (t.to()) {
                case OPEN -> Alert.Kind.CIRCUIT_OPENED;
                case HALF_OPEN -> Alert.Kind.CIRCUIT_HALF_OPEN;
                case CLOSED -> Alert.Kind.CIRCUIT_CLOSED;
              };
          String message =
              "the circuit of stage '"
                  + stageName
                  + "' went from "
                  + t.from()
                  + " to "
                  + t.to()
                  + ": "
                  + t.reason();
          try {
            alert.onAlert(new Alert(kind, name, stageName, null, message, t.at()));
          } catch (RuntimeException e) {
            LOG.warn(
                "pipeline '{}': an alert listener failed on: {}; {}",
                name,
                ErrorText.escape(message),
                ErrorText.defaults().stackTrace(e));
          }
        });
  }

  private static AlertListener all(List<AlertListener> listeners) {
    List<AlertListener> copy = List.copyOf(listeners);
    if (copy.size() == 1) {
      return copy.get(0);
    }
    return alert -> {
      for (AlertListener listener : copy) {
        try {
          listener.onAlert(alert);
        } catch (RuntimeException e) {
          LOG.warn(
              "pipeline '{}': an alert listener failed on {}; {}",
              alert.pipeline(),
              ErrorText.loggable(alert),
              ErrorText.defaults().stackTrace(e));
        }
      }
    };
  }

  /**
   * The most characters of a pipeline's name, on any store: a durable store keeps it in a column of
   * this size, and every store, metric tag, log line and dashboard page shows it.
   */
  public static final int MAX_NAME_CHARS = 200;

  /**
   * Why a pipeline's name cannot be kept by every store, or null if it can: longer than {@value
   * #MAX_NAME_CHARS} characters, or holding an unpaired surrogate (text no store can keep).
   */
  static @Nullable String nameProblem(String name) {
    if (name.length() > MAX_NAME_CHARS) {
      return "pipeline name '"
          + ErrorText.loggable(name, 40)
          + "' is "
          + name.length()
          + " characters long; use 1 to "
          + MAX_NAME_CHARS
          + " characters";
    }
    String problem = StorableText.idProblem(name);
    return problem == null
        ? null
        : "pipeline name '"
            + ErrorText.loggable(StorableText.escape(name), 40)
            + "' cannot be kept by a store: it "
            + problem
            + "; use 1 to "
            + MAX_NAME_CHARS
            + " characters of valid text";
  }

  /**
   * Starts building a pipeline.
   *
   * @param name the pipeline's name, kept with its records in the store
   * @param inputType the type its sources yield (for the typed chain; not checked at run time)
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the name is blank or holds a control character (a line
   *     break, ESC, a bidi control: it is written in log lines); a name longer than {@value
   *     #MAX_NAME_CHARS} characters, or with an unpaired surrogate, is refused by {@link
   *     PipelineBuilder#build()}
   */
  public static <T> PipelineBuilder<T, T> builder(String name, Class<T> inputType) {
    Objects.requireNonNull(name, "name cannot be null");
    Objects.requireNonNull(inputType, "inputType cannot be null");
    if (name.isBlank()) {
      throw new IllegalArgumentException("pipeline name cannot be blank");
    }
    int control = ErrorText.firstControl(name);
    if (control >= 0) {
      throw new IllegalArgumentException(
          String.format(
              Locale.ROOT,
              "pipeline name '%s' holds the control character U+%04X at position %d; use a name"
                  + " without line breaks, escapes or other control characters",
              ErrorText.escape(name),
              (int) name.charAt(control),
              control));
    }
    return new PipelineBuilder<>(name, inputType);
  }

  /** The pipeline's name. */
  public String name() {
    return name;
  }

  /** The stages, in order. */
  public List<StageName> stages() {
    return stages.stream().map(StageDefinition::name).toList();
  }

  /**
   * The sinks of the route branches that end at one, by the names of their pseudo-stages ({@link
   * StageName#branchSink}), in pipeline and branch order: what {@link #options}, {@link
   * #circuitTransitions} and the metrics ({@link PipelineMetrics#branchSinks()}) know them by.
   */
  public List<StageName> branchSinks() {
    List<StageName> all = new ArrayList<>();
    for (StageDefinition stage : stages) {
      if (stage.single() instanceof Route<?, ?> route) {
        for (int arm = 0; arm < route.branches().size(); arm++) {
          if (route.sinkOf(arm) != null) {
            all.add(route.sinkStep(stage.name(), arm));
          }
        }
      }
    }
    return List.copyOf(all);
  }

  /**
   * The options of a stage, of the sink under {@code StageName.of("sink")}, or of a route branch's
   * sink under {@link StageName#branchSink}.
   *
   * @throws IllegalArgumentException if the pipeline has no such stage
   */
  public StageOptions options(StageName stage) {
    for (StageDefinition definition : stages) {
      if (definition.name().equals(stage)) {
        return definition.options();
      }
    }
    if (stage.equals(sinkStage.name())) {
      return sinkStage.options();
    }
    if (stage.isBranchSink()) {
      for (StageDefinition definition : stages) {
        if (definition.single() instanceof Route<?, ?> route) {
          for (int arm = 0; arm < route.branches().size(); arm++) {
            if (route.sinkOf(arm) != null && route.sinkStep(definition.name(), arm).equals(stage)) {
              return route.sinkOptionsOf(arm);
            }
          }
        }
      }
    }
    throw new IllegalArgumentException("pipeline '" + name + "' has no stage '" + stage + "'");
  }

  /** The store that keeps the records' state, as users read it (dead letters, counts, records). */
  public PipelineStore store() {
    return store;
  }

  /**
   * What the pipeline's store kept of a record's lineage: an event per stage it went through (when
   * it entered and left, how, its attempts, hashes of its payload in and out, the branch it took,
   * the rule verdicts it got), with the record it was split from and those it was split into. What
   * is kept depends on {@link PipelineBuilder#lineage(LineageLevel)}: with the default, nothing.
   * Events still waiting in the pipeline's buffer are written first, those of records still going
   * on too, so a running run's events are there once their batch was handed on.
   *
   * @throws NullPointerException if the id is null
   */
  public Lineage lineage(String recordId) {
    Objects.requireNonNull(recordId, "recordId cannot be null");
    telemetry.flushAll();
    return Lineage.of(recordId, store.lineage(name, recordId));
  }

  /**
   * Runs the pipeline over one source and waits for it to finish.
   *
   * @throws PipelineException if interrupted while waiting (the run is cancelled)
   */
  public RunResult run(Source<? extends I> source) {
    return run(List.of(Objects.requireNonNull(source, "source cannot be null")));
  }

  /**
   * Runs the pipeline over several sources, read concurrently, and waits for it to finish.
   *
   * @throws PipelineException if interrupted while waiting (the run is cancelled)
   */
  public RunResult run(List<? extends Source<? extends I>> sources) {
    return awaitOrCancel(start(sources));
  }

  /** Waits for a run; if interrupted meanwhile, cancels it. */
  private RunResult awaitOrCancel(PipelineRun run) {
    try {
      return run.await();
    } catch (InterruptedException e) {
      run.cancel();
      Thread.currentThread().interrupt();
      throw new PipelineException(
          "interrupted while waiting for pipeline '" + name + "'; the run was cancelled", e);
    }
  }

  /** Starts the pipeline over one source and returns at once. */
  public PipelineRun start(Source<? extends I> source) {
    return start(List.of(Objects.requireNonNull(source, "source cannot be null")));
  }

  /**
   * Starts the pipeline over several sources and returns at once.
   *
   * @throws IllegalArgumentException if there are no sources
   * @throws IllegalStateException if the pipeline was closed and a pipeline with different stages
   *     has taken its name on the store since
   */
  public PipelineRun start(List<? extends Source<? extends I>> sources) {
    Objects.requireNonNull(sources, "sources cannot be null");
    if (sources.isEmpty()) {
      throw new IllegalArgumentException(
          "give at least one source; to process only what the store holds, call resume()");
    }
    return begin(sources);
  }

  @SuppressWarnings("unchecked")
  private PipelineRun begin(List<? extends Source<? extends I>> sources) {
    if (unregistered.compareAndSet(true, false)) {
      try {
        store.register(name, descriptors); // closed before: take the name back
      } catch (RuntimeException e) {
        unregistered.set(true);
        throw e;
      }
    }
    List<Source<Object>> all = new ArrayList<>();
    for (Source<? extends I> source : sources) {
      all.add((Source<Object>) Objects.requireNonNull(source, "sources cannot hold null"));
    }
    Run run =
        new Run(
            name,
            stages,
            store,
            clock,
            sink,
            sinkStage,
            payloadSize,
            queueCapacity,
            stageLoggers,
            all,
            policies,
            telemetry,
            observability,
            sampler);
    lastRun.set(run);
    run.start();
    return run;
  }

  /** A snapshot of the metrics of the current run, or of the last one if none is running. */
  public PipelineMetrics metrics() {
    Run run = lastRun.get();
    if (run == null) {
      return new PipelineMetrics(
          name,
          clock.now(),
          List.of(),
          0,
          0,
          0,
          0,
          0,
          references.snapshot(),
          List.of(),
          null,
          null,
          0);
    }
    return run.metrics();
  }

  /**
   * One page of the pipeline's audit trail matching the query, oldest first: what its stages logged
   * at or above their audit level, and what the engine decided about records (retries scheduled,
   * records parked and dead-lettered, circuits changing, dead letters reprocessed or discarded and
   * by whom). Lines still waiting in the pipeline's buffer are written first, so a run's lines are
   * all there once it returned. Pass {@link Page#nextCursor()} to {@link AuditQuery#after(String)}
   * for the next page. Empty if the store keeps no audit trail or the pipeline was built with
   * {@code auditTrail(false)}.
   *
   * <pre>{@code
   * for (AuditEntry line : pipeline.auditTrail(AuditQuery.all().recordId("order-17")).items()) {
   *   System.out.println(line.at() + " " + line.stage() + " " + line.message());
   * }
   * }</pre>
   *
   * @throws NullPointerException if the query is null
   */
  public Page<AuditEntry> auditTrail(AuditQuery query) {
    Objects.requireNonNull(query, "query cannot be null");
    telemetry.flush();
    return store.auditTrail(name, query);
  }

  /**
   * A stage's metrics history: its windows ({@link StageWindow}: counts, percentiles, throughput,
   * queue depth, utilization, circuit, CPU and allocations) that ended from {@code from}
   * (inclusive) to {@code to} (exclusive), oldest first, at most {@link
   * PipelineStore#MAX_HISTORY_WINDOWS}. The sink's are under {@code StageName.of("sink")}, the
   * store's under {@code StageName.of("store")}. Windows still waiting in the pipeline's buffer are
   * written first.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the pipeline has no such stage, or {@code to} is before
   *     {@code from}
   */
  public List<StageWindow> metricsHistory(StageName stage, Instant from, Instant to) {
    Objects.requireNonNull(stage, "stage cannot be null");
    if (!stage.value().equals(StageWindow.STORE)) {
      options(stage); // checks the name
    }
    TimeRange.check(name, stage.value(), from, to);
    telemetry.flush();
    return store.metricsHistory(name, stage.value(), from, to);
  }

  /**
   * The data-quality report of the last {@code window} on the pipeline's clock: the scores its
   * quality gates left in the metrics history (so from the store, after a restart too), and each
   * gate's rule failures with the sources they came from and example records, with insights a
   * person can act on; as Markdown ({@link Report#toMarkdown()}) or one self-contained HTML page
   * ({@link Report#toHtml()}). It needs {@code pipeline-quality} on the class or module path; drift
   * results and anomalies are added through its {@code QualityReports.builder}.
   *
   * @throws NullPointerException if the window is null
   * @throws IllegalArgumentException if the window is negative
   * @throws IllegalStateException if no {@link QualityReporter} is found ({@code pipeline-quality}
   *     is missing)
   */
  public Report qualityReport(Duration window) {
    Objects.requireNonNull(window, "window cannot be null");
    if (window.isNegative()) {
      throw new IllegalArgumentException(
          "a quality report's window must be zero or positive, not " + window);
    }
    Instant to = clock.now();
    Instant from =
        window.compareTo(Duration.between(Instant.EPOCH, to)) >= 0
            ? Instant.EPOCH
            : to.minus(window);
    List<Object> functions = new ArrayList<>(stages.size());
    for (StageDefinition stage : stages) {
      addFunction(functions, stage.single() != null ? stage.single() : stage.batch());
    }
    return QualityReporters.find(name).report(this, List.copyOf(functions), from, to);
  }

  /** Adds a stage's function and, for a route, the stages of its branches (routes nest). */
  private static void addFunction(List<Object> functions, @Nullable Object function) {
    functions.add(function);
    if (function instanceof Route<?, ?> route) {
      for (RouteBranch<?, ?> branch : route.branches()) {
        for (RouteBranch.Step step : branch.steps()) {
          addFunction(functions, step.stage());
        }
      }
    }
  }

  /** The dead letter queue: find, reprocess and discard the records that failed for good. */
  public DeadLetters deadLetters() {
    return deadLetters;
  }

  /**
   * The state changes of a stage's circuit breaker (or the sink's, under {@code
   * StageName.of("sink")}, or a route branch's sink's, under {@link StageName#branchSink}) since
   * the pipeline was built, oldest first (at most the last {@value #KEPT_TRANSITIONS}); empty if
   * the stage has no breaker.
   *
   * @throws IllegalArgumentException if the pipeline has no such stage
   */
  public List<CircuitBreaker.Transition> circuitTransitions(StageName stage) {
    options(stage); // checks the name
    Deque<CircuitBreaker.Transition> log = transitions.get(stage.value());
    if (log == null) {
      return List.of();
    }
    synchronized (log) {
      return List.copyOf(log);
    }
  }

  /**
   * Runs the pipeline without sources, over the records the store holds for it: dead letters sent
   * back for reprocessing, retries parked in the retry queue, records a crashed worker left (once
   * its lease expires). Returns when none is unfinished.
   *
   * @throws PipelineException if interrupted while waiting (the run is cancelled)
   */
  public RunResult resume() {
    return awaitOrCancel(begin(List.of()));
  }

  /**
   * Shuts down gracefully: a running run stops reading its sources and finishes the records it
   * read, waiting at most {@code timeout}; then it is cancelled. Gives the pipeline's name back to
   * the store, so that a pipeline with different stages may be built under it, and closes the store
   * if the pipeline made it. Stops the reference data loads and refreshes still running in the
   * background (interrupted, waited for a few seconds); the caches keep their values. A later run
   * takes the name again, and loads reference data again as needed.
   */
  public void close(Duration timeout) {
    Run run = lastRun.get();
    try {
      if (run != null && !run.status().isDone()) {
        run.shutdown();
        if (run.await(timeout).isEmpty()) {
          run.cancel();
          run.await();
        }
      }
    } catch (InterruptedException e) {
      if (run != null) {
        run.cancel();
      }
      Thread.currentThread().interrupt();
    } finally {
      references.close();
      telemetry.close();
      if (sampler != null && released.compareAndSet(false, true)) {
        ResourceSampler.release(sampler);
      }
      if (unregistered.compareAndSet(false, true)) {
        store.unregister(name);
      }
      if (ownsStore) {
        store.close();
      }
    }
  }

  /** {@link #close(Duration)} with a timeout of 30 seconds. */
  @Override
  public void close() {
    close(Duration.ofSeconds(30));
  }

  @Override
  public String toString() {
    return "Pipeline[" + name + ", stages=" + stages() + "]";
  }
}
