package dev.pipeline.quality;

import dev.pipeline.quality.report.ExampleRecord;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What a gate counted in one of its windows, kept after the window ended for reports.
 *
 * @param start when the window opened
 * @param end when it ended
 * @param records records checked
 * @param rules the failures of each rule that failed
 */
record GatePeriod(Instant start, Instant end, long records, Map<String, RuleCount> rules) {

  /** A rule's failures in the period. */
  record RuleCount(long failed, Map<String, Long> bySource, List<ExampleRecord> examples) {}

  GatePeriod {
    rules = Map.copyOf(rules);
  }

  /** Whether the period overlaps [from, to). */
  boolean overlaps(Instant from, Instant to) {
    return start.isBefore(to) && (end.isAfter(from) || !start.isBefore(from));
  }
}
