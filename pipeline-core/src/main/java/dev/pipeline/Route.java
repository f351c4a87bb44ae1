package dev.pipeline;

import dev.pipeline.engine.Attempt;
import dev.pipeline.engine.CallGuard;
import dev.pipeline.engine.Fallbacks;
import dev.pipeline.engine.Invoker;
import dev.pipeline.engine.Outputs;
import dev.pipeline.engine.Retries;
import dev.pipeline.engine.run.CallContext;
import dev.pipeline.engine.run.RouteExit;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.RouteMetrics;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.resilience.TokenBucket;
import dev.pipeline.store.PayloadCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * Routing by data: a stage that sends each record down one of several branches, the first whose
 * predicate it matches, as Camel's content-based router or Kafka Streams' {@code split().branch()}
 * do. A branch is a chain of stages, each with its own options, and it ends in one of two ways:
 *
 * <ul>
 *   <li>it <b>joins</b> ({@link Branch#join(Class)}): its output is the route's output and the
 *       record goes on to the stage after the route;
 *   <li>it ends at a <b>sink</b> of its own ({@link Branch#to(Sink)}): the record is handed to that
 *       sink, as the pipeline's sink is handed records (a delivery note on a durable store, the
 *       fencing token, the sink's retry policy and the halving of a batch that fails), and it is
 *       published there; it does not go on.
 * </ul>
 *
 * <pre>{@code
 * Route<Listing, Listing> byLanguage =
 *     Route.builder(Listing.class, Listing.class)
 *         .when(l -> l.lang().equals("en"), Route.<Listing>branch(StageName.of("english")).join(Listing.class))
 *         .when(l -> l.price() == null,
 *             Route.<Listing>branch(StageName.of("unpriced")).to(reviewQueue))
 *         .otherwise(Route.<Listing>branch(StageName.of("foreign"))
 *             .stage(StageName.TRANSLATION, translator, o -> o.retry(RetryPolicy.exponential(
 *                 Duration.ofMillis(100), Duration.ofSeconds(5)).maxRetries(3)))
 *             .join(Listing.class))
 *         .build();
 *
 * Pipeline.builder("listings", Listing.class)
 *     .stage(StageName.of("by-language"), byLanguage)
 *     .stage(StageName.INDEXING, indexer)
 *     ...
 * }</pre>
 *
 * (The example runs in the tests: {@code RouteTest.theClassExampleRuns}.)
 *
 * <p>Every record still ends in exactly one terminal state. A record that matches no branch, when
 * the route has no {@code otherwise}, is <b>filtered</b>, with a reason that names the route; give
 * the route an {@code otherwise} branch to keep such records. A predicate that throws fails that
 * record only, with a {@link BranchFailedException} naming the route and the branch whose predicate
 * threw; the route stage's own retry policy and fallback, or the dead letter queue, take it then. A
 * record that takes a branch carries metadata {@code branch.<route stage>} naming it ({@link
 * #metadataKey(StageName)}), and the pipeline's metrics count per branch ({@link
 * dev.pipeline.metrics.PipelineMetrics#routes()}).
 *
 * <p>A branch's stages are called one after the other on the route stage's worker, each through the
 * engine's own call path with its own options: its circuit breaker and rate limit around each call,
 * its retry policy between calls (backing off on the pipeline's clock in the worker), and its skip
 * or function fallback once it gives up (the record is then marked degraded, {@link
 * Fallback#DEGRADED} naming {@code <route>/<branch>/<stage>}). A branch stage that gives up fails
 * the record with a {@link BranchFailedException}; one that filters it filters it, the reason
 * naming the branch. A branch stage's {@link StageContext} is the route stage's. Timeouts belong to
 * the route stage: {@code s.timeout(...)} in its options bounds the whole branch.
 *
 * <p>{@link PipelineBuilder#build()} checks the route as part of the pipeline's graph: a branch
 * without an end, a branch after {@code otherwise} (unreachable), a joining branch whose type is
 * not the route's output type, names given twice (among branches, branch stages and the pipeline's
 * stages), and a route with sinks inside another route. A graph cannot have a cycle: a route and
 * its branches are immutable values, each made from parts that exist before it.
 *
 * <p>Immutable and thread-safe: a stage's workers call it at once. This API is new and may still
 * change.
 *
 * @param <I> the input type, every branch's
 * @param <O> the output type, every joining branch's
 */
public final class Route<I, O> implements Stage<I, O> {
  /** The most branches a route may have. */
  public static final int MAX_BRANCHES = 64;

  private static final String METADATA_PREFIX = "branch.";

  /**
   * One branch: a name, a chain of stages and its end. Made by {@link #branch(StageName)}, grown by
   * {@link #stage} and ended by {@link #join(Class)} or {@link #to(Sink)}; each returns a new
   * branch.
   *
   * <p>Immutable and thread-safe.
   *
   * @param <I> the branch's input type
   * @param <T> the output type of its last stage so far
   */
  public static final class Branch<I, T> {
    private final StageName name;
    private final List<Step> steps;
    private final @Nullable Class<?> joins;
    private final @Nullable Sink<Object> sink;
    private final @Nullable StageOptions sinkOptions;

    private Branch(
        StageName name,
        List<Step> steps,
        @Nullable Class<?> joins,
        @Nullable Sink<Object> sink,
        @Nullable StageOptions sinkOptions) {
      this.name = name;
      this.steps = steps;
      this.joins = joins;
      this.sink = sink;
      this.sinkOptions = sinkOptions;
    }

    /** The branch's name, unique within its pipeline. */
    public StageName name() {
      return name;
    }

    /** The branch's stages, in order. */
    List<Step> steps() {
      return steps;
    }

    /** The type the branch joins as, or null if it does not join. */
    @Nullable Class<?> joinsAs() {
      return joins;
    }

    /** Whether the branch ends at a sink of its own. */
    public boolean endsAtSink() {
      return sink != null;
    }

    /**
     * This branch with one more stage, with the default options.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if the branch has ended
     */
    public <R> Branch<I, R> stage(StageName name, Stage<? super T, R> stage) {
      return stage(name, stage, o -> {});
    }

    /**
     * This branch with one more stage, with options set as a pipeline's {@code stage(name, stage,
     * configure)} sets a stage's. A branch stage takes the retry policy, circuit breaker, rate
     * limit, and a skip or function fallback; concurrency, batch size, checkpoint, codec, timeout
     * and {@link Fallback#hold()} belong to the route stage, so setting them here is an error.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if the branch has ended
     * @throws IllegalArgumentException naming every problem of the options, with the allowed ranges
     */
    @SuppressWarnings("unchecked")
    public <R> Branch<I, R> stage(
        StageName name, Stage<? super T, R> stage, Consumer<StageOptions.Builder> configure) {
      Objects.requireNonNull(name, "name cannot be null");
      Objects.requireNonNull(stage, "stage cannot be null");
      List<String> problems = new ArrayList<>();
      StageOptions options = configured(configure, problems);
      if (options.concurrency() != StageOptions.DEFAULT_CONCURRENCY
          || options.batchSize() != StageOptions.DEFAULT_BATCH_SIZE
          || options.adaptiveBatchSize()) {
        problems.add(
            "concurrency and batch sizes are the route stage's (a branch stage is called per"
                + " record by its workers); set them on the route stage");
      }
      if (options.checkpoint() || options.codec() != null) {
        problems.add(
            "checkpoints and codecs are the route stage's: a branch stage's output is not stored;"
                + " set them on the route stage");
      }
      if (options.timeout() != null) {
        problems.add(
            "a branch stage runs on the route stage's worker, whose timeout bounds the whole"
                + " branch; set s.timeout(...) on the route stage");
      }
      if (options.fallback() == Fallback.hold()) {
        problems.add(
            "Fallback.hold() parks the whole record in the store's retry queue, which a branch"
                + " stage cannot do; use Fallback.skip() or Fallback.to(...), or hold at the route"
                + " stage");
      }
      if (!problems.isEmpty()) {
        throw new IllegalArgumentException(
            "stage '"
                + name
                + "' of branch '"
                + this.name
                + "': invalid options: "
                + String.join("; ", problems));
      }
      List<Step> more = new ArrayList<>(steps);
      more.add(new Step(name, (Stage<Object, Object>) (Stage<?, ?>) stage, options));
      return new Branch<>(this.name, List.copyOf(more), null, null, null);
    }

    /**
     * This branch, ended by joining: its output becomes the route's, and the record goes on to the
     * stage after the route. {@code type} is checked against the route's output type by {@link
     * PipelineBuilder#build()}.
     *
     * @throws NullPointerException if {@code type} is null
     * @throws IllegalStateException if the branch has ended
     */
    public Branch<I, T> join(Class<T> type) {
      Objects.requireNonNull(type, "type cannot be null");
      open();
      return new Branch<>(name, steps, type, null, null);
    }

    /**
     * This branch, ended at a sink of its own with the default options of a sink: {@link
     * PipelineBuilder#DEFAULT_SINK_RETRY}, no circuit breaker, timeout or rate limit.
     *
     * @throws NullPointerException if {@code sink} is null
     * @throws IllegalStateException if the branch has ended
     */
    public Branch<I, T> to(Sink<? super T> sink) {
      return to(sink, o -> {});
    }

    /**
     * This branch, ended at a sink of its own: the record is handed to it, in batches, as the
     * pipeline's sink is handed records (a delivery note and the fencing token on a durable store,
     * {@code redelivered=true} on a record handed again), and published there. Its options take
     * what the pipeline's sink takes: {@code retry} (the default is {@link
     * PipelineBuilder#DEFAULT_SINK_RETRY}, as the pipeline's sink's), {@code circuitBreaker},
     * {@code rateLimit}, {@code timeout} (a call that ignores its interrupt is abandoned and its
     * records dead-lettered, as the sink's are) and {@link Fallback#hold()}. A retry wait longer
     * than the pipeline's {@code retryQueueAfter}, and a record held while the circuit is open,
     * park the record in the store's retry queue at the step {@code <route>/<branch>/sink} ({@link
     * StageName#branchSink}), from which it comes back to this sink. A durable store keeps such a
     * record with the codec {@code codec} names (what the sink is given: the branch's last stage's
     * output, or the route's input for a branch without stages, whose sink takes the codec of the
     * route's input, if it has one, unless {@code codec} names another), so that it survives a
     * restart and comes back to this sink; without one, on a durable store, waits are spent in the
     * worker and {@code hold()} is refused. A batch that still fails is halved until the records
     * that fail are alone, and those go to the dead letter queue at the route stage, with their
     * payload as they entered it (so that reprocessing routes them again); one that came back from
     * the retry queue, whose route input is no longer known, goes there at the branch sink's step
     * with what the sink was given, and reprocessing sends it back to the sink. The sink's calls
     * are a stage of their own in the metrics ({@link
     * dev.pipeline.metrics.PipelineMetrics#branchSinks()}). Other options are an error.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if the branch has ended
     * @throws IllegalArgumentException naming every problem of the options
     */
    @SuppressWarnings("unchecked")
    public Branch<I, T> to(Sink<? super T> sink, Consumer<StageOptions.Builder> configure) {
      Objects.requireNonNull(sink, "sink cannot be null");
      List<String> problems = new ArrayList<>();
      StageOptions options =
          configured(
              new StageOptions.Builder().retry(PipelineBuilder.DEFAULT_SINK_RETRY),
              configure,
              problems);
      if (options.concurrency() != StageOptions.DEFAULT_CONCURRENCY
          || options.batchSize() != StageOptions.DEFAULT_BATCH_SIZE
          || options.adaptiveBatchSize()
          || options.checkpoint()
          || (options.fallback() != null && options.fallback() != Fallback.hold())
          || !options.referenceData().isEmpty()) {
        problems.add(
            "a branch's sink takes retry, circuitBreaker, rateLimit, timeout, Fallback.hold() and"
                + " codec only (its calls are made by the route stage's workers, in their batches)");
      }
      if (!problems.isEmpty()) {
        throw new IllegalArgumentException(
            "the sink of branch '" + name + "': invalid options: " + String.join("; ", problems));
      }
      return new Branch<>(name, steps, null, (Sink<Object>) (Sink<?>) sink, options);
    }

    /**
     * Options set by {@code configure} for a step added to this open branch; their problems go to
     * {@code problems}.
     */
    private StageOptions configured(
        Consumer<StageOptions.Builder> configure, List<String> problems) {
      return configured(new StageOptions.Builder(), configure, problems);
    }

    /** Options set by {@code configure} on {@code builder}, which holds the step's defaults. */
    private StageOptions configured(
        StageOptions.Builder builder,
        Consumer<StageOptions.Builder> configure,
        List<String> problems) {
      Objects.requireNonNull(configure, "configure cannot be null");
      open();
      configure.accept(builder);
      problems.addAll(builder.problems());
      return builder.buildUnchecked();
    }

    private void open() {
      if (joins != null || sink != null) {
        throw new IllegalStateException(
            "branch '"
                + name
                + "' has ended ("
                + (sink != null ? "at a sink" : "by joining")
                + "); add its stages before join(...) or to(...)");
      }
    }

    /** This branch with every composite stage of it bound to {@code clock}. */
    private Branch<I, T> bind(PipelineClock clock) {
      List<Step> rebound = new ArrayList<>(steps.size());
      for (Step step : steps) {
        StageOptions options =
            step.options.toBuilder()
                .circuitBreaker(step.options.circuitBreaker().bind(clock))
                .rateLimit(step.options.rateLimit().bind(clock))
                .buildUnchecked();
        rebound.add(
            new Step(step.name, Objects.requireNonNull(bound(step.stage, clock, null)), options));
      }
      return new Branch<>(name, List.copyOf(rebound), joins, sink, sinkOptions);
    }

    @Override
    public String toString() {
      StringBuilder out = new StringBuilder("Branch[").append(name);
      for (Step step : steps) {
        out.append(" -> ").append(step.name);
      }
      return out.append(
              sink != null
                  ? " -> sink]"
                  : joins != null ? " -> join as " + joins.getSimpleName() + "]" : " (no end)]")
          .toString();
    }
  }

  /** A stage of a branch. */
  record Step(StageName name, Stage<Object, Object> stage, StageOptions options) {}

  /** A branch and the predicate that picks it; null for {@code otherwise}. */
  record Arm(@Nullable Predicate<Object> predicate, Branch<?, ?> branch) {}

  /**
   * Builds a route: branches in the order their predicates are tried.
   *
   * <p>Not thread-safe.
   *
   * @param <I> the input type
   * @param <O> the output type
   */
  public static final class Builder<I, O> {
    private final Class<O> output;
    private final List<Arm> arms = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();
    private boolean otherwise;

    private Builder(Class<O> output) {
      this.output = output;
    }

    /**
     * Adds a branch taken by the records {@code predicate} matches and no earlier one did.
     *
     * @throws NullPointerException if an argument is null
     */
    @SuppressWarnings("unchecked")
    public Builder<I, O> when(Predicate<? super I> predicate, Branch<? super I, ?> branch) {
      Objects.requireNonNull(predicate, "predicate cannot be null");
      Objects.requireNonNull(branch, "branch cannot be null");
      if (otherwise) {
        problems.add(
            "branch '"
                + branch.name
                + "' comes after otherwise(...), so no record can reach it; move it before"
                + " otherwise(...)");
      }
      arms.add(new Arm((Predicate<Object>) predicate, branch));
      return this;
    }

    /**
     * Adds the branch taken by the records no earlier predicate matched. Without one, such records
     * are filtered, with a reason naming the route.
     *
     * @throws NullPointerException if {@code branch} is null
     */
    public Builder<I, O> otherwise(Branch<? super I, ?> branch) {
      Objects.requireNonNull(branch, "branch cannot be null");
      if (otherwise) {
        problems.add(
            "branch '"
                + branch.name
                + "' is a second otherwise(...), so no record can reach it; keep one");
      }
      otherwise = true;
      arms.add(new Arm(null, branch));
      return this;
    }

    /**
     * The route. What is wrong with its graph (see the class's description) is reported by {@link
     * PipelineBuilder#build()}, with the pipeline's other problems; a route called outside a
     * pipeline throws it at its first call.
     */
    public Route<I, O> build() {
      List<String> all = new ArrayList<>(problems);
      RouteGraph.check(output, arms, all);
      return new Route<>(
          output, arms.toArray(Arm[]::new), otherwise, List.copyOf(all), PipelineClock.system());
    }
  }

  private final Class<O> output;
  private final Arm[] arms;
  private final boolean hasOtherwise;
  private final List<String> problems;
  private final PipelineClock clock;
  private final RouteCounts counts;

  /** The names derived from the stage the route runs in, made at its first call. */
  private volatile @Nullable Names names;

  private Route(
      Class<O> output,
      Arm[] arms,
      boolean hasOtherwise,
      List<String> problems,
      PipelineClock clock) {
    this.output = output;
    this.arms = arms;
    this.hasOtherwise = hasOtherwise;
    this.problems = problems;
    this.clock = clock;
    this.counts = new RouteCounts(arms.length);
  }

  /**
   * A branch with no stages yet: {@code branch(name).join(T.class)} passes records through, and
   * {@code branch(name).to(sink)} hands them to the sink as they entered the route.
   *
   * @param name the branch's name: in metadata, errors, metrics and the degraded mark
   * @throws NullPointerException if {@code name} is null
   */
  public static <I> Branch<I, I> branch(StageName name) {
    Objects.requireNonNull(name, "name cannot be null");
    return new Branch<>(name, List.of(), null, null, null);
  }

  /**
   * A builder of a route from {@code I} to {@code O}; the class tokens let {@link
   * PipelineBuilder#build()} check that the joining branches' types are the route's.
   *
   * @throws NullPointerException if an argument is null
   */
  public static <I, O> Builder<I, O> builder(Class<I> input, Class<O> output) {
    Objects.requireNonNull(input, "input cannot be null");
    return new Builder<>(Objects.requireNonNull(output, "output cannot be null"));
  }

  /** The metadata key naming the branch a record took at the route stage {@code stage}. */
  public static String metadataKey(StageName stage) {
    return METADATA_PREFIX + stage.value();
  }

  /**
   * Routes the record down its branch.
   *
   * @return the joining branch's output; for a branch that ends at a sink, a value the pipeline's
   *     engine hands to that sink
   * @throws BranchFailedException if a predicate threw, or a branch stage gave up
   * @throws RecordFilteredException if the record matched no branch, or a branch stage filtered it
   * @throws InterruptedException if the worker was interrupted (the route stage's timeout, a
   *     cancelled run)
   * @throws IllegalStateException if the route's graph is not valid (see {@link Builder#build()})
   * @throws UnsupportedOperationException if the record's branch ends at a sink and the route is
   *     called outside a pipeline (a sink is delivered to by the pipeline's engine)
   */
  @Override
  @SuppressWarnings("unchecked")
  public O process(I input, StageContext context) throws Exception {
    if (!problems.isEmpty()) {
      throw new IllegalStateException("invalid route: " + String.join("; ", problems));
    }
    Names names = names(context);
    Arm[] all = arms;
    int chosen = -1;
    for (int i = 0; i < all.length; i++) {
      Predicate<Object> predicate = all[i].predicate;
      if (predicate == null) {
        chosen = i;
        break;
      }
      boolean matched;
      try {
        matched = predicate.test(input);
      } catch (Throwable e) { // an Error or a checked exception thrown sneakily too, as at stages
        counts.failed[i].increment();
        throw new BranchFailedException(
            names.stage.value(),
            all[i].branch.name.value(),
            context.recordId(),
            1,
            e,
            "the predicate of branch '"
                + all[i].branch.name
                + "' of route '"
                + names.stage
                + "' threw on record '"
                + context.recordId()
                + "': "
                + ErrorText.describeDefault(e)
                + "; make the predicate return false for such records (it must not throw), then"
                + " reprocess the record");
      }
      if (matched) {
        chosen = i;
        break;
      }
    }
    if (chosen < 0) {
      counts.unmatched.increment();
      throw RecordFilteredException.because(names.unmatched);
    }
    counts.routed[chosen].increment();
    context.putMetadata(names.metadataKey, names.branch[chosen]);
    Branch<?, ?> branch = all[chosen].branch;
    Object value = input;
    List<Step> steps = branch.steps;
    for (int s = 0; s < steps.size(); s++) {
      value = call(names, chosen, s, steps.get(s), value, context);
    }
    if (branch.sink != null) {
      if (!(context instanceof CallContext)) {
        throw new UnsupportedOperationException(
            "branch '"
                + branch.name
                + "' of route '"
                + names.stage
                + "' ends at a sink, to which a pipeline's engine delivers; test the route in a"
                + " pipeline (the test kit's PipelineTester), or its branches' stages alone");
      }
      return (O) new RouteExit(chosen, value, input);
    }
    if (!output.isInstance(value)) {
      counts.failed[chosen].increment();
      throw new StageException(
          names.stage.value(),
          context.recordId(),
          "branch '"
              + branch.name
              + "' of route '"
              + names.stage
              + "' returned a "
              + value.getClass().getName()
              + ", not the route's output type "
              + output.getName()
              + "; make its last stage return a "
              + output.getSimpleName());
    }
    return (O) value;
  }

  /** One branch stage on the record: its calls, retries and fallback. */
  private Object call(Names names, int arm, int index, Step step, Object in, StageContext context)
      throws Exception {
    Invoker invoker = names.invokers[arm][index];
    Invoker.Check<Object> check = names.checks.get(arm).get(index);
    RetryPolicy retry = step.options.retryPolicy();
    String recordId = context.recordId();
    boolean plain = names.plain[arm][index];
    for (int attempt = 1; ; attempt++) {
      Attempt<Object> call =
          plain
              ? direct(step, in, context, check)
              : invoker.call(
                  1, recordId, CallGuard.UNTIMED, () -> step.stage.process(in, context), check);
      switch (call.kind()) {
        case PASSED -> {
          return Objects.requireNonNull(call.value());
        }
        case FILTERED -> {
          counts.filtered[arm].increment();
          throw RecordFilteredException.because(
              "branch '"
                  + names.branch[arm]
                  + "' of route '"
                  + names.stage
                  + "', stage '"
                  + step.name
                  + "': "
                  + call.filterReason());
        }
        case CANCELLED -> throw new InterruptedException("run cancelled");
        case REFUSED -> {
          Fallback<?, ?> fallback = step.options.fallback();
          if (fallback != null && Fallbacks.degrades(fallback)) {
            return giveUp(names, arm, index, step, in, context, call.failure(), attempt);
          }
        }
        default -> {
          if (call.failure() instanceof InterruptedException interrupted) {
            // the route stage's timeout or a cancelled run: the worker's, not the branch's
            throw interrupted;
          }
        }
      }
      Throwable error = call.failure();
      if (!Retries.retries(retry, error, attempt)) {
        return giveUp(names, arm, index, step, in, context, error, attempt);
      }
      clock.sleep(Retries.delay(retry, attempt, ThreadLocalRandom.current()));
    }
  }

  /**
   * A call of a branch stage without a circuit breaker or rate limit (its invoker would have no
   * policy to run, and branch stages have no timeout), as its invoker would make it, without the
   * call's two clock readings, which only policies use.
   */
  private static Attempt<Object> direct(
      Step step, Object in, StageContext context, Invoker.Check<Object> check) {
    Object value;
    try {
      value = step.stage.process(in, context);
    } catch (RecordFilteredException filter) {
      return new Attempt<>(Attempt.Kind.FILTERED, null, filter.reason(), null, 0, 0);
    } catch (Throwable thrown) {
      return new Attempt<>(Attempt.Kind.FAILED, null, null, thrown, 0, 0);
    }
    Throwable wrong = check.check(value, 1, context.recordId());
    return wrong == null
        ? new Attempt<>(Attempt.Kind.PASSED, value, null, null, 0, 0)
        : new Attempt<>(Attempt.Kind.FAILED, null, null, wrong, 0, 0);
  }

  /** A branch stage that cannot process the record: its fallback, or the end of the record. */
  private Object giveUp(
      Names names,
      int arm,
      int index,
      Step step,
      Object in,
      StageContext context,
      Throwable cause,
      int attempts)
      throws BranchFailedException {
    Fallback<?, ?> fallback = step.options.fallback();
    String qualified = names.qualified[arm][index];
    String recordId = context.recordId();
    if (fallback != null && Fallbacks.degrades(fallback)) {
      Fallbacks.Made made = Fallbacks.apply(fallback, qualified, recordId, in, cause, context);
      if (made.error() == null) {
        counts.degraded[arm].increment();
        context.putMetadata(
            Fallback.DEGRADED,
            Fallbacks.degradedMark(context.metadata().get(Fallback.DEGRADED), qualified));
        return Objects.requireNonNull(made.output());
      }
      cause = made.error();
    }
    counts.failed[arm].increment();
    boolean fallbackFailed = fallback != null && Fallbacks.degrades(fallback);
    throw new BranchFailedException(
        names.stage.value(),
        names.branch[arm],
        recordId,
        attempts,
        cause,
        BranchFailedException.gaveUp(
            "stage '"
                + step.name
                + "' of branch '"
                + names.branch[arm]
                + "' of route '"
                + names.stage
                + "'",
            "",
            recordId,
            attempts,
            cause,
            fallbackFailed));
  }

  private Names names(StageContext context) {
    Names known = names;
    StageName stage = context.stage();
    if (known != null && known.stage.equals(stage)) {
      return known;
    }
    Names made = new Names(stage);
    names = made;
    return made;
  }

  // ------------------------------------------------------------------ for the builder and engine

  /** What is wrong with the route's own graph; empty if nothing. */
  List<String> problems() {
    return problems;
  }

  /** Every name the route gives: its branches' and their stages'. */
  List<StageName> names() {
    List<StageName> all = new ArrayList<>();
    for (Arm arm : arms) {
      all.add(arm.branch.name);
      for (Step step : arm.branch.steps) {
        all.add(step.name);
        if (step.stage instanceof Route<?, ?> inner) {
          all.addAll(inner.names());
        }
      }
    }
    return all;
  }

  /** Whether a branch ends at a sink. */
  boolean hasSinks() {
    for (Arm arm : arms) {
      if (arm.branch.sink != null) {
        return true;
      }
    }
    return false;
  }

  /** The branches, in the order their predicates are tried. */
  List<Branch<?, ?>> branches() {
    List<Branch<?, ?>> all = new ArrayList<>(arms.length);
    for (Arm arm : arms) {
      all.add(arm.branch);
    }
    return all;
  }

  /** The sink of branch {@code arm}, or null if it joins. */
  @Nullable Sink<Object> sinkOf(int arm) {
    return arms[arm].branch.sink;
  }

  /**
   * The name of the engine's pseudo-stage that calls the sink of branch {@code arm}, for the route
   * stage {@code stage}: {@code <stage>/<branch>/sink}.
   */
  StageName sinkStep(StageName stage, int arm) {
    return StageName.branchSink(stage, arms[arm].branch.name);
  }

  /**
   * The codec a durable store keeps what the sink of branch {@code arm} is given with: the one its
   * options name, else, for a branch without stages (whose sink is given the route's input), {@code
   * entering}, the codec of the route's input; null if neither.
   */
  @Nullable PayloadCodec<?> sinkCodecOf(int arm, @Nullable PayloadCodec<?> entering) {
    Branch<?, ?> branch = arms[arm].branch;
    PayloadCodec<?> named = Objects.requireNonNull(branch.sinkOptions).codec();
    return named != null || !branch.steps.isEmpty() ? named : entering;
  }

  /** The options of the sink of branch {@code arm}. */
  StageOptions sinkOptionsOf(int arm) {
    return Objects.requireNonNull(arms[arm].branch.sinkOptions);
  }

  /** The branch counts, for the route stage {@code stage}. */
  RouteMetrics metrics(StageName stage) {
    List<RouteMetrics.BranchCounts> all = new ArrayList<>(arms.length);
    for (int i = 0; i < arms.length; i++) {
      all.add(
          new RouteMetrics.BranchCounts(
              arms[i].branch.name.value(),
              arms[i].branch.sink != null,
              counts.routed[i].sum(),
              counts.filtered[i].sum(),
              counts.failed[i].sum(),
              counts.degraded[i].sum()));
    }
    return new RouteMetrics(stage.value(), all, counts.unmatched.sum());
  }

  /**
   * This route with its branch stages' circuit breakers and rate limits bound to {@code clock}, in
   * a fresh state, their retries on {@code clock}, and counts of its own: what a pipeline does when
   * it is built (and the test kit's {@code StageTester}). Composite stages in its branches are
   * bound too.
   *
   * @throws NullPointerException if {@code clock} is null
   */
  public Route<I, O> bind(PipelineClock clock) {
    return bind(clock, null);
  }

  /** As {@link #bind(PipelineClock)}, each branch sink with the codec {@link #sinkCodecOf} says. */
  Route<I, O> bind(PipelineClock clock, @Nullable PayloadCodec<?> entering) {
    Objects.requireNonNull(clock, "clock cannot be null");
    Arm[] rebound = new Arm[arms.length];
    for (int i = 0; i < arms.length; i++) {
      StageOptions sinkOptions = arms[i].branch.sinkOptions;
      Branch<?, ?> b = arms[i].branch.bind(clock);
      if (sinkOptions != null) {
        StageOptions.Builder options =
            sinkOptions.toBuilder()
                .circuitBreaker(sinkOptions.circuitBreaker().bind(clock))
                .rateLimit(sinkOptions.rateLimit().bind(clock));
        PayloadCodec<?> codec = sinkCodecOf(i, entering);
        b =
            new Branch<>(
                b.name,
                b.steps,
                null,
                b.sink,
                codec == null ? options.buildUnchecked() : options.codec(codec).buildUnchecked());
      }
      rebound[i] = new Arm(arms[i].predicate, b);
    }
    return new Route<>(output, rebound, hasOtherwise, problems, clock);
  }

  /**
   * The pipeline builder's hook: a composite stage (a route, a fan-out) bound to the pipeline's
   * clock, any other stage as is; {@code entering} is the codec of the stage's input, or null.
   */
  @SuppressWarnings("unchecked")
  static @Nullable Stage<Object, Object> bound(
      @Nullable Stage<Object, Object> stage,
      PipelineClock clock,
      @Nullable PayloadCodec<?> entering) {
    if (stage instanceof Route<?, ?> route) {
      return (Stage<Object, Object>) (Stage<?, ?>) route.bind(clock, entering);
    }
    return Parallel.bound(stage, clock);
  }

  @Override
  public String toString() {
    StringBuilder out = new StringBuilder("Route[");
    for (int i = 0; i < arms.length; i++) {
      out.append(i == 0 ? "" : ", ")
          .append(arms[i].predicate == null ? "otherwise " : "when ")
          .append(arms[i].branch);
    }
    return out.append(']').toString();
  }

  /** The names of one route stage's branches, and their stages' invokers. */
  private final class Names {
    final StageName stage;
    final String metadataKey;
    final String unmatched;
    final String[] branch;
    final String[][] qualified;
    final Invoker[][] invokers;
    final boolean[][] plain;
    final List<List<Invoker.Check<Object>>> checks;

    Names(StageName stage) {
      this.stage = stage;
      this.metadataKey = metadataKey(stage);
      this.unmatched =
          "route '"
              + stage
              + "': the record matched no branch and the route has no otherwise(...) branch";
      this.branch = new String[arms.length];
      this.qualified = new String[arms.length][];
      this.invokers = new Invoker[arms.length][];
      this.plain = new boolean[arms.length][];
      List<List<Invoker.Check<Object>>> all = new ArrayList<>(arms.length);
      for (int i = 0; i < arms.length; i++) {
        Branch<?, ?> b = arms[i].branch;
        branch[i] = b.name.value();
        int n = b.steps.size();
        qualified[i] = new String[n];
        invokers[i] = new Invoker[n];
        plain[i] = new boolean[n];
        List<Invoker.Check<Object>> own = new ArrayList<>(n);
        for (int s = 0; s < n; s++) {
          Step step = b.steps.get(s);
          qualified[i][s] = stage + "/" + b.name + "/" + step.name;
          // a cancelled run interrupts the worker, whose call then ends as interrupted
          invokers[i][s] =
              new Invoker(
                  qualified[i][s],
                  step.options.circuitBreaker(),
                  step.options.rateLimit(),
                  null,
                  clock,
                  () -> false,
                  false);
          own.add(Outputs.single(qualified[i][s]));
          plain[i][s] =
              step.options.circuitBreaker() == CircuitBreaker.disabled()
                  && step.options.rateLimit() == TokenBucket.unlimited();
        }
        all.add(List.copyOf(own));
      }
      this.checks = List.copyOf(all);
    }
  }
}
