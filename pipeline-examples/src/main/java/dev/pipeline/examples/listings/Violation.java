package dev.pipeline.examples.listings;

import java.util.Objects;

/**
 * One rule a listing breaks. Immutable.
 *
 * @param severity what happens to the listing because of it
 * @param field the field at fault, e.g. {@code "price"}
 * @param rule stable machine-readable rule id, e.g. {@code "price.range"}, for counting and
 *     alerting
 * @param message human-readable explanation naming the offending value
 */
public record Violation(Severity severity, String field, String rule, String message) {

  public Violation {
    Objects.requireNonNull(severity, "severity");
    Objects.requireNonNull(field, "field");
    Objects.requireNonNull(rule, "rule");
    Objects.requireNonNull(message, "message");
  }

  static Violation warning(String field, String rule, String message) {
    return new Violation(Severity.WARNING, field, rule, message);
  }

  static Violation filter(String field, String rule, String message) {
    return new Violation(Severity.FILTER, field, rule, message);
  }

  static Violation error(String field, String rule, String message) {
    return new Violation(Severity.ERROR, field, rule, message);
  }

  @Override
  public String toString() {
    return severity + " " + rule + ": " + message;
  }
}
