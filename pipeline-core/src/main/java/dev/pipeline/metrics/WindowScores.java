package dev.pipeline.metrics;

/**
 * A stage's data quality scores in one window of the metrics history, each 0 (every record checked
 * failed) to 100 (none did), or NaN where the stage's checks measured nothing of that dimension. A
 * quality gate (pipeline-quality) gives them to the engine through a {@link WindowScorer}; its
 * {@code QualityScores} documents the formula.
 *
 * @param completeness values present (not-null rules, required fields)
 * @param validity values valid (range, set, pattern, format, reference and expression rules)
 * @param consistency fields agreeing with each other (cross-field rules)
 * @param uniqueness records not repeated (uniqueness rules)
 * @param timeliness records fresh enough (freshness rules)
 */
public record WindowScores(
    double completeness,
    double validity,
    double consistency,
    double uniqueness,
    double timeliness) {

  /** No dimension measured. */
  public static final WindowScores NONE =
      new WindowScores(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);

  /**
   * Checks the scores.
   *
   * @throws IllegalArgumentException if a score is neither NaN nor in [0, 100]
   */
  public WindowScores {
    check("completeness", completeness);
    check("validity", validity);
    check("consistency", consistency);
    check("uniqueness", uniqueness);
    check("timeliness", timeliness);
  }

  private static void check(String name, double score) {
    if (!Double.isNaN(score) && !(score >= 0 && score <= 100)) {
      throw new IllegalArgumentException(
          name + " score must be in [0, 100] (or NaN: not measured), was " + score);
    }
  }

  /** The mean of the measured dimensions' scores, each weighing the same; NaN if none was. */
  public double overall() {
    double sum = 0;
    int measured = 0;
    for (double s : new double[] {completeness, validity, consistency, uniqueness, timeliness}) {
      if (!Double.isNaN(s)) {
        sum += s;
        measured++;
      }
    }
    return measured == 0 ? Double.NaN : sum / measured;
  }

  /** Whether no dimension was measured. */
  public boolean isEmpty() {
    return Double.isNaN(overall());
  }
}
