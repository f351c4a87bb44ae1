package dev.pipeline.engine;

import dev.pipeline.BatchStage;
import dev.pipeline.MergeFunction;
import dev.pipeline.SplitStage;
import dev.pipeline.Stage;
import dev.pipeline.StageFunction;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The output type a stage's class declares: {@code O} of a class that implements {@code Stage<I,
 * O>} (or {@code StageFunction}, {@code BatchStage}, {@code SplitStage}: each child's type, {@code
 * MergeFunction}) with a class for {@code O}, on the class itself, its superclasses or the
 * interfaces they extend. A lambda or a method reference declares none (the JVM erases its type
 * arguments), nor does a class whose {@code O} is a type variable: the engine then knows an
 * output's shape from its class only.
 */
public final class OutputTypes {
  private static final List<Class<?>> STAGES =
      List.of(
          Stage.class,
          StageFunction.class,
          BatchStage.class,
          SplitStage.class,
          MergeFunction.class);

  private OutputTypes() {}

  /** The output type {@code function}'s class declares, or null. */
  public static @Nullable Class<?> declaredBy(Object function) {
    for (Class<?> c = function.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
      Class<?> found = fromInterfaces(c.getGenericInterfaces(), 0);
      if (found != null) {
        return found;
      }
    }
    return null;
  }

  private static @Nullable Class<?> fromInterfaces(Type[] interfaces, int depth) {
    for (Type t : interfaces) {
      if (t instanceof ParameterizedType p
          && p.getRawType() instanceof Class<?> raw
          && STAGES.contains(raw)) {
        // every stage interface has its output as its second type argument
        return classOf(p.getActualTypeArguments()[1]);
      }
      Class<?> raw =
          t instanceof Class<?> c
              ? c
              : t instanceof ParameterizedType p && p.getRawType() instanceof Class<?> r ? r : null;
      if (raw != null && depth < 8) {
        Class<?> found = fromInterfaces(raw.getGenericInterfaces(), depth + 1);
        if (found != null) {
          return found;
        }
      }
    }
    return null;
  }

  private static @Nullable Class<?> classOf(Type t) {
    if (t instanceof Class<?> c) {
      return c;
    }
    if (t instanceof ParameterizedType p && p.getRawType() instanceof Class<?> raw) {
      return raw;
    }
    return null; // a type variable or a wildcard: not declared
  }
}
