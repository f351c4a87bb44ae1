package dev.pipeline;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives a pipeline's {@link Alert}s, to page someone, post to a chat or count them. Register
 * listeners with {@link PipelineBuilder#alerts(AlertListener)}; unless one is registered, alerts
 * are {@link #logging() logged}.
 *
 * <p>Called on the pipeline's worker threads, synchronously: keep it quick and do not block (hand
 * slow work to an executor). An exception it throws is logged and otherwise ignored.
 * Implementations must be thread-safe.
 */
@FunctionalInterface
public interface AlertListener {

  /** Handles one alert. */
  void onAlert(Alert alert);

  /**
   * Logs each alert to SLF4J under {@code dev.pipeline.alerts}: dead letters at WARN, circuits
   * opening at WARN, circuits half-opening and closing at INFO.
   */
  static AlertListener logging() {
    Logger log = LoggerFactory.getLogger("dev.pipeline.alerts");
    return alert -> {
      if (alert.kind() == Alert.Kind.CIRCUIT_HALF_OPEN
          || alert.kind() == Alert.Kind.CIRCUIT_CLOSED) {
        log.info("pipeline '{}': {}", alert.pipeline(), alert.message());
      } else {
        log.warn("pipeline '{}': {}", alert.pipeline(), alert.message());
      }
    };
  }
}
