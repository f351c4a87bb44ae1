package dev.pipeline;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Told of every call of a stage, a batch stage or the sink that a pipeline makes: when it starts
 * and how it ended. This is the hook metrics and tracing integrations use (the {@code
 * pipeline-micrometer} module times the calls and opens an observation, a tracing span, around
 * each). Set one with {@link PipelineBuilder#callListener(StageCallListener)}; a pipeline without
 * one pays nothing for it.
 *
 * <p>Both methods run on the thread that makes the call, {@link #callStarted} just before the
 * stage's code and {@link #callEnded} just after it, so a listener can open a thread-bound scope
 * that the stage's own code sees. A call the circuit breaker refuses is not made and not reported.
 * The branches of a {@code Parallel} stage are not reported on their own: the stage's call holds
 * them. The test kit's {@code StageTester} does not call a listener.
 *
 * <p>Implementations must be thread-safe (a stage's workers call it at once) and quick: they run on
 * the record path. An exception a listener throws is logged (once per stage and run) and ignored;
 * the record goes on as if there were no listener.
 */
public interface StageCallListener {

  /** How a call ended. */
  enum Outcome {
    /** The call returned its output. */
    PASSED,
    /** The stage filtered the record ({@link RecordFilteredException}). */
    FILTERED,
    /**
     * The call threw, timed out or returned what the stage's contract forbids (a null output, a
     * batch output of the wrong size); what follows (a retry, a fallback, a dead letter) is decided
     * after.
     */
    FAILED,
    /** The run was cancelled during the call, which therefore does not count. */
    CANCELLED
  }

  /**
   * One call of a stage.
   *
   * @param pipeline the pipeline's name
   * @param stage the stage's name ({@code sink} for the sink)
   * @param records the records the call is for: 1, or a batch's size
   * @param firstRecordId the record's id, or the first of the batch; text from outside, so never a
   *     metric tag (its values are unbounded) and to be escaped before it is logged
   */
  record Call(String pipeline, String stage, int records, @Nullable String firstRecordId) {
    /**
     * Checks the components.
     *
     * @throws NullPointerException if the pipeline or stage is null
     */
    public Call {
      Objects.requireNonNull(pipeline, "pipeline cannot be null");
      Objects.requireNonNull(stage, "stage cannot be null");
    }
  }

  /**
   * Called on the calling thread just before the stage's code runs.
   *
   * @param call the call
   * @return anything the listener needs back in {@link #callEnded} (an observation, a start time),
   *     or null
   */
  @Nullable Object callStarted(Call call);

  /**
   * Called on the calling thread once the call has ended, with what {@link #callStarted} returned.
   *
   * @param call the call, as given to {@link #callStarted}
   * @param started what {@link #callStarted} returned
   * @param outcome how the call ended
   * @param nanos how long the call took, on the pipeline's clock
   * @param error why it failed ({@link Outcome#FAILED} only), or null
   */
  void callEnded(
      Call call, @Nullable Object started, Outcome outcome, long nanos, @Nullable Throwable error);
}
