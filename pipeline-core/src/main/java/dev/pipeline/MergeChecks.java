package dev.pipeline;

import dev.pipeline.engine.MergeStep;
import dev.pipeline.engine.run.StageDefinition;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.spi.RecordLedger;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** What {@link PipelineBuilder#build()} checks of its merge stages. */
final class MergeChecks {
  private MergeChecks() {}

  /**
   * Pairs each merge stage with the split stage before it (no merge stage between them), and
   * reports what a merge stage lacks: that split stage, codecs on a durable store, no fallback, no
   * route to a sink of its own between the two (a record leaving there would never count in its
   * group).
   */
  static void check(
      List<StageDefinition> stages,
      Set<Integer> splitStages,
      @Nullable PayloadCodec<?> inputCodec,
      @Nullable RecordLedger store,
      List<String> all) {
    StageDefinition split = null;
    PayloadCodec<?> entering = inputCodec;
    for (StageDefinition stage : stages) {
      PayloadCodec<?> input = entering;
      entering = stage.options().codec();
      if (splitStages.contains(stage.order())) {
        split = stage;
        continue;
      }
      if (!(stage.single() instanceof MergeStep merge)) {
        if (split != null && stage.single() instanceof Route<?, ?> route && route.hasSinks()) {
          all.add(
              "stage '"
                  + stage.name()
                  + "' routes records to sinks of their own between split stage '"
                  + split.name()
                  + "' and the merge stage after it; records leaving there would never reach"
                  + " their group: route to sinks after the merge stage");
        }
        continue;
      }
      String label = "merge stage '" + stage.name() + "'";
      if (split == null) {
        all.add(
            label
                + " has no split stage before it (since the last merge stage); a merge stage"
                + " joins the children of the split stage before it: add a splitStage(...) first");
      } else {
        merge.splitOrder(split.order());
        split = null;
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
