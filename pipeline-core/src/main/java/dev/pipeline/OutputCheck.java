package dev.pipeline;

import org.jspecify.annotations.Nullable;

/**
 * A check of each output of one stage, beyond the shape of its record type: the hook through which
 * a module checks payloads the engine cannot judge by their class, such as maps or JSON trees
 * against a JSON Schema ({@code dev.pipeline.quality.JsonSchemaOutputCheck} in {@code
 * pipeline-quality}). Set with {@link StageOptions.Builder#outputCheck(OutputCheck)}; an output it
 * finds wrong fails the call as a null output would, with an {@link OutputShapeException}.
 *
 * <p>Called once per output on the stage's workers, so implementations are thread-safe and quick.
 */
@FunctionalInterface
public interface OutputCheck {

  /**
   * What is wrong with an output, or null if nothing is.
   *
   * @param output what the stage returned for one record, never null
   * @return a short description of the problem (the engine cuts it to 1,000 characters), or null
   */
  @Nullable String problem(Object output);
}
