package dev.pipeline.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import dev.pipeline.resilience.CircuitBreaker.State;
import dev.pipeline.resilience.CircuitBreaker.Transition;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class FailureRateCircuitBreakerTest {
  private static final IOException DOWN = new IOException("down");

  private final TestClock clock = new TestClock();

  private FailureRateCircuitBreaker breaker(double threshold) {
    return CircuitBreaker.failureRate(threshold).clock(clock);
  }

  /** Makes calls through the breaker, each of which must be permitted. */
  private static void calls(CircuitBreaker breaker, int count, boolean fail) {
    for (int i = 0; i < count; i++) {
      assertThat(breaker.tryAcquirePermission()).as("permission for call %d", i).isTrue();
      if (fail) {
        breaker.onFailure(1_000, DOWN);
      } else {
        breaker.onSuccess(1_000);
      }
    }
  }

  private FailureRateCircuitBreaker opened(FailureRateCircuitBreaker breaker) {
    calls(breaker, breaker.minCalls(), true);
    assertThat(breaker.state()).isEqualTo(State.OPEN);
    return breaker;
  }

  @Test
  void hasTheDocumentedDefaults() {
    FailureRateCircuitBreaker breaker = CircuitBreaker.failureRate(0.5);

    assertThat(breaker.threshold()).isEqualTo(0.5);
    assertThat(breaker.minCalls()).isEqualTo(20);
    assertThat(breaker.window()).hasValue(100);
    assertThat(breaker.timeWindow()).isEmpty();
    assertThat(breaker.openFor()).isEqualTo(Duration.ofSeconds(30));
    assertThat(breaker.halfOpenCalls()).isEqualTo(5);
    assertThat(breaker.state()).isEqualTo(State.CLOSED);
    assertThat(breaker.remainingOpen()).isZero();
  }

  @Test
  void staysClosedBelowMinCalls() {
    FailureRateCircuitBreaker breaker = breaker(0.5).minCalls(10);

    calls(breaker, 9, true);
    assertThat(breaker.state()).isEqualTo(State.CLOSED);

    calls(breaker, 1, true);
    assertThat(breaker.state()).isEqualTo(State.OPEN);
  }

  @Test
  void opensWhenTheFailureRateOfTheCountWindowReachesTheThreshold() {
    FailureRateCircuitBreaker breaker = breaker(0.5).window(10).minCalls(10);

    calls(breaker, 6, false);
    calls(breaker, 4, true);
    assertThat(breaker.state()).as("40%% of 10 calls failed").isEqualTo(State.CLOSED);

    // the window is full: this failure pushes out the oldest success, making 5 of 10
    calls(breaker, 1, true);
    assertThat(breaker.state()).isEqualTo(State.OPEN);
  }

  @Test
  void opensOnASuccessThatBringsTheWindowToMinCalls() {
    FailureRateCircuitBreaker breaker = breaker(0.5).minCalls(10);

    calls(breaker, 9, true);
    calls(breaker, 1, false);

    assertThat(breaker.state()).as("9 of 10 calls failed").isEqualTo(State.OPEN);
  }

  @Test
  void aCountWindowSmallerThanMinCallsOpensWhenFull() {
    FailureRateCircuitBreaker breaker = breaker(1.0).window(5);

    calls(breaker, 4, true);
    assertThat(breaker.state()).isEqualTo(State.CLOSED);
    calls(breaker, 1, true);
    assertThat(breaker.state()).isEqualTo(State.OPEN);
  }

  @Test
  void countWindowForgetsCallsThatSlidOut() {
    FailureRateCircuitBreaker breaker = breaker(0.5).window(10).minCalls(10);

    calls(breaker, 4, true);
    calls(breaker, 10, false);
    calls(breaker, 4, true);
    assertThat(breaker.state()).as("4 of the last 10 failed").isEqualTo(State.CLOSED);

    calls(breaker, 1, true);
    assertThat(breaker.state()).as("5 of the last 10 failed, 9 of all 19").isEqualTo(State.OPEN);
  }

  @Test
  void timeWindowForgetsCallsAsTheClockMoves() {
    FailureRateCircuitBreaker breaker = breaker(0.5).timeWindow(Duration.ofMinutes(1)).minCalls(10);
    assertThat(breaker.window()).isEmpty();
    assertThat(breaker.timeWindow()).hasValue(Duration.ofMinutes(1));

    calls(breaker, 9, true);
    clock.advance(Duration.ofSeconds(61));
    calls(breaker, 10, false);
    calls(breaker, 4, true);
    assertThat(breaker.state())
        .as("4 of 14 recent calls failed, 13 of all 23")
        .isEqualTo(State.CLOSED);

    // the calls of 30 seconds ago are still in the window
    clock.advance(Duration.ofSeconds(30));
    calls(breaker, 5, true);
    assertThat(breaker.state()).as("9 of 19 failed").isEqualTo(State.CLOSED);
    calls(breaker, 1, true);
    assertThat(breaker.state()).as("10 of 20 failed").isEqualTo(State.OPEN);
  }

  @Test
  void timeWindowNeverKeepsACallLongerThanTheWindow() {
    FailureRateCircuitBreaker breaker = breaker(1.0).timeWindow(Duration.ofSeconds(10)).minCalls(2);

    calls(breaker, 1, true);
    clock.advance(Duration.ofSeconds(10));
    calls(breaker, 1, true);
    assertThat(breaker.state()).as("the first failure is 10 seconds old").isEqualTo(State.CLOSED);

    clock.advance(Duration.ofSeconds(8));
    calls(breaker, 1, true);
    assertThat(breaker.state()).as("8 seconds apart").isEqualTo(State.OPEN);
  }

  @Test
  void timeWindowForgetsEverythingAfterALongPause() {
    FailureRateCircuitBreaker breaker = breaker(0.5).timeWindow(Duration.ofSeconds(10)).minCalls(4);

    calls(breaker, 3, true);
    clock.advance(Duration.ofHours(5));
    calls(breaker, 3, false);
    calls(breaker, 1, true);

    assertThat(breaker.state()).as("1 of 4 recent calls failed").isEqualTo(State.CLOSED);
  }

  @Test
  void openCircuitRefusesCallsAndCountsDownItsRemainingTime() {
    FailureRateCircuitBreaker breaker = opened(breaker(0.5).openFor(Duration.ofSeconds(30)));

    assertThat(breaker.tryAcquirePermission()).isFalse();
    assertThat(breaker.remainingOpen()).isEqualTo(Duration.ofSeconds(30));

    clock.advance(Duration.ofSeconds(10));
    assertThat(breaker.tryAcquirePermission()).isFalse();
    assertThat(breaker.remainingOpen()).isEqualTo(Duration.ofSeconds(20));
    assertThat(breaker.state()).isEqualTo(State.OPEN);

    clock.advance(Duration.ofSeconds(20).minusNanos(1));
    assertThat(breaker.remainingOpen()).isEqualTo(Duration.ofNanos(1));
    assertThat(breaker.state()).isEqualTo(State.OPEN);

    clock.advance(Duration.ofNanos(1));
    assertThat(breaker.remainingOpen()).isZero();
    assertThat(breaker.state()).isEqualTo(State.HALF_OPEN);
    assertThat(breaker.remainingOpen()).isZero();
  }

  @Test
  void outcomesReportedWhileOpenAreIgnored() {
    FailureRateCircuitBreaker breaker = opened(breaker(0.5).halfOpenCalls(1));

    breaker.onSuccess(1);
    breaker.onFailure(1, DOWN);
    assertThat(breaker.state()).isEqualTo(State.OPEN);
    assertThat(breaker.remainingOpen()).isEqualTo(Duration.ofSeconds(30));

    clock.advance(Duration.ofSeconds(30));
    assertThat(breaker.state()).isEqualTo(State.HALF_OPEN);
    // a late outcome with no trial call granted yet does not count as the trial
    breaker.onSuccess(1);
    assertThat(breaker.state()).isEqualTo(State.HALF_OPEN);
    assertThat(breaker.tryAcquirePermission()).isTrue();
    assertThat(breaker.tryAcquirePermission()).isFalse();
  }

  @Test
  void halfOpenCircuitLetsExactlyTheTrialCallsThrough() {
    FailureRateCircuitBreaker breaker = opened(breaker(0.5).halfOpenCalls(3));
    clock.advance(Duration.ofSeconds(30));

    assertThat(breaker.tryAcquirePermission()).isTrue();
    assertThat(breaker.tryAcquirePermission()).isTrue();
    assertThat(breaker.tryAcquirePermission()).isTrue();
    assertThat(breaker.tryAcquirePermission()).isFalse();
    assertThat(breaker.state()).isEqualTo(State.HALF_OPEN);

    breaker.onSuccess(1);
    breaker.onSuccess(1);
    assertThat(breaker.state()).isEqualTo(State.HALF_OPEN);
    assertThat(breaker.tryAcquirePermission()).as("all trial calls granted").isFalse();

    breaker.onSuccess(1);
    assertThat(breaker.state()).isEqualTo(State.CLOSED);
    assertThat(breaker.tryAcquirePermission()).isTrue();
  }

  @Test
  void closesWithAFreshWindowWhenAllTrialCallsSucceed() {
    FailureRateCircuitBreaker breaker = opened(breaker(0.5).minCalls(4).halfOpenCalls(2));
    clock.advance(Duration.ofSeconds(30));

    calls(breaker, 2, false);
    assertThat(breaker.state()).isEqualTo(State.CLOSED);

    calls(breaker, 3, true);
    assertThat(breaker.state()).as("3 calls since closing, below minCalls").isEqualTo(State.CLOSED);
    calls(breaker, 1, true);
    assertThat(breaker.state()).isEqualTo(State.OPEN);
  }

  @Test
  void opensAgainForOpenForWhenATrialCallFails() {
    FailureRateCircuitBreaker breaker =
        opened(breaker(0.5).openFor(Duration.ofSeconds(5)).halfOpenCalls(3));
    clock.advance(Duration.ofSeconds(5));

    calls(breaker, 1, false);
    assertThat(breaker.tryAcquirePermission()).isTrue();
    breaker.onFailure(1, DOWN);

    assertThat(breaker.state()).isEqualTo(State.OPEN);
    assertThat(breaker.remainingOpen()).isEqualTo(Duration.ofSeconds(5));
    assertThat(breaker.tryAcquirePermission()).isFalse();

    clock.advance(Duration.ofSeconds(5));
    assertThat(breaker.state()).isEqualTo(State.HALF_OPEN);
    calls(breaker, 3, false);
    assertThat(breaker.state()).isEqualTo(State.CLOSED);
  }

  @Test
  void listenersSeeEveryTransitionInOrderWithItsReason() {
    FailureRateCircuitBreaker breaker = breaker(0.5).minCalls(4).halfOpenCalls(2);
    List<Transition> seen = new ArrayList<>();
    List<Transition> seenToo = new ArrayList<>();
    breaker.addListener(seen::add);
    breaker.addListener(seenToo::add);

    calls(breaker, 1, false);
    calls(breaker, 3, true);
    clock.advance(Duration.ofSeconds(30));
    calls(breaker, 1, true);
    clock.advance(Duration.ofSeconds(30));
    assertThat(breaker.state()).isEqualTo(State.HALF_OPEN);
    calls(breaker, 2, false);

    assertThat(seen)
        .containsExactly(
            new Transition(
                State.CLOSED,
                State.OPEN,
                TestClock.START,
                "failure rate 75% of the last 4 calls >= 50%"),
            new Transition(
                State.OPEN, State.HALF_OPEN, TestClock.START.plusSeconds(30), "open for PT30S"),
            new Transition(
                State.HALF_OPEN,
                State.OPEN,
                TestClock.START.plusSeconds(30),
                "trial call failed: java.io.IOException: down"),
            new Transition(
                State.OPEN, State.HALF_OPEN, TestClock.START.plusSeconds(60), "open for PT30S"),
            new Transition(
                State.HALF_OPEN,
                State.CLOSED,
                TestClock.START.plusSeconds(60),
                "2 trial calls succeeded"));
    assertThat(seenToo).isEqualTo(seen);
  }

  @Test
  void timeWindowReasonNamesTheWindow() {
    FailureRateCircuitBreaker breaker = breaker(0.6).timeWindow(Duration.ofSeconds(10)).minCalls(8);
    List<Transition> seen = new ArrayList<>();
    breaker.addListener(seen::add);

    calls(breaker, 3, false);
    calls(breaker, 5, true);

    assertThat(seen)
        .extracting(Transition::reason)
        .containsExactly("failure rate 62.5% of 8 calls in the last PT10S >= 60%");
  }

  @Test
  void aFailingListenerDoesNotStopTheOthersOrTheCircuit() {
    FailureRateCircuitBreaker breaker = breaker(0.5).minCalls(1);
    List<Transition> seen = new ArrayList<>();
    breaker.addListener(
        transition -> {
          throw new IllegalStateException("listener bug");
        });
    breaker.addListener(seen::add);

    calls(breaker, 1, true);

    assertThat(breaker.state()).isEqualTo(State.OPEN);
    assertThat(seen).extracting(Transition::to).containsExactly(State.OPEN);
  }

  @Test
  void aListenerMayAskTheCircuitForItsState() {
    FailureRateCircuitBreaker breaker = breaker(0.5).minCalls(1);
    List<String> seen = new ArrayList<>();
    breaker.addListener(
        t -> seen.add(t.to() + " " + breaker.state() + " " + breaker.remainingOpen()));

    calls(breaker, 1, true);

    assertThat(seen).containsExactly("OPEN OPEN PT30S");
  }

  @Test
  void bindGivesAFreshCircuitOnTheGivenClockWithTheSameConfigurationAndListeners() {
    FailureRateCircuitBreaker configured =
        breaker(0.5).minCalls(3).window(7).openFor(Duration.ofSeconds(9)).halfOpenCalls(2);
    List<Transition> seen = new ArrayList<>();
    configured.addListener(seen::add);
    opened(configured);

    TestClock other = new TestClock(-42);
    FailureRateCircuitBreaker bound = configured.bind(other);

    assertThat(bound).isNotSameAs(configured);
    assertThat(bound.state()).isEqualTo(State.CLOSED);
    assertThat(bound.threshold()).isEqualTo(0.5);
    assertThat(bound.minCalls()).isEqualTo(3);
    assertThat(bound.window()).hasValue(7);
    assertThat(bound.openFor()).isEqualTo(Duration.ofSeconds(9));
    assertThat(bound.halfOpenCalls()).isEqualTo(2);

    opened(bound);
    clock.advance(Duration.ofSeconds(9));
    assertThat(bound.state()).as("on its own clock").isEqualTo(State.OPEN);
    assertThat(configured.state()).isEqualTo(State.HALF_OPEN);
    other.advance(Duration.ofSeconds(9));
    assertThat(bound.state()).isEqualTo(State.HALF_OPEN);

    assertThat(seen)
        .extracting(Transition::from, Transition::to)
        .containsExactly(
            tuple(State.CLOSED, State.OPEN),
            tuple(State.CLOSED, State.OPEN),
            tuple(State.OPEN, State.HALF_OPEN),
            tuple(State.OPEN, State.HALF_OPEN));
  }

  @Test
  void configurationMethodsReturnCopiesAndLeaveTheOriginalAlone() {
    FailureRateCircuitBreaker original = breaker(0.5);
    FailureRateCircuitBreaker copy = original.minCalls(1).timeWindow(Duration.ofSeconds(1));

    assertThat(original.minCalls()).isEqualTo(20);
    assertThat(original.window()).hasValue(100);
    assertThat(copy.window().isPresent()).isFalse();
    assertThat(copy.window(50).timeWindow()).isEmpty();
  }

  @Test
  void keepsCountsExactUnderConcurrentCalls() throws Exception {
    int threads = 8;
    int callsPerThread = 10_000;
    // nothing leaves this window and the circuit cannot open before all calls are in
    FailureRateCircuitBreaker breaker =
        breaker(0.31).timeWindow(Duration.ofHours(1)).minCalls(threads * callsPerThread);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> futures = new ArrayList<>();
    try (ExecutorService executor = Executors.newFixedThreadPool(8)) {
      for (int t = 0; t < threads; t++) {
        futures.add(
            executor.submit(
                () -> {
                  start.await();
                  for (int i = 0; i < callsPerThread; i++) {
                    if (!breaker.tryAcquirePermission()) {
                      throw new AssertionError("refused call " + i + ": " + breaker);
                    }
                    if (i % 10 < 3) {
                      breaker.onFailure(1, DOWN);
                    } else {
                      breaker.onSuccess(1);
                    }
                  }
                  return null;
                }));
      }
      start.countDown();
      for (Future<?> future : futures) {
        future.get();
      }
    }
    assertThat(breaker.state()).isEqualTo(State.CLOSED);
    assertThat(breaker.toString()).contains("failures=24000/80000");

    // 24000 of 80000 failed: the 1160th failure more is the first to reach 31%
    calls(breaker, 1159, true);
    assertThat(breaker.state()).isEqualTo(State.CLOSED);
    calls(breaker, 1, true);
    assertThat(breaker.state()).isEqualTo(State.OPEN);
  }

  @Test
  void staysConsistentWhenThreadsMoveItThroughEveryState() throws Exception {
    FailureRateCircuitBreaker breaker =
        breaker(0.5).window(20).minCalls(10).openFor(Duration.ofMillis(5)).halfOpenCalls(3);
    Queue<Transition> seen = new ConcurrentLinkedQueue<>();
    breaker.addListener(seen::add);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> futures = new ArrayList<>();
    try (ExecutorService executor = Executors.newFixedThreadPool(8)) {
      for (int t = 0; t < 8; t++) {
        SplittableRandom random = new SplittableRandom(t);
        futures.add(
            executor.submit(
                () -> {
                  start.await();
                  for (int i = 0; i < 10_000; i++) {
                    if (random.nextInt(20) == 0) {
                      clock.advance(Duration.ofMillis(1));
                    }
                    assertThat(breaker.state()).isNotNull();
                    assertThat(breaker.remainingOpen()).isLessThanOrEqualTo(Duration.ofMillis(5));
                    if (breaker.tryAcquirePermission()) {
                      if (random.nextInt(100) < 45) {
                        breaker.onFailure(1, DOWN);
                      } else {
                        breaker.onSuccess(1);
                      }
                    }
                  }
                  return null;
                }));
      }
      start.countDown();
      for (Future<?> future : futures) {
        future.get();
      }
    }

    List<Transition> transitions = List.copyOf(seen);
    assertThat(transitions).isNotEmpty();
    assertThat(transitions.getFirst().from()).isEqualTo(State.CLOSED);
    for (int i = 1; i < transitions.size(); i++) {
      assertThat(transitions.get(i).from())
          .as("transition %d follows %s", i, transitions.get(i - 1))
          .isEqualTo(transitions.get(i - 1).to());
      assertThat(transitions.get(i).at()).isAfterOrEqualTo(transitions.get(i - 1).at());
    }
    assertThat(breaker.state()).isIn((Object[]) State.values());
    assertThat(transitions).extracting(Transition::to).contains(State.HALF_OPEN, State.CLOSED);
  }

  @Test
  void worksAcrossTheWrapOfNanoTime() {
    TestClock wrapping = new TestClock(Long.MAX_VALUE - Duration.ofSeconds(10).toNanos());
    FailureRateCircuitBreaker breaker =
        CircuitBreaker.failureRate(0.5)
            .minCalls(2)
            .timeWindow(Duration.ofSeconds(30))
            .openFor(Duration.ofSeconds(30))
            .halfOpenCalls(1)
            .clock(wrapping);

    calls(breaker, 1, true);
    wrapping.advance(Duration.ofSeconds(15));
    calls(breaker, 1, true);
    assertThat(breaker.state()).isEqualTo(State.OPEN);
    wrapping.advance(Duration.ofSeconds(29));
    assertThat(breaker.remainingOpen()).isEqualTo(Duration.ofSeconds(1));
    wrapping.advance(Duration.ofSeconds(1));
    assertThat(breaker.state()).isEqualTo(State.HALF_OPEN);
  }

  @Test
  void rejectsBadArguments() {
    FailureRateCircuitBreaker breaker = breaker(0.5);

    for (double threshold : new double[] {0.0, -0.1, 1.01, Double.NaN}) {
      assertThatThrownBy(() -> CircuitBreaker.failureRate(threshold))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("threshold must be in (0, 1], was " + threshold);
    }
    assertThatThrownBy(() -> breaker.minCalls(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("minCalls must be >= 1, was 0");
    assertThatThrownBy(() -> breaker.window(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("window must be in [1, 1000000] calls, was 0");
    assertThatThrownBy(() -> breaker.window(1_000_001))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1000001");
    assertThatThrownBy(() -> breaker.timeWindow(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("timeWindow must be in (PT0S, PT8760H], was PT0S");
    assertThatThrownBy(() -> breaker.timeWindow(Duration.ofDays(366)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("timeWindow");
    assertThatThrownBy(() -> breaker.openFor(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("openFor must be in (PT0S, PT8760H], was PT-1S");
    assertThatThrownBy(() -> breaker.halfOpenCalls(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("halfOpenCalls must be >= 1, was 0");
  }

  @Test
  void rejectsNulls() {
    FailureRateCircuitBreaker breaker = breaker(0.5);

    assertThatThrownBy(() -> breaker.timeWindow(nullValue()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("timeWindow cannot be null");
    assertThatThrownBy(() -> breaker.openFor(nullValue()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("openFor cannot be null");
    assertThatThrownBy(() -> breaker.clock(nullValue()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("clock cannot be null");
    assertThatThrownBy(() -> breaker.bind(nullValue()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("clock cannot be null");
    assertThatThrownBy(() -> breaker.addListener(nullValue()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("listener cannot be null");
  }

  @SuppressWarnings("unchecked")
  private static <T> T nullValue() {
    return (T) null;
  }

  @Test
  void toStringShowsTheConfigurationAndState() {
    FailureRateCircuitBreaker breaker = breaker(0.5).minCalls(2);
    calls(breaker, 1, true);

    assertThat(breaker)
        .hasToString(
            "CircuitBreaker.failureRate(0.5)[minCalls=2, window=100 calls, openFor=PT30S,"
                + " halfOpenCalls=5, state=CLOSED, failures=1/1]");
    calls(breaker, 1, true);
    assertThat(breaker.toString()).endsWith("state=OPEN]");
    assertThat(breaker.timeWindow(Duration.ofMinutes(1)).toString()).contains("window=PT1M");
  }

  @Test
  void disabledCircuitIsAlwaysClosedAndBindsToItself() {
    CircuitBreaker disabled = CircuitBreaker.disabled();
    disabled.addListener(
        t -> {
          throw new AssertionError("the disabled circuit never changes state");
        });

    calls(disabled, 1000, true);

    assertThat(disabled.state()).isEqualTo(State.CLOSED);
    assertThat(disabled.remainingOpen()).isZero();
    assertThat(disabled.bind(clock)).isSameAs(disabled);
    assertThatThrownBy(() -> disabled.addListener(nullValue()))
        .isInstanceOf(NullPointerException.class);
  }

  @Test
  void transitionRejectsNulls() {
    assertThatThrownBy(() -> new Transition(State.CLOSED, State.OPEN, TestClock.START, nullValue()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("reason cannot be null");
  }
}
