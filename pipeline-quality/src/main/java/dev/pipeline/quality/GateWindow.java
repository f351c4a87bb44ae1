package dev.pipeline.quality;

import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counts of one window of a gate: records checked and failures per rule. Counted by many
 * workers at once; judged once, by the worker that ends it. Thread-safe.
 */
final class GateWindow {
  final Instant start;
  final LongAdder records = new LongAdder();
  final ConcurrentHashMap<String, LongAdder> failures = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, String> examples = new ConcurrentHashMap<>();

  GateWindow(Instant start) {
    this.start = start;
  }

  void failed(String rule) {
    failures.computeIfAbsent(rule, r -> new LongAdder()).increment();
  }

  void example(String rule, String message) {
    examples.putIfAbsent(rule, message);
  }

  String example(String rule) {
    return examples.getOrDefault(rule, "");
  }

  long failures(String rule) {
    LongAdder a = failures.get(rule);
    return a == null ? 0 : a.sum();
  }
}
