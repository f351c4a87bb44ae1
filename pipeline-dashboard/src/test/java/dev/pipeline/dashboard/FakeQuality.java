package dev.pipeline.dashboard;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A quality source as a host would write one, with a gate at stage "validation" whose rule names
 * and texts hold markup. Thread-safe: its state is one immutable value swapped whole.
 */
final class FakeQuality implements QualitySource {
  /** A rule name holding markup, as a rule table edited by anyone could hold. */
  static final String HOSTILE_RULE = "<img src=x onerror=alert(1)>price.missing";

  /** A drift text holding markup (a category value of a record). */
  static final String HOSTILE_DRIFT = "currency: PSI 0.41 (alert), new value <b>XBT</b>";

  private final AtomicReference<GateState> state;
  private final AtomicInteger reopened = new AtomicInteger();
  private final AtomicReference<String> reopenedBy = new AtomicReference<>("");
  private final List<Finding> findings = new ArrayList<>();

  FakeQuality(GateState state) {
    this.state = new AtomicReference<>(state);
    findings.add(
        new Finding(
            Instant.parse("2026-12-06T08:00:00Z"),
            "extraction",
            Severity.WARN,
            "year: PSI 0.12 (warn)"));
    findings.add(
        new Finding(
            Instant.parse("2026-12-06T08:00:10Z"), "extraction", Severity.ALERT, HOSTILE_DRIFT));
  }

  @Override
  public Snapshot quality(String pipeline) {
    if (!pipeline.equals("orders")) {
      return Snapshot.EMPTY;
    }
    Map<String, Long> failures = new LinkedHashMap<>();
    failures.put(HOSTILE_RULE, 7L);
    failures.put("hours.impossible", 2L);
    Map<String, Double> dimensions = new LinkedHashMap<>();
    dimensions.put("COMPLETENESS", 93.0);
    dimensions.put("VALIDITY", 99.5);
    return new Snapshot(
        List.of(new Gate("validation", state.get(), 100, 2, 0, 7, failures, true)),
        List.of(
            new Score("validation", Instant.parse("2026-12-06T07:59:50Z"), dimensions, 60.0),
            new Score("validation", Instant.parse("2026-12-06T08:00:00Z"), dimensions, 96.25)),
        List.copyOf(findings));
  }

  @Override
  public boolean reopen(String pipeline, String stage, String by) {
    reopened.incrementAndGet();
    reopenedBy.set(by);
    state.set(GateState.OPEN);
    return true;
  }

  int reopened() {
    return reopened.get();
  }

  String reopenedBy() {
    return reopenedBy.get();
  }
}
