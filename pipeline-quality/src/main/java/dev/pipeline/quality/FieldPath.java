package dev.pipeline.quality;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * A path to a field ({@code "analyzed.extracted.price"}), resolved once against a type: record
 * components, bean getters, map keys and list indexes. Below a {@link Map}, a {@link List} or an
 * {@code Object}-typed field the shape is not known when the gate is built, so the rest of the path
 * is resolved on each value (a missing key reads as null). Immutable and thread-safe.
 */
final class FieldPath {
  private final String path;
  private final Step[] steps;
  private final Class<?> leafType;

  private FieldPath(String path, Step[] steps, Class<?> leafType) {
    this.path = path;
    this.steps = steps;
    this.leafType = leafType;
  }

  /**
   * Resolves {@code path} on {@code root}.
   *
   * @throws IllegalArgumentException naming the type and the path, and the fields it has, if a
   *     segment does not exist
   */
  static FieldPath compile(Class<?> root, String path) {
    String[] parts = path.split("\\.", -1);
    List<Step> steps = new ArrayList<>();
    Class<?> type = root;
    boolean dynamic = false;
    for (int i = 0; i < parts.length; i++) {
      String part = parts[i];
      if (part.isEmpty()) {
        throw new IllegalArgumentException(
            "the field path '" + QualityText.bounded(path, 200) + "' has an empty segment");
      }
      if (dynamic || type == Object.class) {
        steps.add(new Dynamic(part));
        dynamic = true;
        continue;
      }
      if (Map.class.isAssignableFrom(type)) {
        steps.add(new Dynamic(part));
        dynamic = true;
        continue;
      }
      if (List.class.isAssignableFrom(type)) {
        if (!isIndex(part)) {
          throw new IllegalArgumentException(
              "the field path '"
                  + QualityText.bounded(path, 200)
                  + "': segment '"
                  + QualityText.bounded(part, 80)
                  + "' follows a list, so it must be an index (0, 1, ...)");
        }
        steps.add(new Dynamic(part));
        dynamic = true;
        continue;
      }
      Method accessor = accessor(type, part);
      if (accessor == null) {
        throw new IllegalArgumentException(
            "type "
                + type.getName()
                + " has no field '"
                + QualityText.bounded(part, 80)
                + "' (path '"
                + QualityText.bounded(path, 200)
                + "'); its fields are "
                + fieldNames(type));
      }
      steps.add(new Getter(FieldReads.reader(accessor)));
      type =
          accessor.getReturnType().isPrimitive()
              ? boxed(accessor.getReturnType())
              : accessor.getReturnType();
    }
    return new FieldPath(path, steps.toArray(Step[]::new), dynamic ? Object.class : type);
  }

  /** The path as written. */
  String path() {
    return path;
  }

  /** The type of the value, or Object if the path goes through a map, list or Object field. */
  Class<?> leafType() {
    return leafType;
  }

  /** The value at the path, or null if a value on the way is null or a key is missing. */
  @Nullable Object get(Object record) {
    Object value = record;
    for (Step step : steps) {
      if (value == null) {
        return null;
      }
      value = step.from(value);
    }
    return value;
  }

  /** The names of a type's fields, record components or bean properties, sorted. */
  static TreeSet<String> fieldNames(Class<?> type) {
    TreeSet<String> names = new TreeSet<>();
    if (type.isRecord()) {
      for (RecordComponent c : type.getRecordComponents()) {
        names.add(c.getName());
      }
      return names;
    }
    if (opaque(type)) {
      return names;
    }
    for (Method m : type.getMethods()) {
      String property = property(m);
      if (property != null) {
        names.add(property);
      }
    }
    return names;
  }

  /**
   * Whether a type is the JDK's own (loaded by the boot or platform loader). Rules read no getter
   * of such a type: some do I/O or reach the runtime ({@code URL.getContent()} fetches the URL,
   * {@code File.getCanonicalPath()} reads the disk, {@code Class.getClassLoader()}), so a path or a
   * CEL expression sees such a value only as its text.
   */
  static boolean opaque(Class<?> type) {
    ClassLoader loader = type.getClassLoader();
    return loader == null || loader == ClassLoader.getPlatformClassLoader();
  }

  private static @Nullable String property(Method m) {
    if (m.getParameterCount() != 0
        || Modifier.isStatic(m.getModifiers())
        || m.getDeclaringClass() == Object.class
        || m.getReturnType() == void.class) {
      return null;
    }
    String n = m.getName();
    if (n.startsWith("get") && n.length() > 3) {
      return Character.toLowerCase(n.charAt(3)) + n.substring(4);
    }
    if (n.startsWith("is")
        && n.length() > 2
        && (m.getReturnType() == boolean.class || m.getReturnType() == Boolean.class)) {
      return Character.toLowerCase(n.charAt(2)) + n.substring(3);
    }
    return null;
  }

  /** A record component's accessor, a bean getter or a public no-argument method, or null. */
  static @Nullable Method accessor(Class<?> type, String name) {
    if (opaque(type)) {
      return null;
    }
    if (type.isRecord()) {
      for (RecordComponent c : type.getRecordComponents()) {
        if (c.getName().equals(name)) {
          return accessible(c.getAccessor());
        }
      }
      return null;
    }
    for (Method m : type.getMethods()) {
      if (name.equals(property(m))) {
        return accessible(m);
      }
    }
    return null;
  }

  private static Method accessible(Method m) {
    try {
      m.setAccessible(true);
    } catch (RuntimeException notOpen) {
      // a module that does not open its package: public accessors of public types still work
    }
    return m;
  }

  private static boolean isIndex(String part) {
    if (part.isEmpty() || part.length() > 9) {
      return false;
    }
    for (int i = 0; i < part.length(); i++) {
      if (part.charAt(i) < '0' || part.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }

  private static Class<?> boxed(Class<?> primitive) {
    if (primitive == int.class) {
      return Integer.class;
    }
    if (primitive == long.class) {
      return Long.class;
    }
    if (primitive == double.class) {
      return Double.class;
    }
    if (primitive == boolean.class) {
      return Boolean.class;
    }
    if (primitive == float.class) {
      return Float.class;
    }
    if (primitive == short.class) {
      return Short.class;
    }
    if (primitive == byte.class) {
      return Byte.class;
    }
    return Character.class;
  }

  /** One segment of a path. */
  private interface Step {
    @Nullable Object from(Object value);
  }

  /** A component or getter known when the gate is built. */
  private record Getter(Function<Object, @Nullable Object> reader) implements Step {
    @Override
    public @Nullable Object from(Object value) {
      return reader.apply(value);
    }
  }

  /** A segment resolved on each value: a map key, a list index, or a field of a runtime type. */
  private record Dynamic(String name) implements Step {
    @Override
    public @Nullable Object from(Object value) {
      if (value instanceof Map<?, ?> map) {
        return map.get(name);
      }
      if (value instanceof List<?> list) {
        if (!isIndex(name)) {
          return null;
        }
        int index = Integer.parseInt(name);
        return index < list.size() ? list.get(index) : null;
      }
      if (value instanceof Collection<?> || value instanceof CharSequence) {
        return null;
      }
      Function<Object, @Nullable Object> reader = readers(value.getClass()).get(name);
      return reader == null ? null : reader.apply(value);
    }
  }

  /** Readers of a type's fields by name, made once per type. */
  static Map<String, Function<Object, @Nullable Object>> readers(Class<?> type) {
    return READERS.get(type);
  }

  private static final ClassValue<Map<String, Function<Object, @Nullable Object>>> READERS =
      new ClassValue<>() {
        @Override
        protected Map<String, Function<Object, @Nullable Object>> computeValue(Class<?> type) {
          Map<String, Function<Object, @Nullable Object>> all = new java.util.HashMap<>();
          for (String name : fieldNames(type)) {
            Method m = accessor(type, name);
            if (m != null) {
              all.put(name, FieldReads.reader(m));
            }
          }
          return Map.copyOf(all);
        }
      };
}
