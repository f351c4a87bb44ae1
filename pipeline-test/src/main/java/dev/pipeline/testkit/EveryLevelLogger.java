package dev.pipeline.testkit;

import org.jspecify.annotations.Nullable;
import org.slf4j.helpers.LegacyAbstractLogger;

/** A logger that takes lines at every level: the test kit's loggers keep them all. */
abstract class EveryLevelLogger extends LegacyAbstractLogger {
  private static final long serialVersionUID = 1L;

  @Override
  public boolean isTraceEnabled() {
    return true;
  }

  @Override
  public boolean isDebugEnabled() {
    return true;
  }

  @Override
  public boolean isInfoEnabled() {
    return true;
  }

  @Override
  public boolean isWarnEnabled() {
    return true;
  }

  @Override
  public boolean isErrorEnabled() {
    return true;
  }

  @Override
  protected @Nullable String getFullyQualifiedCallerName() {
    return null;
  }
}
