package dev.pipeline;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A running pipeline's progress, cheap enough to poll every second.
 *
 * @param status the run's state
 * @param elapsed time since the run started
 * @param read records read from sources so far
 * @param resumed records the store handed over to finish so far (see {@link RunResult#resumed()})
 * @param duplicates records rejected as duplicates so far
 * @param published records published so far
 * @param filtered records filtered so far
 * @param deadLettered records dead-lettered so far
 * @param stages per stage, in order
 * @param sourceErrors one line per source that failed to read so far, naming it and the error (the
 *     run then ends FAILED, though its other sources go on)
 * @param waiting what the run waits for while it has nothing to do and records of the pipeline are
 *     unfinished (another worker's leases, say), or empty
 */
public record Progress(
    RunStatus status,
    Duration elapsed,
    long read,
    long resumed,
    long duplicates,
    long published,
    long filtered,
    long deadLettered,
    List<StageProgress> stages,
    List<String> sourceErrors,
    String waiting) {

  /** Copies the lists. */
  public Progress {
    stages = List.copyOf(stages);
    sourceErrors = List.copyOf(sourceErrors);
    Objects.requireNonNull(waiting, "waiting cannot be null");
  }

  /**
   * One stage's counts.
   *
   * @param stage its name
   * @param in records that entered it
   * @param passed records it passed on
   * @param filtered records it filtered
   * @param failed records it dead-lettered
   * @param queueDepth records waiting in front of it
   */
  public record StageProgress(
      String stage, long in, long passed, long filtered, long failed, int queueDepth) {}

  /** Records done (published, filtered or dead-lettered). */
  public long done() {
    return published + filtered + deadLettered;
  }

  /**
   * One line, for a console: totals, the queue depth of each stage and, if a source failed, how
   * many did and the first one's error.
   */
  public String line() {
    double seconds = elapsed.toNanos() / 1e9;
    StringBuilder queues = new StringBuilder();
    for (StageProgress s : stages) {
      queues
          .append(queues.isEmpty() ? "" : " ")
          .append(s.stage())
          .append('=')
          .append(s.queueDepth());
    }
    return String.format(
            Locale.ROOT,
            "[%6.1fs] %s read=%d%s done=%d (published=%d filtered=%d dead=%d dup=%d) %.0f/s queues: %s",
            seconds,
            status.name().toLowerCase(Locale.ROOT),
            read,
            resumed > 0 ? " resumed=" + resumed : "",
            done(),
            published,
            filtered,
            deadLettered,
            duplicates,
            seconds <= 0 ? 0 : done() / seconds,
            queues)
        + (sourceErrors.isEmpty()
            ? ""
            : " failed sources: " + sourceErrors.size() + " (" + sourceErrors.get(0) + ")")
        + (waiting.isEmpty() ? "" : " (" + waiting + ")");
  }
}
