package dev.pipeline.metrics;

import dev.pipeline.Pipeline;
import java.time.Instant;
import java.util.List;

/**
 * Makes {@link Pipeline#qualityReport}: a service the core library looks up with {@link
 * java.util.ServiceLoader}, provided by {@code pipeline-quality} (the core knows no rules). Not
 * called by users.
 */
public interface QualityReporter {

  /**
   * The quality report of {@code pipeline} from {@code from} to {@code to}.
   *
   * @param stages the function of each of the pipeline's stages, in order (a {@code Stage} or a
   *     {@code BatchStage}), each route's followed by the functions of its branches' stages: where
   *     the reporter finds the quality gates
   */
  Report report(Pipeline<?, ?> pipeline, List<Object> stages, Instant from, Instant to);
}
