package dev.pipeline;

import java.util.List;

/**
 * Where published records go. Delivery is at least once, with a key: every envelope carries its
 * record id, and after a crash a record may be delivered again with the same id, so a sink must
 * treat a repeated id as an update of the same item (an upsert, a put by key).
 *
 * <p>Called from several threads at once (the last stage's workers); implementations must be
 * thread-safe.
 *
 * @param <T> the payload type
 */
@FunctionalInterface
public interface Sink<T> {

  /**
   * Publishes a batch of records.
   *
   * @throws Exception if the batch could not be published; its records are dead-lettered at the
   *     publishing step with this error
   */
  void publish(List<Envelope<T>> records) throws Exception;

  /** A sink that drops everything; records still count as published. */
  static <T> Sink<T> discarding() {
    return records -> {};
  }
}
