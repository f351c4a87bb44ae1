package dev.pipeline;

/** The state of a pipeline run. */
public enum RunStatus {
  /** Reading sources and processing records. */
  RUNNING,
  /** Sources stopped on request; records in flight are finishing. */
  DRAINING,
  /**
   * Every record read reached a terminal state: in this run, or (on a durable store) in another
   * worker that took it over after this one's lease ran out, counted in {@link
   * RunResult#takenOver()}.
   */
  COMPLETED,
  /** Stopped on request; records in flight were left unfinished (a durable store resumes them). */
  CANCELLED,
  /**
   * Stopped by an error outside any one record (the store failed, for instance), or a source failed
   * to read (then its other sources went on, and {@link RunResult#sourceErrors()} names it).
   */
  FAILED;

  /** Whether the run has ended. */
  public boolean isDone() {
    return this == COMPLETED || this == CANCELLED || this == FAILED;
  }
}
