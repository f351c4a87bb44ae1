package dev.pipeline.store.spi;

import dev.pipeline.store.PayloadCodec;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a store keeps of a stage's definition (the {@code pipeline_stages} table of the JDBC store).
 *
 * @param name the stage's name
 * @param order its position in the pipeline, from 1
 * @param function the class of the stage function, for people reading the store
 * @param timeoutSeconds its timeout, or null for none
 * @param retryPolicy a description of its retry policy
 * @param maxRetries its retry limit
 * @param checkpoint whether records are saved after it
 * @param inputCodec the codec of the payloads entering it, for stores that persist them; null when
 *     none was given (a durable store then refuses to persist records at this stage)
 */
public record StageDescriptor(
    String name,
    int order,
    String function,
    @Nullable Long timeoutSeconds,
    String retryPolicy,
    int maxRetries,
    boolean checkpoint,
    @Nullable PayloadCodec<?> inputCodec) {

  /** Checks the components. */
  public StageDescriptor {
    Objects.requireNonNull(name, "name cannot be null");
    Objects.requireNonNull(function, "function cannot be null");
    Objects.requireNonNull(retryPolicy, "retryPolicy cannot be null");
  }
}
