package dev.pipeline.engine;

import dev.pipeline.PipelineClock;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.StageCallListener;
import dev.pipeline.StageOptions;
import dev.pipeline.StageTimeoutException;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.TokenBucket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs every call of one stage, batch stage or sink through the stage's policies: the circuit
 * breaker's permission, the rate limit's tokens, the timeout's watch, the call, the check of what
 * it returned, and each policy told the outcome. The engine's workers and the test kit's {@code
 * StageTester} both call through it, so a stage tested alone meets its policies as in a pipeline.
 * What happens next (a retry now, a park in the retry queue, a fallback, a dead letter) is the
 * caller's, decided with {@link Retries} and {@link Fallbacks}, since a single-record stage, a
 * batch stage and the test kit each keep their records differently.
 *
 * <p>Thread-safe if the stage's policies are (the library's are): a stage's workers share one.
 */
public final class Invoker {
  /** What a stage is called with: one record's call or a batch's. */
  @FunctionalInterface
  public interface Call<R> {
    /** Calls the stage. */
    @Nullable R call() throws Exception;
  }

  /** Checks what a call returned; returns the error it makes, or null if it is right. */
  @FunctionalInterface
  public interface Check<R> {
    /**
     * The error {@code value} makes, or null.
     *
     * @param value what the call returned
     * @param records the records it was called with
     * @param firstRecordId the record, or the first of the batch
     */
    @Nullable Throwable check(@Nullable R value, int records, @Nullable String firstRecordId);
  }

  private static final Logger LOG = LoggerFactory.getLogger(Invoker.class);

  private final String stage;
  private final PolicyExecutor[] policies;
  private final @Nullable Duration timeout;
  private final PipelineClock clock;
  private final BooleanSupplier cancelled;
  private final boolean keepsPassedOnCancel;
  private final @Nullable StageCallListener listener;
  private final String pipeline;
  private final AtomicBoolean listenerFailed = new AtomicBoolean();

  /**
   * An invoker for a stage of a pipeline, with the policies of its options (bound to the pipeline's
   * clock), whose calls are reported to a listener.
   *
   * @param pipeline the pipeline's name
   * @param stage the stage's name
   * @param options its options (circuit breaker, rate limit, timeout)
   * @param clock the pipeline's clock
   * @param cancelled whether the run is cancelled: a call that ends then does not count
   * @param keepsPassedOnCancel true for a sink: a call that returned did deliver, so it counts even
   *     in a cancelled run
   * @param listener told of every call, or null
   */
  public Invoker(
      String pipeline,
      String stage,
      StageOptions options,
      PipelineClock clock,
      BooleanSupplier cancelled,
      boolean keepsPassedOnCancel,
      @Nullable StageCallListener listener) {
    this(
        pipeline,
        stage,
        options.circuitBreaker(),
        options.rateLimit(),
        options.timeout(),
        clock,
        cancelled,
        keepsPassedOnCancel,
        listener);
  }

  /**
   * An invoker for a stage.
   *
   * @param stage the stage's name
   * @param breaker its circuit breaker, bound to {@code clock}
   * @param bucket its rate limit, bound to {@code clock}
   * @param timeout its timeout, or null
   * @param clock the pipeline's clock
   * @param cancelled whether the run is cancelled: a call that ends then does not count
   * @param keepsPassedOnCancel true for a sink: a call that returned did deliver, so it counts even
   *     in a cancelled run
   */
  public Invoker(
      String stage,
      CircuitBreaker breaker,
      TokenBucket bucket,
      @Nullable Duration timeout,
      PipelineClock clock,
      BooleanSupplier cancelled,
      boolean keepsPassedOnCancel) {
    this("", stage, breaker, bucket, timeout, clock, cancelled, keepsPassedOnCancel, null);
  }

  private Invoker(
      String pipeline,
      String stage,
      CircuitBreaker breaker,
      TokenBucket bucket,
      @Nullable Duration timeout,
      PipelineClock clock,
      BooleanSupplier cancelled,
      boolean keepsPassedOnCancel,
      @Nullable StageCallListener listener) {
    this.pipeline = Objects.requireNonNull(pipeline, "pipeline cannot be null");
    this.listener = listener;
    this.stage = Objects.requireNonNull(stage, "stage cannot be null");
    this.clock = Objects.requireNonNull(clock, "clock cannot be null");
    this.cancelled = Objects.requireNonNull(cancelled, "cancelled cannot be null");
    this.keepsPassedOnCancel = keepsPassedOnCancel;
    this.timeout = timeout;
    List<PolicyExecutor> chain = new ArrayList<>(2);
    // the circuit first: a refused call takes no tokens
    if (breaker != CircuitBreaker.disabled()) {
      chain.add(new PolicyExecutor.Breaker(breaker));
    }
    if (bucket != TokenBucket.unlimited()) {
      chain.add(new PolicyExecutor.RateLimit(bucket));
    }
    this.policies = chain.toArray(PolicyExecutor[]::new);
  }

  /** The stage's timeout, or null if its calls are not timed. */
  public @Nullable Duration timeout() {
    return timeout;
  }

  /**
   * Calls the stage once through its policies.
   *
   * @param permits the records the call is for (the rate limit's tokens)
   * @param firstRecordId the record, or the first of the batch, named in a refusal or a timeout
   * @param guard watches the call's timeout (unused if the stage has none)
   * @param call the call
   * @param check what the call returned must pass, unless it threw
   * @throws InterruptedException if interrupted while waiting for the rate limit's tokens
   */
  public <R> Attempt<R> call(
      int permits, @Nullable String firstRecordId, CallGuard guard, Call<R> call, Check<R> check)
      throws InterruptedException {
    return call(permits, firstRecordId, guard, call, check, new Attempt<>());
  }

  /**
   * Calls the stage once through its policies, as {@link #call(int, String, CallGuard, Call,
   * Check)} does, and writes how it ended into {@code into}: a worker that reuses one attempt for
   * its calls allocates nothing per call for their outcomes.
   *
   * @return {@code into}
   * @throws InterruptedException if interrupted while waiting for the rate limit's tokens
   */
  public <R> Attempt<R> call(
      int permits,
      @Nullable String firstRecordId,
      CallGuard guard,
      Call<R> call,
      Check<R> check,
      Attempt<R> into)
      throws InterruptedException {
    PolicyExecutor[] chain = policies;
    for (int i = 0; i < chain.length; i++) {
      Throwable refusal;
      try {
        refusal = chain[i].before(stage, permits, firstRecordId);
      } catch (InterruptedException | RuntimeException e) {
        abort(i);
        throw e;
      }
      if (refusal != null) {
        abort(i);
        return into.set(Attempt.Kind.REFUSED, null, null, refusal, clock.nanoTime(), 0);
      }
    }
    StageCallListener told = listener;
    StageCallListener.Call reported = null;
    Object started = null;
    if (told != null) {
      reported = new StageCallListener.Call(pipeline, stage, permits, firstRecordId);
      started = started(told, reported);
    }
    Duration limit = timeout;
    long start = clock.nanoTime();
    long token = limit == null ? 0 : guard.begin(start);
    R value = null;
    String filtered = null;
    Throwable error = null;
    try {
      value = call.call();
    } catch (RecordFilteredException filter) {
      filtered = filter.reason();
    } catch (Throwable thrown) {
      error = thrown;
    }
    if (limit != null && !guard.end(token)) {
      error = new StageTimeoutException(stage, firstRecordId, limit, false);
      value = null;
      filtered = null;
    }
    if (cancelled.getAsBoolean() && (error != null || !keepsPassedOnCancel)) {
      abort(chain.length);
      if (told != null) {
        ended(told, reported, started, StageCallListener.Outcome.CANCELLED, start, null);
      }
      return into.set(Attempt.Kind.CANCELLED, null, null, null, start, 0);
    }
    if (error == null && filtered == null) {
      error = check.check(value, permits, firstRecordId);
    }
    long took = clock.nanoTime() - start;
    if (told != null) {
      StageCallListener.Outcome outcome =
          error != null
              ? StageCallListener.Outcome.FAILED
              : filtered != null
                  ? StageCallListener.Outcome.FILTERED
                  : StageCallListener.Outcome.PASSED;
      ended(told, reported, started, outcome, start, error);
    }
    for (PolicyExecutor policy : chain) {
      policy.after(took, error);
    }
    Attempt.Kind kind =
        error != null
            ? Attempt.Kind.FAILED
            : filtered != null ? Attempt.Kind.FILTERED : Attempt.Kind.PASSED;
    return into.set(kind, error == null ? value : null, filtered, error, start, took);
  }

  /**
   * Tells the policies of a call that was given up on after its timeout (its thread ignored the
   * interrupt and was abandoned) that it failed.
   */
  public void abandoned(Throwable timeout) {
    for (PolicyExecutor policy : policies) {
      if (policy instanceof PolicyExecutor.Breaker) {
        policy.after(0, timeout); // the hung call had the circuit's permission
      }
    }
  }

  private @Nullable Object started(StageCallListener told, StageCallListener.Call reported) {
    try {
      return told.callStarted(reported);
    } catch (RuntimeException e) {
      listenerFailed(e);
      return null;
    }
  }

  private void ended(
      StageCallListener told,
      StageCallListener.@Nullable Call reported,
      @Nullable Object started,
      StageCallListener.Outcome outcome,
      long start,
      @Nullable Throwable error) {
    try {
      told.callEnded(
          Objects.requireNonNull(reported), started, outcome, clock.nanoTime() - start, error);
    } catch (RuntimeException e) {
      listenerFailed(e);
    }
  }

  /** A listener's failure is logged once per invoker (a stage of a run) and otherwise ignored. */
  private void listenerFailed(RuntimeException e) {
    if (listenerFailed.compareAndSet(false, true)) {
      LOG.warn(
          "the call listener of pipeline '{}' threw at stage '{}' and is ignored for this call"
              + " (further failures at this stage are not logged): {}",
          ErrorText.loggable(pipeline),
          ErrorText.loggable(stage),
          ErrorText.describeDefault(e));
    }
  }

  private void abort(int upTo) {
    for (int i = 0; i < upTo; i++) {
      policies[i].abort();
    }
  }

  @Override
  public String toString() {
    return "Invoker[" + stage + ", " + policies.length + " policies, timeout=" + timeout + "]";
  }
}
