package dev.pipeline;

import dev.pipeline.internal.EngineMetadata;
import dev.pipeline.metrics.ImplementationMetrics;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;

/**
 * The batch form of {@link LoadBalancedStage}: a {@link BatchStage} with several implementations,
 * one picked per batch call by a {@link LoadBalancePolicy} from their live state.
 *
 * <p>It behaves as {@link LoadBalancedStage} does, per call instead of per record: one pick per
 * batch, calls in flight count batches, each implementation has its own circuit (a call that throws
 * or returns the wrong number of outputs is a failure; records it filters or fails through the
 * context are not), and every record of the batch carries the implementation's name under {@link
 * LoadBalancedStage#metadataKey(StageName)}. An error the implementation throws, or gives one
 * record through {@link StageContext#fail(int, Throwable)}, gets the note that {@link
 * LoadBalancedStage#implementationOf(dev.pipeline.store.ErrorInfo)} reads. Latency estimates are
 * per record (a call's time divided by its batch size), so that an adaptive batch size does not
 * make one implementation look slower than another.
 *
 * <p>Thread-safe, and holds live state: give each stage its own object, built on the pipeline's
 * clock.
 *
 * @param <I> the input type
 * @param <O> the output type
 */
public final class LoadBalancedBatchStage<I, O> implements BatchStage<I, O> {
  private final Balancer<BatchStage<? super I, ? extends O>> balancer;

  private LoadBalancedBatchStage(Balancer<BatchStage<? super I, ? extends O>> balancer) {
    this.balancer = balancer;
  }

  /** A builder with no implementations, the {@link LoadBalancePolicy#leastInFlight()} policy. */
  public static <I, O> Builder<I, O> builder() {
    return new Builder<>();
  }

  /**
   * Calls the implementation the policy picks with the whole batch, and names it on every record.
   *
   * @throws CircuitOpenException if every implementation's circuit refused the call
   * @throws StageException if the implementation returned null or not one output per input
   * @throws Exception what the implementation threw, with a note naming it
   */
  @Override
  public List<O> process(List<I> inputs, StageContext context) throws Exception {
    Balancer.Member<BatchStage<? super I, ? extends O>> chosen = balancer.acquire(context, true);
    EngineMetadata.putMark(context, LoadBalancedStage.metadataKey(context.stage()), chosen.name);
    long start = balancer.now();
    List<? extends O> outputs;
    try {
      // the view types the inputs for an implementation of a supertype of I
      outputs =
          chosen.implementation.process(
              Collections.unmodifiableList(inputs), new NotingContext(context, chosen.name));
    } catch (RecordFilteredException filtered) {
      balancer.release(chosen, start, null, inputs.size());
      throw filtered;
    } catch (Throwable error) {
      balancer.release(chosen, start, error, inputs.size());
      Balancer.note(error, chosen.name, context.stage());
      throw error;
    }
    if (outputs == null || outputs.size() != inputs.size()) {
      List<String> ids = context.recordIds();
      StageException broken =
          new StageException(
              context.stage().value(),
              null,
              "implementation '"
                  + chosen.name
                  + "' of batch stage '"
                  + context.stage()
                  + "' returned "
                  + (outputs == null ? "null" : outputs.size() + " outputs")
                  + " for "
                  + inputs.size()
                  + " inputs (first record '"
                  + (ids.isEmpty() ? "" : ids.get(0))
                  + "'); return one output per input, in order");
      balancer.release(chosen, start, broken, inputs.size());
      Balancer.note(broken, chosen.name, context.stage());
      throw broken;
    }
    balancer.release(chosen, start, null, inputs.size());
    return Collections.unmodifiableList(outputs);
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
    return "LoadBalancedBatchStage[" + balancer + "]";
  }

  /**
   * Collects the implementations of a {@link LoadBalancedBatchStage}, checking each argument at
   * once; the same rules as {@link LoadBalancedStage.Builder}.
   *
   * <p>Not thread-safe.
   *
   * @param <I> the input type
   * @param <O> the output type
   */
  public static final class Builder<I, O> {
    private final Balancer.Builder<BatchStage<? super I, ? extends O>> balancer =
        new Balancer.Builder<>();

    private Builder() {}

    /**
     * Adds an implementation of weight {@value LoadBalancedStage#DEFAULT_WEIGHT} and no circuit
     * breaker.
     *
     * @param name lower case letters, digits, '-' and '_', starting with a letter, at most 63
     *     characters
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the name is not of that form
     * @throws IllegalStateException if an implementation of that name was already added, or {@value
     *     LoadBalancedStage#MAX_IMPLEMENTATIONS} were
     */
    public Builder<I, O> add(String name, BatchStage<? super I, ? extends O> implementation) {
      return add(name, implementation, options -> {});
    }

    /**
     * Adds an implementation with options: its weight and circuit breaker.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the name is not of the form of {@link #add(String,
     *     BatchStage)}, or an option's value is out of its range
     * @throws IllegalStateException if an implementation of that name was already added, or {@value
     *     LoadBalancedStage#MAX_IMPLEMENTATIONS} were, or an option was set twice
     */
    public Builder<I, O> add(
        String name,
        BatchStage<? super I, ? extends O> implementation,
        Consumer<LoadBalancedStage.Options> options) {
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
     * Sets the clock that times calls and runs the implementations' circuits: the pipeline's.
     * {@link PipelineClock#system()} unless set.
     *
     * @throws NullPointerException if {@code clock} is null
     * @throws IllegalStateException if set twice
     */
    public Builder<I, O> clock(PipelineClock clock) {
      balancer.clock(clock);
      return this;
    }

    /**
     * Builds the stage, binding each implementation's circuit breaker to the clock. The builder may
     * be used again.
     *
     * @throws IllegalStateException if no implementation was added
     */
    public LoadBalancedBatchStage<I, O> build() {
      return new LoadBalancedBatchStage<>(balancer.build());
    }
  }

  /**
   * The engine's context, with a note on each error a record is failed with: a record failed
   * through the context becomes a dead letter on its own, and should name the implementation too.
   */
  private static final class NotingContext implements StageContext {
    private final StageContext context;
    private final String implementation;

    NotingContext(StageContext context, String implementation) {
      this.context = context;
      this.implementation = implementation;
    }

    @Override
    public void fail(int index, Throwable error) {
      context.fail(index, error); // checks the index and the error first
      Balancer.note(error, implementation, context.stage());
    }

    @Override
    public StageName stage() {
      return context.stage();
    }

    @Override
    public String pipeline() {
      return context.pipeline();
    }

    @Override
    public String recordId() {
      return context.recordId();
    }

    @Override
    public List<String> recordIds() {
      return context.recordIds();
    }

    @Override
    public int attempt() {
      return context.attempt();
    }

    @Override
    public Map<String, String> metadata() {
      return context.metadata();
    }

    @Override
    public Map<String, String> metadata(int index) {
      return context.metadata(index);
    }

    @Override
    public void putMetadata(String key, String value) {
      context.putMetadata(key, value);
    }

    @Override
    public void filter(int index, String reason) {
      context.filter(index, reason);
    }

    @Override
    public Logger logger() {
      return context.logger();
    }

    @Override
    public Instant now() {
      return context.now();
    }

    @Override
    public <K, V> ReferenceLookup<K, V> reference(ReferenceData<K, V> data) {
      return context.reference(data);
    }
  }
}
