package dev.pipeline.quality;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * One data quality rule, as declared in code or kept in a row of {@code validation_rules}: a value
 * with no behaviour of its own. A {@link QualityGate} compiles it against the type of the records
 * it checks, refusing it (with {@link InvalidRuleException}) if its field does not exist or its
 * expression is hostile.
 *
 * <pre>{@code
 * Rule price = Rule.range("price-range", "price.amount", "[0, 1000000]")
 *     .severity(Severity.ERROR)
 *     .action(Action.DEAD_LETTER);
 * }</pre>
 *
 * <p>Immutable and thread-safe: the {@code with}-style methods return new rules.
 *
 * @param name the rule's name, unique per pipeline and stage: letters, digits, {@code . _ -}, at
 *     most {@value #MAX_NAME_CHARS} characters
 * @param type the kind of rule
 * @param field the path of the field it checks ({@code "price.amount"}), or null for rules of the
 *     whole record (CONSISTENCY, VOLUME, EXPRESSION)
 * @param expression the type's argument (see {@link RuleType}), at most {@value
 *     #MAX_EXPRESSION_CHARS} characters
 * @param parameters further settings by name (see {@link RuleType}), unmodifiable
 * @param severity how much a failure matters (decides the alert)
 * @param action what a failure does to the record
 * @param mostly the share of a window's records that must pass, in [0, 1]: below it the rule's
 *     window fails (an alert unless INFO, and a CLOSE_GATE rule closes the gate)
 * @param enabled whether the rule is checked
 */
public record Rule(
    String name,
    RuleType type,
    @Nullable String field,
    String expression,
    Map<String, String> parameters,
    Severity severity,
    Action action,
    double mostly,
    boolean enabled) {

  /** The longest rule name. */
  public static final int MAX_NAME_CHARS = 200;

  /** The longest expression: a longer one is refused before it is parsed. */
  public static final int MAX_EXPRESSION_CHARS = 10_000;

  /** The longest field path. */
  public static final int MAX_FIELD_CHARS = 500;

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,200}");

  /**
   * Checks the components.
   *
   * @throws NullPointerException if a component other than {@code field} is null
   * @throws IllegalArgumentException if the name, field or expression is malformed or too long, or
   *     {@code mostly} is outside [0, 1]
   */
  public Rule {
    Objects.requireNonNull(name, "name cannot be null");
    Objects.requireNonNull(type, "type cannot be null");
    Objects.requireNonNull(expression, "expression cannot be null");
    Objects.requireNonNull(parameters, "parameters cannot be null");
    Objects.requireNonNull(severity, "severity cannot be null");
    Objects.requireNonNull(action, "action cannot be null");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "rule name '"
              + QualityText.bounded(name, 80)
              + "' must be 1 to 200 letters, digits, '.', '_' or '-'");
    }
    if (field != null && (field.isEmpty() || field.length() > MAX_FIELD_CHARS)) {
      throw new IllegalArgumentException(
          "rule '" + name + "': the field path must have 1 to 500 characters, or be null");
    }
    if (expression.length() > MAX_EXPRESSION_CHARS) {
      throw new IllegalArgumentException(
          "rule '"
              + name
              + "': its expression has "
              + expression.length()
              + " characters, more than the "
              + MAX_EXPRESSION_CHARS
              + " allowed; split it into several rules");
    }
    if (!(mostly >= 0 && mostly <= 1)) {
      throw new IllegalArgumentException(
          "rule '" + name + "': mostly must be in [0, 1], was " + mostly);
    }
    for (Map.Entry<String, String> e : parameters.entrySet()) {
      Objects.requireNonNull(e.getKey(), "parameter name cannot be null");
      Objects.requireNonNull(e.getValue(), "parameter value cannot be null");
    }
    parameters = Map.copyOf(parameters);
  }

  private static Rule of(String name, RuleType type, @Nullable String field, String expression) {
    Objects.requireNonNull(field, "field cannot be null");
    return whole(name, type, field, expression);
  }

  /** A rule with the defaults: ERROR, DEAD_LETTER, mostly 1, enabled. */
  private static Rule whole(String name, RuleType type, @Nullable String field, String expression) {
    return new Rule(
        name, type, field, expression, Map.of(), Severity.ERROR, Action.DEAD_LETTER, 1.0, true);
  }

  /** The field must not be null (nor, for text, blank). */
  public static Rule notNull(String name, String field) {
    return of(name, RuleType.NOT_NULL, field, "");
  }

  /**
   * The field's number lies in {@code interval}, e.g. {@code "[0, 1000000]"} or {@code "(0, )"}.
   */
  public static Rule range(String name, String field, String interval) {
    return of(name, RuleType.RANGE, field, interval);
  }

  /** The field's value, as text, is one of {@code values}. */
  public static Rule inSet(String name, String field, String... values) {
    for (String value : values) {
      Objects.requireNonNull(value, "value cannot be null");
      if (value.contains(",")) {
        throw new IllegalArgumentException(
            "rule '" + name + "': a value of the set holds a comma, which separates the values");
      }
    }
    return of(name, RuleType.IN_SET, field, String.join(",", Arrays.asList(values)));
  }

  /** The field's length (text, collection, map) lies in {@code interval}. */
  public static Rule length(String name, String field, String interval) {
    return of(name, RuleType.LENGTH, field, interval);
  }

  /** The field's text matches {@code regex} in full (RE2/J syntax, linear time). */
  public static Rule pattern(String name, String field, String regex) {
    return of(name, RuleType.PATTERN, field, regex);
  }

  /**
   * The field's text has a {@code format}: {@code date}, {@code date:<pattern>}, {@code number},
   * {@code integer}, {@code email} or {@code url}.
   */
  public static Rule format(String name, String field, String format) {
    return of(name, RuleType.FORMAT, field, format);
  }

  /** No two records of a window (default ten minutes) share the field's value. */
  public static Rule unique(String name, String field) {
    return of(name, RuleType.UNIQUE, field, "");
  }

  /** The field's value is a key of the reference data the gate was given under {@code data}. */
  public static Rule reference(String name, String field, String data) {
    return of(name, RuleType.REFERENCE, field, data);
  }

  /**
   * Two fields agree: {@code "start <= end"}, or {@code "discount -> price"} (if the first is
   * present, so is the second).
   */
  public static Rule consistency(String name, String comparison) {
    return whole(name, RuleType.CONSISTENCY, null, comparison);
  }

  /** The field's time is at most {@code maxAge} old, e.g. {@code "PT1H"}. */
  public static Rule freshness(String name, String field, String maxAge) {
    return of(name, RuleType.FRESHNESS, field, maxAge);
  }

  /**
   * The records per {@code window} lie in {@code interval}, judged as each window ends; a volume
   * rule alerts (and, with CLOSE_GATE, closes the gate) but never fails a single record.
   */
  public static Rule volume(String name, String interval, String window) {
    return new Rule(
        name,
        RuleType.VOLUME,
        null,
        interval,
        Map.of("window", window),
        Severity.WARNING,
        Action.TAG,
        1.0,
        true);
  }

  /** A CEL expression over the record's fields that must be true, e.g. {@code "price > 0"}. */
  public static Rule expression(String name, String cel) {
    return whole(name, RuleType.EXPRESSION, null, cel);
  }

  /** This rule with another severity. */
  public Rule severity(Severity severity) {
    return new Rule(name, type, field, expression, parameters, severity, action, mostly, enabled);
  }

  /** This rule with another action. */
  public Rule action(Action action) {
    return new Rule(name, type, field, expression, parameters, severity, action, mostly, enabled);
  }

  /** This rule with another pass share per window, in [0, 1]. */
  public Rule mostly(double mostly) {
    return new Rule(name, type, field, expression, parameters, severity, action, mostly, enabled);
  }

  /** This rule enabled or disabled. */
  public Rule enabled(boolean enabled) {
    return new Rule(name, type, field, expression, parameters, severity, action, mostly, enabled);
  }

  /** This rule with a parameter added or replaced. */
  public Rule parameter(String key, String value) {
    Map<String, String> more = new LinkedHashMap<>(parameters);
    more.put(Objects.requireNonNull(key, "key cannot be null"), value);
    return new Rule(name, type, field, expression, more, severity, action, mostly, enabled);
  }
}
