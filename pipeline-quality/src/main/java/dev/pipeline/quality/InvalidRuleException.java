package dev.pipeline.quality;

import dev.pipeline.PipelineException;

/**
 * A rule that cannot be checked: its field does not exist on the record type, or its expression is
 * malformed or hostile (too long, too deep, naming a Java class). Thrown when a gate is built, and
 * logged (the rule's previous version kept) when a rule edited in {@code validation_rules} is
 * refused. Immutable.
 */
public final class InvalidRuleException extends PipelineException {
  private static final long serialVersionUID = 1L;

  private final String rule;

  /**
   * Creates the exception.
   *
   * @param rule the rule's name
   * @param message what is wrong and how to fix it
   */
  public InvalidRuleException(String rule, String message) {
    super(message);
    this.rule = rule;
  }

  /** The name of the rule refused. */
  public String rule() {
    return rule;
  }
}
