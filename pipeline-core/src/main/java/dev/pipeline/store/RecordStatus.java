package dev.pipeline.store;

/** Where a record stands. Every record ends in exactly one of the terminal states. */
public enum RecordStatus {
  /** Ingested, waiting to be processed. */
  READY,
  /** Being processed by a worker. */
  IN_PROGRESS,
  /** Failed at a stage and waiting for a retry. */
  RETRY_WAIT,
  /** Terminal: handed to the sink. */
  PUBLISHED,
  /** Terminal: dropped on purpose by a stage, with a reason. */
  FILTERED,
  /** Terminal: failed for good, kept with its payload and errors in the dead letter queue. */
  DEAD_LETTER,
  /** Terminal: a dead letter given up on by a person, with a reason. */
  DISCARDED,
  /**
   * Terminal: split by a split stage into records of its own (its children, whose ids are its id,
   * {@code /} and their index), which end on their own; its reason says into how many.
   */
  SPLIT,
  /**
   * Terminal: a child of a split that a merge stage joined with its siblings into one record (id
   * {@code parentId/merged}), which goes on in its place; its reason names that record.
   */
  MERGED;

  /** Whether a record in this state is done. */
  public boolean isTerminal() {
    return this == PUBLISHED
        || this == FILTERED
        || this == DEAD_LETTER
        || this == DISCARDED
        || this == SPLIT
        || this == MERGED;
  }
}
