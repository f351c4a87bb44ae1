package dev.pipeline.examples.listings;

/**
 * Coarse polarity of a listing's wording, derived from its sentiment score. Immutable and
 * thread-safe.
 */
public enum SentimentLabel {
  NEGATIVE,
  NEUTRAL,
  POSITIVE
}
