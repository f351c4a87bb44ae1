package dev.pipeline.engine.run;

import dev.pipeline.Envelope;
import java.util.List;

/**
 * Part of a batch a batch stage calls at once, and the attempt it is at.
 *
 * @param records the records, in order
 * @param attempt the attempt at them, from 1
 * @param failedBefore whether the records went through a call that failed (a halved batch keeps its
 *     attempt): the sink may have written some of them, so they go to it flagged redelivered
 */
record Chunk(List<Envelope<Object>> records, int attempt, boolean failedBefore) {
  Chunk(List<Envelope<Object>> records, int attempt) {
    this(records, attempt, false);
  }
}
