package dev.pipeline.it;

import static dev.pipeline.StageName.ANALYSIS;
import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.TRANSLATION;
import static dev.pipeline.StageName.VALIDATION;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Alert;
import dev.pipeline.DeadLetters;
import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.PipelineClock;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageContext;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.metrics.RetryStats;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.Fallback;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.resilience.TokenBucket;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.Page;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.RecordLedger;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Everything going wrong at once, on each store: 20,000 records; translation fails 30% of its calls
 * transiently; analysis has an outage for a stretch of the pipeline's (manual) clock, during which
 * its circuit opens, half-opens and closes while its records are held; one validation batch holds a
 * poison record; some records fail translation for good; the source is rate-limited.
 */
class ChaosTest {
  private static final int RECORDS = 20_000;
  private static final String POISON = "r4242";
  private static final double RATE = 2_000;
  private static final int BURST = 100;
  private static final Duration OUTAGE = Duration.ofSeconds(1);

  private final SkippingClock clock = new SkippingClock();
  private final AtomicInteger analysisCalls = new AtomicInteger();
  private final AtomicReference<@Nullable Instant> outageStart = new AtomicReference<>();
  private final Map<String, AtomicInteger> delivered = new ConcurrentHashMap<>();
  private final Map<String, Instant> read = new ConcurrentHashMap<>();
  private final Queue<Alert> alerts = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean fixed = new AtomicBoolean();
  private final AtomicInteger outageCalls = new AtomicInteger();
  private final AtomicReference<@Nullable Pipeline<String, String>> built = new AtomicReference<>();
  private final AtomicBoolean heldSeen = new AtomicBoolean();

  @TempDir Path dir;

  /** Real time plus every sleep, skipped. */
  private static final class SkippingClock implements PipelineClock {
    private final Instant start = Instant.parse("2026-01-01T00:00:00Z");
    private final long origin = System.nanoTime();
    private final AtomicLong skipped = new AtomicLong();

    @Override
    public Instant now() {
      return start.plusNanos(nanoTime());
    }

    @Override
    public long nanoTime() {
      return System.nanoTime() - origin + skipped.get();
    }

    @Override
    public void sleep(Duration duration) throws InterruptedException {
      if (Thread.interrupted()) {
        throw new InterruptedException("interrupted before sleeping " + duration);
      }
      skipped.addAndGet(Math.max(0, duration.toNanos()));
    }
  }

  private static boolean permanentlyBad(String id) {
    return Integer.parseInt(id.substring(1)) % 997 == 0;
  }

  /** Whether a translation call fails transiently: 30% of calls, decided by id and attempt. */
  private static boolean flaky(String id, int attempt) {
    if (attempt > 2) {
      return false;
    }
    int h = (id.hashCode() * 31 + attempt) * 0x9E3779B9;
    return Math.floorMod(h >>> 7, 100) < 30;
  }

  private RecordLedger store(String kind) throws Exception {
    return switch (kind) {
      case "memory" -> InMemoryPipelineStore.create();
      case "h2" -> JdbcPipelineStore.builder().h2File(dir.resolve("chaos")).schema("chaos").build();
      case "postgresql" -> {
        Databases pg = Databases.postgres();
        schemaToDrop = pg;
        yield JdbcPipelineStore.builder()
            .jdbcUrl(pg.url(), pg.user(), "")
            .schema(pg.schema())
            .build();
      }
      default -> throw new IllegalArgumentException(kind);
    };
  }

  private Databases schemaToDrop;

  private Pipeline<String, String> pipeline(RecordLedger store) {
    Pipeline<String, String> p = build(store);
    built.set(p);
    return p;
  }

  private Pipeline<String, String> build(RecordLedger store) {
    PayloadCodec<String> text = PayloadCodec.string();
    return Pipeline.builder("chaos", String.class)
        .store(store)
        .clock(clock)
        .alerts(alerts::add)
        .retryQueueAfter(Duration.ofMillis(3))
        .rateLimitSource("scraper-a", TokenBucket.perSecond(RATE).burst(BURST))
        .stage(CLEANING, (String s) -> s.trim(), o -> o.codec(text).concurrency(2))
        .stage(
            ANALYSIS,
            (String s) -> {
              // the outage starts at the 3,000th call and lasts at least a second of the
              // pipeline's clock, 10 failed calls and until a record was held (time runs fast
              // here: every sleep moves the clock, so the circuit's open time could pass before
              // any record came to be held)
              Instant now = clock.now();
              if (analysisCalls.incrementAndGet() == 3_000) {
                outageStart.set(now);
              }
              Instant start = outageStart.get();
              if (start != null
                  && (now.isBefore(start.plus(OUTAGE))
                      || outageCalls.get() < 10
                      || noneHeldYet())) {
                outageCalls.incrementAndGet();
                throw new IOException("analysis service unavailable");
              }
              return s + "|a";
            },
            o ->
                o.codec(text)
                    .concurrency(2)
                    // the records that fail before the circuit opens, and the trial calls that
                    // find the outage still on, back off for longer than the outage (waits from
                    // 4 ms on are parked in the retry queue)
                    .retry(
                        RetryPolicy.exponential(Duration.ofMillis(1), Duration.ofSeconds(2))
                            .maxRetries(12))
                    .circuitBreaker(
                        CircuitBreaker.failureRate(0.5)
                            .minCalls(10)
                            .window(20)
                            .openFor(Duration.ofMillis(500))
                            .halfOpenCalls(3))
                    .fallback(Fallback.hold()))
        .stage(
            TRANSLATION,
            (String s, StageContext c) -> {
              String id = c.recordId();
              if (permanentlyBad(id) && !fixed.get()) {
                throw new IllegalStateException("no dictionary for record " + id);
              }
              if (flaky(id, c.attempt())) {
                throw new IOException("translator timed out");
              }
              return s + "|t";
            },
            o ->
                o.codec(text)
                    .concurrency(2)
                    .retry(
                        // short waits: each one moves the shared manual clock for everybody
                        RetryPolicy.exponential(Duration.ofMillis(2), Duration.ofMinutes(5))
                            .withJitter(0.5)
                            .maxRetries(6)
                            .abortOn(IllegalStateException.class)))
        .batchStage(
            VALIDATION,
            (List<String> batch, StageContext c) -> {
              for (String s : batch) {
                if (s.startsWith(POISON + "|") && !fixed.get()) {
                  throw new IllegalArgumentException("validator crashed on " + POISON);
                }
              }
              return batch;
            },
            o ->
                o.codec(text)
                    .batchSize(50)
                    .retry(
                        RetryPolicy.exponential(Duration.ofMillis(10), Duration.ofMillis(10))
                            .maxRetries(1)
                            .abortOn(IllegalArgumentException.class)))
        .sink(
            batch -> {
              for (Envelope<String> e : batch) {
                delivered.computeIfAbsent(e.id(), k -> new AtomicInteger()).incrementAndGet();
              }
            })
        .build();
  }

  /** Whether no record was held at analysis yet (its circuit open), from the live metrics. */
  private boolean noneHeldYet() {
    if (heldSeen.get()) {
      return false;
    }
    Pipeline<String, String> p = built.get();
    if (p != null && p.metrics().stage("analysis").resilience().held() > 0) {
      heldSeen.set(true);
      return false;
    }
    return true;
  }

  private Source<String> source(List<String> ids) {
    Iterator<String> it = ids.iterator();
    return Source.of(
        "scraper-a",
        new Iterator<String>() {
          @Override
          public boolean hasNext() {
            return it.hasNext();
          }

          @Override
          public String next() {
            String id = it.next();
            read.put(id, clock.now());
            return id;
          }
        },
        id -> id);
  }

  @ParameterizedTest
  @ValueSource(strings = {"memory", "h2", "postgresql"})
  void everyGoodRecordIsPublishedOnceAndTheBadOnesWaitInTheDeadLetterQueue(String kind)
      throws Exception {
    List<String> ids = IntStream.rangeClosed(1, RECORDS).mapToObj(i -> "r" + i).toList();
    Set<String> bad =
        ids.stream()
            .filter(id -> permanentlyBad(id) || id.equals(POISON))
            .collect(Collectors.toSet());
    try (RecordLedger store = store(kind)) {
      Pipeline<String, String> pipeline = pipeline(store);

      RunResult result = pipeline.run(source(ids));

      // every good record published exactly once, the bad ones dead-lettered with their errors
      assertThat(result.status().name()).isEqualTo("COMPLETED");
      List<DeadLetter> letters = all(pipeline.deadLetters());
      assertThat(letters)
          .filteredOn(d -> !bad.contains(d.recordId()))
          .extracting(d -> d.recordId() + " " + d.stage() + " " + d.errors())
          .isEmpty();
      assertThat(result.published()).isEqualTo(RECORDS - bad.size());
      assertThat(result.deadLettered()).isEqualTo(bad.size());
      assertThat(delivered.keySet()).doesNotContainAnyElementsOf(bad);
      assertThat(delivered).hasSize(RECORDS - bad.size());
      assertThat(delivered.values()).allMatch(n -> n.get() == 1, "delivered once");
      assertThat(letters).extracting(DeadLetter::recordId).containsExactlyInAnyOrderElementsOf(bad);
      DeadLetter poison =
          letters.stream().filter(d -> d.recordId().equals(POISON)).findFirst().orElseThrow();
      assertThat(poison.stage()).isEqualTo("validation");
      assertThat(poison.lastError().errorType()).isEqualTo("IllegalArgumentException");
      assertThat((String) poison.record().payload())
          .as("payload as it entered")
          .startsWith(POISON + "|a");
      for (DeadLetter d : letters) {
        if (!d.recordId().equals(POISON)) {
          assertThat(d.stage()).isEqualTo("translation");
          assertThat(d.lastError().message()).contains("no dictionary for record " + d.recordId());
        }
      }
      assertThat(alerts)
          .filteredOn(a -> a.kind() == Alert.Kind.DEAD_LETTER)
          .extracting(Alert::recordId)
          .containsExactlyInAnyOrderElementsOf(bad);

      // the outage: the circuit opened, let trial calls through, closed; in that order
      assertThat(outageCalls.get()).as("the outage really happened").isPositive();
      List<CircuitBreaker.Transition> transitions = pipeline.circuitTransitions(ANALYSIS);
      List<CircuitBreaker.State> path =
          transitions.stream().map(CircuitBreaker.Transition::to).toList();
      assertThat(path)
          .startsWith(CircuitBreaker.State.OPEN, CircuitBreaker.State.HALF_OPEN)
          .endsWith(CircuitBreaker.State.CLOSED);
      for (int i = 1; i < transitions.size(); i++) {
        assertThat(transitions.get(i).from()).isEqualTo(transitions.get(i - 1).to());
        assertThat(transitions.get(i).at()).isAfterOrEqualTo(transitions.get(i - 1).at());
      }
      assertThat(result.metrics().stage("analysis").resilience().held()).isPositive();
      RetryStats outage =
          result.metrics().stage("analysis").resilience().retriesByErrorType().get("IOException");
      assertThat(outage.recovered()).as("records that met the outage recovered").isPositive();
      assertThat(outage.exhausted()).isZero();

      // the source never went faster than its bucket: tokens counted against the clock
      Instant start = read.get("r1");
      for (int n = 1; n < RECORDS; n++) {
        double elapsed = Duration.between(start, read.get("r" + (n + 1))).toNanos() / 1e9;
        assertThat((double) n).isLessThanOrEqualTo(BURST + RATE * elapsed + 1e-6);
      }

      // retries: translation's transient errors all recovered, some through the retry queue
      RetryStats timeouts =
          result
              .metrics()
              .stage("translation")
              .resilience()
              .retriesByErrorType()
              .get("IOException");
      assertThat(timeouts.recovered()).isGreaterThan(RECORDS / 5);
      assertThat(timeouts.exhausted()).isZero();
      assertThat(timeouts.successRate()).isEqualTo(1.0);
      assertThat(result.parked()).isPositive();
      System.out.printf(
          "chaos on %s: %s; translation retry success %.0f%% of %d records; %d circuit"
              + " transitions; %d parked%n",
          kind,
          result.summary().lines().findFirst().orElse(""),
          100 * timeouts.successRate(),
          timeouts.recovered() + timeouts.exhausted(),
          transitions.size(),
          result.parked());

      // fix the stages, send the dead letters back: each is published once
      fixed.set(true);
      Set<String> sent = pipeline.deadLetters().reprocessAll(DeadLetterQuery.all().limit(7));
      assertThat(sent).containsExactlyInAnyOrderElementsOf(bad);
      assertThat(pipeline.deadLetters().reprocessAll(DeadLetterQuery.all())).isEmpty();

      RunResult again = pipeline.resume();

      assertThat(again.published()).isEqualTo(bad.size());
      assertThat(delivered).hasSize(RECORDS);
      assertThat(delivered.values()).allMatch(n -> n.get() == 1, "delivered once");
      assertThat(store.counts("chaos").get(RecordStatus.PUBLISHED)).isEqualTo(RECORDS);
      assertThat(all(pipeline.deadLetters())).isEmpty();
    } finally {
      if (schemaToDrop != null) {
        schemaToDrop.dropSchema();
      }
    }
  }

  private static List<DeadLetter> all(DeadLetters dl) {
    List<DeadLetter> all = new ArrayList<>();
    DeadLetterQuery query = DeadLetterQuery.all().limit(500);
    while (true) {
      Page<DeadLetter> page = dl.find(query);
      all.addAll(page.items());
      if (!page.hasNext()) {
        return all;
      }
      query = query.after(page.nextCursor());
    }
  }
}
