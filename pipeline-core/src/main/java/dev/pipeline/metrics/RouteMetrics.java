package dev.pipeline.metrics;

import java.util.List;

/**
 * The counts of one route stage (routing by data) since its pipeline was built, per branch. They
 * count the route's calls: a record counts under the branch it took each time the route is called
 * on it (again if the route stage retries it, or a run resumes it after a crash). Its terminal
 * state is counted by the route stage's {@link StageMetrics} and the pipeline's totals, and for a
 * branch that ends at a sink by the pipeline's published count.
 *
 * @param stage the route stage's name
 * @param branches every branch, in the order their predicates are tried
 * @param unmatched records that matched no branch (filtered: the route has no otherwise branch)
 */
public record RouteMetrics(String stage, List<BranchCounts> branches, long unmatched) {

  /** Copies the list. */
  public RouteMetrics {
    branches = List.copyOf(branches);
  }

  /**
   * The counts of one branch.
   *
   * @param branch the branch's name
   * @param endsAtSink whether the branch ends at a sink of its own (else it joins)
   * @param routed records that took the branch
   * @param filtered records a branch stage filtered
   * @param failed records the branch failed (a stage gave up, or its predicate threw)
   * @param degraded records that passed a branch stage through its fallback
   */
  public record BranchCounts(
      String branch, boolean endsAtSink, long routed, long filtered, long failed, long degraded) {}

  /**
   * The counts of one branch.
   *
   * @throws IllegalArgumentException if the route has no such branch
   */
  public BranchCounts branch(String name) {
    for (BranchCounts b : branches) {
      if (b.branch().equals(name)) {
        return b;
      }
    }
    throw new IllegalArgumentException("route '" + stage + "' has no branch '" + name + "'");
  }
}
