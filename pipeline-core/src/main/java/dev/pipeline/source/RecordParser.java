package dev.pipeline.source;

/**
 * Makes a record's payload from what a file source read (a line, a CSV row): the user's JSON
 * library, their row mapper. It may throw: the record is then marked {@link
 * dev.pipeline.Envelope#SOURCE_ERROR} with the exception's message (it is dead-lettered at
 * ingestion) and reading goes on.
 *
 * <p>Called by one thread at a time (the source's reader); it need not be thread-safe unless it is
 * shared by several sources.
 *
 * @param <S> what was read
 * @param <T> the payload made of it
 */
@FunctionalInterface
public interface RecordParser<S, T> {

  /**
   * The payload of a record.
   *
   * @throws Exception if the input is not one it can make a payload of
   */
  T parse(S input) throws Exception;
}
