package dev.pipeline.quality.drift;

import dev.pipeline.Alert;
import dev.pipeline.AlertListener;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Hands an alert to listeners, as the pipeline does: a listener that throws is logged, no more. */
final class Alerts {

  private static final Logger LOG = LoggerFactory.getLogger(Alerts.class);

  private Alerts() {}

  static void deliver(List<AlertListener> listeners, Alert alert) {
    for (AlertListener listener : listeners) {
      try {
        listener.onAlert(alert);
      } catch (RuntimeException e) {
        LOG.warn(
            "an alert listener threw {} on a {} alert of stage '{}'; it should not throw",
            e.getClass().getName(),
            alert.kind(),
            alert.stage());
      }
    }
  }
}
