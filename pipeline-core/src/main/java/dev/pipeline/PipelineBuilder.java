package dev.pipeline;

import dev.pipeline.engine.MergeStep;
import dev.pipeline.engine.OutputShape;
import dev.pipeline.engine.OutputTypes;
import dev.pipeline.engine.Splits;
import dev.pipeline.engine.run.Observability;
import dev.pipeline.engine.run.Run;
import dev.pipeline.engine.run.StageDefinition;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.internal.ReferenceTables;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.resilience.TokenBucket;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.spi.RecordLedger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a {@link Pipeline}, one typed stage at a time: each {@code stage} call takes the output
 * type of the previous one as its input, so a chain that does not fit does not compile.
 *
 * <p>Configuration is checked by {@link #build()}, which reports every problem at once, each with
 * the stage it concerns and the fix. Not thread-safe.
 *
 * @param <I> the type the pipeline's sources yield
 * @param <O> the output type of the last stage added so far
 */
public final class PipelineBuilder<I, O> {
  private final String name;
  private final List<StageDefinition> stages = new ArrayList<>();
  private final List<String> problems = new ArrayList<>();
  // the orders of the stages added with splitStage
  private final Set<Integer> splitStages = new HashSet<>();
  private @Nullable RecordLedger store;
  private PipelineClock clock = PipelineClock.system();
  private @Nullable Sink<Object> sink;
  private StageOptions sinkOptions = sinkOptions(o -> {}, new ArrayList<>());
  private ToLongFunction<Object> payloadSize = PipelineBuilder::defaultSize;
  private int queueCapacity = 0;
  private Function<StageName, Logger> stageLoggers = this::defaultLogger;
  private @Nullable StageCallListener callListener;
  private LineageLevel lineage = LineageLevel.NONE;
  private double lineageShare = Double.NaN;
  private boolean storeSet;
  private boolean clockSet;
  private boolean sinkSet;
  private boolean inputCodecSet;

  private @Nullable PayloadCodec<?> inputCodec;
  private final List<AlertListener> alerts = new ArrayList<>();
  private final Map<String, TokenBucket> sourceLimits = new LinkedHashMap<>();
  private final List<ReferenceData<?, ?>> referenceData = new ArrayList<>();
  private Duration retryQueueAfter = DEFAULT_RETRY_QUEUE_AFTER;
  private Duration sourceLinger = DEFAULT_SOURCE_LINGER;
  private int errorMessageChars = ErrorText.DEFAULT_MESSAGE_CHARS;
  private int errorStackChars = ErrorText.DEFAULT_STACK_CHARS;
  private boolean auditTrail = true;
  private int auditBuffer = DEFAULT_AUDIT_BUFFER;
  private boolean metricsHistory = true;
  private Duration metricsWindow = DEFAULT_METRICS_WINDOW;
  private boolean resourceSampling;
  private boolean shapeChecks = true;

  /** Audit trail lines waiting for the store, at most, unless set. */
  public static final int DEFAULT_AUDIT_BUFFER = 16_384;

  /** The most lines {@link #auditBuffer(int)} accepts. */
  public static final int MAX_AUDIT_BUFFER = 1_000_000;

  /** The length of a metrics history window unless set. */
  public static final Duration DEFAULT_METRICS_WINDOW = Duration.ofSeconds(10);

  /** The shortest metrics window {@link #metricsWindow(Duration)} accepts. */
  public static final Duration MIN_METRICS_WINDOW = Duration.ofSeconds(1);

  /** The longest metrics window {@link #metricsWindow(Duration)} accepts. */
  public static final Duration MAX_METRICS_WINDOW = Duration.ofHours(1);

  /** Retries waiting longer than this leave the worker for the store's retry queue, unless set. */
  public static final Duration DEFAULT_RETRY_QUEUE_AFTER = Duration.ofSeconds(1);

  /**
   * The sink's retry policy unless its options set one: 8 retries, waiting 100 ms, then twice as
   * long each time up to 30 s (about 25 s in all), so that a database or service restarting under
   * the sink loses nothing. The first waits are spent in the delivering worker; those longer than
   * {@link #retryQueueAfter(Duration)} park the records in the store's retry queue.
   */
  public static final RetryPolicy DEFAULT_SINK_RETRY =
      RetryPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(30)).maxRetries(8);

  /** How long a source's partial batch waits for more records, unless set. */
  public static final Duration DEFAULT_SOURCE_LINGER =
      Duration.ofMillis(PipelineBuilder.DEFAULT_SOURCE_LINGER_MILLIS);

  private static final int DEFAULT_SOURCE_LINGER_MILLIS = 5;

  /** The longest source linger {@link #sourceLinger(Duration)} accepts. */
  public static final Duration MAX_SOURCE_LINGER = Duration.ofMinutes(1);

  /** The longest {@link #retryQueueAfter(Duration)}: a worker never sleeps longer on a retry. */
  public static final Duration MAX_RETRY_QUEUE_AFTER = Duration.ofDays(1);

  /**
   * The most records {@link #queueCapacity(int)} lets wait in front of a stage; the default
   * capacity is capped there too.
   */
  public static final int MAX_QUEUE_CAPACITY = 10_000_000;

  PipelineBuilder(String name, Class<I> inputType) {
    this.name = name;
    this.inputCodec = PayloadCodec.builtIn(inputType);
  }

  /** Adds a stage that needs its context. */
  public <R> PipelineBuilder<I, R> stage(StageName name, Stage<? super O, R> stage) {
    return stage(name, stage, options -> {});
  }

  /** Adds a stage that needs its context, with options. */
  @SuppressWarnings("unchecked")
  public <R> PipelineBuilder<I, R> stage(
      StageName name, Stage<? super O, R> stage, Consumer<StageOptions.Builder> options) {
    add(name, (Stage<Object, Object>) (Stage<?, ?>) stage, null, stage, options);
    return (PipelineBuilder<I, R>) this;
  }

  /** Adds a stage that is a plain function of the payload. */
  public <R> PipelineBuilder<I, R> stage(StageName name, StageFunction<? super O, R> function) {
    return stage(name, function, options -> {});
  }

  /** Adds a stage that is a plain function of the payload, with options. */
  @SuppressWarnings("unchecked")
  public <R> PipelineBuilder<I, R> stage(
      StageName name,
      StageFunction<? super O, R> function,
      Consumer<StageOptions.Builder> options) {
    Stage<Object, Object> adapted = null;
    if (function != null) {
      StageFunction<Object, Object> f =
          (StageFunction<Object, Object>) (StageFunction<?, ?>) function;
      adapted = (input, context) -> f.apply(input);
    }
    add(name, adapted, null, function, options);
    return (PipelineBuilder<I, R>) this;
  }

  /** Adds a stage that processes batches. */
  public <R> PipelineBuilder<I, R> batchStage(StageName name, BatchStage<? super O, R> stage) {
    return batchStage(name, stage, options -> {});
  }

  /** Adds a stage that processes batches, with options (its batch size among them). */
  @SuppressWarnings("unchecked")
  public <R> PipelineBuilder<I, R> batchStage(
      StageName name, BatchStage<? super O, R> stage, Consumer<StageOptions.Builder> options) {
    add(name, null, (BatchStage<Object, Object>) (BatchStage<?, ?>) stage, stage, options);
    return (PipelineBuilder<I, R>) this;
  }

  /**
   * Adds a stage that splits each record into zero, one or many records of their own (see {@link
   * SplitStage}): each child has the id {@code parentId/index}, its parent's metadata and {@link
   * Envelope#PARENT_ID}, goes through the stages after this one and ends in a terminal state of its
   * own. The parent ends SPLIT, or FILTERED ({@value SplitStage#NO_RECORDS}) if it split into no
   * records; a parent whose children's ids would be longer than a store keeps, or that splits into
   * more than 100,000 records, goes to the dead letter queue. The children are stored in one bulk
   * write per batch before their parents' states: on a durable store the stage needs {@code
   * s.codec(...)} for the children's payloads, and a crash in between loses and duplicates nothing.
   */
  public <R> PipelineBuilder<I, R> splitStage(StageName name, SplitStage<? super O, R> splitter) {
    return splitStage(name, splitter, options -> {});
  }

  /**
   * Adds a stage that splits each record into zero, one or many, with options: those of a stage,
   * but for {@code Fallback.skip()} and {@code Fallback.to(...)}, which would pass the parent on
   * where children are expected and fail {@link #build()}. See {@link #splitStage(StageName,
   * SplitStage)}.
   */
  @SuppressWarnings("unchecked")
  public <R> PipelineBuilder<I, R> splitStage(
      StageName name, SplitStage<? super O, R> splitter, Consumer<StageOptions.Builder> options) {
    Stage<Object, Object> adapted = null;
    if (splitter != null) {
      SplitStage<Object, Object> f = (SplitStage<Object, Object>) (SplitStage<?, ?>) splitter;
      String stageName = String.valueOf(name);
      adapted =
          (input, context) ->
              Splits.children(stageName, context.recordId(), f.split(input, context));
    }
    splitStages.add(stages.size() + 1);
    add(name, adapted, null, splitter, options);
    return (PipelineBuilder<I, R>) this;
  }

  /**
   * Adds a stage that joins the children of the split stage before it again, one record per parent
   * (see {@link MergeFunction}): each child that reaches it is kept in the store as a part of its
   * parent's group and ends MERGED; once every child of the group has reached the stage or ended on
   * the way (filtered or dead-lettered: an absent part), the merger is called once with the parts'
   * payloads in the split's order, and its output goes on as the record {@code parentId/merged}. A
   * crash at any point loses and duplicates nothing. A merge stage takes no fallback; on a durable
   * store it needs {@code s.codec(...)} for the merged records, which are stored, and a codec for
   * its input (the stage before it), since the parts are stored. Pairs nest like brackets: a merge
   * stage joins the nearest split stage before it that no merge stage joined yet (split, split,
   * merge, merge: the inner merge's record {@code parentId/index/merged} is a part of the outer
   * group, and an inner group that makes no record is an absent part of it).
   */
  public <R> PipelineBuilder<I, R> mergeStage(StageName name, MergeFunction<? super O, R> merger) {
    return mergeStage(name, merger, options -> {});
  }

  /**
   * Adds a stage that joins the children of the split stage before it again, with options: those of
   * a stage, but for a fallback, which fails {@link #build()}. See {@link #mergeStage(StageName,
   * MergeFunction)}.
   */
  @SuppressWarnings("unchecked")
  public <R> PipelineBuilder<I, R> mergeStage(
      StageName name, MergeFunction<? super O, R> merger, Consumer<StageOptions.Builder> options) {
    add(name, merger == null ? null : new MergeStep(merger), null, merger, options);
    return (PipelineBuilder<I, R>) this;
  }

  private void add(
      @Nullable StageName stageName,
      @Nullable Stage<Object, Object> single,
      @Nullable BatchStage<Object, Object> batch,
      @Nullable Object function,
      @Nullable Consumer<StageOptions.Builder> options) {
    int order = stages.size() + 1;
    String label = stageName == null ? "#" + order : "'" + stageName + "'";
    if (stageName == null) {
      problems.add(
          "stage "
              + label
              + ": the stage name is null; use StageName.CLEANING, ... or StageName.of(\"mine\")");
      stageName = StageName.of("unnamed-" + order);
    }
    if (function == null) {
      problems.add(
          "stage "
              + label
              + ": the stage function is null; pass the function that processes its records");
    }
    StageOptions.Builder builder = new StageOptions.Builder();
    if (options == null) {
      problems.add(
          "stage " + label + ": the options lambda is null; leave it out for the defaults");
    } else {
      options.accept(builder);
    }
    for (String problem : builder.problems()) {
      problems.add("stage " + label + ": " + problem);
    }
    if (function != null) {
      builder.declaredOutputType(OutputTypes.declaredBy(function));
    }
    String functionName = function == null ? "null" : function.getClass().getName();
    stages.add(
        new StageDefinition(
            stageName, order, builder.buildUnchecked(), single, batch, functionName));
  }

  /**
   * Sets the store that keeps the records' state; an {@link InMemoryPipelineStore} unless set. It
   * is taken as a {@link RecordLedger}, the side the engine drives, which every store implements
   * (give {@code JdbcPipelineStore.builder()...build()} as it is); {@link Pipeline#store()} hands
   * it back as the {@link dev.pipeline.store.PipelineStore} users read. The store is the caller's:
   * closing the pipeline does not close it.
   *
   * @throws NullPointerException if {@code store} is null
   * @throws IllegalStateException if set twice
   */
  public PipelineBuilder<I, O> store(RecordLedger store) {
    once(storeSet, "store");
    storeSet = true;
    this.store = Objects.requireNonNull(store, "store cannot be null");
    return this;
  }

  /**
   * Sets the codec of the records sources yield, with which a durable store saves them at
   * ingestion. Built in for {@code String} and {@code byte[]}; for other types use a codec such as
   * the JDBC module's {@code JsonCodec.of(MyRecord.class)}.
   *
   * @throws IllegalStateException if set twice
   */
  public PipelineBuilder<I, O> inputCodec(PayloadCodec<? super I> codec) {
    once(inputCodecSet, "inputCodec");
    inputCodecSet = true;
    this.inputCodec = Objects.requireNonNull(codec, "codec cannot be null");
    return this;
  }

  /** Sets the clock; the system clock unless set. The test kit passes one it controls. */
  public PipelineBuilder<I, O> clock(PipelineClock clock) {
    once(clockSet, "clock");
    clockSet = true;
    this.clock = Objects.requireNonNull(clock, "clock cannot be null");
    return this;
  }

  /**
   * Sets where published records go, with the default options: {@link #DEFAULT_SINK_RETRY}, no
   * circuit breaker, timeout or rate limit. Records are dropped (and counted) unless a sink is set.
   *
   * @throws IllegalStateException if set twice
   */
  public PipelineBuilder<I, O> sink(Sink<? super O> sink) {
    return sink(sink, options -> {});
  }

  /**
   * Sets where published records go, with options as a stage has them: {@code retry} (the default
   * is {@link #DEFAULT_SINK_RETRY}; {@code RetryPolicy.none()} for none), {@code circuitBreaker}
   * with {@code fallback(Fallback.hold())} (records wait in the store's retry queue while the
   * circuit is open), {@code timeout} (a sink call that ignores the interrupt is abandoned, as a
   * stage's is) and {@code rateLimit} (one token per record). The sink is called as a batch stage
   * is: a batch that still fails after its retries is halved until the records that fail are alone,
   * so one bad record goes to the dead letter queue and not the batch with it. Options about
   * workers and batches ({@code concurrency}, {@code batchSize}, {@code checkpoint}, {@code codec},
   * {@code adaptiveBatchSize}) and the skip and function fallbacks do not apply to a sink, and
   * {@link #build()} reports them.
   *
   * <pre>{@code
   * .sink(index, s -> s.retry(RetryPolicy.exponential(Duration.ofMillis(200), Duration.ofMinutes(1)))
   *     .circuitBreaker(CircuitBreaker.failureRate(0.5))
   *     .fallback(Fallback.hold())
   *     .timeout(Duration.ofSeconds(30)))
   * }</pre>
   *
   * @throws IllegalStateException if set twice
   */
  @SuppressWarnings("unchecked")
  public PipelineBuilder<I, O> sink(Sink<? super O> sink, Consumer<StageOptions.Builder> options) {
    once(sinkSet, "sink");
    sinkSet = true;
    this.sink = (Sink<Object>) (Sink<?>) Objects.requireNonNull(sink, "sink cannot be null");
    Objects.requireNonNull(options, "options cannot be null: leave them out for the defaults");
    this.sinkOptions = sinkOptions(options, problems);
    return this;
  }

  /** The sink's options: the stage options that apply to it, with the sink's default retry. */
  private static StageOptions sinkOptions(
      Consumer<StageOptions.Builder> options, List<String> problems) {
    StageOptions.Builder builder = new StageOptions.Builder().retry(DEFAULT_SINK_RETRY);
    options.accept(builder);
    for (String problem : builder.problems()) {
      problems.add("sink: " + problem);
    }
    StageOptions built = builder.buildUnchecked();
    if (built.concurrency() != StageOptions.DEFAULT_CONCURRENCY
        || built.batchSize() != StageOptions.DEFAULT_BATCH_SIZE
        || built.adaptiveBatchSize()) {
      problems.add(
          "sink: concurrency and batch sizes do not apply to the sink, which is called by the last"
              + " stage's workers with their batches; set them on the last stage");
    }
    if (built.checkpoint() || built.codec() != null) {
      problems.add(
          "sink: checkpoint and codec do not apply to the sink; the last stage's codec is the one"
              + " that saves the sink's input");
    }
    if (!built.referenceData().isEmpty()) {
      problems.add(
          "sink: reference data does not apply to the sink, which has no context to look it up"
              + " from; declare it on the stages that use it");
    }
    if (built.fallback() instanceof Fallback.Skip || built.fallback() instanceof Fallback.With) {
      problems.add(
          "sink: a sink has no output to skip to or replace; use Fallback.hold() (records wait"
              + " while its circuit is open) or no fallback (they go to the dead letter queue)");
    }
    return built;
  }

  /**
   * Sets how payload sizes are estimated for the bytes/s metrics. Unless set, a {@link
   * CharSequence} counts its length, a {@code byte[]} its length, a {@link Sized} its own estimate,
   * and anything else 0.
   */
  public PipelineBuilder<I, O> payloadSize(ToLongFunction<Object> estimator) {
    this.payloadSize = Objects.requireNonNull(estimator, "estimator cannot be null");
    return this;
  }

  /**
   * Sets how many records may wait in front of each stage (default: four batches per worker, at
   * least 1,024, at most {@value #MAX_QUEUE_CAPACITY}). Bounds the pipeline's memory.
   *
   * @throws IllegalArgumentException if not between 1 and {@value #MAX_QUEUE_CAPACITY}
   */
  public PipelineBuilder<I, O> queueCapacity(int records) {
    if (records < 1 || records > MAX_QUEUE_CAPACITY) {
      throw new IllegalArgumentException(
          "queueCapacity must be between 1 and "
              + MAX_QUEUE_CAPACITY
              + " records, was "
              + records
              + "; it bounds the memory of records waiting in front of each stage");
    }
    this.queueCapacity = records;
    return this;
  }

  /**
   * Adds a listener for the pipeline's {@link Alert}s (dead letters, circuits opening and closing).
   * Unless one is added, alerts are {@link AlertListener#logging() logged}.
   */
  public PipelineBuilder<I, O> alerts(AlertListener listener) {
    alerts.add(Objects.requireNonNull(listener, "listener cannot be null"));
    return this;
  }

  /**
   * Limits how fast records leave one source (by its {@link Source#id()}): each record takes a
   * token from the bucket before it is ingested. For a source that scrapes a site or calls an API
   * with a quota.
   *
   * @throws IllegalStateException if the source already has a limit
   */
  public PipelineBuilder<I, O> rateLimitSource(String sourceId, TokenBucket bucket) {
    Objects.requireNonNull(sourceId, "sourceId cannot be null");
    Objects.requireNonNull(bucket, "bucket cannot be null");
    if (sourceLimits.putIfAbsent(sourceId, bucket) != null) {
      throw new IllegalStateException("source '" + sourceId + "' already has a rate limit");
    }
    return this;
  }

  /**
   * Declares reference data for every stage: each reaches the pipeline's cache of it through {@link
   * StageContext#reference(ReferenceData)}. The cache is built with the pipeline, on its clock, and
   * serves all its runs; closing the pipeline stops the loads under way. For one stage only, add it
   * to that stage's options instead ({@link StageOptions.Builder#referenceData}). {@link #build()}
   * reports a declaration made twice, and two declarations of one name.
   *
   * @throws NullPointerException if {@code data} is null
   */
  public PipelineBuilder<I, O> referenceData(ReferenceData<?, ?> data) {
    referenceData.add(Objects.requireNonNull(data, "data cannot be null"));
    return this;
  }

  /**
   * Sets how long a retry may wait in the worker (a sleep, on the pipeline's clock); a retry that
   * must wait longer is parked in the store's retry queue, so the worker goes on with other records
   * and, on a durable store, the retry survives a restart. One second unless set; {@link
   * Duration#ZERO} parks every retry that waits at all.
   *
   * @throws IllegalArgumentException if negative or longer than {@link #MAX_RETRY_QUEUE_AFTER} (a
   *     day)
   */
  public PipelineBuilder<I, O> retryQueueAfter(Duration wait) {
    Objects.requireNonNull(wait, "wait cannot be null");
    if (wait.isNegative() || wait.compareTo(MAX_RETRY_QUEUE_AFTER) > 0) {
      throw new IllegalArgumentException(
          "retryQueueAfter must be between PT0S and "
              + MAX_RETRY_QUEUE_AFTER
              + " (a day), was "
              + wait);
    }
    this.retryQueueAfter = wait;
    return this;
  }

  /**
   * Sets how long records a source yielded wait for more to fill a batch of the first stage before
   * they are ingested as a smaller batch: a source that is slow, or blocks in {@code next()}
   * between bursts, never holds records it already yielded for longer than this. Measured on the
   * pipeline's clock; {@value #DEFAULT_SOURCE_LINGER_MILLIS} ms unless set. A longer linger makes
   * fewer, larger ingestions of a slow source; a full batch never waits.
   *
   * @throws NullPointerException if {@code linger} is null
   * @throws IllegalArgumentException if not positive, or longer than {@link #MAX_SOURCE_LINGER}
   */
  public PipelineBuilder<I, O> sourceLinger(Duration linger) {
    Objects.requireNonNull(linger, "linger cannot be null");
    if (!linger.isPositive() || linger.compareTo(MAX_SOURCE_LINGER) > 0) {
      throw new IllegalArgumentException(
          "sourceLinger must be positive and at most "
              + MAX_SOURCE_LINGER
              + ", was "
              + linger
              + "; the default is "
              + DEFAULT_SOURCE_LINGER);
    }
    this.sourceLinger = linger;
    return this;
  }

  /**
   * Sets how much of an error's text is kept and logged: its message is cut to {@code messageChars}
   * characters (4,096 unless set) and its stack trace to {@code stackChars} (16,384 unless set),
   * with the cut said in the text ("… [cut 10,485,000 chars]"), so that an exception with a huge
   * message cannot fill the store, the logs or the heap. Both must be between 256 and 1,048,576,
   * checked by {@link #build()}.
   */
  public PipelineBuilder<I, O> errorTextLimits(int messageChars, int stackChars) {
    this.errorMessageChars = messageChars;
    this.errorStackChars = stackChars;
    return this;
  }

  /**
   * Sets whether the pipeline keeps an audit trail in its store (on unless set): what stages log
   * through {@link StageContext#logger()} at or above their {@link StageOptions.Builder#auditLevel
   * audit level}, and the engine's decisions about records (retries scheduled, records parked and
   * dead-lettered, circuits opening, dead letters reprocessed or discarded). Lines wait in a
   * bounded buffer ({@link #auditBuffer(int)}) for a background writer: a stage never waits for the
   * store to log.
   */
  public PipelineBuilder<I, O> auditTrail(boolean keep) {
    this.auditTrail = keep;
    return this;
  }

  /**
   * Sets how many audit trail lines (and metrics windows) may wait for the store ({@value
   * #DEFAULT_AUDIT_BUFFER} unless set; 1 to {@value #MAX_AUDIT_BUFFER}, checked by {@link
   * #build()}). What arrives while it is full is dropped, counted ({@link
   * dev.pipeline.metrics.PipelineMetrics#telemetryDropped()}), logged and alerted on.
   */
  public PipelineBuilder<I, O> auditBuffer(int lines) {
    this.auditBuffer = lines;
    return this;
  }

  /**
   * Sets whether the pipeline keeps a metrics history in its store (on unless set): every {@link
   * #metricsWindow(Duration) window}, a {@link dev.pipeline.metrics.StageWindow} per stage, for the
   * sink and for the store, read with {@link Pipeline#metricsHistory}.
   */
  public PipelineBuilder<I, O> metricsHistory(boolean keep) {
    this.metricsHistory = keep;
    return this;
  }

  /**
   * Sets the length of a metrics history window, on the pipeline's clock (10 s unless set; 1 s to 1
   * h, checked by {@link #build()}).
   */
  public PipelineBuilder<I, O> metricsWindow(Duration window) {
    this.metricsWindow = Objects.requireNonNull(window, "window cannot be null");
    return this;
  }

  /**
   * Sets whether the CPU time and the bytes allocated by each stage's threads are estimated, by
   * sampling with JDK Flight Recorder in this process (off unless set), to fill the metrics
   * history's {@link dev.pipeline.metrics.StageWindow#cpuTime()} and {@link
   * dev.pipeline.metrics.StageWindow#allocatedBytes()}. One recording serves every pipeline of the
   * process; see docs/benchmarks.md for its error and overhead.
   */
  public PipelineBuilder<I, O> resourceSampling(boolean sample) {
    this.resourceSampling = sample;
    return this;
  }

  /**
   * Sets whether stages check their outputs against their declared shape (on unless set; see {@link
   * StageOptions.Builder#shapeCheck(boolean)}, which turns it off for one stage): {@code false}
   * turns the check of record shapes off for every stage. A stage's own {@link
   * StageOptions.Builder#outputCheck(OutputCheck)} and declared {@link
   * StageOptions.Builder#outputType(Class)} still apply.
   */
  public PipelineBuilder<I, O> shapeChecks(boolean check) {
    this.shapeChecks = check;
    return this;
  }

  /**
   * Sets where stages' {@link StageContext#logger()} loggers come from; unless set, from SLF4J
   * under the name {@code dev.pipeline.stage.<pipeline>.<stage>}. The test kit captures them here.
   */
  public PipelineBuilder<I, O> stageLoggers(Function<StageName, Logger> loggers) {
    this.stageLoggers = Objects.requireNonNull(loggers, "loggers cannot be null");
    return this;
  }

  /**
   * Sets a listener told of every call of a stage or of the sink, before and after it, on the
   * calling thread: the hook for metrics and tracing (the {@code pipeline-micrometer} module's
   * {@code StageCallObserver}). Unless set, calls are reported to no one, at no cost.
   *
   * @throws NullPointerException if the listener is null
   * @throws IllegalStateException if a listener was already set (combine several in one)
   */
  public PipelineBuilder<I, O> callListener(StageCallListener listener) {
    Objects.requireNonNull(listener, "listener cannot be null");
    once(callListener != null, "callListener");
    this.callListener = listener;
    return this;
  }

  /**
   * Sets how much of each record's lineage is kept, for {@link Pipeline#lineage(String)} and the
   * store's lineage table: {@link LineageLevel#NONE} (the default) keeps nothing and costs nothing;
   * {@link LineageLevel#FAILURES} keeps the events of records that were filtered, dead-lettered,
   * parked or retried; {@link LineageLevel#SAMPLED} every event of a share of the records (set with
   * {@link #lineageSampling(double)}); {@link LineageLevel#ALL} every event. Events are made once
   * per batch on the worker and written by a background writer in bulk.
   *
   * @throws NullPointerException if the level is null
   */
  public PipelineBuilder<I, O> lineage(LineageLevel level) {
    this.lineage = Objects.requireNonNull(level, "level cannot be null");
    return this;
  }

  /**
   * Sets the share of records traced at {@link LineageLevel#SAMPLED}, greater than 0 and at most 1
   * (checked by {@link #build()}, which also requires the level to be {@code SAMPLED}). Records are
   * chosen by a 64-bit hash of their id (a split's children by their parent's id): the same records
   * in every run, each traced at every stage or at none.
   */
  public PipelineBuilder<I, O> lineageSampling(double share) {
    this.lineageShare = share;
    return this;
  }

  private void checkLineage(List<String> all) {
    boolean shareSet = !Double.isNaN(lineageShare);
    if (lineage == LineageLevel.SAMPLED && !shareSet) {
      all.add(
          "lineage is SAMPLED but no share is set; add lineageSampling(share) with a share greater"
              + " than 0 and at most 1, e.g. 0.01 for one record in a hundred");
    } else if (shareSet && lineage != LineageLevel.SAMPLED) {
      all.add(
          "lineageSampling("
              + lineageShare
              + ") is set but the lineage level is "
              + lineage
              + "; set lineage(LineageLevel.SAMPLED) or drop lineageSampling");
    } else if (shareSet && !(lineageShare > 0 && lineageShare <= 1)) {
      all.add(
          "lineageSampling must be greater than 0 and at most 1, was "
              + lineageShare
              + "; e.g. 0.01 traces one record in a hundred");
    }
  }

  private Logger defaultLogger(StageName stage) {
    return LoggerFactory.getLogger("dev.pipeline.stage." + name + "." + stage.value());
  }

  private void once(boolean set, String what) {
    if (set) {
      throw new IllegalStateException(what + " was already set");
    }
  }

  private static long defaultSize(Object payload) {
    if (payload instanceof CharSequence text) {
      return text.length();
    }
    if (payload instanceof byte[] bytes) {
      return bytes.length;
    }
    if (payload instanceof Sized sized) {
      return sized.sizeInBytes();
    }
    return 0;
  }

  /**
   * Checks the configuration and builds the pipeline, registering it with the store.
   *
   * <p>A pipeline's name is its identity in the store. Building a second pipeline of the same name
   * on the same store object is allowed with the same stages (same names in order, same codecs: a
   * rerun, or a copy), and refused with different ones while the first is live (not {@link
   * Pipeline#close() closed}): each would read the other's records with its own codecs. A
   * definition a durable store kept from an earlier process is replaced (a new deploy); see {@link
   * RecordLedger#register}.
   *
   * @throws PipelineConfigurationException listing every problem found
   */
  public Pipeline<I, O> build() {
    List<String> all = new ArrayList<>(problems);
    String nameProblem = Pipeline.nameProblem(name);
    if (nameProblem != null) {
      all.add(nameProblem);
    }
    if (stages.isEmpty()) {
      all.add("the pipeline has no stages; add at least one with stage(...)");
    }
    Set<StageName> seen = new HashSet<>();
    StageName lastCanonical = null;
    for (StageDefinition stage : stages) {
      if (stage.name().value().equals(StageWindow.STORE)) {
        all.add(
            "stage #"
                + stage.order()
                + " is named 'store', the name under which the store's own metrics are reported;"
                + " give the stage another name");
      }
      if (stage.name().isBranchSink()) {
        all.add(
            "stage #"
                + stage.order()
                + " is named '"
                + stage.name()
                + "', the form of a route branch's sink's name; give the stage another name");
      }
      if (stage.name().value().equals(Run.SINK_STEP)) {
        all.add(
            "stage #"
                + stage.order()
                + " is named 'sink', the name of the sink's step (its dead letters, options and"
                + " circuit); give the stage another name");
      }
      if (!seen.add(stage.name())) {
        all.add(
            "stage '"
                + stage.name()
                + "' is added twice (as stage #"
                + stage.order()
                + "); give the second one its own name with StageName.of(\"...\")");
      }
      if (stage.name().isCanonical()) {
        if (lastCanonical != null
            && stage.name().canonicalOrder() < lastCanonical.canonicalOrder()) {
          all.add(
              "stage '"
                  + stage.name()
                  + "' comes after '"
                  + lastCanonical
                  + "', but the canonical stages run in the order "
                  + StageName.canonical()
                  + "; move it before '"
                  + lastCanonical
                  + "', or name it yourself with StageName.of(\"...\")");
        }
        lastCanonical = stage.name();
      }
    }
    if (store != null && store.isDurable()) {
      if (inputCodec == null) {
        all.add(
            "the store is durable but the pipeline's input has no codec; set one with"
                + " inputCodec(...), e.g. JsonCodec.of(MyRecord.class) from pipeline-jdbc");
      }
      for (int i = 0; i < stages.size() - 1; i++) {
        StageDefinition stage = stages.get(i);
        if (stage.options().checkpoint() && stage.options().codec() == null) {
          all.add(
              "stage '"
                  + stage.name()
                  + "' is a checkpoint on a durable store but has no codec for its output; add"
                  + " s.codec(...) to its options");
        }
      }
    }
    StoreChecks.splits(stages, splitStages, store, all);
    MergeChecks.check(stages, splitStages, inputCodec, store, all);
    StoreChecks.holds(stages, inputCodec, sink != null ? sinkOptions : null, store, all);
    checkLineage(all);
    checkShapes(all);
    if (auditBuffer < 1 || auditBuffer > MAX_AUDIT_BUFFER) {
      all.add(
          "auditBuffer must be between 1 and "
              + MAX_AUDIT_BUFFER
              + " lines, was "
              + auditBuffer
              + "; the default is "
              + DEFAULT_AUDIT_BUFFER);
    }
    if (metricsWindow.compareTo(MIN_METRICS_WINDOW) < 0
        || metricsWindow.compareTo(MAX_METRICS_WINDOW) > 0) {
      all.add(
          "metricsWindow must be between "
              + MIN_METRICS_WINDOW
              + " and "
              + MAX_METRICS_WINDOW
              + ", was "
              + metricsWindow
              + "; the default is "
              + DEFAULT_METRICS_WINDOW);
    }
    String limits = ErrorText.problem(errorMessageChars, errorStackChars);
    if (limits != null) {
      all.add(limits);
    }
    RouteGraph.check(stages, all);
    List<ReferenceTables.Declared> declared = ReferenceScopes.declared(referenceData, stages, all);
    if (!all.isEmpty()) {
      throw new PipelineConfigurationException(name, all);
    }
    RecordLedger chosen = store == null ? InMemoryPipelineStore.create() : store;
    return new Pipeline<>(
        name,
        bound(),
        chosen,
        store == null,
        clock,
        sink,
        bind(sinkOptions),
        payloadSize,
        queueCapacity,
        stageLoggers,
        inputCodec,
        alerts,
        boundSources(),
        retryQueueAfter,
        sourceLinger,
        ErrorText.of(errorMessageChars, errorStackChars),
        ReferenceTables.forPipeline(name, declared, clock),
        callListener,
        new Observability(auditTrail, auditBuffer, metricsHistory, metricsWindow, resourceSampling),
        lineage,
        Double.isNaN(lineageShare) ? 0 : lineageShare);
  }

  /** Reports stages whose declared record type the shape check cannot read. */
  private void checkShapes(List<String> all) {
    for (StageDefinition stage : stages) {
      String problem = shapeChecks ? OutputShape.problem(stage.options()) : null;
      if (problem != null) {
        all.add("stage '" + stage.name() + "': " + problem);
      }
    }
  }

  /**
   * The stages with their circuit breakers and token buckets bound to the pipeline's clock: each
   * stage gets a circuit and a bucket of its own, even if one was given to several stages.
   */
  private List<StageDefinition> bound() {
    List<StageDefinition> all = new ArrayList<>(stages.size());
    PayloadCodec<?> entering = inputCodec;
    for (StageDefinition stage : stages) {
      all.add(
          new StageDefinition(
              stage.name(),
              stage.order(),
              bind(stage.options()),
              Route.bound(stage.single(), clock, entering),
              stage.batch(),
              stage.functionName()));
      entering = stage.options().codec();
    }
    return List.copyOf(all);
  }

  /** Options with a circuit breaker and a token bucket of their own, on the pipeline's clock. */
  private StageOptions bind(StageOptions options) {
    CircuitBreaker breaker = options.circuitBreaker().bind(clock);
    TokenBucket bucket = options.rateLimit().bind(clock);
    return options.toBuilder()
        .circuitBreaker(breaker)
        .rateLimit(bucket)
        .shapeCheck(options.shapeCheck() && shapeChecks)
        .buildUnchecked();
  }

  private Map<String, TokenBucket> boundSources() {
    Map<String, TokenBucket> bound = new LinkedHashMap<>();
    sourceLimits.forEach((id, bucket) -> bound.put(id, bucket.bind(clock)));
    return bound;
  }
}
