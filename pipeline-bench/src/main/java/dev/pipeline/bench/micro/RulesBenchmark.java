package dev.pipeline.bench.micro;

import dev.pipeline.ReferenceData;
import dev.pipeline.StageName;
import dev.pipeline.examples.listings.Cleaner;
import dev.pipeline.examples.listings.Extractor;
import dev.pipeline.examples.listings.ListingGenerator;
import dev.pipeline.examples.listings.ListingParser;
import dev.pipeline.examples.listings.SentimentAnalyzer;
import dev.pipeline.examples.listings.TranslatedListing;
import dev.pipeline.examples.listings.Translator;
import dev.pipeline.quality.Action;
import dev.pipeline.quality.QualityGate;
import dev.pipeline.quality.Rule;
import dev.pipeline.quality.Severity;
import dev.pipeline.testkit.ManualClock;
import dev.pipeline.testkit.TestStageContext;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * Ten data quality rules of mixed types on the example's validation stage (its input, the bundled
 * data set's translated listings), checked by a {@link QualityGate} on one thread: the target is at
 * least 200,000 records/s per core for the rules alone. The rules are NOT_NULL, LENGTH, RANGE,
 * IN_SET, PATTERN, FORMAT, UNIQUE (over a window, in Caffeine), REFERENCE (through the engine's
 * reference cache), CONSISTENCY and a CEL expression, with the schema check on; each tags the
 * record (the cost of a verdict, not of an exception). {@code rules} is the gate; {@code baseline}
 * reads the record only, for the harness's own cost.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1)
@Threads(1)
@State(Scope.Thread)
public class RulesBenchmark {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  static final ReferenceData<String, String> MAKERS =
      ReferenceData.named("manufacturers").build(key -> key);

  private List<TranslatedListing> listings;
  private QualityGate<TranslatedListing> gate;
  private List<TestStageContext> contexts;
  private int next;
  private long ops;
  private long cpuStart;
  private long measuredOps;
  private long measuredCpuNanos;

  @Setup
  public void setUp() throws IOException {
    listings = translatedListings();
    gate =
        QualityGate.of(TranslatedListing.class)
            .reference(MAKERS)
            .rule(tag(Rule.notNull("title", "title")))
            .rule(tag(Rule.length("title-length", "title", "[3, 300]")))
            .rule(tag(Rule.range("sentiment", "analyzed.sentiment", "[-1, 1]")))
            .rule(
                tag(
                    Rule.inSet(
                        "currency",
                        "analyzed.extracted.price.currency",
                        "EUR",
                        "USD",
                        "GBP",
                        "CHF")))
            .rule(tag(Rule.pattern("id-form", "analyzed.extracted.listing.id", "[a-z0-9-]{1,64}")))
            .rule(tag(Rule.format("source-line", "analyzed.extracted.listing.lineNo", "integer")))
            .rule(tag(Rule.unique("unique-id", "analyzed.extracted.listing.id")))
            .rule(
                tag(
                    Rule.reference(
                        "known-maker", "analyzed.extracted.manufacturer", "manufacturers")))
            .rule(tag(Rule.consistency("described", "title -> description")))
            .rule(
                tag(
                    Rule.expression(
                        "price-sane",
                        "analyzed.extracted.price.cents >= 0 && size(description) < 20000")))
            .build();
    // a context per listing, made once: the manufacturers in the engine's own reference cache
    TestStageContext.Builder context =
        TestStageContext.builder()
            .pipeline("bench")
            .stage(StageName.VALIDATION)
            .clock(ManualClock.startingAt(Instant.parse("2026-12-06T00:00:00Z")))
            .referenceData(MAKERS);
    contexts = new ArrayList<>(listings.size());
    for (TranslatedListing listing : listings) {
      contexts.add(context.recordId(listing.id()).build());
    }
  }

  private static Rule tag(Rule rule) {
    return rule.action(Action.TAG).severity(Severity.INFO);
  }

  /** The validation stage's input: the bundled listings through the example's first five stages. */
  static List<TranslatedListing> translatedListings() throws IOException {
    List<TranslatedListing> all = new ArrayList<>();
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(ListingGenerator.openBundled(), StandardCharsets.UTF_8))) {
      String line;
      long lineNo = 0;
      while ((line = in.readLine()) != null) {
        lineNo++;
        try {
          all.add(
              Translator.translate(
                  SentimentAnalyzer.analyze(
                      Extractor.extract(
                          Cleaner.clean(
                              ListingParser.parse(
                                  ListingGenerator.BUNDLED_SOURCE_ID, lineNo, line))))));
        } catch (RuntimeException malformed) {
          // the example's ingestion dead-letters these; they never reach validation
        }
      }
    }
    return all;
  }

  /** Notes the thread's CPU time as an iteration starts. */
  @Setup(Level.Iteration)
  public void startIteration() {
    ops = 0;
    cpuStart = THREADS.getCurrentThreadCpuTime();
  }

  /**
   * Adds a measured iteration's records and CPU time, so the trial can say records per CPU-second
   * of the benchmark's thread: per core, whatever else the machine runs.
   */
  @TearDown(Level.Iteration)
  public void endIteration(IterationParams iteration) {
    if (iteration.getType() == IterationType.MEASUREMENT) {
      measuredOps += ops;
      measuredCpuNanos += THREADS.getCurrentThreadCpuTime() - cpuStart;
    }
  }

  /** Prints records per CPU-second of the measured iterations. */
  @TearDown(Level.Trial)
  public void report(BenchmarkParams benchmark) {
    System.out.printf(
        Locale.ROOT,
        "%n%s: %,d records in %.2f CPU-seconds of its thread: %,.0f records per CPU-second%n",
        benchmark.getBenchmark(),
        measuredOps,
        measuredCpuNanos / 1e9,
        measuredOps / (measuredCpuNanos / 1e9));
  }

  /** The gate's ten rules on one record. */
  @Benchmark
  public TranslatedListing rules() {
    ops++;
    int i = next;
    next = next + 1 == listings.size() ? 0 : next + 1;
    return gate.process(listings.get(i), contexts.get(i));
  }

  /** The harness alone: picks the record and hands it back. */
  @Benchmark
  public TranslatedListing baseline() {
    ops++;
    int i = next;
    next = next + 1 == listings.size() ? 0 : next + 1;
    contexts.get(i);
    return listings.get(i);
  }
}
