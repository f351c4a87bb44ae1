package dev.pipeline.bench;

/**
 * One line of the results table.
 *
 * @param target which target, and its variant
 * @param figure our figure, median (range)
 * @param baseline what it is compared with, measured in the same run
 * @param derived the compared quantity: an overhead, a ratio, a share of a bound
 * @param goal the target it must meet
 * @param verdict PASS or FAIL, or REPORTED for a figure without a goal of its own
 */
record Row(
    String target, String figure, String baseline, String derived, String goal, Verdict verdict) {}
