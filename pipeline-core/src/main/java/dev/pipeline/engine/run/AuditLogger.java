package dev.pipeline.engine.run;

import dev.pipeline.StageContext;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.internal.Secrets;
import dev.pipeline.store.AuditEntry;
import java.io.Serial;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * A stage's {@link StageContext#logger()}: passes every line to the stage's own logger, and copies
 * the lines at or above the stage's audit level (a sample of them, if the stage samples) into the
 * pipeline's audit trail with the record they are about. Adding to the trail never waits (see
 * {@link Telemetry}). One per call context; not thread-safe beyond what its context allows.
 */
final class AuditLogger extends LegacyAbstractLogger {
  @Serial private static final long serialVersionUID = 1L;

  private final transient Logger delegate;
  private final transient CallContext context;
  private final transient Telemetry telemetry;
  private final int least;
  private final double sampling;

  AuditLogger(
      Logger delegate, CallContext context, Telemetry telemetry, Level least, double sampling) {
    this.delegate = delegate;
    this.context = context;
    this.telemetry = telemetry;
    this.least = least.toInt();
    this.sampling = sampling;
    this.name = delegate.getName();
  }

  private boolean audits(Level level) {
    return level.toInt() >= least;
  }

  @Override
  public boolean isTraceEnabled() {
    return delegate.isTraceEnabled() || audits(Level.TRACE);
  }

  @Override
  public boolean isDebugEnabled() {
    return delegate.isDebugEnabled() || audits(Level.DEBUG);
  }

  @Override
  public boolean isInfoEnabled() {
    return delegate.isInfoEnabled() || audits(Level.INFO);
  }

  @Override
  public boolean isWarnEnabled() {
    return delegate.isWarnEnabled() || audits(Level.WARN);
  }

  @Override
  public boolean isErrorEnabled() {
    return delegate.isErrorEnabled() || audits(Level.ERROR);
  }

  @Override
  protected String getFullyQualifiedCallerName() {
    return AuditLogger.class.getName();
  }

  @Override
  protected void handleNormalizedLoggingCall(
      Level level,
      @Nullable Marker marker,
      @Nullable String pattern,
      @Nullable Object @Nullable [] arguments,
      @Nullable Throwable cause) {
    if (delegate.isEnabledForLevel(level)) {
      LoggingEventBuilder line = delegate.atLevel(level);
      if (marker != null) {
        line.addMarker(marker);
      }
      if (arguments != null) {
        for (Object argument : arguments) {
          line.addArgument(argument);
        }
      }
      if (cause != null) {
        line.setCause(cause);
      }
      line.log(pattern);
    }
    if (!audits(level)
        || (sampling < 1.0 && ThreadLocalRandom.current().nextDouble() >= sampling)) {
      return;
    }
    String message;
    try {
      message = MessageFormatter.basicArrayFormat(pattern, arguments);
    } catch (RuntimeException e) {
      // an argument's toString() threw: keep the pattern rather than lose the line
      message = String.valueOf(pattern);
    }
    message = redacted(message);
    Map<String, String> metadata = new LinkedHashMap<>();
    if (marker != null) {
      metadata.put("marker", marker.getName());
    }
    if (cause != null) {
      metadata.put("errorType", cause.getClass().getName());
      // bounded, total and with its secrets masked, as every error text the library keeps
      String text = ErrorText.defaults().message(cause);
      if (!text.isEmpty()) {
        metadata.put("errorMessage", text);
      }
    }
    String recordId = context.auditRecordId(metadata);
    telemetry.audit(
        new AuditEntry(
            0,
            context.now(),
            context.pipeline(),
            context.stage().value(),
            recordId,
            level,
            AuditEntry.STAGE_LOG,
            message == null ? "" : message,
            metadata));
  }

  /** A line's secrets masked; past what the entry keeps, only a margin is read. */
  private static @Nullable String redacted(@Nullable String message) {
    if (message == null) {
      return null;
    }
    int read = AuditEntry.MAX_MESSAGE_CHARS + ErrorText.REDACT_MARGIN;
    return Secrets.redact(message.length() > read ? message.substring(0, read) : message);
  }
}
