package dev.pipeline.micrometer;

import dev.pipeline.StageCallListener;
import io.micrometer.observation.Observation;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The context of a stage call's {@link Observation} ({@code pipeline.stage.call}): an observation
 * handler that wants more than the key values (a tracing handler naming its span, a filter keeping
 * one stage's calls) reads the call here.
 *
 * <p>Not thread-safe, like every {@link Observation.Context}: it belongs to the one call.
 */
public final class StageCallContext extends Observation.Context {
  private final StageCallListener.Call call;
  private StageCallListener.@Nullable Outcome outcome;

  StageCallContext(StageCallListener.Call call) {
    this.call = Objects.requireNonNull(call, "call cannot be null");
  }

  /** The call observed. */
  public StageCallListener.Call call() {
    return call;
  }

  /** How the call ended, or null while it runs. */
  public StageCallListener.@Nullable Outcome outcome() {
    return outcome;
  }

  void outcome(StageCallListener.Outcome ended) {
    this.outcome = ended;
  }
}
