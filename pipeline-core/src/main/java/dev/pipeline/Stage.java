package dev.pipeline;

/**
 * One step of a pipeline: turns one input into one output.
 *
 * <p>A stage may throw any exception; the pipeline records it, retries it if the stage's {@link
 * dev.pipeline.resilience.RetryPolicy} says so, and otherwise moves the record to the dead letter
 * queue. To drop a record on purpose, throw {@link RecordFilteredException}. A stage must not
 * return null, and a record it returns must have no null in a component not marked
 * {@code @Nullable} (checked unless {@link StageOptions.Builder#shapeCheck(boolean) turned off}).
 *
 * <p>With a durable store a record may run through a stage more than once (after a crash it resumes
 * from its last checkpoint), so a stage must be idempotent: the same input gives the same output
 * and repeated side effects are harmless. Implementations are called from many threads at once (up
 * to the stage's concurrency) and must be thread-safe.
 *
 * @param <I> the input type
 * @param <O> the output type
 */
@FunctionalInterface
public interface Stage<I, O> {

  /**
   * Processes one record.
   *
   * @param input the record's payload
   * @param context the record's id, attempt, metadata, logger and clock
   * @return the output, never null
   * @throws RecordFilteredException to drop the record with a reason
   * @throws Exception if the record cannot be processed
   */
  O process(I input, StageContext context) throws Exception;
}
