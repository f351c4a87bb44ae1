package dev.pipeline;

import dev.pipeline.engine.run.StageDefinition;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.spi.RecordLedger;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What {@link PipelineBuilder#build()} checks of split stages and of stages and sinks that hold
 * records while their circuit is open: what the store must offer them (a retry queue, codecs on a
 * durable store) and the policies they need.
 */
final class StoreChecks {
  private StoreChecks() {}

  /** Reports what a split stage lacks: a codec for its children on a durable store, a fallback. */
  static void splits(
      List<StageDefinition> stages,
      Set<Integer> splitStages,
      @Nullable RecordLedger store,
      List<String> all) {
    for (StageDefinition stage : stages) {
      if (!splitStages.contains(stage.order())) {
        continue;
      }
      Fallback<?, ?> fallback = stage.options().fallback();
      if (fallback instanceof Fallback.Skip || fallback instanceof Fallback.With<?, ?>) {
        all.add(
            "split stage '"
                + stage.name()
                + "' has a skip or function fallback, which would pass its input on where its"
                + " children are expected; use Fallback.hold() or no fallback (a record that"
                + " cannot be split goes to the dead letter queue)");
      }
      if (store != null && store.isDurable() && stage.options().codec() == null) {
        all.add(
            "split stage '"
                + stage.name()
                + "' is on a durable store, which stores the records it splits into, but has no"
                + " codec for them; add s.codec(...) to its options");
      }
    }
  }

  /**
   * Reports what each stage, the sink (if {@code sinkOptions} is given) and each route branch's
   * sink that holds records while its circuit is open ({@code Fallback.hold()}) lacks.
   */
  static void holds(
      List<StageDefinition> stages,
      @Nullable PayloadCodec<?> inputCodec,
      @Nullable StageOptions sinkOptions,
      @Nullable RecordLedger store,
      List<String> all) {
    PayloadCodec<?> entering = inputCodec;
    for (StageDefinition stage : stages) {
      hold("stage '" + stage.name() + "'", stage.options(), entering, store, all);
      if (stage.single() instanceof Route<?, ?> route) {
        branchSinkHolds(stage, route, entering, store, all);
      }
      entering = stage.options().codec();
    }
    if (sinkOptions != null) {
      hold("the sink", sinkOptions, stages.isEmpty() ? null : entering, store, all);
    }
  }

  /** Reports what a stage (or the sink) that holds records while its circuit is open lacks. */
  private static void hold(
      String who,
      StageOptions options,
      @Nullable PayloadCodec<?> entering,
      @Nullable RecordLedger store,
      List<String> all) {
    if (options.fallback() != Fallback.hold()) {
      return;
    }
    if (options.circuitBreaker() == CircuitBreaker.disabled()) {
      all.add(
          who
              + " holds records while its circuit is open (Fallback.hold()) but has no"
              + " circuit breaker; add s.circuitBreaker(CircuitBreaker.failureRate(0.5))");
    }
    if (store != null && !store.hasRetryQueue()) {
      all.add(
          who
              + " holds records while its circuit is open (Fallback.hold()), but the store "
              + store
              + " has no retry queue to hold them in; use Fallback.skip(), Fallback.to(...) or"
              + " no fallback, or a store with a retry queue");
    }
    if (store != null && store.isDurable() && entering == null) {
      all.add(
          who
              + " holds records in the store while its circuit is open (Fallback.hold()),"
              + " but the durable store has no codec for the records entering it; give the"
              + " previous stage s.codec(...) (or the pipeline inputCodec(...) if it is the"
              + " first)");
    }
  }

  /**
   * Reports the branch sinks of a route that hold records while their circuit is open where they
   * cannot: as {@link #hold} does, with the codec the store keeps what such a sink is given with
   * (its own, or the route's input codec {@code entering} for a branch without stages).
   */
  private static void branchSinkHolds(
      StageDefinition stage,
      Route<?, ?> route,
      @Nullable PayloadCodec<?> entering,
      @Nullable RecordLedger store,
      List<String> all) {
    for (int arm = 0; arm < route.branches().size(); arm++) {
      if (route.sinkOf(arm) == null || route.sinkOptionsOf(arm).fallback() != Fallback.hold()) {
        continue;
      }
      String who = "the sink '" + route.sinkStep(stage.name(), arm) + "'";
      StageOptions options = route.sinkOptionsOf(arm);
      PayloadCodec<?> codec = route.sinkCodecOf(arm, entering);
      if (store != null && store.isDurable() && codec == null) {
        all.add(
            who
                + " holds records in the store while its circuit is open (Fallback.hold()),"
                + " but the durable store has no codec for what the sink is given; add"
                + " s.codec(...) to the sink's options in to(sink, s -> ...)");
      } else {
        hold(who, options, codec, store, all);
      }
    }
  }
}
