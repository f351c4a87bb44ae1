package dev.pipeline.quality.drift;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The profiles of a stage's fields over one window.
 *
 * @param stage the stage whose output was profiled
 * @param start when the window opened
 * @param end when it closed
 * @param records records seen in the window
 * @param fields each field's profile, by name, in the order the fields were declared
 */
public record WindowProfile(
    String stage, Instant start, Instant end, long records, Map<String, FieldProfile> fields) {

  /** Checks and copies the components. */
  public WindowProfile {
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(start, "start cannot be null");
    Objects.requireNonNull(end, "end cannot be null");
    fields = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fields));
  }

  /**
   * This window and {@code other} as one, from the earlier start to the later end, each field's
   * profiles {@link FieldProfile#plus added}; a field profiled in only one of them is kept as it
   * is.
   */
  public WindowProfile plus(WindowProfile other) {
    Map<String, FieldProfile> merged = new LinkedHashMap<>(fields);
    other.fields.forEach((name, profile) -> merged.merge(name, profile, FieldProfile::plus));
    return new WindowProfile(
        stage,
        start.isBefore(other.start) ? start : other.start,
        end.isAfter(other.end) ? end : other.end,
        records + other.records,
        merged);
  }
}
