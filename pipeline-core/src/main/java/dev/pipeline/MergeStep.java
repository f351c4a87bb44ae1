package dev.pipeline;

import java.util.List;

/**
 * A merge stage's function as the engine holds it: a stage whose input is a group's parts (a list
 * of the children's payloads, in order) and whose output is the merged record's payload. Knows the
 * split stage it joins, once the pipeline is built.
 */
final class MergeStep implements Stage<Object, Object> {
  private final MergeFunction<Object, Object> merger;
  private volatile int splitOrder;

  @SuppressWarnings("unchecked")
  MergeStep(MergeFunction<?, ?> merger) {
    this.merger = (MergeFunction<Object, Object>) merger;
  }

  @Override
  @SuppressWarnings("unchecked")
  public Object process(Object input, StageContext context) throws Exception {
    return merger.merge((List<Object>) input, context);
  }

  /** The order of the split stage whose children this stage merges (set by {@code build()}). */
  int splitOrder() {
    return splitOrder;
  }

  void splitOrder(int order) {
    this.splitOrder = order;
  }

  /** The user's function, as the stage's function name. */
  MergeFunction<Object, Object> merger() {
    return merger;
  }
}
