package dev.pipeline;

import java.time.Duration;
import java.util.Optional;

/**
 * A handle on a running pipeline: watch its progress, wait for it, stop it.
 *
 * <p>Thread-safe.
 */
public interface PipelineRun {

  /** The progress so far. */
  Progress progress();

  /** The run's state. */
  RunStatus status();

  /**
   * Stops reading sources and lets the records already read finish; returns at once. {@link
   * #await()} then returns a COMPLETED result in which every record read reached a terminal state.
   */
  void shutdown();

  /**
   * Stops at once: interrupts the stages and leaves records in flight unfinished (a durable store
   * resumes them on the next run). Returns at once; {@link #await()} returns a CANCELLED result.
   */
  void cancel();

  /**
   * Waits for the run to end.
   *
   * @throws InterruptedException if interrupted while waiting
   */
  RunResult await() throws InterruptedException;

  /**
   * Waits at most {@code timeout} for the run to end.
   *
   * @return the result, or empty if the run is still going
   * @throws InterruptedException if interrupted while waiting
   */
  Optional<RunResult> await(Duration timeout) throws InterruptedException;
}
