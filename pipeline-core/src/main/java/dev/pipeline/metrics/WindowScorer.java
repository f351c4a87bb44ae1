package dev.pipeline.metrics;

/**
 * Scores the records a stage checked in each window of the metrics history: set on the stage with
 * {@code StageOptions.Builder.qualityScorer(scorer)} (a quality gate's {@code options()} does), and
 * called by the engine once per window as it takes the window, from one thread at a time. The
 * scores go into the window's {@link StageWindow#scores()} and, with a JDBC store, into the {@code
 * pipeline_metrics} row.
 */
@FunctionalInterface
public interface WindowScorer {

  /**
   * The scores of the records checked since the last call (the run's start for the first), and
   * starts counting the next window. A scorer that throws leaves the window without scores.
   *
   * @return the scores, {@link WindowScores#NONE} if nothing was checked
   */
  WindowScores takeWindow();
}
