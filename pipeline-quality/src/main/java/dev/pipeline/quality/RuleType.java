package dev.pipeline.quality;

/**
 * The kinds of {@link Rule}, and what each keeps in its {@linkplain Rule#expression() expression}
 * (the {@code validation_expression} column).
 */
public enum RuleType {
  /** The field is not null (and, for text, not blank). Expression: empty. */
  NOT_NULL,
  /**
   * A number (or a text holding one) lies in an interval. Expression: {@code "[0, 1000000]"},
   * {@code "(0, )"}; a square bracket includes its bound, a round one excludes it, an empty side is
   * unbounded.
   */
  RANGE,
  /** The value (as text) is one of a set. Expression: the values, comma-separated. */
  IN_SET,
  /** The length of a text, collection or map lies in an interval. Expression as for RANGE. */
  LENGTH,
  /**
   * A text matches a regular expression in full, with RE2/J (linear time, no backtracking).
   * Expression: the pattern.
   */
  PATTERN,
  /**
   * A text has a format. Expression: {@code date} (ISO-8601), {@code date:<pattern>} (a {@link
   * java.time.format.DateTimeFormatter} pattern), {@code number}, {@code integer}, {@code email} or
   * {@code url}.
   */
  FORMAT,
  /**
   * No two records of a window share the value. Expression: empty; parameters {@code window} (a
   * duration, default PT10M) and {@code max_keys} (the values remembered, default 100,000). With
   * parameter {@code scope=store} no two records ever share it: keys are checked against the store
   * ({@link SeenKeys}, given to the gate), across runs and workers.
   */
  UNIQUE,
  /**
   * The value is a key of some reference data, looked up through the pipeline's cache. Expression:
   * the {@linkplain dev.pipeline.ReferenceData#name() name} of reference data given to the gate.
   */
  REFERENCE,
  /**
   * Two fields of one record agree. Expression: {@code "<path> <op> <path>"} with op one of {@code
   * < <= == != >= >}, or {@code "<path> -> <path>"} (if the first is present, so is the second).
   */
  CONSISTENCY,
  /**
   * A time is recent. Field: an {@link java.time.Instant}, {@link java.time.OffsetDateTime}, {@link
   * java.time.ZonedDateTime}, {@link java.time.LocalDate}, epoch milliseconds or an ISO-8601 text;
   * expression: the greatest age, an ISO-8601 duration such as {@code PT1H}.
   */
  FRESHNESS,
  /**
   * The number of records per window lies in an interval; judged when each window ends. Expression
   * as for RANGE; parameter {@code window} (default PT1M). No field.
   */
  VOLUME,
  /**
   * A CEL expression (Common Expression Language) that must be true, over the record's fields.
   * Compiled once; no access to Java classes; size, nesting and loops bounded. Expression: the CEL
   * text, e.g. {@code price.amount > 0 && title != ""}.
   */
  EXPRESSION
}
