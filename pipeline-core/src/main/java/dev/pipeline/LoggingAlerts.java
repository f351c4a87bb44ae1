package dev.pipeline;

import dev.pipeline.internal.ErrorText;
import org.slf4j.Logger;

/** The default {@link AlertListener}: one escaped, bounded line per alert. */
final class LoggingAlerts {

  private LoggingAlerts() {}

  /** Logs each alert to {@code log}, as {@link AlertListener#logging()} describes. */
  static AlertListener to(Logger log) {
    return alert -> {
      String pipeline = ErrorText.loggable(alert.pipeline());
      String message = ErrorText.loggable(alert.message());
      if (alert.kind() == Alert.Kind.CIRCUIT_HALF_OPEN
          || alert.kind() == Alert.Kind.CIRCUIT_CLOSED
          || alert.kind() == Alert.Kind.QUALITY_GATE_REOPENED) {
        log.info("pipeline '{}': {}", pipeline, message);
      } else {
        log.warn("pipeline '{}': {}", pipeline, message);
      }
    };
  }
}
