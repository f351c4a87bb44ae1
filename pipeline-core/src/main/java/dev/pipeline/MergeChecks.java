package dev.pipeline;

import dev.pipeline.engine.MergeStep;
import dev.pipeline.engine.run.StageDefinition;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.spi.RecordLedger;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** What {@link PipelineBuilder#build()} checks of its merge stages. */
final class MergeChecks {
  private MergeChecks() {}

  /**
   * Pairs merge stages with split stages as brackets: each merge stage closes the nearest split
   * stage before it that no merge stage closed yet, so pairs nest (split, split, merge, merge) and
   * a split stage left open is a split without a merge. Reports what a merge stage lacks: such a
   * split stage, codecs on a durable store, no fallback, no route to a sink of its own inside a
   * pair (a record leaving there would never count in its group).
   */
  static void check(
      List<StageDefinition> stages,
      Set<Integer> splitStages,
      @Nullable PayloadCodec<?> inputCodec,
      @Nullable RecordLedger store,
      List<String> all) {
    Deque<StageDefinition> open = new ArrayDeque<>();
    PayloadCodec<?> entering = inputCodec;
    for (StageDefinition stage : stages) {
      PayloadCodec<?> input = entering;
      entering = stage.options().codec();
      if (splitStages.contains(stage.order())) {
        open.push(stage);
        continue;
      }
      if (!(stage.single() instanceof MergeStep merge)) {
        if (!open.isEmpty() && stage.single() instanceof Route<?, ?> route && route.hasSinks()) {
          all.add(
              "stage '"
                  + stage.name()
                  + "' routes records to sinks of their own between split stage '"
                  + open.peek().name()
                  + "' and the merge stage after it; records leaving there would never reach"
                  + " their group: route to sinks after the merge stage");
        }
        continue;
      }
      String label = "merge stage '" + stage.name() + "'";
      if (open.isEmpty()) {
        all.add(
            label
                + " has no split stage before it that another merge stage does not close already;"
                + " each merge stage joins the children of the nearest split stage before it that"
                + " is still open (pairs nest: split, split, merge, merge): add a splitStage(...)"
                + " before it or remove a merge stage");
      } else {
        merge.splitOrder(open.pop().order());
      }
      if (stage.options().fallback() != null) {
        all.add(
            label
                + " has a fallback, which would pass a part on where a merged record is"
                + " expected; remove it (a group that cannot be merged sends its children in hand"
                + " to the dead letter queue)");
      }
      if (store != null && !store.keepsMergeGroups()) {
        all.add(
            label
                + " needs a store that keeps merge groups, and "
                + store.getClass().getName()
                + " does not; use the in-memory or the JDBC store");
      }
      if (store != null && store.isDurable()) {
        if (stage.options().codec() == null) {
          all.add(
              label
                  + " is on a durable store, which stores the records it merges into, but has no"
                  + " codec for them; add s.codec(...) to its options");
        }
        if (input == null) {
          all.add(
              label
                  + " is on a durable store, which stores the parts it merges, but its input has"
                  + " no codec; add s.codec(...) to the options of the stage before it");
        }
      }
    }
  }
}
