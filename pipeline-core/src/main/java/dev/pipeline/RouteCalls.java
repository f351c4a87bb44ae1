package dev.pipeline;

import dev.pipeline.RouteBranch.Step;
import dev.pipeline.engine.Attempt;
import dev.pipeline.engine.CallGuard;
import dev.pipeline.engine.Fallbacks;
import dev.pipeline.engine.Invoker;
import dev.pipeline.engine.Outputs;
import dev.pipeline.engine.Retries;
import dev.pipeline.engine.run.CallContext;
import dev.pipeline.engine.run.RouteExit;
import dev.pipeline.internal.EngineMetadata;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.resilience.TokenBucket;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * How a {@link Route} routes one record: its branches' predicates tried in order, then the chosen
 * branch's stages called one after the other on the worker, each through its own invoker with its
 * retries and fallback, and the counts per branch. The names it reports (the route stage's, the
 * branches', the stages' qualified names) and the stages' invokers are made at the first call, for
 * the stage the route runs in. Thread-safe: a stage's workers call it at once.
 *
 * @param <O> the route's output type
 */
final class RouteCalls<O> {
  private final Class<O> output;
  private final Route.Arm[] arms;
  private final List<String> problems;
  private final PipelineClock clock;
  private final RouteCounts counts;

  /** The names derived from the stage the route runs in, made at its first call. */
  private volatile @Nullable Names names;

  RouteCalls(
      Class<O> output,
      Route.Arm[] arms,
      List<String> problems,
      PipelineClock clock,
      RouteCounts counts) {
    this.output = output;
    this.arms = arms;
    this.problems = problems;
    this.clock = clock;
    this.counts = counts;
  }

  /** Routes the record down its branch; see {@link Route#process}. */
  @SuppressWarnings("unchecked")
  O route(Object input, StageContext context) throws Exception {
    if (!problems.isEmpty()) {
      throw new IllegalStateException("invalid route: " + String.join("; ", problems));
    }
    Names names = names(context);
    Route.Arm[] all = arms;
    int chosen = -1;
    for (int i = 0; i < all.length; i++) {
      Predicate<Object> predicate = all[i].predicate();
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
            all[i].branch().name().value(),
            context.recordId(),
            1,
            e,
            "the predicate of branch '"
                + all[i].branch().name()
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
    EngineMetadata.putMark(context, names.metadataKey, names.branch[chosen]);
    RouteBranch<?, ?> branch = all[chosen].branch();
    Object value = input;
    List<Step> steps = branch.steps();
    for (int s = 0; s < steps.size(); s++) {
      value = call(names, chosen, s, steps.get(s), value, context);
    }
    if (branch.endsAtSink()) {
      if (!(context instanceof CallContext)) {
        throw new UnsupportedOperationException(
            "branch '"
                + branch.name()
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
              + branch.name()
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
    RetryPolicy retry = step.options().retryPolicy();
    String recordId = context.recordId();
    boolean plain = names.plain[arm][index];
    for (int attempt = 1; ; attempt++) {
      Attempt<Object> call =
          plain
              ? direct(step, in, context, check)
              : invoker.call(
                  1, recordId, CallGuard.UNTIMED, () -> step.stage().process(in, context), check);
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
                  + step.name()
                  + "': "
                  + call.filterReason());
        }
        case CANCELLED -> throw new InterruptedException("run cancelled");
        case REFUSED -> {
          Fallback<?, ?> fallback = step.options().fallback();
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
      value = step.stage().process(in, context);
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
    Fallback<?, ?> fallback = step.options().fallback();
    String qualified = names.qualified[arm][index];
    String recordId = context.recordId();
    if (fallback != null && Fallbacks.degrades(fallback)) {
      Fallbacks.Made made = Fallbacks.apply(fallback, qualified, recordId, in, cause, context);
      if (made.error() == null) {
        counts.degraded[arm].increment();
        EngineMetadata.putMark(
            context,
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
                + step.name()
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
      this.metadataKey = Route.metadataKey(stage);
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
        RouteBranch<?, ?> b = arms[i].branch();
        branch[i] = b.name().value();
        int n = b.steps().size();
        qualified[i] = new String[n];
        invokers[i] = new Invoker[n];
        plain[i] = new boolean[n];
        List<Invoker.Check<Object>> own = new ArrayList<>(n);
        for (int s = 0; s < n; s++) {
          Step step = b.steps().get(s);
          qualified[i][s] = stage + "/" + b.name() + "/" + step.name();
          // a cancelled run interrupts the worker, whose call then ends as interrupted
          invokers[i][s] =
              new Invoker(
                  qualified[i][s],
                  step.options().circuitBreaker(),
                  step.options().rateLimit(),
                  null,
                  clock,
                  () -> false,
                  false);
          own.add(Outputs.single(qualified[i][s]));
          plain[i][s] =
              step.options().circuitBreaker() == CircuitBreaker.disabled()
                  && step.options().rateLimit() == TokenBucket.unlimited();
        }
        all.add(List.copyOf(own));
      }
      this.checks = List.copyOf(all);
    }
  }
}
