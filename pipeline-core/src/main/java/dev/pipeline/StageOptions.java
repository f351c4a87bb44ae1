package dev.pipeline;

import dev.pipeline.metrics.WindowScorer;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.resilience.TokenBucket;
import dev.pipeline.store.PayloadCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.event.Level;

/**
 * How one stage runs: its concurrency, batch size, timeout, checkpointing and resilience policies.
 *
 * <p>Immutable and thread-safe. Built with {@link Builder}, usually through the lambda given to
 * {@link PipelineBuilder#stage(StageName, Stage, java.util.function.Consumer)}.
 */
public final class StageOptions {
  /** Workers per stage unless set. */
  public static final int DEFAULT_CONCURRENCY = 1;

  /** Records a worker takes at once unless set. */
  public static final int DEFAULT_BATCH_SIZE = 128;

  /**
   * The most workers a stage may have: they are virtual threads, so thousands are cheap, but each
   * holds a batch in memory and is started when the run starts.
   */
  public static final int MAX_CONCURRENCY = 10_000;

  /**
   * The largest batch a worker may take (fixed or adaptive): the queue in front of a stage holds a
   * few batches per worker, and a reader fills one before handing it on.
   */
  public static final int MAX_BATCH_SIZE = 100_000;

  /** The shortest stage timeout: the watchdog looks at calls every millisecond at most. */
  public static final Duration MIN_TIMEOUT = Duration.ofMillis(1);

  /** The least level of the lines a stage's logger copies into the audit trail unless set. */
  public static final Level DEFAULT_AUDIT_LEVEL = Level.INFO;

  /** The smallest share of a stage's log lines the audit trail may sample. */
  public static final double MIN_AUDIT_SAMPLING = 0.0001;

  /** The longest stage timeout; a call that may take longer needs no timeout. */
  public static final Duration MAX_TIMEOUT = Duration.ofDays(7);

  private final int concurrency;
  private final int batchSize;
  private final @Nullable Duration timeout;
  private final boolean checkpoint;
  private final RetryPolicy retryPolicy;
  private final CircuitBreaker circuitBreaker;
  private final TokenBucket rateLimit;
  private final @Nullable WindowScorer qualityScorer;
  private final @Nullable PayloadCodec<?> codec;
  private final @Nullable Fallback<?, ?> fallback;
  private final int minBatchSize;
  private final int maxBatchSize;
  private final List<ReferenceData<?, ?>> referenceData;
  private final Level auditLevel;
  private final double auditSampling;
  private final boolean shapeCheck;
  private final @Nullable Class<?> outputType;
  private final @Nullable OutputCheck outputCheck;

  private StageOptions(Builder b) {
    this.shapeCheck = b.shapeCheck;
    this.outputType = b.outputType;
    this.outputCheck = b.outputCheck;
    this.referenceData = List.copyOf(b.referenceData);
    this.auditLevel = b.auditLevel;
    this.auditSampling = b.auditSampling;
    this.fallback = b.fallback;
    this.minBatchSize = b.minBatchSize;
    this.maxBatchSize = b.maxBatchSize;
    this.codec = b.codec;
    this.concurrency = b.concurrency;
    this.batchSize = b.batchSize;
    this.timeout = b.timeout;
    this.checkpoint = b.checkpoint;
    this.retryPolicy = b.retryPolicy == null ? RetryPolicy.none() : b.retryPolicy;
    this.circuitBreaker = b.circuitBreaker == null ? CircuitBreaker.disabled() : b.circuitBreaker;
    this.rateLimit = b.rateLimit == null ? TokenBucket.unlimited() : b.rateLimit;
    this.qualityScorer = b.qualityScorer;
  }

  /**
   * Options set by {@code configure}, checked as a pipeline checks a stage's options: the same
   * options a pipeline's {@code stage(name, stage, configure)} gives the stage, for a test of the
   * stage alone.
   *
   * @throws IllegalArgumentException naming every problem found, with the allowed ranges
   */
  public static StageOptions of(Consumer<Builder> configure) {
    Objects.requireNonNull(configure, "configure cannot be null");
    Builder b = new Builder();
    configure.accept(b);
    List<String> problems = b.problems();
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("invalid stage options: " + String.join("; ", problems));
    }
    return b.buildUnchecked();
  }

  /** The defaults: one worker, batches of 128, no timeout, no checkpoint, no retry. */
  public static StageOptions defaults() {
    return new Builder().buildUnchecked();
  }

  /** How many workers run the stage at once. */
  public int concurrency() {
    return concurrency;
  }

  /** How many records a worker takes at once (and a {@link BatchStage} receives at most). */
  public int batchSize() {
    return batchSize;
  }

  /** The longest one call may take before it is interrupted, or null for no limit. */
  public @Nullable Duration timeout() {
    return timeout;
  }

  /** Whether a durable store saves each record's payload after this stage. */
  public boolean checkpoint() {
    return checkpoint;
  }

  /** The retry policy; {@link RetryPolicy#none()} unless set. */
  public RetryPolicy retryPolicy() {
    return retryPolicy;
  }

  /** The circuit breaker; {@link CircuitBreaker#disabled()} unless set. */
  public CircuitBreaker circuitBreaker() {
    return circuitBreaker;
  }

  /** The rate limit; {@link TokenBucket#unlimited()} unless set. */
  public TokenBucket rateLimit() {
    return rateLimit;
  }

  /** What scores the stage's records per metrics window; null if nothing does. */
  public @Nullable WindowScorer qualityScorer() {
    return qualityScorer;
  }

  /** The fallback for records the stage cannot process; null if none. */
  public @Nullable Fallback<?, ?> fallback() {
    return fallback;
  }

  /**
   * Whether the batch size tunes itself between {@link #minBatchSize} and {@link #maxBatchSize}.
   */
  public boolean adaptiveBatchSize() {
    return maxBatchSize > 0;
  }

  /** The smallest batch an adaptive batch size tries; 0 if the batch size is fixed. */
  public int minBatchSize() {
    return minBatchSize;
  }

  /** The largest batch an adaptive batch size tries; 0 if the batch size is fixed. */
  public int maxBatchSize() {
    return maxBatchSize;
  }

  /** The codec of the stage's output, for durable stores; null if not set. */
  public @Nullable PayloadCodec<?> codec() {
    return codec;
  }

  /** The reference data declared for this stage alone, in the order added; empty unless added. */
  public List<ReferenceData<?, ?>> referenceData() {
    return referenceData;
  }

  /**
   * The least level of the stage's log lines and decisions kept in the pipeline's audit trail (INFO
   * unless set).
   */
  public Level auditLevel() {
    return auditLevel;
  }

  /** The share of the stage's own log lines (and retries) kept in the audit trail, 0 to 1. */
  public double auditSampling() {
    return auditSampling;
  }

  /**
   * Whether each output is checked against its declared shape at the stage's transition to the next
   * (on unless turned off here or for the whole pipeline with {@link
   * PipelineBuilder#shapeChecks(boolean)}): see {@link Builder#shapeCheck(boolean)}.
   */
  public boolean shapeCheck() {
    return shapeCheck;
  }

  /**
   * The declared type of the stage's output: set with {@link Builder#outputType(Class)}, or, when
   * the pipeline is built, the type the stage's class declares ({@code O} of a class implementing
   * {@code Stage<I, O>} with a class for {@code O}); null if neither (a lambda or a method
   * reference, whose type arguments the JVM erases).
   */
  public @Nullable Class<?> outputType() {
    return outputType;
  }

  /** What checks each output beyond its record shape (a JSON Schema, say); null if nothing. */
  public @Nullable OutputCheck outputCheck() {
    return outputCheck;
  }

  /** A builder holding these options, to change some of them. */
  Builder toBuilder() {
    Builder b = new Builder();
    b.shapeCheck = shapeCheck;
    b.outputType = outputType;
    b.outputCheck = outputCheck;
    b.auditLevel = auditLevel;
    b.auditSampling = auditSampling;
    b.concurrency = concurrency;
    b.batchSize = batchSize;
    b.timeout = timeout;
    b.checkpoint = checkpoint;
    b.retryPolicy = retryPolicy;
    b.circuitBreaker = circuitBreaker;
    b.rateLimit = rateLimit;
    b.qualityScorer = qualityScorer;
    b.codec = codec;
    b.fallback = fallback;
    b.minBatchSize = minBatchSize;
    b.maxBatchSize = maxBatchSize;
    b.referenceData.addAll(referenceData);
    return b;
  }

  @Override
  public String toString() {
    return "StageOptions[concurrency="
        + concurrency
        + ", batchSize="
        + batchSize
        + ", timeout="
        + timeout
        + ", checkpoint="
        + checkpoint
        + ", retry="
        + retryPolicy
        + ", circuitBreaker="
        + circuitBreaker
        + ", rateLimit="
        + rateLimit
        + ", fallback="
        + fallback
        + (maxBatchSize > 0 ? ", adaptiveBatchSize=" + minBatchSize + ".." + maxBatchSize : "")
        + (shapeCheck ? "" : ", shapeCheck=false")
        + (outputType == null ? "" : ", outputType=" + outputType.getName())
        + (outputCheck == null ? "" : ", outputCheck=" + outputCheck)
        + (referenceData.isEmpty()
            ? ""
            : ", referenceData=" + referenceData.stream().map(ReferenceData::name).toList())
        + "]";
  }

  /**
   * Collects a stage's options. Values are checked when the pipeline is built, so that every
   * problem is reported at once with the stage's name.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private int concurrency = DEFAULT_CONCURRENCY;
    private int batchSize = DEFAULT_BATCH_SIZE;
    private @Nullable Duration timeout;
    private boolean checkpoint;
    private @Nullable RetryPolicy retryPolicy;
    private @Nullable CircuitBreaker circuitBreaker;
    private @Nullable TokenBucket rateLimit;
    private @Nullable WindowScorer qualityScorer;
    private @Nullable PayloadCodec<?> codec;
    private @Nullable Fallback<?, ?> fallback;
    private int minBatchSize;
    private int maxBatchSize;
    private final List<ReferenceData<?, ?>> referenceData = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();
    private Level auditLevel = DEFAULT_AUDIT_LEVEL;
    private double auditSampling = 1.0;
    private boolean shapeCheck = true;
    private @Nullable Class<?> outputType;
    private @Nullable OutputCheck outputCheck;

    Builder() {}

    /**
     * Sets whether each output of the stage is checked against its declared shape at the stage's
     * transition to the next (on unless set; off for every stage with {@link
     * PipelineBuilder#shapeChecks(boolean)}). A record must have no null in a required component:
     * every component whose type is not primitive and that is not annotated {@code @Nullable}
     * (JSpecify's {@code org.jspecify.annotations.Nullable}, or any annotation of that simple name,
     * on the component or its type). The record's own components are read, not those of records
     * nested in it, which are checked at the stage that returns them. An output that is not a
     * record is checked only by its {@link #outputType(Class) declared type} and {@link
     * #outputCheck(OutputCheck)}. A violation fails the call with an {@link OutputShapeException}
     * naming the stage, the record and the components, as a null output does: the stage's retry
     * policy, fallback and dead letter queue apply. Turning it off leaves an {@link
     * #outputCheck(OutputCheck)} on.
     */
    public Builder shapeCheck(boolean check) {
      this.shapeCheck = check;
      return this;
    }

    /**
     * Declares the type of the stage's output: an output of another type fails its call (an {@link
     * OutputShapeException}), and a record type's shape is found when the pipeline is built, which
     * fails if its components cannot be read. Unless set, the type the stage's class declares
     * ({@code O} of {@code Stage<I, O>}) is taken; a lambda or a method reference declares none,
     * and each output's shape is then its class's (found once per class).
     */
    public Builder outputType(Class<?> type) {
      this.outputType = requireSet(type, "output type", "no output type (leave it unset)");
      if (type != null && type.isPrimitive()) {
        problems.add(
            "output type cannot be the primitive "
                + type
                + ": an output is an object; declare its box, e.g. Integer.class");
        this.outputType = null;
      }
      return this;
    }

    /**
     * Sets a check of each output beyond its record shape, such as a JSON Schema for map or JSON
     * payloads ({@code JsonSchemaOutputCheck.of(schema)} in {@code pipeline-quality}). An output it
     * refuses fails its call with an {@link OutputShapeException}, as a shape violation does.
     */
    public Builder outputCheck(OutputCheck check) {
      this.outputCheck = requireSet(check, "output check", "no output check (leave it unset)");
      return this;
    }

    /** Takes the type the stage's class declares as its output type, unless one was set. */
    void declaredOutputType(@Nullable Class<?> type) {
      if (outputType == null) {
        this.outputType = type;
      }
    }

    /**
     * Sets the least level of the lines the stage logs through {@link StageContext#logger()}, and
     * of the engine's decisions about its records (a retry scheduled, a record parked or
     * dead-lettered, its circuit opening), that the pipeline's audit trail keeps: {@code WARN}
     * keeps warnings and errors. INFO unless set.
     */
    public Builder auditLevel(Level level) {
      Level set = requireSet(level, "auditLevel", "Level.INFO (the default)");
      if (set != null) {
        this.auditLevel = set;
      }
      return this;
    }

    /**
     * Sets the share of the stage's own log lines, and of its scheduled retries, that the audit
     * trail keeps, chosen at random ({@value #MIN_AUDIT_SAMPLING} to 1; 1 unless set). Dead
     * letters, parked records and circuit changes are always kept.
     */
    public Builder auditSampling(double share) {
      this.auditSampling = share;
      return this;
    }

    /** Sets how many workers run the stage at once (1 to {@value #MAX_CONCURRENCY}). */
    public Builder concurrency(int concurrency) {
      this.concurrency = concurrency;
      return this;
    }

    /** Sets how many records a worker takes at once (1 to {@value #MAX_BATCH_SIZE}). */
    public Builder batchSize(int batchSize) {
      this.batchSize = batchSize;
      return this;
    }

    /**
     * Sets the longest one call may take before it is interrupted ({@link #MIN_TIMEOUT 1 ms} to
     * {@link #MAX_TIMEOUT 7 days}).
     */
    public Builder timeout(Duration timeout) {
      if (timeout == null) {
        problems.add("timeout cannot be null: leave it unset for no timeout");
      }
      this.timeout = timeout;
      return this;
    }

    /** Makes a durable store save each record after this stage, so a crash resumes here. */
    public Builder checkpoint() {
      return checkpoint(true);
    }

    /** Sets whether a durable store saves each record after this stage. */
    public Builder checkpoint(boolean checkpoint) {
      this.checkpoint = checkpoint;
      return this;
    }

    /** Sets the retry policy. */
    public Builder retry(RetryPolicy policy) {
      this.retryPolicy = requireSet(policy, "retry policy", "RetryPolicy.none()");
      return this;
    }

    /** Sets the circuit breaker. */
    public Builder circuitBreaker(CircuitBreaker breaker) {
      this.circuitBreaker = requireSet(breaker, "circuit breaker", "CircuitBreaker.disabled()");
      return this;
    }

    /** Sets the token bucket that limits how fast records enter the stage. */
    public Builder rateLimit(TokenBucket bucket) {
      this.rateLimit = requireSet(bucket, "rate limit", "TokenBucket.unlimited()");
      return this;
    }

    /**
     * Sets what scores the stage's records in each window of the metrics history (a quality gate's
     * {@code options()} sets itself); the scores are kept in the window's {@link
     * dev.pipeline.metrics.StageWindow#scores()}.
     */
    public Builder qualityScorer(WindowScorer scorer) {
      this.qualityScorer = requireSet(scorer, "quality scorer", "no scorer (leave it unset)");
      return this;
    }

    /**
     * Sets what happens to records the stage cannot process: its circuit is open, or they used up
     * their retries. See {@link Fallback}.
     */
    public Builder fallback(Fallback<?, ?> fallback) {
      this.fallback = requireSet(fallback, "fallback", "no fallback (leave it unset)");
      return this;
    }

    /**
     * Lets the batch size tune itself from measured throughput, between {@code min} and {@code max}
     * records, starting from {@link #batchSize(int)} (clamped to the range). The stage's workers
     * grow batches while records per second grow with them and shrink them when it falls, so a
     * stage with a high per-call cost (a remote API, a database) finds a good size by itself. Needs
     * {@code 1 <= min <= max <= }{@value #MAX_BATCH_SIZE}.
     */
    public Builder adaptiveBatchSize(int min, int max) {
      this.minBatchSize = min;
      this.maxBatchSize = max;
      if (min < 1 || max < min || max > MAX_BATCH_SIZE) {
        problems.add(
            "adaptive batch size needs 1 <= min <= max <= "
                + MAX_BATCH_SIZE
                + ", was min "
                + min
                + ", max "
                + max
                + "; e.g. adaptiveBatchSize(8, 512)");
        this.maxBatchSize = 0;
      }
      return this;
    }

    /**
     * Sets the codec of the stage's output: how a durable store saves records after this stage
     * (needed on checkpoint stages, and for the dead letters of the next stage).
     */
    public Builder codec(PayloadCodec<?> codec) {
      this.codec = requireSet(codec, "codec", "no codec (leave it unset)");
      return this;
    }

    /**
     * Declares reference data for this stage alone: its workers reach the pipeline's cache of it
     * through {@link StageContext#reference(ReferenceData)}. Several stages that add the same
     * declaration share one cache; for every stage, declare it once on the pipeline with {@link
     * PipelineBuilder#referenceData(ReferenceData)} instead. Not for the sink, which has no context
     * to look it up from.
     */
    public Builder referenceData(ReferenceData<?, ?> data) {
      if (data == null) {
        problems.add("reference data cannot be null: leave it out");
      } else if (referenceData.contains(data)) {
        problems.add(
            "reference data '" + data.name() + "' is added twice to this stage; add it once");
      } else {
        referenceData.add(data);
      }
      return this;
    }

    private <T> @Nullable T requireSet(@Nullable T value, String what, String none) {
      if (value == null) {
        problems.add(what + " cannot be null: leave it unset or use " + none);
      }
      return value;
    }

    /** The problems found in these options, for the pipeline builder to report. */
    List<String> problems() {
      List<String> all = new ArrayList<>(problems);
      if (concurrency < 1 || concurrency > MAX_CONCURRENCY) {
        all.add(
            "concurrency must be between 1 and "
                + MAX_CONCURRENCY
                + " workers, was "
                + concurrency
                + "; for more throughput raise the batch size instead");
      }
      if (batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
        all.add(
            "batch size must be between 1 and "
                + MAX_BATCH_SIZE
                + " records, was "
                + batchSize
                + "; e.g. batchSize(512)");
      }
      if (!(auditSampling >= MIN_AUDIT_SAMPLING && auditSampling <= 1.0)) {
        all.add(
            "audit sampling must be between "
                + MIN_AUDIT_SAMPLING
                + " and 1 (the share of log lines kept), was "
                + auditSampling
                + "; to keep fewer lines raise auditLevel(...) instead");
      }
      if (timeout != null
          && (timeout.compareTo(MIN_TIMEOUT) < 0 || timeout.compareTo(MAX_TIMEOUT) > 0)) {
        all.add(
            "timeout must be between 1 ms and 7 days (StageOptions.MIN_TIMEOUT and MAX_TIMEOUT),"
                + " was "
                + timeout
                + ": leave it unset for no timeout");
      }
      return all;
    }

    StageOptions buildUnchecked() {
      return new StageOptions(this);
    }
  }
}
