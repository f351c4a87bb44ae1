package dev.pipeline.dashboard;

/** What a dashboard user may do. */
public enum Role {
  /** Views every page; cannot change anything (every POST is refused). */
  VIEWER,
  /** Views every page and may reprocess and discard dead letters. */
  OPERATOR
}
