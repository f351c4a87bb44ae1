package dev.pipeline.quality;

import java.lang.invoke.CallSite;
import java.lang.invoke.LambdaMetafactory;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Reads a field through its accessor: as a generated function where the accessor's class lets us (a
 * call as cheap as a lambda's, which rules on every record need), by reflection otherwise.
 */
final class FieldReads {

  private FieldReads() {}

  /** A function calling {@code accessor}; reflection if a function cannot be generated for it. */
  @SuppressWarnings("unchecked")
  static Function<Object, @Nullable Object> reader(Method accessor) {
    try {
      MethodHandles.Lookup lookup =
          MethodHandles.privateLookupIn(accessor.getDeclaringClass(), MethodHandles.lookup());
      MethodHandle target = lookup.unreflect(accessor);
      Class<?> returns = target.type().returnType();
      CallSite site =
          LambdaMetafactory.metafactory(
              lookup,
              "apply",
              MethodType.methodType(Function.class),
              MethodType.methodType(Object.class, Object.class),
              target,
              MethodType.methodType(
                  returns.isPrimitive()
                      ? MethodType.methodType(returns).wrap().returnType()
                      : returns,
                  accessor.getDeclaringClass()));
      return (Function<Object, @Nullable Object>) site.getTarget().invoke();
    } catch (Throwable cannot) {
      // a module that does not open the class's package: reflection still reads public accessors
      return target -> read(accessor, target);
    }
  }

  /**
   * The value {@code accessor} returns for {@code target}, by reflection.
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
