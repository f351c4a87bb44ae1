package dev.pipeline;

import java.util.List;

/**
 * A stage that processes records a batch at a time, for work that is cheaper in bulk (one remote
 * call or one SQL statement for many records).
 *
 * <p>The returned list holds one output per input, in the same order. If the call throws, every
 * record of the batch has failed this attempt and is retried or dead-lettered on its own. To drop
 * or fail single records of a batch, call {@link StageContext#filter(int, String)} or {@link
 * StageContext#fail(int, Throwable)} and put null at their place in the returned list.
 *
 * <p>Implementations must be thread-safe and idempotent, like {@link Stage}.
 *
 * @param <I> the input type
 * @param <O> the output type
 */
@FunctionalInterface
public interface BatchStage<I, O> {

  /**
   * Processes a batch of up to the stage's batch size.
   *
   * @param inputs the payloads, unmodifiable
   * @param context the batch's record ids, attempt, logger and clock
   * @return one output per input, in order; an entry may be null only for a record filtered or
   *     failed through the context
   * @throws Exception if the batch cannot be processed
   */
  List<O> process(List<I> inputs, StageContext context) throws Exception;
}
