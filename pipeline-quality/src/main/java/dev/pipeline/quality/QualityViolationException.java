package dev.pipeline.quality;

import dev.pipeline.StageException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A record failed rules whose action is {@link Action#DEAD_LETTER}: the gate sends it to the dead
 * letter queue, this exception (with every violation of the record) as its error. It is not worth
 * retrying: give a gate stage no retry policy, or one that aborts on this type. Immutable.
 */
public final class QualityViolationException extends StageException {
  private static final long serialVersionUID = 1L;

  private final transient List<Violation> violations;

  /**
   * Creates the exception.
   *
   * @param stage the gate's stage
   * @param recordId the record
   * @param violations every rule the record failed, at least one
   */
  public QualityViolationException(
      String stage, @Nullable String recordId, List<Violation> violations) {
    super(stage, recordId, message(stage, recordId, violations));
    this.violations = List.copyOf(violations);
  }

  private static String message(String stage, @Nullable String recordId, List<Violation> all) {
    StringBuilder text =
        new StringBuilder("record '")
            .append(QualityText.bounded(String.valueOf(recordId), 120))
            .append("' failed ")
            .append(all.size())
            .append(all.size() == 1 ? " rule" : " rules")
            .append(" at stage '")
            .append(stage)
            .append("': ");
    for (int i = 0; i < all.size(); i++) {
      if (i > 0) {
        text.append("; ");
      }
      text.append(all.get(i));
    }
    return text.append(". Fix the data at its source, or the rule in validation_rules").toString();
  }

  /** Every rule the record failed. */
  public List<Violation> violations() {
    return violations;
  }
}
