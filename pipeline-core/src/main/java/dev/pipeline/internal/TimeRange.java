package dev.pipeline.internal;

import java.time.Instant;
import java.util.Objects;

/** The check of a metrics history read's arguments, shared by the stores and the pipeline. */
public final class TimeRange {
  private TimeRange() {}

  /**
   * Checks the arguments of a metrics history read.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code to} is before {@code from}
   */
  public static void check(String pipeline, String stage, Instant from, Instant to) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(from, "from cannot be null");
    Objects.requireNonNull(to, "to cannot be null");
    if (to.isBefore(from)) {
      throw new IllegalArgumentException(
          "the end of the time range (" + to + ") is before its start (" + from + ")");
    }
  }
}
