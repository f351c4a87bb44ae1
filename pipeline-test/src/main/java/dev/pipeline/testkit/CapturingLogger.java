package dev.pipeline.testkit;

import dev.pipeline.StageName;
import org.jspecify.annotations.Nullable;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.MessageFormatter;

/**
 * A logger that keeps every line, at every level, in a {@link LogBook}. SLF4J's {@link
 * org.slf4j.helpers.AbstractLogger} does the normalising (a trailing throwable argument becomes the
 * throwable); this only formats and records. Thread-safe: workers of one stage share it.
 */
final class CapturingLogger extends EveryLevelLogger {
  private final StageName stage;
  private final transient LogBook book;

  CapturingLogger(String name, StageName stage, LogBook book) {
    this.name = name;
    this.stage = stage;
    this.book = book;
  }

  @Override
  protected void handleNormalizedLoggingCall(
      Level level,
      @Nullable Marker marker,
      @Nullable String messagePattern,
      @Nullable Object @Nullable [] arguments,
      @Nullable Throwable throwable) {
    String message =
        arguments == null || arguments.length == 0
            ? messagePattern
            : MessageFormatter.basicArrayFormat(messagePattern, arguments);
    book.add(new LogEntry(stage, level, String.valueOf(message), throwable));
  }
}
