package dev.pipeline.quality;

/**
 * What a {@link QualityGate} does with a record that fails a {@link Rule}. When a record fails
 * several rules, the strongest action wins: DEAD_LETTER, then FILTER, then TAG (CLOSE_GATE counts
 * as TAG for the record itself).
 */
public enum Action {
  /** The record goes to the dead letter queue with every violation in its error. */
  DEAD_LETTER,
  /** The record is filtered, the violations its reason. */
  FILTER,
  /**
   * The record goes on with its violations in its metadata ({@link QualityGate#VIOLATIONS_KEY}),
   * and they are counted.
   */
  TAG,
  /**
   * The record is tagged; when a window's pass share of the rule falls below its {@link
   * Rule#mostly() mostly}, the gate closes: records are held until it reopens.
   */
  CLOSE_GATE
}
