package dev.pipeline.examples.app;

import dev.pipeline.AlertListener;
import dev.pipeline.PipelineClock;
import dev.pipeline.Stage;
import dev.pipeline.StageContext;
import dev.pipeline.examples.listings.CleanListing;
import dev.pipeline.examples.listings.ExtractedListing;
import dev.pipeline.examples.listings.Extractor;
import dev.pipeline.examples.listings.ListingValidator;
import dev.pipeline.examples.listings.PriceInfo;
import dev.pipeline.examples.listings.TranslatedListing;
import dev.pipeline.examples.listings.ValidatedListing;
import dev.pipeline.examples.listings.Violation;
import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.quality.drift.Anomaly;
import dev.pipeline.quality.drift.AnomalyDetector;
import dev.pipeline.quality.drift.Baseline;
import dev.pipeline.quality.drift.DriftMonitor;
import dev.pipeline.quality.drift.FieldProfiler;
import dev.pipeline.quality.drift.WindowDrift;
import dev.pipeline.quality.drift.WindowProfile;
import dev.pipeline.quality.report.ExampleRecord;
import dev.pipeline.quality.report.QualityReport;
import dev.pipeline.quality.report.RuleFailure;
import dev.pipeline.quality.score.Dimension;
import dev.pipeline.quality.score.QualityCounts;
import dev.pipeline.quality.score.QualityScores;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What {@code --report} watches while the example runs: the extraction stage's output profiled per
 * window (price, currency, manufacturer, category, year) and compared with the windows before it;
 * volume and null rates per window, and the stages' metrics, checked for anomalies; the validation
 * stage's verdicts counted per rule (with the listing's source and a few example listings) and per
 * quality dimension. At the end, all of it becomes a {@link QualityReport}.
 *
 * <p>The validator's rules map to dimensions by name: {@code *.missing} is completeness, {@code
 * hours.impossible} (hours against the year) consistency, the rest validity.
 *
 * <p>Thread-safe.
 */
final class QualityWatch {

  /** Example listings kept per rule. */
  static final int EXAMPLES = 5;

  private final PipelineClock clock;
  private final Instant started;
  private final FieldProfiler<ExtractedListing> extraction;
  private final DriftMonitor drift;
  private final AnomalyDetector anomalies;
  private final ReentrantLock lock = new ReentrantLock();

  // guarded by lock
  private final Map<String, RuleCount> rules = new HashMap<>();
  private final Map<Dimension, long[]> window = new EnumMap<>(Dimension.class);
  private long validatedInWindow;
  private long validatedTotal;
  private final List<QualityScores> scores = new ArrayList<>();

  /** Counts of one rule: records failing it, by source, and the first examples. */
  private static final class RuleCount {
    long failed;
    final Map<String, Long> bySource = new HashMap<>();
    final List<ExampleRecord> examples = new ArrayList<>();
  }

  QualityWatch(PipelineClock clock, Duration windowLength, AlertListener alerts) {
    this.clock = clock;
    this.started = clock.now();
    this.drift =
        DriftMonitor.builder("equipment").baseline(Baseline.rolling(12)).alerts(alerts).build();
    this.anomalies = AnomalyDetector.builder("equipment").alerts(alerts).build();
    this.extraction =
        FieldProfiler.<ExtractedListing>builder("extraction")
            .clock(clock)
            .window(windowLength)
            .number("price", QualityWatch::euros)
            .number("year", l -> l.year().isPresent() ? l.year().getAsInt() : null)
            .category("currency", l -> l.price().currency().isEmpty() ? null : l.price().currency())
            .category("manufacturer", ExtractedListing::manufacturer)
            .category("category", ExtractedListing::category)
            .onWindow(drift::check)
            .onWindow(anomalies::observe)
            .onWindow(this::closeWindow)
            .build();
  }

  private static Double euros(ExtractedListing listing) {
    PriceInfo price = listing.price();
    return price.status() == PriceInfo.Status.PRESENT ? price.cents() / 100.0 : null;
  }

  /** The extraction stage, profiling what it puts out. */
  Stage<CleanListing, ExtractedListing> extraction() {
    return extraction.observing((CleanListing clean, StageContext c) -> Extractor.extract(clean));
  }

  /** The validation stage: validates, counts the verdict, then passes, filters or rejects. */
  ValidatedListing validate(TranslatedListing listing) {
    ValidatedListing validated = ListingValidator.validate(listing);
    count(validated);
    return EquipmentPipeline.decide(validated);
  }

  private void count(ValidatedListing validated) {
    CleanListing clean = validated.listing().analyzed().extracted().listing();
    Set<String> broken = new HashSet<>();
    Set<Dimension> failed = new HashSet<>();
    for (Violation v : validated.violations()) {
      if (broken.add(v.rule())) {
        failed.add(dimension(v.rule()));
      }
    }
    lock.lock();
    try {
      validatedInWindow++;
      validatedTotal++;
      for (Dimension d : Dimension.values()) {
        long[] c = window.computeIfAbsent(d, k -> new long[2]);
        c[0]++;
        if (failed.contains(d)) {
          c[1]++;
        }
      }
      for (String rule : broken) {
        RuleCount count = rules.computeIfAbsent(rule, k -> new RuleCount());
        count.failed++;
        count.bySource.merge(clean.sourceId(), 1L, Long::sum);
        if (count.examples.size() < EXAMPLES) {
          count.examples.add(
              new ExampleRecord(
                  clean.id(),
                  clean.sourceId(),
                  clean.title() + " | price: " + clean.price() + " " + clean.currency()));
        }
      }
    } finally {
      lock.unlock();
    }
  }

  static Dimension dimension(String rule) {
    if (rule.endsWith(".missing")) {
      return Dimension.COMPLETENESS;
    }
    return rule.equals("hours.impossible") ? Dimension.CONSISTENCY : Dimension.VALIDITY;
  }

  /** Scores the window that closed: extraction from its profile, validation from the verdicts. */
  private void closeWindow(WindowProfile profile) {
    lock.lock();
    try {
      scores.add(
          QualityScores.of(
              QualityCounts.of("extraction", profile.start(), profile.end()), profile));
      QualityCounts counts = QualityCounts.of("validation", profile.start(), profile.end());
      for (Map.Entry<Dimension, long[]> e : window.entrySet()) {
        counts = counts.with(e.getKey(), e.getValue()[0], e.getValue()[1]);
      }
      if (validatedInWindow > 0) {
        scores.add(QualityScores.of(counts, null));
      }
      window.clear();
      validatedInWindow = 0;
    } finally {
      lock.unlock();
    }
  }

  /** Adds a metrics snapshot's points (volume, error rate, latency per stage). */
  void sample(PipelineMetrics metrics) {
    anomalies.observe(metrics);
  }

  /** Closes the last window and makes the report of the run. */
  QualityReport report() {
    extraction.roll();
    List<RuleFailure> failures = new ArrayList<>();
    lock.lock();
    try {
      rules.forEach(
          (rule, c) ->
              failures.add(
                  new RuleFailure(
                      rule,
                      "validation",
                      started,
                      validatedTotal,
                      c.failed,
                      c.bySource,
                      c.examples)));
      return QualityReport.builder("equipment", started, clock.now())
          .scores(scores)
          .drift(drift.results())
          .anomalies(anomalies.anomalies())
          .ruleFailures(failures)
          .build();
    } finally {
      lock.unlock();
    }
  }

  /** The scores of the windows closed so far, oldest first (for the dashboard). */
  List<QualityScores> scores() {
    lock.lock();
    try {
      return List.copyOf(scores);
    } finally {
      lock.unlock();
    }
  }

  /** The drift of the windows kept, oldest first (for the dashboard). */
  List<WindowDrift> drift() {
    return drift.results();
  }

  /** The anomalies found so far (for the dashboard). */
  List<Anomaly> anomalies() {
    return anomalies.anomalies();
  }
}
