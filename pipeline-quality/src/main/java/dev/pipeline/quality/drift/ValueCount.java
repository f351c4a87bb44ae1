package dev.pipeline.quality.drift;

import java.util.Objects;

/**
 * One of the most frequent values of a category field in a window, as a Space-Saving summary counts
 * it: {@code count} may overstate the true count by at most {@code error} (0 while the field had no
 * more distinct values than the summary holds).
 *
 * @param value the value, cut to {@link FieldProfiler#MAX_VALUE_CHARS} characters
 * @param count how often it was seen (an upper bound)
 * @param error how much {@code count} may overstate
 */
public record ValueCount(String value, long count, long error) {

  /** Checks the components. */
  public ValueCount {
    Objects.requireNonNull(value, "value cannot be null");
    if (count < 0 || error < 0 || error > count) {
      throw new IllegalArgumentException(
          "need 0 <= error <= count, got count " + count + " and error " + error);
    }
  }
}
