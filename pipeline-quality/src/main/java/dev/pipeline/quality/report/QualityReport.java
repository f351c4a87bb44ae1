package dev.pipeline.quality.report;

import dev.pipeline.metrics.Report;
import dev.pipeline.quality.drift.Anomaly;
import dev.pipeline.quality.drift.WindowDrift;
import dev.pipeline.quality.score.QualityScores;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * A quality report over a period: scores over time, drift per field, the rules that failed most
 * with example records, anomalies, and insights a person can act on. Rendered as {@link
 * #toMarkdown() Markdown} or as {@link #toHtml() one self-contained HTML file} (inline SVG plots,
 * no script, no outside resource).
 *
 * <pre>{@code
 * QualityReport report = QualityReport.builder("listings", since, now)
 *     .scores(scores)
 *     .drift(monitor.results())
 *     .anomalies(detector.anomalies())
 *     .ruleFailures(failures)
 *     .build();
 * Files.writeString(Path.of("quality.html"), report.toHtml());
 * }</pre>
 *
 * <p>Every text from outside (ids, sources, rule ids, stage, field and metric names, example
 * records) is cut ({@link ExampleRecord#MAX_TEXT_CHARS} characters for an example, 200 for a name)
 * and escaped for the format it is rendered in; each list keeps its latest {@value #MAX_ENTRIES}
 * entries, and renders its most telling ones.
 *
 * <p>Immutable and thread-safe.
 */
public final class QualityReport implements Report {

  /** The most entries of each kind a report keeps. */
  public static final int MAX_ENTRIES = 10_000;

  private final String pipeline;
  private final Instant from;
  private final Instant to;
  private final Instant generatedAt;
  private final List<QualityScores> scores;
  private final List<WindowDrift> drift;
  private final List<RuleFailure> rules;
  private final List<Anomaly> anomalies;
  private final int examplesPerRule;

  private QualityReport(Builder b) {
    this.pipeline = b.pipeline;
    this.from = b.from;
    this.to = b.to;
    this.generatedAt = b.generatedAt == null ? b.to : b.generatedAt;
    this.scores =
        latest(
            b.scores, Comparator.comparing(QualityScores::end).thenComparing(QualityScores::stage));
    this.drift =
        latest(b.drift, Comparator.comparing(WindowDrift::end).thenComparing(WindowDrift::stage));
    this.rules =
        b.rules.stream()
            .sorted(
                Comparator.comparingDouble(RuleFailure::failureRate)
                    .reversed()
                    .thenComparing(RuleFailure::ruleId))
            .limit(MAX_ENTRIES)
            .toList();
    this.anomalies = latest(b.anomalies, Comparator.comparing(Anomaly::at));
    this.examplesPerRule = b.examplesPerRule;
  }

  private static <T> List<T> latest(List<T> entries, Comparator<T> order) {
    List<T> sorted = entries.stream().sorted(order).toList();
    return sorted.size() > MAX_ENTRIES
        ? sorted.subList(sorted.size() - MAX_ENTRIES, sorted.size())
        : sorted;
  }

  /**
   * A builder of the report of {@code pipeline} from {@code from} to {@code to}.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code from} is after {@code to}
   */
  public static Builder builder(String pipeline, Instant from, Instant to) {
    return new Builder(pipeline, from, to);
  }

  /** The pipeline's name, cut to 200 characters. */
  public String pipeline() {
    return pipeline;
  }

  /** The start of the period. */
  public Instant from() {
    return from;
  }

  /** The end of the period. */
  public Instant to() {
    return to;
  }

  /** When the report was made. */
  public Instant generatedAt() {
    return generatedAt;
  }

  /** The scores, by window end then stage. */
  public List<QualityScores> scores() {
    return scores;
  }

  /** The drift results, by window end then stage. */
  public List<WindowDrift> drift() {
    return drift;
  }

  /** The rules' failures, highest failure rate first. */
  public List<RuleFailure> ruleFailures() {
    return rules;
  }

  /** The anomalies, oldest first. */
  public List<Anomaly> anomalies() {
    return anomalies;
  }

  /** How many example records are shown per rule. */
  public int examplesPerRule() {
    return examplesPerRule;
  }

  /**
   * What a person should look at first, most urgent first, as plain sentences: rules failing a
   * share of a stage's output (with the source most of it comes from), drifted fields, anomalies
   * and the lowest scores.
   */
  public List<String> insights() {
    return Insights.of(this);
  }

  /** The report as Markdown: headings, lists and tables, every outside text escaped. */
  @Override
  public String toMarkdown() {
    return MarkdownReport.render(this);
  }

  /**
   * The report as one self-contained HTML file: inline CSS and SVG plots, no script and no outside
   * resource (a Content-Security-Policy says so to the browser too), every value escaped.
   */
  @Override
  public String toHtml() {
    return HtmlReport.render(this);
  }

  /** Configures a {@link QualityReport}. Not thread-safe. */
  public static final class Builder {
    private final String pipeline;
    private final Instant from;
    private final Instant to;
    private @Nullable Instant generatedAt;
    private final List<QualityScores> scores = new ArrayList<>();
    private final List<WindowDrift> drift = new ArrayList<>();
    private final List<RuleFailure> rules = new ArrayList<>();
    private final List<Anomaly> anomalies = new ArrayList<>();
    private int examplesPerRule = 5;

    private Builder(String pipeline, Instant from, Instant to) {
      Objects.requireNonNull(pipeline, "pipeline cannot be null");
      Objects.requireNonNull(from, "from cannot be null");
      Objects.requireNonNull(to, "to cannot be null");
      if (from.isAfter(to)) {
        throw new IllegalArgumentException(
            "the period's start " + from + " is after its end " + to);
      }
      this.pipeline = Text.cut(pipeline, Text.MAX_NAME_CHARS);
      this.from = from;
      this.to = to;
    }

    /** When the report was made; the end of the period unless set. */
    public Builder generatedAt(Instant at) {
      this.generatedAt = Objects.requireNonNull(at, "at cannot be null");
      return this;
    }

    /** Adds scores of stages and windows. */
    public Builder scores(Collection<QualityScores> entries) {
      return addAll(scores, entries, "scores", Names::of);
    }

    /** Adds drift results, e.g. {@code DriftMonitor.results()}. */
    public Builder drift(Collection<WindowDrift> entries) {
      return addAll(drift, entries, "drift", Names::of);
    }

    /** Adds rules' failures. */
    public Builder ruleFailures(Collection<RuleFailure> entries) {
      return addAll(rules, entries, "ruleFailures", f -> f); // cut when made
    }

    /** Adds anomalies, e.g. {@code AnomalyDetector.anomalies()}. */
    public Builder anomalies(Collection<Anomaly> entries) {
      return addAll(anomalies, entries, "anomalies", Names::of);
    }

    private <T> Builder addAll(
        List<T> into, Collection<T> entries, String what, UnaryOperator<T> named) {
      Objects.requireNonNull(entries, what + " cannot be null");
      for (T entry : entries) {
        into.add(named.apply(Objects.requireNonNull(entry, what + " cannot hold null")));
      }
      return this;
    }

    /**
     * How many example records to show per rule; 5 unless set.
     *
     * @throws IllegalArgumentException if outside [0, {@value RuleFailure#MAX_EXAMPLES}]
     */
    public Builder examplesPerRule(int examples) {
      if (examples < 0 || examples > RuleFailure.MAX_EXAMPLES) {
        throw new IllegalArgumentException(
            "examplesPerRule must be in [0, " + RuleFailure.MAX_EXAMPLES + "], got " + examples);
      }
      this.examplesPerRule = examples;
      return this;
    }

    /** The report. */
    public QualityReport build() {
      return new QualityReport(this);
    }
  }
}
