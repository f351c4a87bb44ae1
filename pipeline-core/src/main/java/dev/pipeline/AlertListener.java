package dev.pipeline;

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
   * opening, data drift and anomalies at WARN, circuits half-opening and closing at INFO. Each
   * alert is one line: line breaks, terminal escapes and other control characters in it are written
   * as Java escapes ({@code \n}, {@code \u001B}), and it is cut to 4,096 characters, so that an
   * error's text cannot forge log lines.
   */
  static AlertListener logging() {
    return LoggingAlerts.to(LoggerFactory.getLogger("dev.pipeline.alerts"));
  }
}
