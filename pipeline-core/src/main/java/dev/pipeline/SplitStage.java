package dev.pipeline;

import java.util.List;

/**
 * A stage that turns one record into zero, one or many (an archive into its files, a document into
 * its paragraphs). Added with {@code PipelineBuilder.splitStage(name, splitter)}.
 *
 * <p>Each output becomes a record of its own, a <em>child</em>, with an id derived from its
 * parent's: {@code parentId/0}, {@code parentId/1}, ... in the order of the list, its parent's id
 * in metadata {@link Envelope#PARENT_ID}, and the parent's other metadata. The children go through
 * the stages after this one and each ends in one terminal state of its own. The parent ends as
 * {@code SPLIT} (its reason says into how many records), or, if the list is empty, as {@code
 * FILTERED} with the reason {@value #NO_RECORDS}. The children are stored (in one bulk write per
 * batch) before the parent's state is, so a crash in between splits the parent again and finds its
 * children already stored: none is lost or made twice.
 *
 * <p>The same contract as {@link Stage} applies, and one more: the split must be deterministic (the
 * same input gives the same list, in the same order), since a split repeated after a crash is
 * matched to the children stored the first time by their place in the list. Implementations must be
 * thread-safe; they may throw {@link RecordFilteredException} to drop the parent with a reason.
 *
 * @param <I> the input type
 * @param <O> the type of each child's payload
 */
@FunctionalInterface
public interface SplitStage<I, O> {

  /** The reason of a parent that split into no records, which ends FILTERED. */
  String NO_RECORDS = "split into no records";

  /**
   * Splits one payload.
   *
   * @param input the parent's payload
   * @param context the parent's context: its id, attempt, metadata (metadata added here goes to
   *     every child)
   * @return the children's payloads, in order; never null, and no element null
   * @throws RecordFilteredException to drop the parent with a reason
   * @throws Exception if the record cannot be split (retried by the stage's policy)
   */
  List<O> split(I input, StageContext context) throws Exception;
}
