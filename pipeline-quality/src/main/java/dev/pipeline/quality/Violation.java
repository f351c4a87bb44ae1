package dev.pipeline.quality;

import java.util.Objects;

/**
 * One rule a record failed, and why. Immutable.
 *
 * @param rule the rule's name
 * @param action what the rule does on failure
 * @param severity how much it matters
 * @param message what was wrong, with the value cut to a few dozen characters
 */
public record Violation(String rule, Action action, Severity severity, String message) {

  /** Checks the components. */
  public Violation {
    Objects.requireNonNull(rule, "rule cannot be null");
    Objects.requireNonNull(action, "action cannot be null");
    Objects.requireNonNull(severity, "severity cannot be null");
    Objects.requireNonNull(message, "message cannot be null");
  }

  @Override
  public String toString() {
    return rule + ": " + message;
  }
}
