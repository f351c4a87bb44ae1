package dev.pipeline.dashboard;

import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.store.spi.HeldLeases;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Judges health from the numbers: a level per stage, the state of a pipeline, and what needs an
 * operator's attention. Pure functions of their arguments, so each rule is tested alone.
 */
final class Health {
  /** An error rate from which a stage is red. */
  static final double RED_ERROR_RATE = 0.10;

  /** An error rate from which a stage is amber. */
  static final double AMBER_ERROR_RATE = 0.01;

  /** A utilization from which a stage with records waiting is amber (saturated). */
  static final double SATURATED = 0.90;

  private Health() {}

  enum Level {
    GREEN,
    AMBER,
    RED;

    String css() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    static Level worst(Level a, Level b) {
      return a.compareTo(b) >= 0 ? a : b;
    }
  }

  /** A level and why. */
  record Verdict(Level level, String why) {}

  /** Something an operator should look at, with where to look (a dashboard path) or "". */
  record Attention(Level level, String text, String href) {}

  /**
   * A stage's level: red for an open circuit or an error rate of {@link #RED_ERROR_RATE} in the
   * last window; amber for a half-open circuit, records held, an error rate of {@link
   * #AMBER_ERROR_RATE} or workers saturated with records waiting.
   *
   * @param last the stage's last point, or null to judge from the counts since the pipeline was
   *     built
   */
  static Verdict stage(StageMetrics stage, @Nullable StagePoint last) {
    CircuitBreaker.State circuit = stage.resilience().circuit();
    if (circuit == CircuitBreaker.State.OPEN) {
      return new Verdict(Level.RED, "circuit open");
    }
    double errorRate = errorRate(stage, last);
    if (errorRate >= RED_ERROR_RATE) {
      return new Verdict(Level.RED, percent(errorRate) + " failing");
    }
    if (circuit == CircuitBreaker.State.HALF_OPEN) {
      return new Verdict(Level.AMBER, "circuit half-open");
    }
    if (stage.resilience().held() > 0 && last == null) {
      return new Verdict(Level.AMBER, "records held by its circuit");
    }
    if (errorRate >= AMBER_ERROR_RATE) {
      return new Verdict(Level.AMBER, percent(errorRate) + " failing");
    }
    if (stage.utilization() >= SATURATED && stage.queueDepth() > 0) {
      return new Verdict(Level.AMBER, "saturated: " + stage.queueDepth() + " waiting");
    }
    return new Verdict(Level.GREEN, "ok");
  }

  /** The share of records failed for good: in the last window if known, else since built. */
  static double errorRate(StageMetrics stage, @Nullable StagePoint last) {
    if (last != null && last.recordsIn() > 0) {
      return last.errorRate();
    }
    return stage.recordsIn() == 0 ? 0 : Math.min(1, (double) stage.failed() / stage.recordsIn());
  }

  /**
   * The pipeline's state: "idle" with nothing in flight, "stalled" with records in flight and none
   * finished for {@code stallAfter} (judged only once the samples span it), else "running".
   */
  static String state(long inFlight, List<MetricsSampler.Totals> totals, Duration stallAfter) {
    if (inFlight <= 0) {
      return "idle";
    }
    if (totals.size() < 2) {
      return "running";
    }
    MetricsSampler.Totals last = totals.get(totals.size() - 1);
    Instant from = last.at().minus(stallAfter);
    if (totals.get(0).at().isAfter(from)) {
      return "running"; // not watched long enough to call it stalled
    }
    for (int i = totals.size() - 2; i >= 0; i--) {
      MetricsSampler.Totals before = totals.get(i);
      if (before.done() != last.done() || before.ingested() != last.ingested()) {
        return before.at().isBefore(from) ? "stalled" : "running";
      }
      if (before.at().isBefore(from)) {
        return "stalled";
      }
    }
    return "stalled";
  }

  /** Dead letters added over the samples of the last {@code window}, 0 if none or unknown. */
  static long deadLetterGrowth(List<MetricsSampler.Totals> totals, Duration window) {
    if (totals.size() < 2) {
      return 0;
    }
    MetricsSampler.Totals last = totals.get(totals.size() - 1);
    Instant from = last.at().minus(window);
    MetricsSampler.Totals first = last;
    for (int i = totals.size() - 2; i >= 0 && !totals.get(i).at().isBefore(from); i--) {
      first = totals.get(i);
    }
    return Math.max(0, last.deadLettered() - first.deadLettered());
  }

  /**
   * A stage of the report as a sentence names it: a stage, the sink, a branch's sink, the store.
   */
  static String label(String stage) {
    if (stage.equals(StageWindow.SINK)) {
      return "the sink";
    }
    if (stage.equals(StageWindow.STORE)) {
      return "the store";
    }
    // only a route branch's sink has a '/' in its name
    return (stage.indexOf('/') >= 0 ? "branch sink " : "stage ") + stage;
  }

  /** What needs attention in one pipeline, worst first. */
  static List<Attention> attention(
      PipelineMetrics metrics,
      String state,
      long deadLetterGrowth,
      Duration growthWindow,
      List<HeldLeases> leases,
      @Nullable Instant retryDue,
      Instant now,
      String base) {
    String pipeline = metrics.pipeline();
    List<Attention> out = new ArrayList<>();
    if (state.equals("stalled")) {
      out.add(
          new Attention(
              Level.RED,
              "pipeline "
                  + pipeline
                  + " is stalled: "
                  + metrics.inFlight()
                  + " records in flight, none finished lately",
              base + "/workers?pipeline=" + Paths.encode(pipeline)));
    }
    for (StageMetrics stage : metrics.all()) {
      CircuitBreaker.State circuit = stage.resilience().circuit();
      if (circuit == CircuitBreaker.State.OPEN || circuit == CircuitBreaker.State.HALF_OPEN) {
        out.add(
            new Attention(
                circuit == CircuitBreaker.State.OPEN ? Level.RED : Level.AMBER,
                label(stage.stage())
                    + ": circuit "
                    + (circuit == CircuitBreaker.State.OPEN ? "open" : "half-open")
                    + (stage.resilience().held() > 0
                        ? ", " + stage.resilience().held() + " records held"
                        : ""),
                Paths.stage(base, pipeline, stage.stage())));
      }
    }
    if (deadLetterGrowth > 0) {
      out.add(
          new Attention(
              Level.AMBER,
              "dead letters growing: "
                  + deadLetterGrowth
                  + " new in the last "
                  + growthWindow.toSeconds()
                  + " s ("
                  + metrics.deadLettered()
                  + " this run)",
              base + "/dead-letters?pipeline=" + Paths.encode(pipeline)));
    }
    for (HeldLeases lease : leases) {
      if (lease.expiresWithin().isZero()) {
        out.add(
            new Attention(
                Level.RED,
                "worker "
                    + lease.worker()
                    + " holds "
                    + lease.records()
                    + " records on expired leases: it stopped heartbeating; a running worker"
                    + " takes them over",
                base + "/workers?pipeline=" + Paths.encode(pipeline)));
      }
    }
    if (retryDue != null && retryDue.isBefore(now.minus(Duration.ofMinutes(1)))) {
      out.add(
          new Attention(
              Level.AMBER,
              "retries overdue since "
                  + retryDue
                  + ": no run of "
                  + pipeline
                  + " is taking them (run it or call resume())",
              base + "/retries?pipeline=" + Paths.encode(pipeline)));
    }
    out.sort((a, b) -> b.level().compareTo(a.level()));
    return out;
  }

  /** Findings of a pipeline shown among what needs attention; the quality page lists them all. */
  static final int QUALITY_FINDINGS = 3;

  /**
   * What needs attention in a pipeline's quality: a closed gate (red), a gate on trial (amber), and
   * the newest drift or anomaly alerts (amber; warnings are left to the quality page).
   */
  static List<Attention> quality(String pipeline, QualitySource.Snapshot snapshot, String base) {
    String href = base + "/quality?pipeline=" + Paths.encode(pipeline);
    List<Attention> out = new ArrayList<>();
    for (QualitySource.Gate gate : snapshot.gates()) {
      if (gate.state() == QualitySource.GateState.CLOSED) {
        out.add(
            new Attention(
                Level.RED,
                "quality gate at stage "
                    + gate.stage()
                    + " is closed: it holds records until it reopens or an operator reopens it",
                href));
      } else if (gate.state() == QualitySource.GateState.TRIAL) {
        out.add(
            new Attention(
                Level.AMBER,
                "quality gate at stage " + gate.stage() + " is on trial after being closed",
                href));
      }
    }
    List<QualitySource.Finding> alerts =
        snapshot.findings().stream()
            .filter(f -> f.severity() == QualitySource.Severity.ALERT)
            .toList();
    for (int i = alerts.size() - 1; i >= Math.max(0, alerts.size() - QUALITY_FINDINGS); i--) {
      QualitySource.Finding f = alerts.get(i);
      out.add(new Attention(Level.AMBER, "drift at stage " + f.stage() + ": " + f.text(), href));
    }
    if (alerts.size() > QUALITY_FINDINGS) {
      out.add(
          new Attention(
              Level.AMBER,
              (alerts.size() - QUALITY_FINDINGS) + " more drift or anomaly alerts",
              href));
    }
    return out;
  }

  static String percent(double share) {
    return String.format(java.util.Locale.ROOT, "%.1f%%", share * 100);
  }
}
