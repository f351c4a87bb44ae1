package dev.pipeline.quality.score;

/** A dimension of data quality, each scored 0 to 100 by {@link QualityScores}. */
public enum Dimension {
  /** Values are present: not-null and completeness rules; null cells of profiled fields. */
  COMPLETENESS,
  /** Values are valid (accurate): range, set, pattern, format, reference and expression rules. */
  VALIDITY,
  /** Values agree with each other: cross-field rules. */
  CONSISTENCY,
  /** Records are not repeated: uniqueness rules. */
  UNIQUENESS,
  /** Records are fresh enough: freshness rules. */
  TIMELINESS
}
