package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.StageOptions;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.MalformedListingException;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.resilience.TokenBucket;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Target 5: the cost of resilience. The real-work pipeline of {@link RealWorkScenario} (the
 * listings example's eight stages, the same lines, the same concurrency, batch size and queues),
 * run bare and with every one of its eight stages wrapped in a retry policy, a circuit breaker and
 * a token bucket, all permissive (they never retry, open or wait on these lines): the wrapped
 * pipeline may take at most 15% longer than the bare one, the two measured in the same round, their
 * order alternating.
 *
 * <p>The policies are those a user would write for a stage calling a remote service:
 *
 * <ul>
 *   <li>retry: exponential from 200 ms up to 5 minutes, jitter 0.5, at most 6 retries, not on the
 *       listings' own verdicts ({@link MalformedListingException}, {@link
 *       ListingRejectedException}), which no retry can change: retrying them would only delay their
 *       dead letters by minutes;
 *   <li>circuit breaker: opens at a failure rate of 50% over at least 20 calls, for 30 seconds, 5
 *       trial calls (the rejected listings count as failures, but stay far below 50%);
 *   <li>token bucket: 10⁹ tokens per second, 10⁹ burst, one token per record.
 * </ul>
 *
 * <p>Each configured breaker and bucket is given to every stage; the pipeline binds a copy per
 * stage, so each stage has its own state, shared by its workers. Both pipelines must end every
 * record the same way, and the wrapped one's circuits must never have changed state.
 */
final class ResilienceScenario implements Scenario {
  static final double GOAL_OVERHEAD = 0.15;

  static final RetryPolicy RETRY =
      RetryPolicy.exponential(Duration.ofMillis(200), Duration.ofMinutes(5))
          .withJitter(0.5)
          .maxRetries(6)
          .abortOn(MalformedListingException.class, ListingRejectedException.class);
  static final CircuitBreaker BREAKER =
      CircuitBreaker.failureRate(0.5).minCalls(20).openFor(Duration.ofSeconds(30)).halfOpenCalls(5);
  static final TokenBucket BUCKET = TokenBucket.perSecond(1e9).burst(1_000_000_000);

  @Override
  public String name() {
    return "resilience";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    int records = settings.realWorkRecords();
    int warmupRecords = Math.max(1, records / 5);
    for (int w = 0; w < settings.warmups(); w++) {
      pipeline(settings, warmupRecords, false);
      pipeline(settings, warmupRecords, true);
    }
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    ListingWork.@Nullable Outcome outcome = null;
    while (rounds.more()) {
      RealWorkScenario.Measured bare;
      RealWorkScenario.Measured wrapped;
      if (rounds.attempts() % 2 == 0) {
        bare = pipeline(settings, records, false);
        wrapped = pipeline(settings, records, true);
      } else {
        wrapped = pipeline(settings, records, true);
        bare = pipeline(settings, records, false);
      }
      if (!bare.outcome().equals(wrapped.outcome())) {
        throw new IllegalStateException(
            "bare and wrapped pipelines disagree on the outcome of the same lines: bare "
                + bare.outcome()
                + ", wrapped "
                + wrapped.outcome());
      }
      outcome = bare.outcome();
      double bareRate = records / (bare.nanos() / 1e9);
      double wrappedRate = records / (wrapped.nanos() / 1e9);
      double overhead = (double) wrapped.nanos() / bare.nanos() - 1;
      String label = rounds.label();
      String note =
          rounds.add(
              bare.cpu().disturbed() || wrapped.cpu().disturbed(),
              bareRate,
              wrappedRate,
              overhead * 100);
      log.printf(
          Locale.ROOT,
          "resilience round %s: bare %.0f records/s on %s, wrapped %.0f records/s on %s -> %+.1f%%%s%n",
          label,
          bareRate,
          bare.cpu(),
          wrappedRate,
          wrapped.cpu(),
          overhead * 100,
          note);
    }
    log.println("resilience: every round, bare and wrapped: " + outcome);
    Samples overheads = rounds.samples(2);
    return List.of(
        new Row(
            "5. resilience: listings example, 8 stages each with retry + circuit breaker + token"
                + " bucket (permissive), "
                + Targets.count(records)
                + " records (concurrency "
                + settings.realWorkConcurrency()
                + ", batch "
                + settings.realWorkBatch()
                + ", queues "
                + (settings.realWorkQueue() == 0 ? "default" : settings.realWorkQueue())
                + ")",
            "wrapped " + rounds.samples(1).format("%,.0f") + " records/s",
            "bare " + rounds.samples(0).format("%,.0f") + " records/s",
            String.format(
                    Locale.ROOT,
                    "overhead %+.1f%% (%+.1f to %+.1f%%)",
                    overheads.median(),
                    overheads.min(),
                    overheads.max())
                + rounds.note(),
            "≤ " + Math.round(GOAL_OVERHEAD * 100) + "%",
            Verdict.of(overheads.median() <= GOAL_OVERHEAD * 100)));
  }

  /** The stage options of the bare pipeline, or the wrapped one's. */
  static Consumer<StageOptions.Builder> options(Settings settings, boolean wrapped) {
    return options -> {
      options.concurrency(settings.realWorkConcurrency()).batchSize(settings.realWorkBatch());
      if (wrapped) {
        options.retry(RETRY).circuitBreaker(BREAKER).rateLimit(BUCKET);
      }
    };
  }

  private static RealWorkScenario.Measured pipeline(
      Settings settings, int records, boolean wrapped) {
    RollingIndex index = new RollingIndex();
    LongAdder published = new LongAdder();
    AlertCount alerts = new AlertCount();
    try (Pipeline<String, IndexedListing> pipeline =
        ListingWork.pipeline(
            index, options(settings, wrapped), settings.realWorkQueue(), published, alerts)) {
      Scenario.settle();
      CpuMeter cpu = CpuMeter.start();
      long start = System.nanoTime();
      RunResult result = pipeline.run(Source.of("listings", ListingWork.lines(records)));
      long took = System.nanoTime() - start;
      CpuMeter.Usage used = cpu.stop();
      Targets.requireComplete(result, records);
      long retries = result.metrics().stages().stream().mapToLong(StageMetrics::retries).sum();
      if (retries != 0 || result.parked() != 0 || alerts.circuitChanges() != 0) {
        throw new IllegalStateException(
            "the resilience policies were not permissive: "
                + retries
                + " retries, "
                + result.parked()
                + " records parked, "
                + alerts.circuitChanges()
                + " circuit changes\n"
                + result.summary());
      }
      for (StageName stage : pipeline.stages()) {
        if (!pipeline.circuitTransitions(stage).isEmpty()) {
          throw new IllegalStateException(
              "the circuit of stage '"
                  + stage
                  + "' changed: "
                  + pipeline.circuitTransitions(stage));
        }
      }
      return new RealWorkScenario.Measured(
          took,
          new ListingWork.Outcome(published.sum(), result.filtered(), result.deadLettered()),
          used);
    }
  }
}
