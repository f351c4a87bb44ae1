package dev.pipeline.quality.score;

import dev.pipeline.metrics.StageWindow;
import dev.pipeline.metrics.WindowScores;
import dev.pipeline.quality.drift.FieldProfile;
import dev.pipeline.quality.drift.WindowProfile;
import java.time.Instant;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import org.jspecify.annotations.Nullable;

/**
 * The quality scores of one stage in one window, each 0 (every record failed) to 100 (none did).
 *
 * <p>The formula, for each {@link Dimension} d:
 *
 * <ul>
 *   <li><b>from rules</b>: {@code 100 × (1 − failed_d / checked_d)}, where {@code checked_d} is the
 *       number of records the dimension's rules checked and {@code failed_d} those that failed at
 *       least one of them ({@link QualityCounts});
 *   <li><b>from profiles</b>, for completeness: {@code 100 × (1 − Σ nulls / Σ records)} over the
 *       profiled fields (the share of cells present); for validity: {@code 100 × (1 − Σ invalid / Σ
 *       non-null)} (the share of a number field's values that were numbers);
 *   <li>with both, the lower of the two; with neither, the dimension is not measured (absent, not
 *       100).
 * </ul>
 *
 * The overall score is the mean of the measured dimensions' scores, each weighing the same.
 *
 * @param stage the stage
 * @param start when the window opened
 * @param end when it closed
 * @param scores by measured dimension
 */
public record QualityScores(
    String stage, Instant start, Instant end, Map<Dimension, Double> scores) {

  /** Checks and copies the components. */
  public QualityScores {
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(start, "start cannot be null");
    Objects.requireNonNull(end, "end cannot be null");
    EnumMap<Dimension, Double> copy = new EnumMap<>(Dimension.class);
    scores.forEach(
        (d, s) -> {
          if (!(s >= 0 && s <= 100)) {
            throw new IllegalArgumentException(d + " score must be in [0, 100], got " + s);
          }
          copy.put(d, s);
        });
    scores = Collections.unmodifiableMap(copy);
  }

  /**
   * The scores of a window, from its rule counts and (optionally) its field profiles, by the
   * formula above.
   */
  public static QualityScores of(QualityCounts counts, @Nullable WindowProfile profile) {
    Objects.requireNonNull(counts, "counts cannot be null");
    EnumMap<Dimension, Double> scores = new EnumMap<>(Dimension.class);
    counts
        .counts()
        .forEach(
            (dimension, c) -> {
              if (c.checked() > 0) {
                scores.put(dimension, 100.0 * (1 - (double) c.failed() / c.checked()));
              }
            });
    if (profile != null) {
      long cells = 0;
      long nulls = 0;
      long numbers = 0;
      long invalid = 0;
      for (FieldProfile field : profile.fields().values()) {
        cells += field.records();
        nulls += field.nulls();
        if (field.kind() == FieldProfile.Kind.NUMBER) {
          numbers += field.records() - field.nulls();
          invalid += field.invalid();
        }
      }
      if (cells > 0) {
        scores.merge(Dimension.COMPLETENESS, 100.0 * (1 - (double) nulls / cells), Math::min);
      }
      if (numbers > 0) {
        scores.merge(Dimension.VALIDITY, 100.0 * (1 - (double) invalid / numbers), Math::min);
      }
    }
    return new QualityScores(counts.stage(), counts.start(), counts.end(), scores);
  }

  /**
   * The scores a quality gate left in a window of the metrics history ({@code
   * pipeline.metricsHistory(...)}), or empty if the window has none.
   */
  public static Optional<QualityScores> of(StageWindow window) {
    Objects.requireNonNull(window, "window cannot be null");
    WindowScores kept = window.scores();
    if (kept == null) {
      return Optional.empty();
    }
    EnumMap<Dimension, Double> scores = new EnumMap<>(Dimension.class);
    double[] values = {
      kept.completeness(), kept.validity(), kept.consistency(), kept.uniqueness(), kept.timeliness()
    };
    for (Dimension d : Dimension.values()) {
      if (!Double.isNaN(values[d.ordinal()])) {
        scores.put(d, values[d.ordinal()]);
      }
    }
    return Optional.of(new QualityScores(window.stage(), window.start(), window.end(), scores));
  }

  /** The score of a dimension, or empty if it was not measured. */
  public OptionalDouble score(Dimension dimension) {
    Double score = scores.get(dimension);
    return score == null ? OptionalDouble.empty() : OptionalDouble.of(score);
  }

  /** The mean of the measured dimensions' scores, or empty if none was measured. */
  public OptionalDouble overall() {
    return scores.values().stream().mapToDouble(Double::doubleValue).average();
  }
}
