package dev.pipeline;

import java.util.List;

/**
 * Joins the children of one split again into one record. Added with {@code
 * PipelineBuilder.mergeStage(name, merger)}, after the split stage whose children it joins.
 *
 * <p>A merge stage collects each child that reaches it as a <em>part</em> of its parent's group, in
 * the store (not in a worker's memory: after a crash, or with several workers, siblings arrive at
 * different workers). When every child of the group has either reached the stage or ended on the
 * way (filtered or dead-lettered between the split and the merge: an absent part), the merge
 * function is called once with the parts' payloads in the children's order, absent ones left out,
 * and its output goes on as a record of its own with the id {@code parentId/merged}. Each child
 * that reached the stage ends {@code MERGED}. A group whose every child ended on the way makes no
 * merged record.
 *
 * <p>The same contract as {@link Stage} applies, and one more: the merge should be deterministic,
 * since after a crash the group may be merged again, and only the first merged record stored is
 * kept. Implementations must be thread-safe; they may throw {@link RecordFilteredException} to drop
 * the group with a reason (the children in hand then end FILTERED).
 *
 * @param <C> the type of each child's payload, as it reaches the merge stage
 * @param <R> the merged record's type
 */
@FunctionalInterface
public interface MergeFunction<C, R> {

  /**
   * Merges one group.
   *
   * @param parts the payloads of the children that reached the merge stage, in the order of the
   *     split (absent children left out); never empty
   * @param context the merged record's context: its id is {@code parentId/merged}, its metadata the
   *     parent's as the children carried it
   * @return the merged record's payload; never null
   * @throws RecordFilteredException to drop the group with a reason
   * @throws Exception if the group cannot be merged (retried by the stage's policy)
   */
  R merge(List<C> parts, StageContext context) throws Exception;
}
