package dev.pipeline;

/**
 * The plain form of a {@link Stage}: a function of the payload alone, for stages that need no
 * context, so that {@code .stage(CLEANING, Cleaner::clean)} reads as it should.
 *
 * <p>The same contract as {@link Stage} applies: thread-safe, idempotent, never returns null,
 * throws {@link RecordFilteredException} to drop a record.
 *
 * @param <I> the input type
 * @param <O> the output type
 */
@FunctionalInterface
public interface StageFunction<I, O> {

  /**
   * Processes one payload.
   *
   * @return the output, never null
   * @throws RecordFilteredException to drop the record with a reason
   * @throws Exception if the record cannot be processed
   */
  O apply(I input) throws Exception;
}
