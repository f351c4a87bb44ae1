package dev.pipeline.quality.drift;

/** How far a field's values in a window moved from its baseline. */
public enum DriftLevel {
  /** Too few values in the window or the baseline to judge. */
  INSUFFICIENT_DATA,
  /** No drift worth a look. */
  NONE,
  /** A drift worth a look: PSI at or above the warn threshold, or a test's p-value below its. */
  WARN,
  /** A drift to act on: PSI at or above the alert threshold, or a test's p-value below its. */
  ALERT
}
