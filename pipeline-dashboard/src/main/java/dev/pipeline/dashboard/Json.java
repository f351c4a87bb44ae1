package dev.pipeline.dashboard;

import dev.pipeline.internal.JsonText;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;

/**
 * Writes JSON from maps, lists, strings, numbers and booleans. Strings are written by {@link
 * JsonText}: escaped for JSON and, as a second guard, {@code <}, {@code >} and {@code &} as {@code
 * \\u} escapes so a response read as HTML by mistake holds no markup.
 */
final class Json {
  private Json() {}

  /** The value as JSON text. */
  static String write(Object value) {
    StringBuilder out = new StringBuilder(1_024);
    write(value, out);
    return out.toString();
  }

  private static void write(Object value, StringBuilder out) {
    switch (value) {
      case null -> out.append("null");
      case String s -> JsonText.quote(s, out);
      case Boolean b -> out.append(b);
      case Double d -> number(d, out);
      case Float f -> number(f, out);
      case Number n -> out.append(n.longValue());
      case Map<?, ?> map -> {
        out.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : map.entrySet()) {
          if (!first) {
            out.append(',');
          }
          first = false;
          JsonText.quote(String.valueOf(e.getKey()), out);
          out.append(':');
          write(e.getValue(), out);
        }
        out.append('}');
      }
      case Collection<?> list -> {
        out.append('[');
        boolean first = true;
        for (Object item : list) {
          if (!first) {
            out.append(',');
          }
          first = false;
          write(item, out);
        }
        out.append(']');
      }
      default -> JsonText.quote(value.toString(), out);
    }
  }

  private static void number(double d, StringBuilder out) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      out.append("null");
    } else if (d == Math.rint(d) && Math.abs(d) < 1e15) {
      out.append((long) d);
    } else {
      out.append(String.format(Locale.ROOT, "%.4g", d));
    }
  }
}
