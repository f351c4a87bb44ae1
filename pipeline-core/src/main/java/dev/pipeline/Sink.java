package dev.pipeline;

import java.util.List;

/**
 * Where published records go. Delivery is at least once, with a key: every envelope carries its
 * record id, and after a crash a record may be delivered again with the same id, so a sink must
 * treat a repeated id as an update of the same item (an upsert, a put by key). Each record also
 * carries a fencing token when the store gives one ({@link Envelope#fencingToken()}): a sink that
 * keeps the highest token per id and refuses a write with a lower one cannot be overwritten by a
 * worker that was paused past its lease while another delivered the record.
 *
 * <p>Called from several threads at once (the last stage's workers, and the thread that claims
 * records held or retried at the sink); implementations must be thread-safe. How a failing call is
 * retried, held or timed out is set with {@link PipelineBuilder#sink(Sink,
 * java.util.function.Consumer)}.
 *
 * @param <T> the payload type
 */
@FunctionalInterface
public interface Sink<T> {

  /**
   * Publishes a batch of records.
   *
   * @throws Exception if the batch could not be published: it is retried by the sink's retry policy
   *     (records in a call after a failed one carry {@code redelivered=true}), then halved until
   *     the records that still fail are alone, and those are dead-lettered at the step {@code sink}
   *     with every error they met
   */
  void publish(List<Envelope<T>> records) throws Exception;

  /** A sink that drops everything; records still count as published. */
  static <T> Sink<T> discarding() {
    return records -> {};
  }
}
