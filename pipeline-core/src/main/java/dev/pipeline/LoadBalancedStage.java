package dev.pipeline;

import dev.pipeline.internal.EngineMetadata;
import dev.pipeline.metrics.ImplementationMetrics;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.store.ErrorInfo;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A stage with several implementations (two translation services, say) that sends each record to
 * one of them, picked by a {@link LoadBalancePolicy} from their live state: calls in flight,
 * latency, weight, and each one's own circuit breaker.
 *
 * <pre>{@code
 * LoadBalancedStage<String, String> translate =
 *     LoadBalancedStage.<String, String>builder()
 *         .add("deepl", deepl)
 *         .add("google", google, o -> o.weight(3).circuitBreaker(CircuitBreaker.failureRate(0.5)))
 *         .policy(LoadBalancePolicy.leastLatency())
 *         .clock(clock) // the pipeline's
 *         .build();
 * Pipeline.builder("docs", String.class).clock(clock).stage(TRANSLATION, translate) // ...
 * }</pre>
 *
 * <p><b>Circuits.</b> Each implementation has a circuit of its own ({@link
 * CircuitBreaker#disabled()} unless set), bound at {@link Builder#build()} to the builder's clock.
 * An implementation whose circuit refuses is passed over for the next one the policy would pick
 * (failover); its outcomes feed only its own circuit. When every circuit refuses, the call throws
 * {@link CircuitOpenException} for the stage and record, whose cause lists each circuit's state;
 * the record is then retried as the stage's {@link dev.pipeline.resilience.RetryPolicy} says. To
 * park records while no implementation takes calls, give the stage itself a circuit breaker (these
 * refusals open it) and {@link dev.pipeline.resilience.Fallback#hold()}.
 *
 * <p><b>Which implementation.</b> A record that passes carries the name of the implementation that
 * produced it in its metadata, under {@link #metadataKey(StageName)} ({@code
 * "implementation.translation" -> "deepl"}). An exception an implementation throws keeps its type
 * and message (so retry policies and the stage's error counts treat it as before) and gets a
 * suppressed note naming the implementation, which the dead letter's stack trace shows and {@link
 * #implementationOf(ErrorInfo)} reads back. A call that returns null fails as a {@link
 * StageException} naming the implementation. A call that throws {@link RecordFilteredException}
 * counts as a success for the implementation: it answered.
 *
 * <p><b>Live state.</b> {@link #metrics()} gives each implementation's calls in flight, calls,
 * failures, refusals, latency estimate and circuit state, for dashboards; the stage's own metrics
 * ({@link dev.pipeline.metrics.StageMetrics}) stay those of the stage as a whole.
 *
 * <p>Thread-safe, and holds live state: give each stage its own object, built on the pipeline's
 * clock. Like any stage, the implementations must be thread-safe and idempotent, and may see a
 * record more than once (each retry picks again, so a retried record may go to another one).
 *
 * @param <I> the input type
 * @param <O> the output type
 */
public final class LoadBalancedStage<I, O> implements Stage<I, O> {

  /** What {@link #metadataKey(StageName)} puts before the stage's name. */
  public static final String METADATA_KEY_PREFIX = "implementation.";

  /** The lowest weight. */
  public static final int MIN_WEIGHT = 1;

  /** The highest weight. */
  public static final int MAX_WEIGHT = 1_000;

  /** The weight of an implementation unless set. */
  public static final int DEFAULT_WEIGHT = 1;

  /** The most implementations a stage may have: each pick looks at all of them. */
  public static final int MAX_IMPLEMENTATIONS = 64;

  private final Balancer<Stage<? super I, ? extends O>> balancer;

  private LoadBalancedStage(Balancer<Stage<? super I, ? extends O>> balancer) {
    this.balancer = balancer;
  }

  /** A builder with no implementations, the {@link LoadBalancePolicy#leastInFlight()} policy. */
  public static <I, O> Builder<I, O> builder() {
    return new Builder<>();
  }

  /**
   * The metadata key under which records carry the implementation a load-balanced stage of this
   * name took: {@code "implementation." + stage}.
   *
   * @throws NullPointerException if {@code stage} is null
   */
  public static String metadataKey(StageName stage) {
    Objects.requireNonNull(stage, "stage cannot be null");
    return METADATA_KEY_PREFIX + stage.value();
  }

  /**
   * The implementation that threw an error, read from the note a load-balanced stage (single or
   * batch) attached to it: for dead letters, whose errors keep only text. Empty if the error came
   * from elsewhere (the engine, a stage that is not load-balanced) or its stack trace was cut
   * before the note (a very deep stack; raise the pipeline's {@code errorTextLimits}).
   *
   * @throws NullPointerException if {@code error} is null
   */
  public static Optional<String> implementationOf(ErrorInfo error) {
    Objects.requireNonNull(error, "error cannot be null");
    return Balancer.implementationOf(error.stackTrace());
  }

  /**
   * Calls the implementation the policy picks, and names it on the record.
   *
   * @throws CircuitOpenException if every implementation's circuit refused the call
   * @throws StageException if the implementation returned null
   * @throws RecordFilteredException if the implementation filtered the record
   * @throws Exception what the implementation threw, with a note naming it
   */
  @Override
  public O process(I input, StageContext context) throws Exception {
    Balancer.Member<Stage<? super I, ? extends O>> chosen = balancer.acquire(context, false);
    EngineMetadata.putMark(context, metadataKey(context.stage()), chosen.name);
    long start = balancer.now();
    O output;
    try {
      output = chosen.implementation.process(input, context);
    } catch (RecordFilteredException filtered) {
      balancer.release(chosen, start, null, 1);
      throw filtered;
    } catch (Throwable error) {
      balancer.release(chosen, start, error, 1);
      Balancer.note(error, chosen.name, context.stage());
      throw error;
    }
    if (output == null) {
      StageException broken =
          new StageException(
              context.stage().value(),
              context.recordId(),
              "implementation '"
                  + chosen.name
                  + "' of stage '"
                  + context.stage()
                  + "' returned null for record '"
                  + context.recordId()
                  + "'; return a value, or throw RecordFilteredException.because(reason) to"
                  + " drop the record");
      balancer.release(chosen, start, broken, 1);
      Balancer.note(broken, chosen.name, context.stage());
      throw broken;
    }
    balancer.release(chosen, start, null, 1);
    return output;
  }

  /** Each implementation's live state, in the order they were added. */
  public List<ImplementationMetrics> metrics() {
    return balancer.metrics();
  }

  /** The policy that picks implementations. */
  public LoadBalancePolicy policy() {
    return balancer.policy();
  }

  @Override
  public String toString() {
    return "LoadBalancedStage[" + balancer + "]";
  }

  /**
   * Collects the implementations of a {@link LoadBalancedStage}, checking each argument at once.
   *
   * <p>Not thread-safe.
   *
   * @param <I> the input type
   * @param <O> the output type
   */
  public static final class Builder<I, O> {
    private final Balancer.Builder<Stage<? super I, ? extends O>> balancer =
        new Balancer.Builder<>();

    private Builder() {}

    /**
     * Adds an implementation of weight {@value LoadBalancedStage#DEFAULT_WEIGHT} and no circuit
     * breaker.
     *
     * @param name lower case letters, digits, '-' and '_', starting with a letter, at most 63
     *     characters: it goes into records' metadata and error texts
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the name is not of that form
     * @throws IllegalStateException if an implementation of that name was already added, or {@value
     *     LoadBalancedStage#MAX_IMPLEMENTATIONS} were
     */
    public Builder<I, O> add(String name, Stage<? super I, ? extends O> implementation) {
      return add(name, implementation, options -> {});
    }

    /**
     * Adds an implementation with options: its weight and circuit breaker.
     *
     * @param name as for {@link #add(String, Stage)}
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the name is not of that form, or an option's value is out
     *     of its range
     * @throws IllegalStateException if an implementation of that name was already added, or {@value
     *     LoadBalancedStage#MAX_IMPLEMENTATIONS} were, or an option was set twice
     */
    public Builder<I, O> add(
        String name, Stage<? super I, ? extends O> implementation, Consumer<Options> options) {
      balancer.add(name, implementation, options);
      return this;
    }

    /**
     * Sets the policy; {@link LoadBalancePolicy#leastInFlight()} unless set.
     *
     * @throws NullPointerException if {@code policy} is null
     * @throws IllegalStateException if set twice
     */
    public Builder<I, O> policy(LoadBalancePolicy policy) {
      balancer.policy(policy);
      return this;
    }

    /**
     * Sets the clock that times calls and runs the implementations' circuits: the pipeline's, so
     * that a test's clock drives both. {@link PipelineClock#system()} unless set.
     *
     * @throws NullPointerException if {@code clock} is null
     * @throws IllegalStateException if set twice
     */
    public Builder<I, O> clock(PipelineClock clock) {
      balancer.clock(clock);
      return this;
    }

    /**
     * Builds the stage. Each implementation's circuit breaker is {@link
     * CircuitBreaker#bind(PipelineClock) bound} to the clock, so it starts closed and one
     * configured breaker may be given to several implementations. The builder may be used again.
     *
     * @throws IllegalStateException if no implementation was added
     */
    public LoadBalancedStage<I, O> build() {
      return new LoadBalancedStage<>(balancer.build());
    }
  }

  /**
   * The options of one implementation of a load-balanced stage (single or batch).
   *
   * <p>Not thread-safe; used inside {@code add(name, implementation, options)} only.
   */
  public static final class Options {
    int weight = DEFAULT_WEIGHT;
    CircuitBreaker breaker = CircuitBreaker.disabled();
    private boolean weightSet;
    private boolean breakerSet;

    Options() {}

    /**
     * Sets the weight, {@value LoadBalancedStage#DEFAULT_WEIGHT} unless set: how calls are shared
     * among implementations the policy finds equally good, and the chance of each under {@link
     * LoadBalancePolicy#weightedRandom()}.
     *
     * @throws IllegalArgumentException if {@code weight} is outside [1, 1000] ({@link
     *     LoadBalancedStage#MIN_WEIGHT}, {@link LoadBalancedStage#MAX_WEIGHT})
     * @throws IllegalStateException if set twice
     */
    public Options weight(int weight) {
      if (weightSet) {
        throw new IllegalStateException("weight was already set, to " + this.weight);
      }
      if (weight < MIN_WEIGHT || weight > MAX_WEIGHT) {
        throw new IllegalArgumentException(
            "weight must be between "
                + MIN_WEIGHT
                + " and "
                + MAX_WEIGHT
                + ", was "
                + weight
                + "; to stop using an implementation, leave it out");
      }
      this.weight = weight;
      this.weightSet = true;
      return this;
    }

    /**
     * Sets the implementation's circuit breaker, {@link CircuitBreaker#disabled()} unless set.
     *
     * @throws NullPointerException if {@code breaker} is null
     * @throws IllegalStateException if set twice
     */
    public Options circuitBreaker(CircuitBreaker breaker) {
      Objects.requireNonNull(breaker, "circuit breaker cannot be null");
      if (breakerSet) {
        throw new IllegalStateException("circuit breaker was already set, to " + this.breaker);
      }
      this.breaker = breaker;
      this.breakerSet = true;
      return this;
    }
  }
}
