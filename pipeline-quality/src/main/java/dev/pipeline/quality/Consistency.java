package dev.pipeline.quality;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A CONSISTENCY rule: two fields of one record compared ({@code "start <= end"}), or one present
 * only with the other ({@code "discount -> price"}). A comparison with a null side passes (nulls
 * are NOT_NULL's concern). Immutable and thread-safe.
 */
final class Consistency {
  private static final String[] OPERATORS = {"<=", ">=", "==", "!=", "->", "<", ">"};

  private Consistency() {}

  /**
   * Compiles {@code expression} for records of {@code type}.
   *
   * @throws IllegalArgumentException if it is not {@code <path> <op> <path>} or a path does not
   *     exist
   */
  static Checks.Check compile(Class<?> type, String expression) {
    for (String op : OPERATORS) {
      int at = expression.indexOf(op);
      if (at > 0) {
        FieldPath left = FieldPath.compile(type, expression.substring(0, at).strip());
        FieldPath right = FieldPath.compile(type, expression.substring(at + op.length()).strip());
        String text = left.path() + " " + op + " " + right.path();
        if (op.equals("->")) {
          return (record, context) ->
              left.get(record) != null && right.get(record) == null
                  ? right.path() + " is null though " + left.path() + " is set"
                  : null;
        }
        return (record, context) -> {
          Object a = left.get(record);
          Object b = right.get(record);
          if (a == null || b == null) {
            return null;
          }
          Integer c = compare(a, b);
          if (c == null) {
            return left.path() + " and " + right.path() + " cannot be compared";
          }
          boolean ok =
              switch (op) {
                case "<=" -> c <= 0;
                case ">=" -> c >= 0;
                case "==" -> c == 0;
                case "!=" -> c != 0;
                case "<" -> c < 0;
                default -> c > 0;
              };
          return ok
              ? null
              : "not "
                  + text
                  + " ("
                  + QualityText.bounded(a, 30)
                  + " and "
                  + QualityText.bounded(b, 30)
                  + ")";
        };
      }
    }
    throw new IllegalArgumentException(
        "the comparison '"
            + QualityText.bounded(expression, 80)
            + "' is not '<path> <op> <path>' with op one of < <= == != >= > ->");
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static @Nullable Integer compare(Object a, Object b) {
    if (a instanceof Number x && b instanceof Number y) {
      return Double.compare(x.doubleValue(), y.doubleValue());
    }
    if (a instanceof Comparable ca && a.getClass() == b.getClass()) {
      return ca.compareTo(b);
    }
    if (a instanceof CharSequence || b instanceof CharSequence) {
      return Objects.equals(a.toString(), b.toString()) ? 0 : a.toString().compareTo(b.toString());
    }
    return Objects.equals(a, b) ? 0 : null;
  }
}
