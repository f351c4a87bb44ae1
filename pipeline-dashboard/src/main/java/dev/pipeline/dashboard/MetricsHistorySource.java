package dev.pipeline.dashboard;

import java.time.Instant;
import java.util.List;

/**
 * Where the dashboard reads a stage's history for its charts. Unless the builder is given one
 * ({@link Dashboard.Builder#history(MetricsHistorySource)}), the dashboard reads each pipeline's
 * metrics history from its store ({@code Pipeline.metricsHistory}), and where the store holds none
 * for a stage, points it samples from the pipeline's {@code metrics()} on a schedule into a bounded
 * ring per stage, kept in memory while it runs.
 *
 * <p>Implementations are thread-safe.
 */
public interface MetricsHistorySource {

  /**
   * The points of one stage whose window ends at or after {@code since}, oldest first; empty if
   * none are known.
   *
   * @param pipeline the pipeline's name
   * @param stage the stage's name
   * @param since the earliest window end to return
   */
  List<StagePoint> stageHistory(String pipeline, String stage, Instant since);
}
