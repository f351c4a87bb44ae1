package dev.pipeline.bench;

import dev.pipeline.Alert;
import dev.pipeline.AlertListener;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts a pipeline's alerts instead of logging them. Unless a listener is registered the engine
 * logs every dead letter at WARN, and writing tens of thousands of lines to standard error would be
 * measured as the pipeline's cost while the plain loop, which only counts its dead letters, pays
 * nothing; registering this one puts both on the same footing.
 *
 * <p>Thread-safe.
 */
final class AlertCount implements AlertListener {
  private final LongAdder deadLetters = new LongAdder();
  private final LongAdder circuits = new LongAdder();

  @Override
  public void onAlert(Alert alert) {
    (alert.kind() == Alert.Kind.DEAD_LETTER ? deadLetters : circuits).increment();
  }

  /** Records that went to the dead letter queue. */
  long deadLetters() {
    return deadLetters.sum();
  }

  /** Circuits that opened, half-opened or closed. */
  long circuitChanges() {
    return circuits.sum();
  }
}
