package dev.pipeline.quality.score;

import java.time.Instant;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

/**
 * What the rules of one stage found in one window, by dimension: how many records the dimension's
 * rules checked, and how many of those failed at least one of them (a record failing two
 * completeness rules counts once). A rule engine produces these; {@link QualityScores} turns them
 * into scores.
 *
 * @param stage the stage
 * @param start when the window opened
 * @param end when it closed
 * @param counts by dimension; a dimension no rule checked is absent
 */
public record QualityCounts(
    String stage, Instant start, Instant end, Map<Dimension, Checked> counts) {

  /**
   * The records a dimension's rules checked and those that failed.
   *
   * @param checked records checked
   * @param failed records that failed at least one rule of the dimension
   */
  public record Checked(long checked, long failed) {
    /** Checks the counts. */
    public Checked {
      if (checked < 0 || failed < 0 || failed > checked) {
        throw new IllegalArgumentException(
            "need 0 <= failed <= checked, got checked " + checked + ", failed " + failed);
      }
    }
  }

  /** Checks and copies the components. */
  public QualityCounts {
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(start, "start cannot be null");
    Objects.requireNonNull(end, "end cannot be null");
    EnumMap<Dimension, Checked> copy = new EnumMap<>(Dimension.class);
    copy.putAll(counts);
    counts = Collections.unmodifiableMap(copy);
  }

  /** No counts yet, for {@code stage} and the window from {@code start} to {@code end}. */
  public static QualityCounts of(String stage, Instant start, Instant end) {
    return new QualityCounts(stage, start, end, Map.of());
  }

  /**
   * These counts with {@code checked} and {@code failed} records added to {@code dimension}.
   *
   * @throws IllegalArgumentException unless 0 &lt;= failed &lt;= checked
   */
  public QualityCounts with(Dimension dimension, long checked, long failed) {
    Objects.requireNonNull(dimension, "dimension cannot be null");
    Checked added = new Checked(checked, failed);
    EnumMap<Dimension, Checked> next = new EnumMap<>(Dimension.class);
    next.putAll(counts);
    next.merge(
        dimension,
        added,
        (a, b) -> new Checked(a.checked() + b.checked(), a.failed() + b.failed()));
    return new QualityCounts(stage, start, end, next);
  }
}
