package dev.pipeline.store;

/** How a record left a stage, in a {@link LineageEvent}. */
public enum LineageOutcome {
  /** The stage made an output of it, handed to the next stage (at the sink: delivered). */
  PASSED,
  /** The stage filtered it out; its lineage ends here. */
  FILTERED,
  /** It went to the dead letter queue at this stage, after its attempts. */
  DEAD_LETTER,
  /** A split stage made records of it (its children); it ends here. */
  SPLIT,
  /** A merge stage joined it with its siblings into one record; it ends here. */
  MERGED,
  /** It was parked in the store's retry queue and comes back to this stage later. */
  RETRY_SCHEDULED,
  /** The stage failed on it and its fallback made the output that went on. */
  DEGRADED
}
