package dev.pipeline.quality;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The shape a stage's output must have: no null in a record component that is not marked
 * {@code @Nullable} (any annotation of that simple name, on the component or its type), in nested
 * records too; and, for map payloads, the keys declared required. Built once per type; a check
 * costs one accessor call per required component. Immutable and thread-safe.
 */
final class SchemaCheck {
  private static final int MAX_DEPTH = 4;

  private final List<Required> required;
  private final List<String> requiredKeys;

  private record Required(String path, Method[] accessors) {}

  private SchemaCheck(List<Required> required, List<String> requiredKeys) {
    this.required = required;
    this.requiredKeys = requiredKeys;
  }

  /** The check for records of {@code type}, and map payloads with {@code requiredKeys}. */
  static SchemaCheck of(Class<?> type, List<String> requiredKeys) {
    List<Required> all = new ArrayList<>();
    collect(type, "", new Method[0], all, 0);
    return new SchemaCheck(List.copyOf(all), List.copyOf(requiredKeys));
  }

  private static void collect(
      Class<?> type, String prefix, Method[] chain, List<Required> all, int depth) {
    if (!type.isRecord() || depth >= MAX_DEPTH) {
      return;
    }
    for (RecordComponent c : type.getRecordComponents()) {
      if (c.getType().isPrimitive()) {
        continue;
      }
      Method accessor = FieldPath.accessor(type, c.getName());
      if (accessor == null) {
        continue;
      }
      Method[] next = Arrays.copyOf(chain, chain.length + 1);
      next[chain.length] = accessor;
      String path = prefix + c.getName();
      if (!nullable(c)) {
        all.add(new Required(path, next));
      }
      // a nullable record's own components are required whenever it is there
      collect(c.getType(), path + ".", next, all, depth + 1);
    }
  }

  private static boolean nullable(RecordComponent c) {
    for (Annotation a : c.getAnnotations()) {
      if (a.annotationType().getSimpleName().equals("Nullable")) {
        return true;
      }
    }
    for (Annotation a : c.getAnnotatedType().getAnnotations()) {
      if (a.annotationType().getSimpleName().equals("Nullable")) {
        return true;
      }
    }
    return false;
  }

  /** Whether the check has anything to look at. */
  boolean isEmpty() {
    return required.isEmpty() && requiredKeys.isEmpty();
  }

  /** The paths the check requires, for messages and tests. */
  List<String> requiredPaths() {
    List<String> paths = new ArrayList<>();
    for (Required r : required) {
      paths.add(r.path());
    }
    paths.addAll(requiredKeys);
    return paths;
  }

  /** Null if the record has its shape, else what is missing. */
  @Nullable String test(Object record) {
    StringBuilder missing = null;
    for (Required r : required) {
      Object v = record;
      for (Method m : r.accessors()) {
        if (v == null) {
          break;
        }
        v = FieldReads.read(m, v);
      }
      if (v == null && parentPresent(record, r)) {
        missing = append(missing, r.path());
      }
    }
    if (!requiredKeys.isEmpty() && record instanceof Map<?, ?> map) {
      for (String key : requiredKeys) {
        if (map.get(key) == null) {
          missing = append(missing, key);
        }
      }
    }
    return missing == null ? null : "required " + missing + " null";
  }

  /** Whether the record holding the component is there (a null parent is reported once). */
  private static boolean parentPresent(Object record, Required r) {
    Object v = record;
    Method[] chain = r.accessors();
    for (int i = 0; i < chain.length - 1; i++) {
      v = FieldReads.read(chain[i], v);
      if (v == null) {
        return false;
      }
    }
    return true;
  }

  private static StringBuilder append(@Nullable StringBuilder to, String path) {
    if (to == null) {
      return new StringBuilder(path);
    }
    if (to.length() < 500) {
      to.append(", ").append(path);
    }
    return to;
  }
}
