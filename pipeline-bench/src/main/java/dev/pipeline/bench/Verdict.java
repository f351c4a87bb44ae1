package dev.pipeline.bench;

/** Whether a figure meets its target. */
enum Verdict {
  PASS,
  FAIL;

  static Verdict of(boolean met) {
    return met ? PASS : FAIL;
  }
}
