package dev.pipeline;

import java.util.concurrent.atomic.LongAdder;

/** The per-branch counters of one bound route. Thread-safe. */
final class RouteCounts {
  final LongAdder[] routed;
  final LongAdder[] filtered;
  final LongAdder[] failed;
  final LongAdder[] degraded;
  final LongAdder unmatched = new LongAdder();

  RouteCounts(int branches) {
    routed = adders(branches);
    filtered = adders(branches);
    failed = adders(branches);
    degraded = adders(branches);
  }

  private static LongAdder[] adders(int n) {
    LongAdder[] all = new LongAdder[n];
    for (int i = 0; i < n; i++) {
      all[i] = new LongAdder();
    }
    return all;
  }
}
