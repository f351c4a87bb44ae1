package dev.pipeline.bench;

/** Whether a figure meets its target. */
enum Verdict {
  PASS,
  FAIL,
  /** A figure shown for comparison, with no goal of its own. */
  REPORTED;

  static Verdict of(boolean met) {
    return met ? PASS : FAIL;
  }
}
