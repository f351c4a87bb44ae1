package dev.pipeline;

/**
 * How much of each record's lineage a pipeline keeps (see {@link
 * PipelineBuilder#lineage(LineageLevel)} and {@link Pipeline#lineage(String)}): the cost is chosen
 * here, from nothing at all to an event per record and stage.
 */
public enum LineageLevel {
  /** No lineage: nothing is recorded or allocated for it. The default. */
  NONE,

  /**
   * The events of records that did not simply pass: a record's event at a stage is kept when it was
   * filtered, dead-lettered, parked for a retry, degraded through a fallback, or passed after
   * retries there. A record that passes a stage at its first attempt leaves no event there.
   */
  FAILURES,

  /**
   * Every event of a share of the records, chosen by a hash of the record id (a split's children by
   * their parent's id), so that a record is traced at every stage or at none, run after run. The
   * share is set with {@link PipelineBuilder#lineageSampling(double)}.
   */
  SAMPLED,

  /** Every event of every record. */
  ALL
}
