package dev.pipeline;

import dev.pipeline.resilience.Fallback;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * One branch of a {@link Route}: a name, a chain of stages and its end. Made by {@link
 * Route#branch(StageName)}, grown by {@link #stage} and ended by {@link #join(Class)} or {@link
 * #to(Sink)}; each returns a new branch.
 *
 * <p>Immutable and thread-safe.
 *
 * @param <I> the branch's input type
 * @param <T> the output type of its last stage so far
 */
public final class RouteBranch<I, T> {
  private final StageName name;
  private final List<Step> steps;
  private final @Nullable Class<?> joins;
  private final @Nullable Sink<Object> sink;
  private final @Nullable StageOptions sinkOptions;

  RouteBranch(
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

  /** The sink the branch ends at, or null if it joins or has no end yet. */
  @Nullable Sink<Object> sink() {
    return sink;
  }

  /** The options of the branch's sink, or null if it ends at none. */
  @Nullable StageOptions sinkOptions() {
    return sinkOptions;
  }

  /** A stage of a branch. */
  record Step(StageName name, Stage<Object, Object> stage, StageOptions options) {}

  /**
   * This branch with one more stage, with the default options.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalStateException if the branch has ended
   */
  public <R> RouteBranch<I, R> stage(StageName name, Stage<? super T, R> stage) {
    return stage(name, stage, o -> {});
  }

  /**
   * This branch with one more stage, with options set as a pipeline's {@code stage(name, stage,
   * configure)} sets a stage's. A branch stage takes the retry policy, circuit breaker, rate limit,
   * and a skip or function fallback; concurrency, batch size, checkpoint, codec, timeout and {@link
   * Fallback#hold()} belong to the route stage, so setting them here is an error.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalStateException if the branch has ended
   * @throws IllegalArgumentException naming every problem of the options, with the allowed ranges
   */
  @SuppressWarnings("unchecked")
  public <R> RouteBranch<I, R> stage(
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
    return new RouteBranch<>(this.name, List.copyOf(more), null, null, null);
  }

  /**
   * This branch, ended by joining: its output becomes the route's, and the record goes on to the
   * stage after the route. {@code type} is checked against the route's output type by {@link
   * PipelineBuilder#build()}.
   *
   * @throws NullPointerException if {@code type} is null
   * @throws IllegalStateException if the branch has ended
   */
  public RouteBranch<I, T> join(Class<T> type) {
    Objects.requireNonNull(type, "type cannot be null");
    open();
    return new RouteBranch<>(name, steps, type, null, null);
  }

  /**
   * This branch, ended at a sink of its own with the default options of a sink: {@link
   * PipelineBuilder#DEFAULT_SINK_RETRY}, no circuit breaker, timeout or rate limit.
   *
   * @throws NullPointerException if {@code sink} is null
   * @throws IllegalStateException if the branch has ended
   */
  public RouteBranch<I, T> to(Sink<? super T> sink) {
    return to(sink, o -> {});
  }

  /**
   * This branch, ended at a sink of its own: the record is handed to it, in batches, as the
   * pipeline's sink is handed records (a delivery note and the fencing token on a durable store,
   * {@code redelivered=true} on a record handed again), and published there. Its options take what
   * the pipeline's sink takes: {@code retry} (the default is {@link
   * PipelineBuilder#DEFAULT_SINK_RETRY}, as the pipeline's sink's), {@code circuitBreaker}, {@code
   * rateLimit}, {@code timeout} (a call that ignores its interrupt is abandoned and its records
   * dead-lettered, as the sink's are) and {@link Fallback#hold()}. A retry wait longer than the
   * pipeline's {@code retryQueueAfter}, and a record held while the circuit is open, park the
   * record in the store's retry queue at the step {@code <route>/<branch>/sink} ({@link
   * StageName#branchSink}), from which it comes back to this sink. A durable store keeps such a
   * record with the codec {@code codec} names (what the sink is given: the branch's last stage's
   * output, or the route's input for a branch without stages, whose sink takes the codec of the
   * route's input, if it has one, unless {@code codec} names another), so that it survives a
   * restart and comes back to this sink; without one, on a durable store, waits are spent in the
   * worker and {@code hold()} is refused. A batch that still fails is halved until the records that
   * fail are alone, and those go to the dead letter queue at the route stage, with their payload as
   * they entered it (so that reprocessing routes them again); one that came back from the retry
   * queue, whose route input is no longer known, goes there at the branch sink's step with what the
   * sink was given, and reprocessing sends it back to the sink. The sink's calls are a stage of
   * their own in the metrics ({@link dev.pipeline.metrics.PipelineMetrics#branchSinks()}). Other
   * options are an error.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalStateException if the branch has ended
   * @throws IllegalArgumentException naming every problem of the options
   */
  @SuppressWarnings("unchecked")
  public RouteBranch<I, T> to(Sink<? super T> sink, Consumer<StageOptions.Builder> configure) {
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
    return new RouteBranch<>(name, steps, null, (Sink<Object>) (Sink<?>) sink, options);
  }

  /**
   * Options set by {@code configure} for a step added to this open branch; their problems go to
   * {@code problems}.
   */
  private StageOptions configured(Consumer<StageOptions.Builder> configure, List<String> problems) {
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
  RouteBranch<I, T> bind(PipelineClock clock) {
    List<Step> rebound = new ArrayList<>(steps.size());
    for (Step step : steps) {
      StageOptions options =
          step.options.toBuilder()
              .circuitBreaker(step.options.circuitBreaker().bind(clock))
              .rateLimit(step.options.rateLimit().bind(clock))
              .buildUnchecked();
      rebound.add(
          new Step(
              step.name, Objects.requireNonNull(Route.bound(step.stage, clock, null)), options));
    }
    return new RouteBranch<>(name, List.copyOf(rebound), joins, sink, sinkOptions);
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
