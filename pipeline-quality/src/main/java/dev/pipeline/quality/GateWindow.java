package dev.pipeline.quality;

import dev.pipeline.quality.report.ExampleRecord;
import dev.pipeline.quality.report.RuleFailure;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The counts of one window of a gate: records checked, and per rule the failures, by source, with
 * the first few failing records as examples. Counted by many workers at once; judged once, by the
 * worker that ends it, then kept as a {@link GatePeriod}. Thread-safe.
 */
final class GateWindow {
  /** Examples kept per rule and window. */
  static final int EXAMPLES = 5;

  /** Sources counted apart per rule and window; the others count under {@link #OTHER_SOURCES}. */
  static final int SOURCES = RuleFailure.MAX_SOURCES;

  /** Where failures of records from sources past {@link #SOURCES} are counted. */
  static final String OTHER_SOURCES = "(other sources)";

  final Instant start;
  final LongAdder records = new LongAdder();
  private final ConcurrentHashMap<String, Tally> rules = new ConcurrentHashMap<>();

  /** One rule's failures in the window. */
  private static final class Tally {
    final LongAdder failed = new LongAdder();
    final ConcurrentHashMap<String, LongAdder> bySource = new ConcurrentHashMap<>();
    final ReentrantLock lock = new ReentrantLock();
    final List<ExampleRecord> examples = new ArrayList<>(EXAMPLES); // guarded by lock
  }

  GateWindow(Instant start) {
    this.start = start;
  }

  /**
   * Counts a record that failed {@code rule}; while the rule has fewer than {@value #EXAMPLES}
   * examples, {@code example} makes one.
   */
  void failed(String rule, String source, Supplier<ExampleRecord> example) {
    Tally t = rules.computeIfAbsent(rule, r -> new Tally());
    t.failed.increment();
    String key =
        t.bySource.size() < SOURCES || t.bySource.containsKey(source) ? source : OTHER_SOURCES;
    t.bySource.computeIfAbsent(key, s -> new LongAdder()).increment();
    if (t.examples.size() < EXAMPLES) {
      ExampleRecord made = example.get();
      t.lock.lock();
      try {
        if (t.examples.size() < EXAMPLES) {
          t.examples.add(made);
        }
      } finally {
        t.lock.unlock();
      }
    }
  }

  /** The first example's text of a rule, or empty. */
  String example(String rule) {
    Tally t = rules.get(rule);
    if (t == null) {
      return "";
    }
    t.lock.lock();
    try {
      return t.examples.isEmpty() ? "" : t.examples.get(0).text();
    } finally {
      t.lock.unlock();
    }
  }

  long failures(String rule) {
    Tally t = rules.get(rule);
    return t == null ? 0 : t.failed.sum();
  }

  /** What the window counted until {@code end}, as an immutable summary. */
  GatePeriod summary(Instant end) {
    Map<String, GatePeriod.RuleCount> counts = new HashMap<>();
    rules.forEach(
        (rule, t) -> {
          Map<String, Long> sources = new HashMap<>();
          t.bySource.forEach((s, n) -> sources.put(s, n.sum()));
          List<ExampleRecord> examples;
          t.lock.lock();
          try {
            examples = List.copyOf(t.examples);
          } finally {
            t.lock.unlock();
          }
          counts.put(rule, new GatePeriod.RuleCount(t.failed.sum(), sources, examples));
        });
    return new GatePeriod(start, end.isBefore(start) ? start : end, records.sum(), counts);
  }
}
