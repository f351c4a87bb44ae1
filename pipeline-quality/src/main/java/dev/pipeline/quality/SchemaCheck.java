package dev.pipeline.quality;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The shape a stage's output must have: no null in a record component that is not marked
 * {@code @Nullable} (any annotation of that simple name, on the component or its type), in nested
 * records too (a nullable record's components are required when it is there); and, for map
 * payloads, the keys declared required. Built once per type as a tree walked once per record, each
 * component read once. Immutable and thread-safe.
 */
final class SchemaCheck {
  private static final int MAX_DEPTH = 4;

  /** A component: how to read it, whether it is required, and its own components. */
  private record Node(
      String path, Function<Object, @Nullable Object> reader, boolean required, Node[] children) {}

  private final Node[] roots;
  private final List<String> requiredKeys;

  private SchemaCheck(Node[] roots, List<String> requiredKeys) {
    this.roots = roots;
    this.requiredKeys = requiredKeys;
  }

  /** The check for records of {@code type}, and map payloads with {@code requiredKeys}. */
  static SchemaCheck of(Class<?> type, List<String> requiredKeys) {
    return new SchemaCheck(nodes(type, "", 0), List.copyOf(requiredKeys));
  }

  private static Node[] nodes(Class<?> type, String prefix, int depth) {
    if (!type.isRecord() || depth >= MAX_DEPTH) {
      return new Node[0];
    }
    List<Node> all = new ArrayList<>();
    for (RecordComponent c : type.getRecordComponents()) {
      if (c.getType().isPrimitive()) {
        continue;
      }
      Method accessor = FieldPath.accessor(type, c.getName());
      if (accessor == null) {
        continue;
      }
      String path = prefix + c.getName();
      Node[] children = nodes(c.getType(), path + ".", depth + 1);
      boolean required = !nullable(c);
      if (required || children.length > 0) {
        all.add(new Node(path, FieldReads.reader(accessor), required, children));
      }
    }
    return all.toArray(Node[]::new);
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
    return roots.length == 0 && requiredKeys.isEmpty();
  }

  /** Null if the record has its shape, else what is missing. */
  @Nullable String test(Object record) {
    StringBuilder missing = walk(roots, record, null);
    if (!requiredKeys.isEmpty() && record instanceof Map<?, ?> map) {
      for (String key : requiredKeys) {
        if (map.get(key) == null) {
          missing = append(missing, key);
        }
      }
    }
    return missing == null ? null : "required " + missing + " null";
  }

  private static @Nullable StringBuilder walk(
      Node[] nodes, Object value, @Nullable StringBuilder missing) {
    for (Node node : nodes) {
      Object v = node.reader().apply(value);
      if (v == null) {
        if (node.required()) {
          missing = append(missing, node.path());
        }
      } else if (node.children().length > 0) {
        missing = walk(node.children(), v, missing);
      }
    }
    return missing;
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
