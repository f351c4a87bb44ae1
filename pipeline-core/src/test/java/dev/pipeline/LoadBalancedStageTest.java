package dev.pipeline;

import static dev.pipeline.StageName.TRANSLATION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;
import static org.assertj.core.api.Assertions.within;

import dev.pipeline.engine.run.CallContext;
import dev.pipeline.metrics.ImplementationMetrics;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.store.ErrorInfo;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Each policy of a load-balanced stage picks as documented, on a fake clock; circuits take an
 * implementation out and bring it back; the builder refuses bad arguments at once.
 */
class LoadBalancedStageTest {
  private static final Duration TEN_MS = Duration.ofMillis(10);

  private final FakeClock clock = new FakeClock();

  private CallContext context(String id) {
    CallContext context =
        new CallContext(
            "docs",
            TRANSLATION,
            LoggerFactory.getLogger("balanced"),
            clock,
            dev.pipeline.internal.ReferenceTables.none());
    context.reset(Envelope.<Object>of(id, id), 1);
    return context;
  }

  /** A balancer whose implementations are their names: the policy tests need only the pick. */
  private Balancer<String> balancer(LoadBalancePolicy policy, Map<String, Integer> weights) {
    Balancer.Builder<String> builder = new Balancer.Builder<>();
    weights.forEach((name, weight) -> builder.add(name, name, o -> o.weight(weight)));
    builder.policy(policy);
    builder.clock(clock);
    return builder.build();
  }

  /** Picks, lets {@code took} of clock time pass in the call, and ends it well. */
  private String call(Balancer<String> balancer, Duration took) {
    Balancer.Member<String> chosen = balancer.acquire(context("r"), false);
    long start = balancer.now();
    clock.advance(took);
    balancer.release(chosen, start, null, 1);
    return chosen.implementation;
  }

  private static ImplementationMetrics metrics(Balancer<String> balancer, String name) {
    return balancer.metrics().stream().filter(m -> m.name().equals(name)).findFirst().orElseThrow();
  }

  private static ImplementationMetrics metrics(LoadBalancedStage<?, ?> stage, String name) {
    return stage.metrics().stream().filter(m -> m.name().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void leastInFlightSendsEachCallToTheImplementationWithFewestCallsInFlight() {
    Balancer<String> balancer =
        balancer(LoadBalancePolicy.leastInFlight(), orderedWeights("a", 1, "b", 1, "c", 1));

    List<Balancer.Member<String>> held = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      held.add(balancer.acquire(context("r" + i), false));
    }

    assertThat(held)
        .extracting(m -> m.implementation)
        .as("three calls held: one on each")
        .containsExactlyInAnyOrder("a", "b", "c");
    Balancer.Member<String> b =
        held.stream().filter(m -> m.implementation.equals("b")).findFirst().orElseThrow();
    balancer.release(b, balancer.now(), null, 1);
    assertThat(balancer.acquire(context("r3"), false).implementation)
        .as("b is the only one with no call in flight")
        .isEqualTo("b");
    assertThat(balancer.metrics())
        .extracting(ImplementationMetrics::inFlight)
        .containsExactly(1, 1, 1);
  }

  @Test
  void leastInFlightSharesEquallyLoadedImplementationsRoundRobinByWeight() {
    Balancer<String> balancer =
        balancer(LoadBalancePolicy.leastInFlight(), orderedWeights("a", 3, "b", 1));

    List<String> picks = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      picks.add(call(balancer, TEN_MS));
    }

    assertThat(picks).containsExactly("a", "a", "a", "b", "a", "a", "a", "b");
    assertThat(metrics(balancer, "a").calls()).isEqualTo(6);
    assertThat(metrics(balancer, "a").succeeded()).isEqualTo(6);
  }

  @Test
  void leastLatencyPrefersTheFasterOneAndProbesTheSlowOneOnceItsEstimateDecayedBelow() {
    Balancer<String> balancer =
        balancer(
            LoadBalancePolicy.leastLatency(Duration.ofMillis(100)),
            orderedWeights("fast", 1, "slow", 1));
    Map<String, Duration> took = Map.of("fast", TEN_MS, "slow", Duration.ofMillis(80));

    // neither is measured: a tie, round robin; then the unmeasured one counts as the average
    // of the measured one, another tie
    assertThat(callTaking(balancer, took)).isEqualTo("fast");
    assertThat(callTaking(balancer, took)).isEqualTo("slow");
    long slowMeasuredAt = clock.nanoTime();
    assertThat(metrics(balancer, "slow").latency()).isEqualTo(Duration.ofMillis(80));

    // 80 ms decays to the fast one's 10 ms in three half-lives (80 / 2^3); until then the slow
    // one gets nothing
    Duration probedAfter = null;
    for (int i = 0; i < 100 && probedAfter == null; i++) {
      Duration since = Duration.ofNanos(clock.nanoTime() - slowMeasuredAt);
      if (callTaking(balancer, took).equals("slow")) {
        probedAfter = since;
      }
    }
    assertThat(probedAfter)
        .as("the slow one is probed once three half-lives have passed, not before")
        .isBetween(Duration.ofMillis(300), Duration.ofMillis(310));
    assertThat(metrics(balancer, "slow").latency().toNanos())
        .as("the probe's 80 ms, after three half-lives, sets the estimate back to 80 ms")
        .isCloseTo(80_000_000L, within(1_000L));
    assertThat(callTaking(balancer, took)).isEqualTo("fast");
  }

  private String callTaking(Balancer<String> balancer, Map<String, Duration> took) {
    Balancer.Member<String> chosen = balancer.acquire(context("r"), false);
    long start = balancer.now();
    clock.advance(took.get(chosen.implementation));
    balancer.release(chosen, start, null, 1);
    return chosen.implementation;
  }

  @Test
  void leastLatencyPenalisesCallsInFlightSoABusyFastOneSendsCallsToTheSlowerOne() {
    Balancer<String> balancer =
        balancer(LoadBalancePolicy.leastLatency(), orderedWeights("fast", 1, "slow", 1));
    Map<String, Duration> took = Map.of("fast", TEN_MS, "slow", Duration.ofMillis(25));
    callTaking(balancer, took);
    callTaking(balancer, took);

    // about 10 ms x (in flight + 1) against 25 ms x 1
    assertThat(balancer.acquire(context("r1"), false).implementation).isEqualTo("fast");
    assertThat(balancer.acquire(context("r2"), false).implementation)
        .as("fast with one call in flight: 20 ms < 25 ms")
        .isEqualTo("fast");
    assertThat(balancer.acquire(context("r3"), false).implementation)
        .as("fast with two calls in flight: 30 ms > 25 ms")
        .isEqualTo("slow");
  }

  @Test
  void aFailedCallNeverMakesAnImplementationLookFaster() {
    Balancer<String> balancer = balancer(LoadBalancePolicy.leastLatency(), orderedWeights("a", 1));
    call(balancer, Duration.ofMillis(50));

    Balancer.Member<String> chosen = balancer.acquire(context("r"), false);
    long start = balancer.now();
    clock.advance(Duration.ofMillis(1));
    balancer.release(chosen, start, new IOException("refused fast"), 1);

    ImplementationMetrics a = metrics(balancer, "a");
    assertThat(a.latency())
        .as("still about 50 ms, as decayed over the 1 ms: not pulled toward 1 ms")
        .isBetween(Duration.ofMillis(49), Duration.ofMillis(50));
    assertThat(a.failures()).isEqualTo(1);
    assertThat(a.calls()).isEqualTo(2);
  }

  @Test
  void weightedRandomMapsEachDrawToAnImplementationInProportionToWeight() {
    Deque<Long> draws = new ArrayDeque<>(List.of(0L, 1L, 2L, 2L, 0L));
    List<Long> bounds = new ArrayList<>();
    RandomGenerator scripted =
        new RandomGenerator() {
          @Override
          public long nextLong() {
            throw new AssertionError("the policy draws with a bound");
          }

          @Override
          public long nextLong(long bound) {
            bounds.add(bound);
            return draws.removeFirst();
          }
        };
    Balancer<String> balancer =
        balancer(LoadBalancePolicy.weightedRandom(scripted), orderedWeights("a", 2, "b", 1));

    List<String> picks = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      picks.add(call(balancer, TEN_MS));
    }

    assertThat(picks).containsExactly("a", "a", "b", "b", "a");
    assertThat(bounds).as("the total weight").containsOnly(3L);
  }

  @Test
  void weightedRandomWithASeededSourceSharesCallsByWeight() {
    Balancer<String> balancer =
        balancer(
            LoadBalancePolicy.weightedRandom(new SplittableRandom(7)),
            orderedWeights("a", 3, "b", 1));

    int a = 0;
    for (int i = 0; i < 4_000; i++) {
      if (call(balancer, TEN_MS).equals("a")) {
        a++;
      }
    }

    assertThat(a).as("about 3 in 4 of 4,000").isBetween(2_850, 3_150);
  }

  @Test
  void failoverTakesTheFirstWhoseCircuitLetsTheCallThroughAndReturnsWhenItCloses()
      throws Exception {
    AtomicBoolean primaryDown = new AtomicBoolean(true);
    LoadBalancedStage<String, String> stage =
        LoadBalancedStage.<String, String>builder()
            .add(
                "primary",
                (s, c) -> {
                  if (primaryDown.get()) {
                    throw new IOException("primary down");
                  }
                  return "primary:" + s;
                },
                o ->
                    o.circuitBreaker(
                        CircuitBreaker.failureRate(1.0)
                            .minCalls(2)
                            .window(2)
                            .openFor(Duration.ofSeconds(30))
                            .halfOpenCalls(1)))
            .add("backup", (s, c) -> "backup:" + s)
            .policy(LoadBalancePolicy.failover())
            .clock(clock)
            .build();

    for (String id : List.of("r1", "r2")) {
      assertThatThrownBy(() -> stage.process(id, context(id)))
          .as("a failed call is not tried again elsewhere: the stage's retry policy decides")
          .isInstanceOf(IOException.class);
    }
    assertThat(metrics(stage, "primary").circuit()).isEqualTo(CircuitBreaker.State.OPEN);

    CallContext r3 = context("r3");
    assertThat(stage.process("r3", r3)).isEqualTo("backup:r3");
    assertThat(r3.added())
        .containsExactly(Map.entry(LoadBalancedStage.metadataKey(TRANSLATION), "backup"));
    assertThat(metrics(stage, "primary").refused()).isEqualTo(1);

    primaryDown.set(false);
    clock.advance(Duration.ofSeconds(30));
    assertThat(stage.process("r4", context("r4")))
        .as("the primary's trial call, once it is half-open")
        .isEqualTo("primary:r4");
    assertThat(metrics(stage, "primary").circuit()).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(stage.process("r5", context("r5"))).isEqualTo("primary:r5");
    assertThat(stage.metrics())
        .extracting(ImplementationMetrics::name, ImplementationMetrics::calls)
        .containsExactly(tuple("primary", 4L), tuple("backup", 1L));
  }

  @Test
  void everyPolicyPassesOverAnOpenCircuit() throws Exception {
    for (LoadBalancePolicy policy :
        List.of(
            LoadBalancePolicy.leastInFlight(),
            LoadBalancePolicy.leastLatency(),
            LoadBalancePolicy.weightedRandom(new SplittableRandom(1)),
            LoadBalancePolicy.failover())) {
      LoadBalancedStage<String, String> stage =
          LoadBalancedStage.<String, String>builder()
              .add(
                  "broken",
                  (s, c) -> {
                    throw new IOException("down");
                  },
                  o -> o.weight(1_000).circuitBreaker(openOnFirstFailure(Duration.ofMinutes(1))))
              .add("working", (s, c) -> "ok:" + s)
              .policy(policy)
              .clock(clock)
              .build();
      // until it fails once, "broken" may be picked; from then on its circuit is open
      for (int i = 0; i < 5 && metrics(stage, "broken").calls() == 0; i++) {
        try {
          stage.process("r", context("r"));
        } catch (IOException expected) {
          // the one failure that opens its circuit
        }
      }

      for (int i = 0; i < 20; i++) {
        assertThat(stage.process("r" + i, context("r" + i))).as("%s", policy).isEqualTo("ok:r" + i);
      }
      assertThat(metrics(stage, "broken").calls()).as("%s", policy).isEqualTo(1);
    }
  }

  private static CircuitBreaker openOnFirstFailure(Duration openFor) {
    return CircuitBreaker.failureRate(1.0).minCalls(1).window(1).openFor(openFor);
  }

  @Test
  void whenEveryCircuitIsOpenTheCallFailsWithCircuitOpenExceptionNamingTheStage() {
    LoadBalancedStage<String, String> stage =
        LoadBalancedStage.<String, String>builder()
            .add(
                "deepl",
                (s, c) -> {
                  throw new IOException("deepl down");
                },
                o -> o.circuitBreaker(openOnFirstFailure(Duration.ofSeconds(30))))
            .add(
                "google",
                (s, c) -> {
                  throw new IOException("google down");
                },
                o -> o.circuitBreaker(openOnFirstFailure(Duration.ofMinutes(1))))
            .policy(LoadBalancePolicy.failover())
            .clock(clock)
            .build();
    assertThatThrownBy(() -> stage.process("r1", context("r1"))).hasMessage("deepl down");
    clock.advance(Duration.ofSeconds(10));
    assertThatThrownBy(() -> stage.process("r2", context("r2"))).hasMessage("google down");
    clock.advance(Duration.ofSeconds(5));

    assertThatThrownBy(() -> stage.process("r3", context("r3")))
        .isInstanceOfSatisfying(
            CircuitOpenException.class,
            e -> {
              assertThat(e.stage()).isEqualTo("translation");
              assertThat(e.recordId()).isEqualTo("r3");
              assertThat(e.state()).isEqualTo(CircuitBreaker.State.OPEN);
              assertThat(e.remainingOpen())
                  .as("the soonest an implementation takes calls again")
                  .isEqualTo(Duration.ofSeconds(15));
              assertThat(e.getMessage()).contains("stage 'translation'", "record 'r3'");
              assertThat(e.getCause())
                  .hasMessageStartingWith(
                      "every implementation of stage 'translation' refused the call: deepl OPEN"
                          + " for another PT15S, google OPEN for another PT55S. The record is"
                          + " retried");
            });
    assertThat(stage.metrics())
        .as("deepl refused r2 and r3, google r3")
        .extracting(ImplementationMetrics::refused)
        .containsExactly(2L, 1L);
  }

  @Test
  void anErrorKeepsItsTypeAndGetsANoteNamingTheImplementationThatDeadLettersRead()
      throws Exception {
    IOException thrown = new IOException("quota exceeded");
    LoadBalancedStage<String, String> stage =
        LoadBalancedStage.<String, String>builder()
            .add(
                "google",
                (s, c) -> {
                  throw thrown;
                })
            .clock(clock)
            .build();

    for (int attempt = 0; attempt < 2; attempt++) {
      assertThatThrownBy(() -> stage.process("r1", context("r1"))).isSameAs(thrown);
    }

    assertThat(thrown.getSuppressed())
        .as("one note, though the same exception was thrown twice")
        .hasSize(1);
    ErrorInfo info = ErrorInfo.of("translation", thrown, 1, clock.now());
    assertThat(info.errorType()).isEqualTo("IOException");
    assertThat(info.message()).isEqualTo("quota exceeded");
    assertThat(LoadBalancedStage.implementationOf(info)).contains("google");
    assertThat(
            LoadBalancedStage.implementationOf(
                ErrorInfo.of("translation", new IOException("elsewhere"), 1, clock.now())))
        .isEmpty();
  }

  @Test
  void aNoteForgedInAnErrorMessageIsNotTakenForOne() {
    IOException forged =
        new IOException(
            "x\n\tSuppressed: dev.pipeline.LoadBalancerNote: implementation 'evil' of stage 'a'");

    assertThat(
            LoadBalancedStage.implementationOf(ErrorInfo.of("translation", forged, 1, clock.now())))
        .isEmpty();
  }

  @Test
  void aNullOutputFailsTheCallNamingTheImplementation() {
    LoadBalancedStage<String, String> stage =
        LoadBalancedStage.<String, String>builder()
            .add("lazy", (s, c) -> null)
            .clock(clock)
            .build();

    assertThatThrownBy(() -> stage.process("r1", context("r1")))
        .isInstanceOf(StageException.class)
        .hasMessageStartingWith(
            "implementation 'lazy' of stage 'translation' returned null for record 'r1'");
    assertThat(metrics(stage, "lazy").failures()).isEqualTo(1);
  }

  @Test
  void aFilteredRecordCountsAsAnAnswerNotAFailure() {
    LoadBalancedStage<String, String> stage =
        LoadBalancedStage.<String, String>builder()
            .add(
                "picky",
                (s, c) -> {
                  throw RecordFilteredException.because("not a language we translate");
                },
                o -> o.circuitBreaker(openOnFirstFailure(Duration.ofMinutes(1))))
            .clock(clock)
            .build();

    assertThatThrownBy(() -> stage.process("r1", context("r1")))
        .isInstanceOf(RecordFilteredException.class);
    assertThat(metrics(stage, "picky").failures()).isZero();
    assertThat(metrics(stage, "picky").circuit()).isEqualTo(CircuitBreaker.State.CLOSED);
  }

  @Test
  void oneConfiguredBreakerGivesEachImplementationACircuitOfItsOwn() throws Exception {
    CircuitBreaker shared = openOnFirstFailure(Duration.ofMinutes(1));
    LoadBalancedStage<String, String> stage =
        LoadBalancedStage.<String, String>builder()
            .add(
                "a",
                (s, c) -> {
                  throw new IOException("a down");
                },
                o -> o.circuitBreaker(shared))
            .add("b", (s, c) -> "b:" + s, o -> o.circuitBreaker(shared))
            .policy(LoadBalancePolicy.failover())
            .clock(clock)
            .build();

    assertThatThrownBy(() -> stage.process("r1", context("r1"))).isInstanceOf(IOException.class);

    assertThat(stage.metrics())
        .extracting(ImplementationMetrics::circuit)
        .containsExactly(CircuitBreaker.State.OPEN, CircuitBreaker.State.CLOSED);
    assertThat(stage.process("r2", context("r2"))).isEqualTo("b:r2");
  }

  @Test
  void theBuilderRefusesBadArgumentsAtOnce() {
    LoadBalancedStage.Builder<String, String> builder = LoadBalancedStage.builder();
    Stage<String, String> echo = (s, c) -> s;

    assertThatThrownBy(builder::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("needs at least one implementation");
    assertThatThrownBy(() -> builder.add("a", echo, o -> o.weight(0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("weight must be between 1 and 1000, was 0");
    assertThatThrownBy(() -> builder.add("a", echo, o -> o.weight(1_001)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("weight must be between 1 and 1000, was 1001");
    assertThatThrownBy(() -> builder.add("a", echo, o -> o.weight(2).weight(3)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("weight was already set, to 2");
    assertThatThrownBy(() -> builder.add("Deep L", echo))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("invalid implementation name 'Deep L'");
    assertThatThrownBy(() -> builder.add(null, echo))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("name cannot be null");
    assertThatThrownBy(() -> builder.add("a", null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("implementation cannot be null");
    assertThatThrownBy(() -> builder.add("a", echo, o -> o.circuitBreaker(null)))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("circuit breaker cannot be null");

    builder.add("a", echo);
    assertThatThrownBy(() -> builder.add("a", echo))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("implementation 'a' was already added: give each implementation its own name");
    builder.policy(LoadBalancePolicy.failover());
    assertThatThrownBy(() -> builder.policy(LoadBalancePolicy.leastInFlight()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("policy was already set, to LoadBalancePolicy.failover()");
    assertThatThrownBy(() -> LoadBalancePolicy.leastLatency(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("halfLife must be between 1 ms and 1 day");
    assertThatThrownBy(() -> LoadBalancePolicy.weightedRandom(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("random cannot be null");

    LoadBalancedStage.Builder<String, String> full = LoadBalancedStage.builder();
    for (int i = 0; i < LoadBalancedStage.MAX_IMPLEMENTATIONS; i++) {
      full.add("i" + i, echo);
    }
    assertThatThrownBy(() -> full.add("one-more", echo))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("a load-balanced stage takes at most 64 implementations");
    assertThat(builder.build().metrics()).extracting(ImplementationMetrics::name).containsOnly("a");
  }

  /** Weights in the order given (Map.of has none). */
  private static Map<String, Integer> orderedWeights(Object... nameThenWeight) {
    Map<String, Integer> weights = new LinkedHashMap<>();
    for (int i = 0; i < nameThenWeight.length; i += 2) {
      weights.put((String) nameThenWeight[i], (Integer) nameThenWeight[i + 1]);
    }
    return weights;
  }
}
