package dev.pipeline.internal;

import dev.pipeline.Envelope;
import java.util.Set;

/**
 * The metadata keys the engine alone writes: where a split record belongs ({@link
 * Envelope#PARENT_ID}, {@link Envelope#SPLIT_SIZE}, {@link Envelope#OUTER_SPLIT_SIZES}) and what
 * the sink is told of a hand-over ({@link Envelope#FENCING_TOKEN}, {@link Envelope#REDELIVERED}). A
 * stage that set one would place records in groups that are not theirs (a merge then waits for
 * parts that never come, or merges siblings into a record that is never made) or forge a sink's
 * fencing, so {@code StageContext.putMetadata} refuses them; the stage's call fails, and only its
 * record.
 */
public final class EngineMetadata {
  private static final Set<String> KEYS =
      Set.of(
          Envelope.PARENT_ID,
          Envelope.SPLIT_SIZE,
          Envelope.OUTER_SPLIT_SIZES,
          Envelope.FENCING_TOKEN,
          Envelope.REDELIVERED);

  private EngineMetadata() {}

  /**
   * Checks a key a stage adds to its record's metadata.
   *
   * @throws IllegalArgumentException if the key is one the engine alone writes
   */
  public static void checkStageKey(String key) {
    if (KEYS.contains(key)) {
      throw new IllegalArgumentException(
          "metadata key '"
              + key
              + "' is written by the engine only (it places split records in their merge groups"
              + " and tells the sink of a hand-over); a stage cannot set it: use a key of your own,"
              + " e.g. '"
              + key
              + "-note'");
    }
  }
}
