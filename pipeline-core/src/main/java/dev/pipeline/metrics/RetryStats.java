package dev.pipeline.metrics;

/**
 * How the records that met one type of error at a stage ended there.
 *
 * @param recovered records that passed the stage after retrying
 * @param exhausted records that did not: they used up their retries, or the error was not retryable
 */
public record RetryStats(long recovered, long exhausted) {

  /** The share of records that recovered, 0 to 1; 0 if none met the error. */
  public double successRate() {
    long all = recovered + exhausted;
    return all == 0 ? 0 : (double) recovered / all;
  }
}
