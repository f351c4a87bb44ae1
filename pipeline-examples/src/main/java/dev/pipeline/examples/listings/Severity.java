package dev.pipeline.examples.listings;

/**
 * How serious a {@link Violation} is, and therefore what happens to the listing. Declared from
 * mildest to gravest, so {@code compareTo} orders by gravity. Immutable and thread-safe.
 */
public enum Severity {
  /** The listing is kept and published, flagged with the warning. */
  WARNING,
  /**
   * The listing is sound but deliberately left out of the index, e.g. it has no asking price. The
   * wiring turns this into the pipeline's filter signal, with the violation's message as the
   * reason.
   */
  FILTER,
  /**
   * The listing's data is broken, e.g. an unreadable price; the wiring sends it to the dead-letter
   * sink.
   */
  ERROR
}
