package dev.pipeline;

import dev.pipeline.RouteBranch.Step;
import dev.pipeline.metrics.RouteMetrics;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.store.PayloadCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * Routing by data: a stage that sends each record down one of several branches, the first whose
 * predicate it matches, as Camel's content-based router or Kafka Streams' {@code split().branch()}
 * do. A branch is a chain of stages, each with its own options, and it ends in one of two ways:
 *
 * <ul>
 *   <li>it <b>joins</b> ({@link RouteBranch#join(Class)}): its output is the route's output and the
 *       record goes on to the stage after the route;
 *   <li>it ends at a <b>sink</b> of its own ({@link RouteBranch#to(Sink)}): the record is handed to
 *       that sink, as the pipeline's sink is handed records (a delivery note on a durable store,
 *       the fencing token, the sink's retry policy and the halving of a batch that fails), and it
 *       is published there; it does not go on.
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

  /** A branch and the predicate that picks it; null for {@code otherwise}. */
  record Arm(@Nullable Predicate<Object> predicate, RouteBranch<?, ?> branch) {}

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
    public Builder<I, O> when(Predicate<? super I> predicate, RouteBranch<? super I, ?> branch) {
      Objects.requireNonNull(predicate, "predicate cannot be null");
      Objects.requireNonNull(branch, "branch cannot be null");
      if (otherwise) {
        problems.add(
            "branch '"
                + branch.name()
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
    public Builder<I, O> otherwise(RouteBranch<? super I, ?> branch) {
      Objects.requireNonNull(branch, "branch cannot be null");
      if (otherwise) {
        problems.add(
            "branch '"
                + branch.name()
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

  private final RouteCalls<O> calls;

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
    this.calls = new RouteCalls<>(output, arms, problems, clock, counts);
  }

  /**
   * A branch with no stages yet: {@code branch(name).join(T.class)} passes records through, and
   * {@code branch(name).to(sink)} hands them to the sink as they entered the route.
   *
   * @param name the branch's name: in metadata, errors, metrics and the degraded mark
   * @throws NullPointerException if {@code name} is null
   */
  public static <I> RouteBranch<I, I> branch(StageName name) {
    Objects.requireNonNull(name, "name cannot be null");
    return new RouteBranch<>(name, List.of(), null, null, null);
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
  public O process(I input, StageContext context) throws Exception {
    return calls.route(input, context);
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
      all.add(arm.branch.name());
      for (Step step : arm.branch.steps()) {
        all.add(step.name());
        if (step.stage() instanceof Route<?, ?> inner) {
          all.addAll(inner.names());
        }
      }
    }
    return all;
  }

  /** Whether a branch ends at a sink. */
  boolean hasSinks() {
    for (Arm arm : arms) {
      if (arm.branch.endsAtSink()) {
        return true;
      }
    }
    return false;
  }

  /** The branches, in the order their predicates are tried. */
  List<RouteBranch<?, ?>> branches() {
    List<RouteBranch<?, ?>> all = new ArrayList<>(arms.length);
    for (Arm arm : arms) {
      all.add(arm.branch);
    }
    return all;
  }

  /** The sink of branch {@code arm}, or null if it joins. */
  @Nullable Sink<Object> sinkOf(int arm) {
    return arms[arm].branch.sink();
  }

  /**
   * The name of the engine's pseudo-stage that calls the sink of branch {@code arm}, for the route
   * stage {@code stage}: {@code <stage>/<branch>/sink}.
   */
  StageName sinkStep(StageName stage, int arm) {
    return StageName.branchSink(stage, arms[arm].branch.name());
  }

  /**
   * The codec a durable store keeps what the sink of branch {@code arm} is given with: the one its
   * options name, else, for a branch without stages (whose sink is given the route's input), {@code
   * entering}, the codec of the route's input; null if neither.
   */
  @Nullable PayloadCodec<?> sinkCodecOf(int arm, @Nullable PayloadCodec<?> entering) {
    RouteBranch<?, ?> branch = arms[arm].branch;
    PayloadCodec<?> named = Objects.requireNonNull(branch.sinkOptions()).codec();
    return named != null || !branch.steps().isEmpty() ? named : entering;
  }

  /** The options of the sink of branch {@code arm}. */
  StageOptions sinkOptionsOf(int arm) {
    return Objects.requireNonNull(arms[arm].branch.sinkOptions());
  }

  /** The branch counts, for the route stage {@code stage}. */
  RouteMetrics metrics(StageName stage) {
    List<RouteMetrics.BranchCounts> all = new ArrayList<>(arms.length);
    for (int i = 0; i < arms.length; i++) {
      all.add(
          new RouteMetrics.BranchCounts(
              arms[i].branch.name().value(),
              arms[i].branch.endsAtSink(),
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
      StageOptions sinkOptions = arms[i].branch.sinkOptions();
      RouteBranch<?, ?> b = arms[i].branch.bind(clock);
      if (sinkOptions != null) {
        StageOptions.Builder options =
            sinkOptions.toBuilder()
                .circuitBreaker(sinkOptions.circuitBreaker().bind(clock))
                .rateLimit(sinkOptions.rateLimit().bind(clock));
        PayloadCodec<?> codec = sinkCodecOf(i, entering);
        b =
            new RouteBranch<>(
                b.name(),
                b.steps(),
                null,
                b.sink(),
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
}
