package dev.pipeline.quality;

/** How much a failing {@link Rule} matters: it decides the alert. */
public enum Severity {
  /** Counted and kept on the record; never alerts. */
  INFO,
  /** Alerts when a window's pass share falls below the rule's {@link Rule#mostly() mostly}. */
  WARNING,
  /** As WARNING, and the alert says the data is wrong, not just unusual. */
  ERROR
}
