package dev.pipeline.quality.drift;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * How a window's fields compare with the baseline.
 *
 * @param stage the stage profiled
 * @param start when the window opened
 * @param end when it closed
 * @param records records in the window
 * @param fields each field's drift, in declaration order
 */
public record WindowDrift(
    String stage, Instant start, Instant end, long records, List<FieldDrift> fields) {

  /** Checks and copies the components. */
  public WindowDrift {
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(start, "start cannot be null");
    Objects.requireNonNull(end, "end cannot be null");
    fields = List.copyOf(fields);
  }

  /** The worst level among the fields; {@link DriftLevel#INSUFFICIENT_DATA} if none. */
  public DriftLevel level() {
    return fields.stream()
        .map(FieldDrift::level)
        .max(Enum::compareTo)
        .orElse(DriftLevel.INSUFFICIENT_DATA);
  }
}
