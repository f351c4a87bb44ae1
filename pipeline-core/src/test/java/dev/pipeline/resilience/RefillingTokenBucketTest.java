package dev.pipeline.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.pipeline.PipelineClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class RefillingTokenBucketTest {
  private static final Duration SECOND = Duration.ofSeconds(1);
  private static final long MS = 1_000_000;

  private final TestClock clock = new TestClock();

  private RefillingTokenBucket bucket(double rate) {
    return TokenBucket.perSecond(rate).clock(clock);
  }

  private RefillingTokenBucket adaptive(double rate) {
    return TokenBucket.perSecond(rate).adaptive().clock(clock);
  }

  /**
   * Reports {@code calls} outcomes, the first {@code failures} of them failed, then ends the
   * window.
   */
  private void window(TokenBucket bucket, int calls, int failures, long latencyNanos) {
    for (int i = 0; i < calls; i++) {
      bucket.onResult(latencyNanos, i < failures);
    }
    clock.advance(SECOND);
  }

  @Test
  void hasTheDocumentedDefaults() {
    RefillingTokenBucket bucket = TokenBucket.perSecond(20);

    assertThat(bucket.ratePerSecond()).isEqualTo(20);
    assertThat(bucket.configuredRate()).isEqualTo(20);
    assertThat(bucket.capacity()).isEqualTo(20);
    assertThat(bucket.isAdaptive()).isFalse();
    assertThat(TokenBucket.perSecond(2.5).capacity()).isEqualTo(3);
    assertThat(TokenBucket.perSecond(0.1).capacity()).isEqualTo(1);

    RefillingTokenBucket adaptive = bucket.adaptive();
    assertThat(adaptive.isAdaptive()).isTrue();
    assertThat(adaptive.minRate()).isEqualTo(0.2);
    assertThat(adaptive.decrease()).isEqualTo(0.5);
    assertThat(adaptive.latencyTarget()).isEmpty();
  }

  @Test
  void startsFullWithTheBurstAvailableAtOnce() {
    RefillingTokenBucket bucket = bucket(10).burst(25);

    assertThat(bucket.capacity()).isEqualTo(25);
    assertThat(bucket.tryAcquire(25)).isTrue();
    assertThat(bucket.tryAcquire(1)).isFalse();
  }

  @Test
  void tryAcquireTakesNothingWhenThereIsNotEnough() {
    RefillingTokenBucket bucket = bucket(10);

    assertThat(bucket.tryAcquire(7)).isTrue();
    assertThat(bucket.tryAcquire(4)).isFalse();
    assertThat(bucket.tryAcquire(3)).isTrue();
    assertThat(bucket.tryAcquire(1)).isFalse();
    assertThat(bucket.tryAcquire(11)).as("more than the capacity").isFalse();
    assertThat(clock.sleeps()).isEmpty();
  }

  @Test
  void refillsExactlyTheRateTimesTheElapsedTime() {
    RefillingTokenBucket bucket = bucket(20);
    assertThat(bucket.tryAcquire(20)).isTrue();

    clock.advance(SECOND);

    assertThat(bucket.tryAcquire(20)).isTrue();
    assertThat(bucket.tryAcquire(1)).isFalse();
  }

  @Test
  void refillInSmallStepsDoesNotDrift() {
    RefillingTokenBucket bucket = bucket(3);
    assertThat(bucket.tryAcquire(3)).isTrue();

    List<Integer> grantedAtMillis = new ArrayList<>();
    for (int ms = 1; ms <= 3000; ms++) {
      clock.advance(Duration.ofMillis(1));
      if (bucket.tryAcquire(1)) {
        grantedAtMillis.add(ms);
      }
    }

    // a token every 333.33 ms: due at 333.33, 666.67, 1000, ...
    assertThat(grantedAtMillis).containsExactly(334, 667, 1000, 1334, 1667, 2000, 2334, 2667, 3000);
  }

  @Test
  void neverHoldsMoreThanItsCapacity() {
    RefillingTokenBucket bucket = bucket(10).burst(4);
    assertThat(bucket.tryAcquire(4)).isTrue();

    clock.advance(Duration.ofHours(1));

    assertThat(bucket.tryAcquire(4)).isTrue();
    assertThat(bucket.tryAcquire(1)).isFalse();
  }

  @Test
  void acquireSleepsOnTheClockUntilTheTokensAreDue() throws InterruptedException {
    RefillingTokenBucket bucket = bucket(10);

    bucket.acquire(10);
    assertThat(clock.sleeps()).isEmpty();
    bucket.acquire(1);
    bucket.acquire(5);

    assertThat(clock.sleeps()).containsExactly(Duration.ofMillis(100), Duration.ofMillis(500));
    assertThat(bucket.tryAcquire(1)).isFalse();
  }

  @Test
  void acquireQueuesWaitersByReservation() throws InterruptedException {
    // a clock whose sleep does not move time shows each caller's own wait
    List<Duration> waits = new ArrayList<>();
    RefillingTokenBucket bucket = bucket(10).clock(new FrozenSleepClock(clock, waits));
    assertThat(bucket.tryAcquire(10)).isTrue();

    bucket.acquire(1);
    bucket.acquire(1);
    bucket.acquire(3);

    assertThat(waits)
        .containsExactly(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(500));
  }

  @Test
  void acquiringMoreThanTheCapacityGoesIntoDebtAndCompletes() throws InterruptedException {
    RefillingTokenBucket bucket = bucket(10).burst(5);

    bucket.acquire(25);

    assertThat(clock.sleeps()).containsExactly(Duration.ofSeconds(2));
    assertThat(bucket.tryAcquire(1)).isFalse();
    clock.advance(Duration.ofMillis(100));
    assertThat(bucket.tryAcquire(1)).isTrue();
  }

  @Test
  void tryAcquireFailsWhileAnAcquirerIsInDebt() throws InterruptedException {
    RefillingTokenBucket bucket = bucket(10);
    List<Duration> waits = new ArrayList<>();
    RefillingTokenBucket frozen = bucket.clock(new FrozenSleepClock(clock, waits));

    frozen.acquire(15);
    clock.advance(Duration.ofMillis(400));
    assertThat(frozen.tryAcquire(1)).as("debt of 5 less 4 refilled").isFalse();
    clock.advance(Duration.ofMillis(200));
    assertThat(frozen.tryAcquire(1)).isTrue();
    assertThat(frozen.tryAcquire(1)).isFalse();
  }

  @Test
  void neverGrantsMoreThanTheBurstPlusTheRateTimesTheElapsedTime() throws Exception {
    double rate = 50;
    int burst = 20;
    RefillingTokenBucket bucket = adaptive(rate).burst(burst).latencyTarget(Duration.ofMillis(50));
    long start = clock.nanoTime();
    AtomicLong granted = new AtomicLong();
    Queue<String> violations = new ConcurrentLinkedQueue<>();
    CountDownLatch go = new CountDownLatch(1);
    List<Future<?>> futures = new ArrayList<>();
    try (ExecutorService executor = Executors.newFixedThreadPool(8)) {
      for (int t = 0; t < 8; t++) {
        SplittableRandom random = new SplittableRandom(t);
        futures.add(
            executor.submit(
                () -> {
                  go.await();
                  for (int i = 0; i < 5_000; i++) {
                    int permits = 1 + random.nextInt(burst + 10);
                    boolean took =
                        switch (random.nextInt(6)) {
                          case 0, 1 -> {
                            bucket.acquire(permits);
                            yield true;
                          }
                          case 2, 3 -> bucket.tryAcquire(permits);
                          case 4 -> {
                            clock.advance(Duration.ofNanos(random.nextLong(50 * MS)));
                            yield false;
                          }
                          default -> {
                            if (random.nextInt(100) == 0) {
                              bucket.onCircuitOpen();
                            } else {
                              bucket.onResult(random.nextLong(100 * MS), random.nextInt(8) == 0);
                            }
                            yield false;
                          }
                        };
                    if (took) {
                      long total = granted.addAndGet(permits);
                      double allowed = burst + rate * (clock.nanoTime() - start) / 1e9;
                      if (total > allowed + 1e-6) {
                        violations.add(total + " tokens granted, " + allowed + " allowed");
                      }
                    }
                    double current = bucket.ratePerSecond();
                    if (current < bucket.minRate() || current > rate) {
                      violations.add("rate " + current);
                    }
                  }
                  return null;
                }));
      }
      go.countDown();
      for (Future<?> future : futures) {
        future.get();
      }
    }

    assertThat(violations).isEmpty();
    assertThat(granted.get()).isGreaterThan(10_000);
    assertThat(clock.sleeps()).isNotEmpty();
  }

  @Test
  void plainBucketIgnoresFeedback() {
    RefillingTokenBucket bucket = bucket(100);

    window(bucket, 10, 10, 0);
    bucket.onCircuitOpen();

    assertThat(bucket.ratePerSecond()).isEqualTo(100);
  }

  @Test
  void failuresCutTheRateMultiplicatively() {
    RefillingTokenBucket bucket = adaptive(100);

    window(bucket, 10, 2, 0);
    assertThat(bucket.ratePerSecond()).isEqualTo(50);
    window(bucket, 10, 2, 0);
    assertThat(bucket.ratePerSecond()).isEqualTo(25);

    RefillingTokenBucket gentle = adaptive(100).decrease(0.8);
    window(gentle, 10, 2, 0);
    assertThat(gentle.ratePerSecond()).isCloseTo(80, within(1e-9));
  }

  @Test
  void healthyWindowsRaiseTheRateAdditivelyUpToTheConfiguredRate() {
    RefillingTokenBucket bucket = adaptive(100);
    window(bucket, 10, 10, 0);
    assertThat(bucket.ratePerSecond()).isEqualTo(50);

    List<Double> rates = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      window(bucket, 10, 1, 0); // 10% failed is not more than 10%
      rates.add(bucket.ratePerSecond());
    }

    assertThat(rates)
        .containsExactly(55.0, 60.0, 65.0, 70.0, 75.0, 80.0, 85.0, 90.0, 95.0, 100.0, 100.0, 100.0);
  }

  @Test
  void aWindowWithoutCallsLeavesTheRate() {
    RefillingTokenBucket bucket = adaptive(100);
    window(bucket, 4, 4, 0);
    assertThat(bucket.ratePerSecond()).isEqualTo(50);

    clock.advance(Duration.ofMinutes(5));

    assertThat(bucket.ratePerSecond()).isEqualTo(50);
  }

  @Test
  void aWindowLastsASecondOfClockTime() {
    RefillingTokenBucket bucket = adaptive(100);

    bucket.onResult(0, true);
    clock.advance(Duration.ofMillis(999));
    assertThat(bucket.ratePerSecond()).isEqualTo(100);
    clock.advance(Duration.ofMillis(1));
    assertThat(bucket.ratePerSecond()).isEqualTo(50);
  }

  @Test
  void neverGoesBelowMinRate() {
    RefillingTokenBucket bucket = adaptive(100).minRate(30);

    window(bucket, 1, 1, 0);
    window(bucket, 1, 1, 0);
    assertThat(bucket.ratePerSecond()).isEqualTo(30);
    bucket.onCircuitOpen();
    assertThat(bucket.ratePerSecond()).isEqualTo(30);

    RefillingTokenBucket byDefault = adaptive(100);
    for (int i = 0; i < 20; i++) {
      window(byDefault, 1, 1, 0);
    }
    assertThat(byDefault.ratePerSecond()).isEqualTo(1);
  }

  @Test
  void slowsDownWhenTheMeanLatencyExceedsTheTarget() {
    RefillingTokenBucket bucket = adaptive(100).latencyTarget(Duration.ofMillis(100));

    for (int i = 0; i < 9; i++) {
      bucket.onResult(0, false);
    }
    bucket.onResult(2_000 * MS, false);
    clock.advance(SECOND);

    assertThat(bucket.ratePerSecond()).as("mean 200ms, 1 of 10 slow").isEqualTo(50);
  }

  @Test
  void slowsDownWhenMoreThanATenthOfTheCallsExceedTheTarget() {
    RefillingTokenBucket bucket = adaptive(100).latencyTarget(Duration.ofMillis(100));

    for (int i = 0; i < 8; i++) {
      bucket.onResult(50 * MS, false);
    }
    bucket.onResult(200 * MS, false);
    bucket.onResult(200 * MS, false);
    clock.advance(SECOND);
    assertThat(bucket.ratePerSecond()).as("mean 80ms, 2 of 10 slow").isEqualTo(50);

    for (int i = 0; i < 9; i++) {
      bucket.onResult(50 * MS, false);
    }
    bucket.onResult(200 * MS, false);
    clock.advance(SECOND);
    assertThat(bucket.ratePerSecond()).as("mean 65ms, 1 of 10 slow").isEqualTo(55);

    window(bucket, 10, 0, 100 * MS);
    assertThat(bucket.ratePerSecond()).as("exactly on target").isEqualTo(60);
  }

  @Test
  void latencyIsIgnoredWithoutATarget() {
    RefillingTokenBucket bucket = adaptive(100);

    window(bucket, 10, 0, Duration.ofMinutes(1).toNanos());

    assertThat(bucket.ratePerSecond()).isEqualTo(100);
  }

  @Test
  void anOpeningCircuitCutsTheRateAtOnceAndStartsANewWindow() {
    RefillingTokenBucket bucket = adaptive(100);
    bucket.onResult(0, true);

    bucket.onCircuitOpen();
    assertThat(bucket.ratePerSecond()).isEqualTo(50);

    clock.advance(SECOND);
    assertThat(bucket.ratePerSecond())
        .as("the failure before it is not judged again")
        .isEqualTo(50);
  }

  @Test
  void aLowerRateRefillsMoreSlowly() {
    RefillingTokenBucket bucket = adaptive(100);
    assertThat(bucket.tryAcquire(100)).isTrue();

    bucket.onCircuitOpen();
    clock.advance(SECOND);

    assertThat(bucket.tryAcquire(50)).isTrue();
    assertThat(bucket.tryAcquire(1)).isFalse();
  }

  @Test
  void bindGivesAFullBucketAtTheConfiguredRateOnTheGivenClock() throws InterruptedException {
    RefillingTokenBucket configured = adaptive(10).burst(5).minRate(2).decrease(0.25);
    assertThat(configured.tryAcquire(5)).isTrue();
    configured.onCircuitOpen();

    TestClock other = new TestClock(-7);
    RefillingTokenBucket bound = configured.bind(other);

    assertThat(bound).isNotSameAs(configured);
    assertThat(bound.ratePerSecond()).isEqualTo(10);
    assertThat(bound.capacity()).isEqualTo(5);
    assertThat(bound.minRate()).isEqualTo(2);
    assertThat(bound.decrease()).isEqualTo(0.25);
    assertThat(bound.tryAcquire(5)).isTrue();
    bound.acquire(1);
    assertThat(other.sleeps()).containsExactly(Duration.ofMillis(100));
    assertThat(clock.sleeps()).isEmpty();
    assertThat(configured.ratePerSecond()).isEqualTo(2.5);
  }

  @Test
  void interruptionWhileWaitingThrowsAndGivesTheTokensBack() throws Exception {
    CountDownLatch sleeping = new CountDownLatch(1);
    PipelineClock blocking =
        new PipelineClock() {
          @Override
          public Instant now() {
            return clock.now();
          }

          @Override
          public long nanoTime() {
            return clock.nanoTime();
          }

          @Override
          public void sleep(Duration duration) throws InterruptedException {
            sleeping.countDown();
            new CountDownLatch(1).await();
          }
        };
    RefillingTokenBucket bucket = TokenBucket.perSecond(1).clock(blocking);
    assertThat(bucket.tryAcquire(1)).isTrue();
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    Thread waiter =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    bucket.acquire(1);
                  } catch (Throwable e) {
                    thrown.set(e);
                  }
                });

    assertThat(sleeping.await(10, TimeUnit.SECONDS)).isTrue();
    waiter.interrupt();
    assertThat(waiter.join(Duration.ofSeconds(10))).isTrue();

    assertThat(thrown.get()).isInstanceOf(InterruptedException.class);
    clock.advance(SECOND);
    assertThat(bucket.tryAcquire(1)).as("the reservation was given back").isTrue();
  }

  @Test
  void acquireThrowsAtOnceWhenAlreadyInterrupted() {
    RefillingTokenBucket bucket = bucket(10);

    Thread.currentThread().interrupt();
    assertThatThrownBy(() -> bucket.acquire(1)).isInstanceOf(InterruptedException.class);

    assertThat(Thread.currentThread().isInterrupted()).isFalse();
    assertThat(bucket.tryAcquire(10)).as("nothing was taken").isTrue();
  }

  @Test
  void worksAcrossTheWrapOfNanoTime() throws InterruptedException {
    TestClock wrapping = new TestClock(Long.MAX_VALUE - 500 * MS);
    RefillingTokenBucket bucket = TokenBucket.perSecond(10).clock(wrapping);
    assertThat(bucket.tryAcquire(10)).isTrue();

    bucket.acquire(10);

    assertThat(wrapping.sleeps()).containsExactly(SECOND);
    assertThat(wrapping.nanoTime()).isNegative();
    wrapping.advance(SECOND);
    assertThat(bucket.tryAcquire(10)).isTrue();
  }

  @Test
  void rejectsBadArguments() {
    for (double rate : new double[] {0, -1, Double.NaN, Double.POSITIVE_INFINITY, 1.1e9}) {
      assertThatThrownBy(() -> TokenBucket.perSecond(rate))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("rate must be in (0, 1.0E9] tokens per second, was " + rate);
    }
    RefillingTokenBucket bucket = bucket(10);
    assertThatThrownBy(() -> bucket.burst(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("burst must be >= 1 tokens, was 0");
    assertThatThrownBy(() -> bucket.acquire(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("permits must be >= 1, was 0");
    assertThatThrownBy(() -> bucket.tryAcquire(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("permits must be >= 1, was -1");
    assertThatThrownBy(() -> bucket.onResult(-1, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("latencyNanos must be >= 0, was -1");

    RefillingTokenBucket adaptive = bucket.adaptive();
    for (double factor : new double[] {0, 1, -0.5, Double.NaN}) {
      assertThatThrownBy(() -> adaptive.decrease(factor))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("decrease must be in (0, 1), was " + factor);
    }
    assertThatThrownBy(() -> adaptive.minRate(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("minRate must be in (0, 10.0] tokens per second, was 0.0");
    assertThatThrownBy(() -> adaptive.minRate(10.5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("minRate must be in (0, 10.0] tokens per second, was 10.5");
    assertThatThrownBy(() -> adaptive.latencyTarget(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("latencyTarget must be in (PT0S, PT8760H], was PT0S");
  }

  @Test
  void adaptiveOptionsNeedAnAdaptiveBucket() {
    RefillingTokenBucket bucket = bucket(10);

    assertThatThrownBy(() -> bucket.minRate(1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("minRate applies only to an adaptive bucket: call adaptive() before minRate()");
    assertThatThrownBy(() -> bucket.decrease(0.5)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> bucket.latencyTarget(SECOND))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void rejectsNulls() {
    RefillingTokenBucket bucket = bucket(10);

    assertThatThrownBy(() -> bucket.clock(nullValue()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("clock cannot be null");
    assertThatThrownBy(() -> bucket.bind(nullValue()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("clock cannot be null");
    assertThatThrownBy(() -> bucket.adaptive().latencyTarget(nullValue()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("latencyTarget cannot be null");
  }

  @SuppressWarnings("unchecked")
  private static <T> T nullValue() {
    return (T) null;
  }

  @Test
  void toStringShowsTheConfiguration() {
    assertThat(bucket(20)).hasToString("TokenBucket.perSecond(20.0)[burst=20]");
    RefillingTokenBucket adaptive = adaptive(20).burst(5).latencyTarget(Duration.ofMillis(100));
    adaptive.onCircuitOpen();
    assertThat(adaptive)
        .hasToString(
            "TokenBucket.perSecond(20.0)[burst=5, adaptive, minRate=0.2, decrease=0.5,"
                + " latencyTarget=PT0.1S, rate=10.0]");
  }

  @Test
  void unlimitedBucketNeverRunsDryAndBindsToItself() throws InterruptedException {
    TokenBucket unlimited = TokenBucket.unlimited();

    unlimited.acquire(Integer.MAX_VALUE);
    assertThat(unlimited.tryAcquire(Integer.MAX_VALUE)).isTrue();
    unlimited.onResult(1, true);
    unlimited.onCircuitOpen();

    assertThat(unlimited.ratePerSecond()).isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(unlimited.capacity()).isEqualTo(Integer.MAX_VALUE);
    assertThat(unlimited.bind(clock)).isSameAs(unlimited);
  }

  /** Reads time from another clock; its sleep only records the duration. */
  private record FrozenSleepClock(TestClock clock, List<Duration> sleeps) implements PipelineClock {
    @Override
    public Instant now() {
      return clock.now();
    }

    @Override
    public long nanoTime() {
      return clock.nanoTime();
    }

    @Override
    public void sleep(Duration duration) {
      sleeps.add(duration);
    }
  }
}
