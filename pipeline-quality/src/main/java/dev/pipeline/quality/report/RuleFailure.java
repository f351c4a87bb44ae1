package dev.pipeline.quality.report;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How often one rule failed on one stage's output over a period, where the failures came from, and
 * a few of the records that failed it. A rule engine produces these.
 *
 * @param ruleId the rule's id, e.g. {@code price-range}
 * @param stage the stage whose output it checks
 * @param since the start of the period counted
 * @param checked records checked
 * @param failed records that failed
 * @param failedBySource failures by the source the records came from; kept to the {@value
 *     #MAX_SOURCES} largest
 * @param examples some of the records that failed; the first {@value #MAX_EXAMPLES} are kept
 */
public record RuleFailure(
    String ruleId,
    String stage,
    Instant since,
    long checked,
    long failed,
    Map<String, Long> failedBySource,
    List<ExampleRecord> examples) {

  /** The most examples kept per rule. */
  public static final int MAX_EXAMPLES = 20;

  /** The most sources kept per rule. */
  public static final int MAX_SOURCES = 50;

  /** Checks, bounds and copies the components. */
  public RuleFailure {
    Objects.requireNonNull(ruleId, "ruleId cannot be null");
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(since, "since cannot be null");
    if (checked < 0 || failed < 0 || failed > checked) {
      throw new IllegalArgumentException(
          "rule '"
              + Text.cut(ruleId, Text.MAX_NAME_CHARS)
              + "': need 0 <= failed <= checked, got checked "
              + checked
              + ", failed "
              + failed);
    }
    ruleId = Text.cut(ruleId, Text.MAX_NAME_CHARS);
    stage = Text.cut(stage, Text.MAX_NAME_CHARS);
    Map<String, Long> sources = new LinkedHashMap<>();
    failedBySource.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(MAX_SOURCES)
        .forEach(e -> sources.put(Text.cut(e.getKey(), Text.MAX_NAME_CHARS), e.getValue()));
    failedBySource = Collections.unmodifiableMap(sources);
    examples =
        List.copyOf(examples.size() > MAX_EXAMPLES ? examples.subList(0, MAX_EXAMPLES) : examples);
  }

  /** The share of checked records that failed, 0 to 1; 0 if none was checked. */
  public double failureRate() {
    return checked == 0 ? 0 : (double) failed / checked;
  }
}
