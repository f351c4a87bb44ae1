package dev.pipeline.testkit;

import dev.pipeline.StageName;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.event.Level;

/**
 * One line a stage logged through {@link dev.pipeline.StageContext#logger()}, as the test kit
 * captured it.
 *
 * <p>Immutable and thread-safe (as far as the throwable is).
 *
 * @param stage the stage that logged it
 * @param level its level; every level is captured, TRACE included
 * @param message the message with its {@code {}} placeholders replaced by the arguments
 * @param throwable the throwable logged with it, or null (SLF4J takes a throwable given as the last
 *     argument to be this, not an argument)
 */
public record LogEntry(
    StageName stage, Level level, String message, @Nullable Throwable throwable) {

  /**
   * Checks the components.
   *
   * @throws NullPointerException if the stage, level or message is null
   */
  public LogEntry {
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(level, "level cannot be null");
    Objects.requireNonNull(message, "message cannot be null");
  }
}
