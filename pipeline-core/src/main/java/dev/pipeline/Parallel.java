package dev.pipeline;

import dev.pipeline.engine.Attempt;
import dev.pipeline.engine.CallGuard;
import dev.pipeline.engine.Fallbacks;
import dev.pipeline.engine.Invoker;
import dev.pipeline.engine.Outputs;
import dev.pipeline.engine.Retries;
import dev.pipeline.engine.run.WorkerSlot;
import dev.pipeline.internal.EngineMetadata;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * A stage that fans each record out to stages that do not depend on each other, its branches, runs
 * them at once on virtual threads, and joins their results with a typed function: the analysis and
 * the translation of one text, say, neither of which needs to wait for the other.
 *
 * <pre>{@code
 * Stage<Listing, Sentiment> analysis = ...;
 * Stage<Listing, String> translation = ...;
 * Parallel<Listing, Enriched> enrich =
 *     Parallel.join(
 *         Parallel.branch(
 *             StageName.ANALYSIS,
 *             analysis,
 *             o -> o.retry(RetryPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(2)))),
 *         Parallel.branch(
 *             StageName.TRANSLATION,
 *             translation,
 *             o -> o.timeout(Duration.ofSeconds(2))
 *                 .fallback(
 *                     Fallback.to((Listing listing, Throwable cause, StageContext context) ->
 *                         listing.text()))),
 *         Enriched::new);
 *
 * Pipeline.builder("listings", Listing.class)
 *     .stage(StageName.of("enrich"), enrich, o -> o.timeout(Duration.ofSeconds(10)))
 *     ...
 * }</pre>
 *
 * (The example runs in the tests: {@code ParallelTest.theClassExampleRuns}.)
 *
 * <p>Each branch's calls go through the engine's own call path with the branch's own options: its
 * circuit breaker, rate limit and timeout around each call, its retry policy between calls (backing
 * off on the pipeline's clock in the branch's thread, however long: a branch cannot park its record
 * in the store's retry queue) and its skip or function fallback once it gives up. When every branch
 * has ended:
 *
 * <ul>
 *   <li>all passed, some perhaps through their fallback: the join makes the stage's output from
 *       their results, in branch order. A branch that passed through its fallback marks the record
 *       degraded: {@link Fallback#DEGRADED} gets {@code "<stage>/<branch>"}. ({@link
 *       Fallback#skip()} passes the input on as the branch's result, so it suits a branch whose
 *       output type is its input type.)
 *   <li>a branch gave up (its retries used, no fallback, or its fallback failed): the record fails
 *       with a {@link BranchFailedException} naming the branch. The other branches are interrupted
 *       as soon as it gives up, and their results ignored; a call cut short so does not count as a
 *       failure against its branch's circuit. The fan-out stage's own retry policy and fallback
 *       then apply to the record as a whole.
 *   <li>a branch filtered the record ({@link RecordFilteredException}): the record is filtered, its
 *       reason naming the branch; the other branches are interrupted.
 * </ul>
 *
 * If several branches fail or filter before they see the others' interrupt, the first in branch
 * order decides. What the join throws fails the record as any stage's error does.
 *
 * <p>Each branch gets a context of its own: the record's id, its metadata as it entered the stage,
 * the stage's logger and the pipeline's clock, and the branch's own {@link StageContext#attempt()}.
 * What a branch adds with {@link StageContext#putMetadata} stays in its own context while the
 * branches run, so no branch sees another's; when the stage passes, it is added to the record in
 * branch order (a later branch's value wins for the same key).
 *
 * <p>Threads: the calling worker starts a virtual thread for each branch but one, which it runs
 * itself: the one whose calls have taken longest so far (the first, at first), so that it rarely
 * has to wait for the others. If a branch has a timeout, every branch gets a thread of its own and
 * the worker watches their timeouts on the pipeline's clock. Every branch's thread has ended when
 * {@link #process} returns or throws. An interrupt of the worker (the fan-out stage's own timeout,
 * a cancelled run) interrupts every branch, and {@code process} throws {@link InterruptedException}
 * once they have ended. A branch that ignores interrupts holds the worker until it returns, as a
 * stage that ignores them does.
 *
 * <p>Time: a pipeline {@link #bind binds} the fan-out when it is built, as it binds each stage's
 * circuit breaker and rate limit, so each branch has a circuit and a rate limit of its own on the
 * pipeline's clock, in each pipeline built with it. Used any other way (called directly, or tested
 * alone) it runs on the system clock until bound.
 *
 * <p>Immutable and thread-safe: a stage's workers call it at once, each call with threads of its
 * own. The branches' stages are called from many threads at once and must be thread-safe, as any
 * stage. This API is new and may still change.
 *
 * @param <I> the input type, every branch's
 * @param <R> the joined output type
 */
public final class Parallel<I, R> implements Stage<I, R> {
  /** The most branches a fan-out may have: each runs on a thread of its own for every record. */
  public static final int MAX_BRANCHES = 64;

  /** Joins the results of two branches. */
  @FunctionalInterface
  public interface Join2<A, B, R> {
    /**
     * Makes the output from the branches' results.
     *
     * @throws RecordFilteredException to drop the record
     * @throws Exception if the record cannot be processed
     */
    R join(A first, B second) throws Exception;
  }

  /** Joins the results of three branches. */
  @FunctionalInterface
  public interface Join3<A, B, C, R> {
    /**
     * Makes the output from the branches' results.
     *
     * @throws RecordFilteredException to drop the record
     * @throws Exception if the record cannot be processed
     */
    R join(A first, B second, C third) throws Exception;
  }

  /** Joins the results of any number of branches. */
  @FunctionalInterface
  public interface JoinAll<T, R> {
    /**
     * Makes the output from the branches' results.
     *
     * @param results one per branch, in branch order; unmodifiable
     * @throws RecordFilteredException to drop the record
     * @throws Exception if the record cannot be processed
     */
    R join(List<T> results) throws Exception;
  }

  /**
   * One branch of a fan-out: a name, a stage and its options. Made by {@link #branch(StageName,
   * Stage, Consumer)}, which checks them at once.
   *
   * <p>Immutable and thread-safe.
   *
   * @param <I> the stage's input type
   * @param <O> the stage's output type
   */
  public static final class Branch<I, O> {
    private final StageName name;
    private final Stage<Object, Object> stage;
    private final StageOptions options;

    private Branch(StageName name, Stage<Object, Object> stage, StageOptions options) {
      this.name = name;
      this.stage = stage;
      this.options = options;
    }

    /** The branch's name, unique within its fan-out. */
    public StageName name() {
      return name;
    }

    /** The branch's options: its retry policy, circuit breaker, rate limit, timeout, fallback. */
    public StageOptions options() {
      return options;
    }

    @Override
    public String toString() {
      return "Branch[" + name + ", " + options + "]";
    }
  }

  /** What joins the branches' results, which come in branch order. */
  private interface Joiner {
    Object join(Object[] results) throws Exception;
  }

  private final Branch<?, ?>[] branches;
  private final Joiner joiner;
  private final PipelineClock clock;
  private final boolean bound;

  /** Whether a branch has a timeout: then every branch gets a thread, watched by the worker. */
  private final boolean watched;

  private final Duration watchPeriod;

  /** The names derived from the stage the fan-out runs in, made at its first call. */
  private volatile @Nullable Names names;

  /**
   * Each branch's typical call time (a moving average of its passed calls, in nanoseconds): the
   * worker runs the slowest branch itself, so that the others have mostly ended when it waits for
   * them and its wait costs no wake-up. Updated without a lock; a lost update only blurs the
   * average.
   */
  private final AtomicLongArray typicalNanos;

  private Parallel(Branch<?, ?>[] branches, Joiner joiner, PipelineClock clock, boolean bound) {
    this.branches = branches;
    this.joiner = joiner;
    this.clock = clock;
    this.bound = bound;
    this.typicalNanos = new AtomicLongArray(branches.length);
    long shortest = Long.MAX_VALUE;
    for (Branch<?, ?> branch : branches) {
      Duration timeout = branch.options.timeout();
      if (timeout != null) {
        shortest = Math.min(shortest, timeout.toNanos());
      }
    }
    this.watched = shortest != Long.MAX_VALUE;
    // as the pipeline's watchdog: within a quarter of the shortest timeout, 1 to 50 ms
    this.watchPeriod =
        Duration.ofNanos(
            Math.clamp(
                shortest / 4, TimeUnit.MILLISECONDS.toNanos(1), TimeUnit.MILLISECONDS.toNanos(50)));
  }

  /**
   * A branch with the default options: no retry, circuit breaker, rate limit, timeout or fallback.
   *
   * @throws NullPointerException if an argument is null
   */
  public static <I, O> Branch<I, O> branch(StageName name, Stage<? super I, ? extends O> stage) {
    return branch(name, stage, options -> {});
  }

  /**
   * A branch with options, set by {@code configure} as a pipeline's {@code stage(name, stage,
   * configure)} sets a stage's. A branch takes the retry policy, circuit breaker, rate limit,
   * timeout, and a skip or function fallback; concurrency, batch size, checkpoint, codec and {@link
   * Fallback#hold()} belong to the fan-out stage, so setting them on a branch is an error.
   *
   * @param name the branch's name, in errors, thread names and the degraded mark
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException naming every problem of the options, with the allowed ranges
   */
  @SuppressWarnings("unchecked")
  public static <I, O> Branch<I, O> branch(
      StageName name,
      Stage<? super I, ? extends O> stage,
      Consumer<StageOptions.Builder> configure) {
    Objects.requireNonNull(name, "name cannot be null");
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(configure, "configure cannot be null");
    StageOptions.Builder builder = new StageOptions.Builder();
    configure.accept(builder);
    List<String> problems = builder.problems();
    StageOptions options = builder.buildUnchecked();
    if (options.concurrency() != StageOptions.DEFAULT_CONCURRENCY) {
      problems.add(
          "concurrency is the fan-out stage's, not a branch's (each record runs each branch once);"
              + " set it on the stage");
    }
    if (options.batchSize() != StageOptions.DEFAULT_BATCH_SIZE || options.adaptiveBatchSize()) {
      problems.add(
          "the batch size is the fan-out stage's, not a branch's (a branch is called per record);"
              + " set it on the stage");
    }
    if (options.checkpoint() || options.codec() != null) {
      problems.add(
          "checkpoints and codecs are the fan-out stage's: a branch's output is not stored; set"
              + " them on the stage");
    }
    if (options.fallback() == Fallback.hold()) {
      problems.add(
          "Fallback.hold() parks the whole record in the store's retry queue, which a branch cannot"
              + " do; use Fallback.skip() or Fallback.to(...) on the branch, or hold at the stage");
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(
          "branch '" + name + "': invalid options: " + String.join("; ", problems));
    }
    return new Branch<>(name, (Stage<Object, Object>) (Stage<?, ?>) stage, options);
  }

  /**
   * A fan-out to two branches, joined by {@code join}.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the branches have the same name
   */
  @SuppressWarnings("unchecked")
  public static <I, A, B, R> Parallel<I, R> join(
      Branch<? super I, ? extends A> first,
      Branch<? super I, ? extends B> second,
      Join2<? super A, ? super B, ? extends R> join) {
    Objects.requireNonNull(join, "join cannot be null");
    return new Parallel<>(
        checked(Arrays.asList(first, second)),
        results -> join.join((A) results[0], (B) results[1]),
        PipelineClock.system(),
        false);
  }

  /**
   * A fan-out to three branches, joined by {@code join}.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if two branches have the same name
   */
  @SuppressWarnings("unchecked")
  public static <I, A, B, C, R> Parallel<I, R> join(
      Branch<? super I, ? extends A> first,
      Branch<? super I, ? extends B> second,
      Branch<? super I, ? extends C> third,
      Join3<? super A, ? super B, ? super C, ? extends R> join) {
    Objects.requireNonNull(join, "join cannot be null");
    return new Parallel<>(
        checked(Arrays.asList(first, second, third)),
        results -> join.join((A) results[0], (B) results[1], (C) results[2]),
        PipelineClock.system(),
        false);
  }

  /**
   * A fan-out to 2 to {@value #MAX_BRANCHES} branches, whose results {@code join} gets as a list in
   * branch order.
   *
   * @throws NullPointerException if an argument or a branch is null
   * @throws IllegalArgumentException if there are fewer than 2 or more than {@value #MAX_BRANCHES}
   *     branches, or two have the same name
   */
  @SuppressWarnings("unchecked")
  public static <I, T, R> Parallel<I, R> joinAll(
      List<? extends Branch<? super I, ? extends T>> branches,
      JoinAll<? super T, ? extends R> join) {
    Objects.requireNonNull(branches, "branches cannot be null");
    Objects.requireNonNull(join, "join cannot be null");
    JoinAll<Object, ? extends R> all = (JoinAll<Object, ? extends R>) join;
    return new Parallel<>(
        checked(new ArrayList<>(branches)),
        results -> all.join(List.of(results)),
        PipelineClock.system(),
        false);
  }

  private static Branch<?, ?>[] checked(List<? extends @Nullable Branch<?, ?>> branches) {
    for (int i = 0; i < branches.size(); i++) {
      Objects.requireNonNull(branches.get(i), "branch #" + (i + 1) + " cannot be null");
    }
    if (branches.size() < 2 || branches.size() > MAX_BRANCHES) {
      throw new IllegalArgumentException(
          "a fan-out needs 2 to "
              + MAX_BRANCHES
              + " branches, was given "
              + branches.size()
              + (branches.size() < 2 ? "; call a single stage directly instead" : ""));
    }
    Map<StageName, Integer> seen = new HashMap<>();
    for (int i = 0; i < branches.size(); i++) {
      StageName name = Objects.requireNonNull(branches.get(i)).name();
      Integer earlier = seen.putIfAbsent(name, i + 1);
      if (earlier != null) {
        throw new IllegalArgumentException(
            "branch '"
                + name
                + "' is given twice (as branches #"
                + earlier
                + " and #"
                + (i + 1)
                + "); give each branch a name of its own, e.g. StageName.of(\"translation-en\")");
      }
    }
    return branches.toArray(Branch<?, ?>[]::new);
  }

  /**
   * This fan-out with each branch's circuit breaker and rate limit bound to {@code clock}, in a
   * fresh state, and its retries and timeouts on {@code clock}: what a pipeline does when it is
   * built. A branch that is itself a fan-out is bound too.
   *
   * @throws NullPointerException if {@code clock} is null
   */
  public Parallel<I, R> bind(PipelineClock clock) {
    Objects.requireNonNull(clock, "clock cannot be null");
    Branch<?, ?>[] rebound = new Branch<?, ?>[branches.length];
    for (int i = 0; i < branches.length; i++) {
      Branch<?, ?> b = branches[i];
      StageOptions options =
          b.options.toBuilder()
              .circuitBreaker(b.options.circuitBreaker().bind(clock))
              .rateLimit(b.options.rateLimit().bind(clock))
              .buildUnchecked();
      rebound[i] =
          new Branch<>(b.name, Objects.requireNonNull(Route.bound(b.stage, clock, null)), options);
    }
    return new Parallel<>(rebound, joiner, clock, true);
  }

  /**
   * The pipeline builder's hook: a fan-out bound to the pipeline's clock, any other stage as is.
   */
  @SuppressWarnings("unchecked")
  static @Nullable Stage<Object, Object> bound(
      @Nullable Stage<Object, Object> stage, PipelineClock clock) {
    return stage instanceof Parallel<?, ?> fanOut
        ? (Stage<Object, Object>) (Stage<?, ?>) fanOut.bind(clock)
        : stage;
  }

  /**
   * Runs the branches on the record at once and joins their results.
   *
   * @throws BranchFailedException if a branch gave up on the record
   * @throws RecordFilteredException if a branch filtered the record, or the join did
   * @throws InterruptedException if the calling thread was interrupted; every branch was
   *     interrupted too, and has ended
   * @throws Exception what the join threw
   */
  @Override
  @SuppressWarnings("unchecked")
  public R process(I input, StageContext context) throws Exception {
    Fork fork = new Fork(names(context), input, context);
    Object[] results = fork.run();
    Map<String, String> added = null;
    String degraded = null;
    for (Leg leg : fork.legs) {
      if (leg.added != null) {
        if (added == null) {
          added = new LinkedHashMap<>();
        }
        added.putAll(leg.added);
      }
      if (leg.outcome == Outcome.DEGRADED) {
        degraded =
            Fallbacks.degradedMark(
                degraded == null ? fork.metadata.get(Fallback.DEGRADED) : degraded,
                fork.names.qualified[leg.index]);
      }
    }
    if (added != null) {
      // each branch was held to the count of entries a call may add; together they are marks
      added.forEach((key, value) -> EngineMetadata.putMark(context, key, value));
    }
    if (degraded != null) {
      EngineMetadata.putMark(context, Fallback.DEGRADED, degraded);
    }
    return (R) joiner.join(results);
  }

  /** The branch whose calls take longest, as far as seen; the first of equals. */
  private int slowest() {
    int slowest = 0;
    long most = typicalNanos.getOpaque(0);
    for (int i = 1; i < branches.length; i++) {
      long typical = typicalNanos.getOpaque(i);
      if (typical > most) {
        slowest = i;
        most = typical;
      }
    }
    return slowest;
  }

  private void took(int branch, long nanos) {
    long typical = typicalNanos.getOpaque(branch);
    typicalNanos.setOpaque(branch, typical + (Math.max(0, nanos) - typical) / 8);
  }

  private Names names(StageContext context) {
    Names known = names;
    String pipeline = context.pipeline();
    StageName stage = context.stage();
    if (known != null && known.stage.equals(stage) && known.pipeline.equals(pipeline)) {
      return known;
    }
    Names made = new Names(pipeline, stage, branches);
    names = made;
    return made;
  }

  @Override
  public String toString() {
    StringBuilder out = new StringBuilder("Parallel[");
    for (int i = 0; i < branches.length; i++) {
      out.append(i == 0 ? "" : ", ").append(branches[i].name);
    }
    return out.append(bound ? ", bound to " + clock : "").append(']').toString();
  }

  /** The names of one stage's branches: in errors, the degraded mark and thread names. */
  static final class Names {
    final String pipeline;
    final StageName stage;
    final String[] qualified;
    final ThreadFactory[] threads;
    final List<Invoker.Check<Object>> checks;

    Names(String pipeline, StageName stage, Branch<?, ?>[] branches) {
      this.pipeline = pipeline;
      this.stage = stage;
      this.qualified = new String[branches.length];
      this.threads = new ThreadFactory[branches.length];
      List<Invoker.Check<Object>> all = new ArrayList<>(branches.length);
      for (int i = 0; i < branches.length; i++) {
        qualified[i] = stage + "/" + branches[i].name;
        threads[i] = Thread.ofVirtual().name(pipeline + "-" + qualified[i]).factory();
        all.add(Outputs.single(qualified[i]));
      }
      this.checks = List.copyOf(all);
    }
  }

  /** How a branch ended on a record. */
  private enum Outcome {
    PASSED,
    DEGRADED,
    FILTERED,
    FAILED,
    CANCELLED
  }

  /**
   * One branch's run on one record. Its outcome is written by the thread that runs it and read by
   * the worker after that thread has ended (or by the worker itself, for the branch it runs).
   */
  private static final class Leg {
    final int index;
    final @Nullable WorkerSlot slot;
    volatile @Nullable Thread thread;
    volatile boolean ended;

    @Nullable Outcome outcome;
    @Nullable Object value;
    @Nullable Map<String, String> added;
    @Nullable String reason;
    @Nullable BranchFailedException failure;

    Leg(int index, boolean timed) {
      this.index = index;
      this.slot = timed ? new WorkerSlot() : null;
    }

    void end(Outcome outcome, @Nullable Object value, @Nullable Map<String, String> added) {
      this.outcome = outcome;
      this.value = value;
      this.added = added;
    }
  }

  /** One call of the fan-out: the record, its branches' runs, and whether they were cancelled. */
  final class Fork {
    final Names names;
    final Object input;
    final String recordId;
    final Map<String, String> metadata;
    final Logger logger;
    final Leg[] legs;
    final AtomicBoolean cancelled = new AtomicBoolean();
    // the fan-out stage's own context: its reference data is the branches' too (thread-safe)
    final StageContext outer;

    /** The worker was interrupted: written and read by the worker only. */
    boolean interrupted;

    Fork(Names names, Object input, StageContext context) {
      this.outer = context;
      this.names = names;
      this.input = input;
      this.recordId = context.recordId();
      this.metadata = context.metadata();
      this.logger = context.logger();
      this.legs = new Leg[branches.length];
      for (int i = 0; i < legs.length; i++) {
        legs[i] = new Leg(i, branches[i].options.timeout() != null);
      }
    }

    /** Runs the branches; returns their results in branch order, or throws how it ended. */
    Object[] run() throws InterruptedException {
      Thread[] threads = new Thread[legs.length];
      int own = watched ? -1 : slowest();
      try {
        for (int i = 0; i < legs.length; i++) {
          if (i == own) {
            continue;
          }
          Leg leg = legs[i];
          Thread thread = names.threads[i].newThread(() -> runLeg(leg, false));
          leg.thread = thread;
          if (leg.slot != null) {
            leg.slot.thread = thread;
          }
          threads[i] = thread;
          thread.start();
        }
      } catch (Throwable cannotStart) { // out of memory, say: undo what started
        cancel();
        awaitAll(threads);
        throw cannotStart;
      }
      if (own >= 0) {
        Leg mine = legs[own];
        mine.thread = Thread.currentThread();
        runLeg(mine, true);
      }
      awaitAll(threads);
      if (!watched && cancelled.get()) {
        // a branch that gave up may have interrupted this worker while it ran its own branch
        Thread.interrupted();
      }
      if (interrupted) {
        throw new InterruptedException(
            "stage '"
                + names.stage
                + "' was interrupted on record '"
                + recordId
                + "'; its branches were interrupted and have ended");
      }
      Object[] results = new Object[legs.length];
      for (Leg leg : legs) {
        Outcome outcome = Objects.requireNonNull(leg.outcome);
        if (outcome == Outcome.FAILED) {
          throw Objects.requireNonNull(leg.failure);
        }
        if (outcome == Outcome.FILTERED) {
          throw RecordFilteredException.because(
              "branch '" + branches[leg.index].name + "': " + leg.reason);
        }
      }
      for (Leg leg : legs) {
        if (leg.outcome == Outcome.CANCELLED) {
          // only a failed or filtered branch, or an interrupt, cancels: both were handled above
          throw new IllegalStateException(
              "branch '" + branches[leg.index].name + "' was cancelled with no cause");
        }
        results[leg.index] = leg.value;
      }
      return results;
    }

    /** Waits until every branch thread has ended, watching their timeouts meanwhile. */
    private void awaitAll(@Nullable Thread[] threads) {
      for (Thread thread : threads) {
        if (thread == null) {
          continue;
        }
        while (true) {
          try {
            if (!watched) {
              thread.join();
              break;
            }
            if (thread.join(watchPeriod)) {
              break;
            }
            watch();
          } catch (InterruptedException e) {
            // the worker runs no branch when watched, so only the stage's timeout or a cancelled
            // run interrupts it then; otherwise it may be a branch's cancel, already in hand
            if (watched || !cancelled.get()) {
              interrupted = true;
              cancel();
            }
          }
        }
      }
    }

    /** Interrupts the branches' calls that ran past their timeouts, as the pipeline's watchdog. */
    private void watch() {
      long now = clock.nanoTime();
      for (Leg leg : legs) {
        WorkerSlot slot = leg.slot;
        if (slot == null) {
          continue;
        }
        long call = slot.state.get();
        long timeout = Objects.requireNonNull(branches[leg.index].options.timeout()).toNanos();
        if (call > 0 && now - slot.startedAt > timeout && slot.state.compareAndSet(call, -call)) {
          slot.timedOutAt = now;
          Thread thread = slot.thread;
          if (thread != null) {
            thread.interrupt();
          }
          slot.interruptedCall = call;
        }
      }
    }

    /** Stops the branches still running: their results no longer count. */
    void cancel() {
      if (!cancelled.compareAndSet(false, true)) {
        return;
      }
      Thread self = Thread.currentThread();
      for (Leg leg : legs) {
        Thread thread = leg.thread;
        if (thread != null && thread != self && !leg.ended) {
          thread.interrupt();
        }
      }
    }

    /**
     * Runs one branch on the record: calls, retries, fallback. Never throws: how it ended is left
     * in the leg.
     *
     * @param own whether the worker runs it (an interrupt then is the worker's, not a cancel's)
     */
    void runLeg(Leg leg, boolean own) {
      Branch<?, ?> branch = branches[leg.index];
      StageOptions options = branch.options;
      RetryPolicy retry = options.retryPolicy();
      String qualified = names.qualified[leg.index];
      BranchContext context = new BranchContext(this, clock);
      int attempt = 1;
      try {
        CircuitBreaker breaker = options.circuitBreaker();
        Invoker invoker =
            new Invoker(
                qualified,
                breaker == CircuitBreaker.disabled()
                    ? breaker
                    : new ParallelCircuit(breaker, cancelled),
                options.rateLimit(),
                options.timeout(),
                clock,
                cancelled::get,
                false);
        CallGuard guard = leg.slot == null ? CallGuard.UNTIMED : leg.slot;
        Invoker.Check<Object> check = names.checks.get(leg.index);
        Stage<Object, Object> stage = branch.stage;
        for (; ; attempt++) {
          if (cancelled.get()) {
            leg.end(Outcome.CANCELLED, null, null);
            return;
          }
          context.reset(attempt);
          Attempt<Object> call =
              invoker.call(1, recordId, guard, () -> stage.process(input, context), check);
          if (call.kind() == Attempt.Kind.CANCELLED) {
            leg.end(Outcome.CANCELLED, null, null);
            return;
          }
          if (own && workerInterrupted(call)) {
            leg.end(Outcome.CANCELLED, null, null);
            return;
          }
          switch (call.kind()) {
            case PASSED -> {
              took(leg.index, call.tookNanos());
              leg.end(Outcome.PASSED, call.value(), context.added());
              return;
            }
            case FILTERED -> {
              leg.reason = call.filterReason();
              leg.end(Outcome.FILTERED, null, null);
              cancel();
              return;
            }
            case REFUSED -> {
              Fallback<?, ?> fallback = options.fallback();
              if (fallback != null && Fallbacks.degrades(fallback)) {
                giveUp(leg, context, call.failure(), attempt);
                return;
              }
            }
            default -> {}
          }
          Throwable error = call.failure();
          if (!Retries.retries(retry, error, attempt)) {
            giveUp(leg, context, error, attempt);
            return;
          }
          clock.sleep(Retries.delay(retry, attempt, ThreadLocalRandom.current()));
        }
      } catch (InterruptedException e) {
        // while waiting for the rate limit's tokens or backing off
        if (cancelled.get()) {
          leg.end(Outcome.CANCELLED, null, null);
        } else if (own) {
          interrupted = true;
          cancel();
          leg.end(Outcome.CANCELLED, null, null);
        } else {
          failed(leg, e, attempt, false); // nothing of ours interrupts a branch but a cancel
        }
      } catch (Throwable e) { // a policy of the user's threw
        failed(leg, e, attempt, false);
      } finally {
        leg.ended = true;
      }
    }

    /**
     * Whether the call in the worker's own branch ended because the worker was interrupted (the
     * stage's timeout, a cancelled run): the other branches are then cancelled too.
     */
    private boolean workerInterrupted(Attempt<Object> call) {
      if (cancelled.get()) {
        return false; // a branch that gave up interrupted it
      }
      boolean flagged = Thread.interrupted();
      if (!flagged
          && !(call.kind() == Attempt.Kind.FAILED
              && call.failure() instanceof InterruptedException)) {
        return false;
      }
      interrupted = true;
      cancel();
      return true;
    }

    /** A branch that cannot process the record: its fallback, or the end of the record. */
    private void giveUp(Leg leg, BranchContext context, Throwable cause, int attempts) {
      Fallback<?, ?> fallback = branches[leg.index].options.fallback();
      if (fallback == null || !Fallbacks.degrades(fallback)) {
        failed(leg, cause, attempts, false);
        return;
      }
      context.reset(attempts);
      Fallbacks.Made made =
          Fallbacks.apply(fallback, names.qualified[leg.index], recordId, input, cause, context);
      Throwable error = made.error();
      if (error != null) {
        failed(leg, error, attempts, true);
        return;
      }
      leg.end(Outcome.DEGRADED, made.output(), context.added());
    }

    private void failed(Leg leg, Throwable cause, int attempts, boolean fallbackFailed) {
      leg.failure =
          new BranchFailedException(
              names.stage.value(),
              branches[leg.index].name.value(),
              recordId,
              attempts,
              cause,
              fallbackFailed);
      leg.end(Outcome.FAILED, null, null);
      cancel();
    }
  }
}
