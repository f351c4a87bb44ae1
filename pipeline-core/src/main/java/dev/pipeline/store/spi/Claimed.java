package dev.pipeline.store.spi;

import dev.pipeline.Envelope;
import java.util.Objects;

/**
 * A record a durable store handed to this worker to process: one that was ingested but not
 * processed, whose previous worker's lease expired, or that was sent back for reprocessing.
 *
 * @param record the record as it enters {@code stage}, decoded with that stage's input codec
 * @param stage the stage to resume at (the one after its last checkpoint)
 * @param attempts attempts already made at that stage
 */
public record Claimed(Envelope<?> record, String stage, int attempts) {

  /** Checks the components. */
  public Claimed {
    Objects.requireNonNull(record, "record cannot be null");
    Objects.requireNonNull(stage, "stage cannot be null");
  }
}
