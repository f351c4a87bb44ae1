package dev.pipeline.quality;

import dev.pipeline.Alert;
import dev.pipeline.AlertListener;
import dev.pipeline.Envelope;
import dev.pipeline.PipelineClock;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.ReferenceData;
import dev.pipeline.SafeText;
import dev.pipeline.Stage;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.StageOptions;
import dev.pipeline.metrics.WindowScorer;
import dev.pipeline.quality.report.ExampleRecord;
import dev.pipeline.quality.report.RuleFailure;
import dev.pipeline.quality.score.Dimension;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks records against data quality {@link Rule}s between two stages: a pass-through stage that
 * sends each record on, filters it, tags it or dead-letters it by the rules it fails, and closes
 * (holding records) when too many fail a {@link Action#CLOSE_GATE} rule.
 *
 * <pre>{@code
 * QualityGate<TranslatedListing> gate = QualityGate.of(TranslatedListing.class)
 *     .rule(Rule.notNull("title", "title"))
 *     .rule(Rule.range("sentiment", "analyzed.sentiment", "[-1, 1]"))
 *     .rule(Rule.expression("has-words", "size(title) >= 3").action(Action.TAG))
 *     .table(RuleTable.on(dataSource).build(), "listings", StageName.VALIDATION)
 *     .build();
 * builder.stage(StageName.of("quality"), gate, gate.options());
 * }</pre>
 *
 * <p>Rules are compiled when the gate is built: a rule on a field the type lacks, or with a
 * malformed or hostile expression, fails {@link Builder#build()} with {@link InvalidRuleException}.
 * Besides its rules the gate checks the record's shape (schema compliance): a null in a record
 * component not marked {@code @Nullable}, a missing required key of a map payload; such a record is
 * dead-lettered as failing rule {@value #SCHEMA_RULE}.
 *
 * <p>With a {@link RuleTable}, the rules of code are registered in {@code validation_rules} at
 * build, and the table is polled (every {@link Builder#pollEvery} on the pipeline's clock, by the
 * worker that finds the poll due): a rule changed there takes effect at the next poll, in every
 * worker; a changed rule that does not compile is refused (logged, alerted) and its previous
 * version kept.
 *
 * <p>The gate judges each rule per window (a time or a number of records, whichever ends first): a
 * rule whose pass share in a window falls below its {@link Rule#mostly() mostly} raises an alert
 * ({@link Alert.Kind#QUALITY_RULE_FAILED}) unless its severity is INFO, and a CLOSE_GATE rule
 * closes the gate ({@link Alert.Kind#QUALITY_GATE_CLOSED}). A closed gate holds records: the
 * stage's circuit, which {@link #options()} installs, is open, so the engine parks records in the
 * store's retry queue with {@link Fallback#hold()}. After {@link Builder#reopenAfter} the gate goes
 * on trial and lets records through; a trial window that passes reopens it, one that fails closes
 * it again. An operator reopens it at once with {@link #reopen(String)}.
 *
 * <p>Thread-safe: one gate serves every worker of its stage. Use one gate per stage.
 *
 * @param <T> the type of the records checked
 */
public final class QualityGate<T> implements Stage<T, T> {
  /** The metadata key a tagged record's violations are kept under. */
  public static final String VIOLATIONS_KEY = "quality.violations";

  /** The name violations of the schema check are counted and reported under. */
  public static final String SCHEMA_RULE = "schema";

  /** The longest value kept under {@link #VIOLATIONS_KEY}. */
  public static final int MAX_TAG_CHARS = 1_000;

  /** The longest text of an example record kept for reports. */
  static final int EXAMPLE_CHARS = 500;

  private static final Logger LOG = LoggerFactory.getLogger(QualityGate.class);
  private static final int COMPLETENESS = GateScores.bit(Dimension.COMPLETENESS);
  private static final int VALIDITY = GateScores.bit(Dimension.VALIDITY);

  /** The states of a gate. */
  public enum State {
    /** Records pass (each still checked). */
    OPEN,
    /** Records are held until the gate reopens. */
    CLOSED,
    /** Records pass on trial: a window that passes reopens the gate, one that fails closes it. */
    TRIAL
  }

  /** A state and when it began. */
  private record Status(State state, Instant since, String reason) {}

  private final Class<T> type;
  private final Map<String, ReferenceData<?, ?>> references;
  private final @Nullable SchemaCheck schema;
  private final @Nullable JsonSchemaCheck jsonSchema;
  private final Duration window;
  private final long windowRecords;
  private final long minRecords;
  private final Duration reopenAfter;
  private final Duration holdFor;
  private final AlertListener alerts;
  private final @Nullable RuleReloader reloader;
  private final String pipelineName;
  private final String stageName;
  private final GateCircuit circuit = new GateCircuit(this);
  private final GateScores scores = new GateScores();
  private final GateHistory history = new GateHistory();
  private volatile @Nullable String stageSeen;

  private final ReentrantLock lock = new ReentrantLock();

  private volatile RuleSet rules;
  private volatile Status status;
  private volatile GateWindow current;
  private volatile PipelineClock clock;
  private final Map<String, VolumeWindow> volumes = new ConcurrentHashMap<>();

  private final LongAdder records = new LongAdder();
  private final LongAdder tagged = new LongAdder();
  private final LongAdder filtered = new LongAdder();
  private final LongAdder deadLettered = new LongAdder();
  private final Map<String, LongAdder> failures = new ConcurrentHashMap<>();

  private QualityGate(Builder<T> b) {
    this.type = b.type;
    this.references = Map.copyOf(b.references);
    SchemaCheck shape = SchemaCheck.of(b.type, b.requiredKeys);
    this.schema = b.schemaCheck && !shape.isEmpty() ? shape : null;
    this.jsonSchema = b.jsonSchema == null ? null : jsonSchema(b.type, b.jsonSchema);
    this.window = b.window;
    this.windowRecords = b.windowRecords;
    this.minRecords = b.minRecords;
    this.reopenAfter = b.reopenAfter;
    this.holdFor = b.holdFor;
    this.alerts = b.alerts;
    this.pipelineName = b.pipeline == null ? "" : b.pipeline;
    this.stageName = b.stage == null ? "" : b.stage.value();
    this.clock = b.clock;
    Instant now = clock.now();
    this.status = new Status(State.OPEN, now, "built");
    this.current = new GateWindow(now);
    CheckResources resources = new CheckResources(references, b.seenKeys);
    if (b.table == null) {
      this.reloader = null;
      this.rules = RuleSet.compile(b.rules, Map.of(), type, resources);
    } else {
      this.reloader =
          new RuleReloader(
              b.table,
              pipelineName,
              stageName,
              b.pollEvery,
              type,
              resources,
              (message, at) -> alert(Alert.Kind.QUALITY_RULE_FAILED, message, at));
      this.rules = reloader.register(b.rules, now);
    }
  }

  private static JsonSchemaCheck jsonSchema(Class<?> type, String text) {
    if (!Map.class.isAssignableFrom(type)
        && !com.fasterxml.jackson.databind.JsonNode.class.isAssignableFrom(type)) {
      throw new InvalidRuleException(
          SCHEMA_RULE,
          "a JSON Schema checks map or JSON-tree payloads, not "
              + type.getName()
              + "; record and bean payloads are checked by their rules and shape");
    }
    try {
      return JsonSchemaCheck.compile(text);
    } catch (IllegalArgumentException e) {
      throw new InvalidRuleException(
          SCHEMA_RULE, e.getMessage() + "; fix the schema given to jsonSchema(...)");
    }
  }

  /**
   * Starts a gate for records of {@code type}: a record class, a bean, or {@code Map.class} for
   * JSON-like trees (whose field paths are then resolved on each record).
   *
   * @throws NullPointerException if {@code type} is null
   */
  public static <T> Builder<T> of(Class<T> type) {
    return new Builder<>(Objects.requireNonNull(type, "type cannot be null"));
  }

  /**
   * The options the gate's stage needs: its circuit (the gate, seen by the engine, so that a closed
   * gate holds records), {@link Fallback#hold()}, its scorer (so that each window of the metrics
   * history holds the gate's quality scores, see {@link #scorer()}), and the reference data of its
   * REFERENCE rules. Pass it to {@code PipelineBuilder.stage(name, gate, gate.options())}. The
   * stage's own shape check is turned off: the gate's schema check ({@link
   * Builder#schemaCheck(boolean)}), which walks nested records and counts in the scores, takes its
   * place.
   */
  public Consumer<StageOptions.Builder> options() {
    return options -> {
      options
          .circuitBreaker(circuit)
          .fallback(Fallback.hold())
          .qualityScorer(scores)
          .shapeCheck(false);
      for (ReferenceData<?, ?> data : references.values()) {
        options.referenceData(data);
      }
    };
  }

  /**
   * The gate's quality scores per metrics window, for stage options set by hand (see {@link
   * #options()}): per record, each dimension its rules measure (not null and the record's shape:
   * completeness; cross-field: consistency; unique: uniqueness; freshness: timeliness; the others:
   * validity) counts as checked, and as failed if one of the dimension's rules failed.
   */
  public WindowScorer scorer() {
    return scores;
  }

  /** The gate as a circuit breaker, for stage options set by hand (see {@link #options()}). */
  public CircuitBreaker circuit() {
    return circuit;
  }

  @Override
  public T process(T input, StageContext context) {
    Instant now = context.now();
    RuleReloader r = reloader;
    if (r != null && r.due(now)) {
      r.poll(this::ruleSet, this::swap, now);
    }
    if (stageSeen == null) {
      stageSeen = context.stage().value();
    }
    RuleSet set = rules;
    GateWindow w = window(now, context);
    w.records.increment();
    records.increment();
    List<Violation> violations = null;
    int checkedMask = set.dimensions();
    int failedMask = 0;
    if (schema != null) {
      checkedMask |= COMPLETENESS;
      String missing = schema.test(input);
      if (missing != null) {
        violations = new ArrayList<>(2);
        violations.add(new Violation(SCHEMA_RULE, Action.DEAD_LETTER, Severity.ERROR, missing));
        count(w, SCHEMA_RULE, missing, context, input);
        failedMask = COMPLETENESS;
      }
    }
    if (jsonSchema != null) {
      checkedMask |= VALIDITY;
      String wrong = jsonSchema.test(input);
      if (wrong != null) {
        if (violations == null) {
          violations = new ArrayList<>(2);
        }
        violations.add(new Violation(SCHEMA_RULE, Action.DEAD_LETTER, Severity.ERROR, wrong));
        count(w, SCHEMA_RULE, wrong, context, input);
        failedMask |= VALIDITY;
      }
    }
    for (RuleSet.Compiled c : set.perRecord()) {
      String message = c.check().test(input, context);
      if (message != null) {
        Rule rule = c.rule();
        if (violations == null) {
          violations = new ArrayList<>(2);
        }
        violations.add(new Violation(rule.name(), rule.action(), rule.severity(), message));
        count(w, rule.name(), message, context, input);
        failedMask |= GateScores.bit(GateScores.dimension(rule.type()));
      }
    }
    scores.count(checkedMask, failedMask);
    if (!set.volume().isEmpty()) {
      countVolume(set, now, context);
    }
    if (violations == null) {
      return input;
    }
    return verdict(input, context, violations);
  }

  private T verdict(T input, StageContext context, List<Violation> violations) {
    Action strongest = Action.TAG;
    for (Violation v : violations) {
      if (v.action().ordinal() < strongest.ordinal()) {
        strongest = v.action();
      }
    }
    switch (strongest) {
      case DEAD_LETTER -> {
        deadLettered.increment();
        throw new QualityViolationException(
            context.stage().value(), context.recordId(), violations);
      }
      case FILTER -> {
        filtered.increment();
        throw RecordFilteredException.because(
            QualityText.bounded("quality: " + join(violations), MAX_TAG_CHARS));
      }
      default -> {
        tagged.increment();
        context.putMetadata(VIOLATIONS_KEY, QualityText.bounded(join(violations), MAX_TAG_CHARS));
        return input;
      }
    }
  }

  private static String join(List<Violation> violations) {
    StringBuilder text = new StringBuilder();
    for (Violation v : violations) {
      if (!text.isEmpty()) {
        text.append("; ");
      }
      text.append(v);
    }
    return text.toString();
  }

  private void count(
      GateWindow w, String rule, String message, StageContext context, Object input) {
    String source = context.metadata().getOrDefault(Envelope.SOURCE_ID, "(unknown source)");
    w.failed(
        rule,
        source,
        () ->
            new ExampleRecord(
                context.recordId(),
                source,
                QualityText.bounded(message + " | record: " + describe(input), EXAMPLE_CHARS)));
    failures.computeIfAbsent(rule, r -> new LongAdder()).increment();
  }

  private static String describe(Object input) {
    try {
      return String.valueOf(input);
    } catch (RuntimeException e) {
      return "(its toString() failed: " + e.getClass().getSimpleName() + ")";
    }
  }

  /**
   * Wraps {@code stage} so that its output is checked by this gate as it leaves it: the verdict
   * (filter, dead letter) is then given at the stage that made the record.
   *
   * @throws NullPointerException if {@code stage} is null
   */
  public <I> Stage<I, T> checking(Stage<I, ? extends T> stage) {
    Objects.requireNonNull(stage, "stage cannot be null");
    return (input, context) -> process(stage.process(input, context), context);
  }

  /** The gate's state now (a closed gate past its reopen time reads as on trial). */
  public State state() {
    Status s = status;
    if (s.state() == State.CLOSED && !clock.now().isBefore(s.since().plus(reopenAfter))) {
      lock.lock();
      try {
        if (status == s) {
          Instant now = clock.now();
          status = new Status(State.TRIAL, now, "on trial after " + reopenAfter);
          rotate(now);
        }
      } finally {
        lock.unlock();
      }
      return status.state();
    }
    return s.state();
  }

  /**
   * How long a record held now waits before it is offered again: until the trial, or {@link
   * Builder#holdFor} if that is sooner (so that records come back soon after an operator reopens
   * the gate); zero unless closed.
   */
  Duration remainingClosed() {
    Status s = status;
    if (s.state() != State.CLOSED) {
      return Duration.ZERO;
    }
    Duration left = Duration.between(clock.now(), s.since().plus(reopenAfter));
    if (left.isNegative()) {
      return Duration.ZERO;
    }
    return left.compareTo(holdFor) < 0 ? left : holdFor;
  }

  /**
   * Reopens the gate at once (an operator's decision), whatever its windows said.
   *
   * @param operator who reopens it, kept in the alert
   */
  public void reopen(String operator) {
    Objects.requireNonNull(operator, "operator cannot be null");
    Instant now = clock.now();
    lock.lock();
    try {
      status = new Status(State.OPEN, now, "reopened by " + operator);
      rotate(now);
    } finally {
      lock.unlock();
    }
    alert(
        Alert.Kind.QUALITY_GATE_REOPENED,
        "the quality gate of stage '"
            + stageLabel()
            + "' was reopened by "
            + QualityText.bounded(operator, 80)
            + "; records pass again",
        now);
  }

  /** The rules checked now, the table's changes included. */
  public List<Rule> rules() {
    List<Rule> all = new ArrayList<>();
    for (RuleSet.Compiled c : rules.byName().values()) {
      all.add(c.rule());
    }
    return all;
  }

  /** What the gate has seen since it was built. */
  public GateCounts counts() {
    Map<String, Long> byRule = new LinkedHashMap<>();
    failures.forEach((rule, n) -> byRule.put(rule, n.sum()));
    return new GateCounts(records.sum(), tagged.sum(), filtered.sum(), deadLettered.sum(), byRule);
  }

  /**
   * Reads the rule table now instead of at the next poll.
   *
   * @throws IllegalStateException if the gate has no table
   */
  public void refresh() {
    RuleReloader r = reloader;
    if (r == null) {
      throw new IllegalStateException("the gate has no rule table; give it one with table(...)");
    }
    r.refresh(this::ruleSet, this::swap, clock.now());
  }

  private RuleSet ruleSet() {
    return rules;
  }

  private void swap(RuleSet set) {
    rules = set;
  }

  void bindClock(PipelineClock bound) {
    this.clock = bound;
  }

  /** The window a record at {@code now} counts in, ending (and judging) the current one if due. */
  private GateWindow window(Instant now, StageContext context) {
    GateWindow w = current;
    if (now.isBefore(w.start.plus(window)) && w.records.sum() < windowRecords) {
      return w;
    }
    lock.lock();
    try {
      if (current == w) {
        judge(w, now, context);
        rotate(now);
      }
      return current;
    } finally {
      lock.unlock();
    }
  }

  /** Keeps the current window for reports and opens the next. Under lock. */
  private void rotate(Instant now) {
    history.add(current.summary(now));
    current = new GateWindow(now);
  }

  /**
   * Each rule's failures in the gate's windows that overlap [from, to) (the open window included),
   * with the sources of the failing records and up to {@value GateWindow#EXAMPLES} examples per
   * rule and window: what a {@link dev.pipeline.quality.report.QualityReport} shows. The gate keeps
   * its latest {@value GateHistory#MAX_PERIODS} windows.
   *
   * @throws IllegalArgumentException if {@code from} is after {@code to}
   */
  public List<RuleFailure> ruleFailures(Instant from, Instant to) {
    Objects.requireNonNull(from, "from cannot be null");
    Objects.requireNonNull(to, "to cannot be null");
    if (from.isAfter(to)) {
      throw new IllegalArgumentException("the period's start " + from + " is after its end " + to);
    }
    List<String> names = new ArrayList<>();
    for (RuleSet.Compiled c : rules.perRecord()) {
      names.add(c.rule().name());
    }
    return history.failures(stage(), names, from, to, current.summary(clock.now()));
  }

  /** The gate's stage: as given to {@link Builder#table}, or as first seen; empty before either. */
  public String stage() {
    String seen = stageSeen;
    return !stageName.isEmpty() ? stageName : seen == null ? "" : seen;
  }

  /** Judges an ended window: alerts for failing rules, and the gate's next state. Under lock. */
  private void judge(GateWindow w, Instant now, StageContext context) {
    long n = w.records.sum();
    if (n < minRecords) {
      return;
    }
    StringBuilder closing = null;
    for (RuleSet.Compiled c : rules.perRecord()) {
      Rule rule = c.rule();
      long failed = w.failures(rule.name());
      double passShare = 1.0 - (double) failed / n;
      if (failed == 0 || passShare >= rule.mostly()) {
        continue;
      }
      String finding =
          String.format(
              java.util.Locale.ROOT,
              "rule '%s' failed %.1f %% of %,d records at stage '%s' since %s (mostly %.3f"
                  + " allows %.1f %%); severity %s; e.g. %s",
              rule.name(),
              100.0 * failed / n,
              n,
              context.stage().value(),
              w.start,
              rule.mostly(),
              100.0 * (1 - rule.mostly()),
              rule.severity(),
              QualityText.bounded(w.example(rule.name()), 200));
      if (rule.severity() != Severity.INFO) {
        alert(Alert.Kind.QUALITY_RULE_FAILED, finding, now, context);
      }
      if (rule.action() == Action.CLOSE_GATE) {
        closing = closing == null ? new StringBuilder(finding) : closing;
      }
    }
    Status s = status;
    if (closing != null && s.state() != State.CLOSED) {
      close(closing.toString(), now, context);
    } else if (closing == null && s.state() == State.TRIAL) {
      status = new Status(State.OPEN, now, "trial window passed");
      alert(
          Alert.Kind.QUALITY_GATE_REOPENED,
          "the quality gate of stage '"
              + context.stage().value()
              + "' reopened: a trial window of "
              + n
              + " records passed its rules",
          now,
          context);
    }
  }

  private void close(String why, Instant now, StageContext context) {
    status = new Status(State.CLOSED, now, why);
    alert(
        Alert.Kind.QUALITY_GATE_CLOSED,
        "the quality gate of stage '"
            + context.stage().value()
            + "' closed and holds records for "
            + reopenAfter
            + ", then lets a trial window through (or call reopen(operator)): "
            + why,
        now,
        context);
  }

  /** The count of records per window of each VOLUME rule. */
  private static final class VolumeWindow {
    final Instant start;
    final LongAdder count = new LongAdder();

    VolumeWindow(Instant start) {
      this.start = start;
    }
  }

  private void countVolume(RuleSet set, Instant now, StageContext context) {
    for (RuleSet.Compiled c : set.volume()) {
      VolumeWindow v = volumes.computeIfAbsent(c.rule().name(), n -> new VolumeWindow(now));
      if (!now.isBefore(v.start.plus(c.window()))) {
        lock.lock();
        try {
          if (volumes.get(c.rule().name()) == v) {
            judgeVolume(c, v, now, context);
            volumes.put(c.rule().name(), new VolumeWindow(now));
          }
        } finally {
          lock.unlock();
        }
        v = volumes.get(c.rule().name());
      }
      v.count.increment();
    }
  }

  private void judgeVolume(RuleSet.Compiled c, VolumeWindow v, Instant now, StageContext context) {
    Interval allowed = Interval.parse(c.rule().expression());
    long n = v.count.sum();
    if (allowed.contains(n)) {
      return;
    }
    String finding =
        "rule '"
            + c.rule().name()
            + "': "
            + n
            + " records reached stage '"
            + context.stage().value()
            + "' in the "
            + c.window()
            + " since "
            + v.start
            + ", not in "
            + allowed
            + "; severity "
            + c.rule().severity();
    failures.computeIfAbsent(c.rule().name(), r -> new LongAdder()).increment();
    if (c.rule().severity() != Severity.INFO) {
      alert(Alert.Kind.QUALITY_RULE_FAILED, finding, now, context);
    }
    if (c.rule().action() == Action.CLOSE_GATE && status.state() != State.CLOSED) {
      close(finding, now, context);
    }
  }

  private String stageLabel() {
    return stageName.isEmpty() ? "(unnamed)" : stageName;
  }

  private void alert(Alert.Kind kind, String message, Instant at, StageContext context) {
    send(new Alert(kind, context.pipeline(), context.stage().value(), null, message, at));
  }

  private void alert(Alert.Kind kind, String message, Instant at) {
    send(new Alert(kind, pipelineName, stageLabel(), null, message, at));
  }

  private void send(Alert alert) {
    try {
      alerts.onAlert(alert);
    } catch (RuntimeException e) {
      LOG.warn("an alert listener failed on a quality alert: {}", SafeText.describe(e));
    }
  }

  /**
   * Configures a {@link QualityGate}. Not thread-safe.
   *
   * @param <T> the type of the records checked
   */
  public static final class Builder<T> {
    /** The longest window. */
    public static final Duration MAX_WINDOW = Duration.ofDays(1);

    /** The most records a window may count. */
    public static final long MAX_WINDOW_RECORDS = 1_000_000_000L;

    private final Class<T> type;
    private final List<Rule> rules = new ArrayList<>();
    private final Map<String, ReferenceData<?, ?>> references = new LinkedHashMap<>();
    private final List<String> requiredKeys = new ArrayList<>();
    private boolean schemaCheck = true;
    private Duration window = Duration.ofMinutes(1);
    private long windowRecords = 1_000;
    private long minRecords = 20;
    private Duration reopenAfter = Duration.ofMinutes(1);
    private Duration holdFor = Duration.ofSeconds(5);
    private AlertListener alerts = AlertListener.logging();
    private PipelineClock clock = PipelineClock.system();
    private @Nullable RuleTable table;
    private @Nullable SeenKeys seenKeys;
    private @Nullable String jsonSchema;
    private @Nullable String pipeline;
    private @Nullable StageName stage;
    private Duration pollEvery = Duration.ofSeconds(5);

    private Builder(Class<T> type) {
      this.type = type;
    }

    /**
     * Adds a rule.
     *
     * @throws NullPointerException if {@code rule} is null
     * @throws IllegalArgumentException if a rule of that name was added already
     */
    public Builder<T> rule(Rule rule) {
      Objects.requireNonNull(rule, "rule cannot be null");
      for (Rule r : rules) {
        if (r.name().equals(rule.name())) {
          throw new IllegalArgumentException(
              "rule '" + rule.name() + "' is added twice; give the second its own name");
        }
      }
      rules.add(rule);
      return this;
    }

    /**
     * Gives REFERENCE rules reference data, by its name; {@link #options()} declares it on the
     * gate's stage.
     */
    public Builder<T> reference(ReferenceData<?, ?> data) {
      Objects.requireNonNull(data, "data cannot be null");
      references.put(data.name(), data);
      return this;
    }

    /** Keys a map payload must hold (not null), checked with the record's shape. */
    public Builder<T> requiredKeys(String... keys) {
      for (String key : keys) {
        requiredKeys.add(Objects.requireNonNull(key, "key cannot be null"));
      }
      return this;
    }

    /**
     * A JSON Schema (draft 2020-12, at most 100,000 characters) that map or JSON-tree payloads must
     * match, checked with the record's shape: a record that does not is dead-lettered as failing
     * rule {@value #SCHEMA_RULE}, naming its first errors. No remote schema is fetched, and its
     * patterns run on RE2/J.
     *
     * @throws NullPointerException if {@code schema} is null
     */
    public Builder<T> jsonSchema(String schema) {
      this.jsonSchema = Objects.requireNonNull(schema, "schema cannot be null");
      return this;
    }

    /** Whether the record's shape is checked (on unless turned off). */
    public Builder<T> schemaCheck(boolean on) {
      this.schemaCheck = on;
      return this;
    }

    /**
     * How long a window lasts at most, and how many records it counts at most; one minute and 1,000
     * records unless set.
     *
     * @throws IllegalArgumentException if the duration is not in (0, 1 day] or records not in [1,
     *     1,000,000,000]
     */
    public Builder<T> window(Duration length, long records) {
      Objects.requireNonNull(length, "length cannot be null");
      if (length.isNegative() || length.isZero() || length.compareTo(MAX_WINDOW) > 0) {
        throw new IllegalArgumentException(
            "window must be in (0, " + MAX_WINDOW + "], was " + length);
      }
      if (records < 1 || records > MAX_WINDOW_RECORDS) {
        throw new IllegalArgumentException(
            "window records must be in [1, " + MAX_WINDOW_RECORDS + "], was " + records);
      }
      this.window = length;
      this.windowRecords = records;
      return this;
    }

    /**
     * The fewest records a window must count to be judged (fewer say too little); 20 unless set.
     *
     * @throws IllegalArgumentException if not in [1, 1,000,000,000]
     */
    public Builder<T> minRecords(long records) {
      if (records < 1 || records > MAX_WINDOW_RECORDS) {
        throw new IllegalArgumentException(
            "minRecords must be in [1, " + MAX_WINDOW_RECORDS + "], was " + records);
      }
      this.minRecords = records;
      return this;
    }

    /**
     * How long a closed gate holds records before its trial window; one minute unless set.
     *
     * @throws IllegalArgumentException if not in (0, 1 day]
     */
    public Builder<T> reopenAfter(Duration wait) {
      Objects.requireNonNull(wait, "wait cannot be null");
      if (wait.isNegative() || wait.isZero() || wait.compareTo(MAX_WINDOW) > 0) {
        throw new IllegalArgumentException(
            "reopenAfter must be in (0, " + MAX_WINDOW + "], was " + wait);
      }
      this.reopenAfter = wait;
      return this;
    }

    /**
     * How long a record held by the closed gate waits in the retry queue before it is offered again
     * (and held again if the gate is still closed); five seconds unless set. Shorter brings records
     * back sooner after {@link QualityGate#reopen(String)}, at the cost of more parking.
     *
     * @throws IllegalArgumentException if not in [100 ms, 1 day]
     */
    public Builder<T> holdFor(Duration wait) {
      Objects.requireNonNull(wait, "wait cannot be null");
      if (wait.compareTo(Duration.ofMillis(100)) < 0 || wait.compareTo(MAX_WINDOW) > 0) {
        throw new IllegalArgumentException(
            "holdFor must be in [PT0.1S, " + MAX_WINDOW + "], was " + wait);
      }
      this.holdFor = wait;
      return this;
    }

    /** Where the gate's alerts go; {@link AlertListener#logging()} unless set. */
    public Builder<T> alerts(AlertListener listener) {
      this.alerts = Objects.requireNonNull(listener, "listener cannot be null");
      return this;
    }

    /**
     * The clock the gate reads before the pipeline binds it (its state, the table's polls); the
     * pipeline's own clock replaces it when the gate's stage is built with {@link #options()}.
     */
    public Builder<T> clock(PipelineClock clock) {
      this.clock = Objects.requireNonNull(clock, "clock cannot be null");
      return this;
    }

    /**
     * Keeps the gate's rules in {@code validation_rules}: the rules of code are registered there at
     * {@link #build()}, and the table's rules of this pipeline and stage are checked, reloaded when
     * they change.
     *
     * @throws NullPointerException if an argument is null
     */
    public Builder<T> table(RuleTable table, String pipeline, StageName stage) {
      this.table = Objects.requireNonNull(table, "table cannot be null");
      this.pipeline = Objects.requireNonNull(pipeline, "pipeline cannot be null");
      this.stage = Objects.requireNonNull(stage, "stage cannot be null");
      return this;
    }

    /**
     * The store's seen keys, for UNIQUE rules with parameter {@code scope=store}: a key any record
     * had before, in this run or an earlier one, is a duplicate.
     *
     * @throws NullPointerException if {@code keys} is null
     */
    public Builder<T> seenKeys(SeenKeys keys) {
      this.seenKeys = Objects.requireNonNull(keys, "keys cannot be null");
      return this;
    }

    /**
     * How often the table is read for changes; five seconds unless set.
     *
     * @throws IllegalArgumentException if not in [100 ms, 1 day]
     */
    public Builder<T> pollEvery(Duration interval) {
      Objects.requireNonNull(interval, "interval cannot be null");
      if (interval.compareTo(Duration.ofMillis(100)) < 0 || interval.compareTo(MAX_WINDOW) > 0) {
        throw new IllegalArgumentException(
            "pollEvery must be in [PT0.1S, " + MAX_WINDOW + "], was " + interval);
      }
      this.pollEvery = interval;
      return this;
    }

    /**
     * Compiles the rules and builds the gate, registering its rules in the table if it has one.
     *
     * @throws InvalidRuleException if a rule cannot be checked on the type (a missing field, a
     *     malformed or hostile expression), naming the rule, the type and the fix
     * @throws IllegalStateException if the table cannot be read or written
     */
    public QualityGate<T> build() {
      return new QualityGate<>(this);
    }
  }
}
