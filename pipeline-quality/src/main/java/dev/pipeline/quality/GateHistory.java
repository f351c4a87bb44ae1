package dev.pipeline.quality;

import dev.pipeline.quality.report.ExampleRecord;
import dev.pipeline.quality.report.RuleFailure;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A gate's ended windows, the latest {@value #MAX_PERIODS} (a day of one-minute windows), summed
 * into each rule's failures over a period for a report. Memory is bounded: per window and rule,
 * {@value GateWindow#SOURCES} source counts and {@value GateWindow#EXAMPLES} examples.
 *
 * <p>Thread-safe.
 */
final class GateHistory {
  /** The most windows kept. */
  static final int MAX_PERIODS = 1_440;

  private final ReentrantLock lock = new ReentrantLock();
  private final Deque<GatePeriod> periods = new ArrayDeque<>(); // guarded by lock

  void add(GatePeriod period) {
    lock.lock();
    try {
      periods.addLast(period);
      while (periods.size() > MAX_PERIODS) {
        periods.removeFirst();
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Each rule's failures in the windows that overlap [from, to), the open one included: every
   * record of a window counts as checked by each rule.
   *
   * @param rules the gate's rules now, reported even when they did not fail
   */
  List<RuleFailure> failures(
      String stage, List<String> rules, Instant from, Instant to, GatePeriod open) {
    List<GatePeriod> overlapping = new ArrayList<>();
    lock.lock();
    try {
      for (GatePeriod p : periods) {
        if (p.overlaps(from, to)) {
          overlapping.add(p);
        }
      }
    } finally {
      lock.unlock();
    }
    if (open.overlaps(from, to)) {
      overlapping.add(open);
    }
    long checked = 0;
    Instant since = to;
    Map<String, long[]> failed = new LinkedHashMap<>();
    Map<String, Map<String, Long>> sources = new HashMap<>();
    Map<String, List<ExampleRecord>> examples = new HashMap<>();
    for (String rule : rules) {
      failed.put(rule, new long[1]);
    }
    for (GatePeriod p : overlapping) {
      checked += p.records();
      since = p.start().isBefore(since) ? p.start() : since;
      p.rules()
          .forEach(
              (rule, count) -> {
                failed.computeIfAbsent(rule, r -> new long[1])[0] += count.failed();
                Map<String, Long> by = sources.computeIfAbsent(rule, r -> new HashMap<>());
                count.bySource().forEach((s, n) -> by.merge(s, n, Long::sum));
                List<ExampleRecord> kept = examples.computeIfAbsent(rule, r -> new ArrayList<>());
                for (ExampleRecord e : count.examples()) {
                  if (kept.size() < RuleFailure.MAX_EXAMPLES) {
                    kept.add(e);
                  }
                }
              });
    }
    Instant start = since.isBefore(from) ? from : since;
    List<RuleFailure> out = new ArrayList<>(failed.size());
    long all = checked;
    failed.forEach(
        (rule, n) ->
            out.add(
                new RuleFailure(
                    rule,
                    stage,
                    start.isAfter(to) ? from : start,
                    all,
                    Math.min(all, n[0]),
                    sources.getOrDefault(rule, Map.of()),
                    examples.getOrDefault(rule, List.of()))));
    return out;
  }
}
