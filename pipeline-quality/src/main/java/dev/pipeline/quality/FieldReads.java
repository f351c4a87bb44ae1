package dev.pipeline.quality;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import org.jspecify.annotations.Nullable;

/** Calls a field's accessor, turning reflection's checked exceptions into one unchecked one. */
final class FieldReads {
  private FieldReads() {}

  /**
   * The value {@code accessor} returns for {@code target}.
   *
   * @throws IllegalStateException if the accessor cannot be called or throws
   */
  static @Nullable Object read(Method accessor, Object target) {
    try {
      return accessor.invoke(target);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(
          "cannot read " + accessor + ": open its package to the pipeline-quality module", e);
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new IllegalStateException("reading " + accessor + " failed: " + cause, cause);
    }
  }
}
