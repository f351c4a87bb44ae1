package dev.pipeline.engine;

import dev.pipeline.MergeFunction;
import dev.pipeline.Stage;
import dev.pipeline.StageContext;
import java.util.List;

/**
 * A merge stage's function as the engine holds it: a stage whose input is a group's parts (a list
 * of the children's payloads, in order) and whose output is the merged record's payload. Knows the
 * split stage it joins, once the pipeline is built.
 */
public final class MergeStep implements Stage<Object, Object> {
  private final MergeFunction<Object, Object> merger;
  private volatile int splitOrder;

  /** Wraps the user's merge function. */
  @SuppressWarnings("unchecked")
  public MergeStep(MergeFunction<?, ?> merger) {
    this.merger = (MergeFunction<Object, Object>) merger;
  }

  @Override
  @SuppressWarnings("unchecked")
  public Object process(Object input, StageContext context) throws Exception {
    return merger.merge((List<Object>) input, context);
  }

  /** The order of the split stage whose children this stage merges (set by {@code build()}). */
  public int splitOrder() {
    return splitOrder;
  }

  /** Sets the order of the split stage this stage merges the children of. */
  public void splitOrder(int order) {
    this.splitOrder = order;
  }
}
