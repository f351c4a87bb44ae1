package dev.pipeline;

import java.util.List;

/**
 * Thrown by {@link PipelineBuilder#build()} when the configuration is invalid. The message lists
 * every problem found, each naming the stage and the fix.
 */
public final class PipelineConfigurationException extends PipelineException {
  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  PipelineConfigurationException(String pipeline, List<String> problems) {
    super(
        "pipeline '"
            + pipeline
            + "' is not valid ("
            + problems.size()
            + (problems.size() == 1 ? " problem" : " problems")
            + "):\n  - "
            + String.join("\n  - ", problems));
    this.problems = List.copyOf(problems);
  }

  /** Each problem found, in the order of the builder's calls. */
  public List<String> problems() {
    return problems;
  }
}
