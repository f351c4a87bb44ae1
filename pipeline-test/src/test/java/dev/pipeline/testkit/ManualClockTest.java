package dev.pipeline.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class ManualClockTest {

  @Test
  void startsAtTheFirstOfJanuary2026ByDefault() {
    ManualClock clock = ManualClock.create();

    assertThat(clock.now()).isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
    assertThat(clock.nanoTime()).isZero();
    assertThat(clock.elapsed()).isZero();
    assertThat(clock.sleeps()).isEmpty();
  }

  @Test
  void startsAtTheGivenInstant() {
    Instant start = Instant.parse("2030-06-15T12:30:00Z");

    assertThat(ManualClock.startingAt(start).now()).isEqualTo(start);
  }

  @Test
  void advanceMovesNowAndNanoTimeTogether() {
    ManualClock clock = ManualClock.create();

    clock.advance(Duration.ofMinutes(5));
    clock.advance(Duration.ofNanos(7));

    assertThat(clock.now()).isEqualTo(Instant.parse("2026-01-01T00:05:00.000000007Z"));
    assertThat(clock.nanoTime()).isEqualTo(Duration.ofMinutes(5).toNanos() + 7);
    assertThat(clock.elapsed()).isEqualTo(Duration.ofMinutes(5).plusNanos(7));
  }

  @Test
  void advanceRejectsNegativeAndNullDurations() {
    ManualClock clock = ManualClock.create();

    assertThatThrownBy(() -> clock.advance(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("negative");
    assertThatThrownBy(() -> clock.advance(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("duration cannot be null");
    assertThat(clock.nanoTime()).isZero();
  }

  @Test
  void sleepReturnsAtOnceAfterMovingTheClockAndRecordingTheSleep() throws InterruptedException {
    ManualClock clock = ManualClock.create();

    clock.sleep(Duration.ofHours(1));
    clock.sleep(Duration.ofSeconds(30));

    assertThat(clock.sleeps()).containsExactly(Duration.ofHours(1), Duration.ofSeconds(30));
    assertThat(clock.now()).isEqualTo(Instant.parse("2026-01-01T01:00:30Z"));
  }

  @Test
  void sleepOfZeroOrLessIsRecordedButDoesNotMoveTheClock() throws InterruptedException {
    ManualClock clock = ManualClock.create();

    clock.sleep(Duration.ZERO);
    clock.sleep(Duration.ofMillis(-5));

    assertThat(clock.sleeps()).containsExactly(Duration.ZERO, Duration.ofMillis(-5));
    assertThat(clock.nanoTime()).isZero();
  }

  @Test
  void sleepOnAnInterruptedThreadThrowsAndClearsTheFlag() {
    ManualClock clock = ManualClock.create();
    Thread.currentThread().interrupt();

    assertThatThrownBy(() -> clock.sleep(Duration.ofSeconds(1)))
        .isInstanceOf(InterruptedException.class);
    assertThat(Thread.interrupted()).isFalse();
    assertThat(clock.sleeps()).isEmpty();
    assertThat(clock.nanoTime()).isZero();
  }

  @Test
  void sleepsIsACopy() throws InterruptedException {
    ManualClock clock = ManualClock.create();
    List<Duration> before = clock.sleeps();

    clock.sleep(Duration.ofSeconds(1));

    assertThat(before).isEmpty();
    assertThatThrownBy(() -> clock.sleeps().add(Duration.ZERO))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void concurrentSleepsAndAdvancesAreAllCounted() throws InterruptedException {
    ManualClock clock = ManualClock.create();
    int threads = 50;
    int perThread = 200;
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> started = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      boolean sleeper = t % 2 == 0;
      started.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      start.await();
                      for (int i = 0; i < perThread; i++) {
                        if (sleeper) {
                          clock.sleep(Duration.ofMillis(1));
                        } else {
                          clock.advance(Duration.ofMillis(1));
                        }
                      }
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                    }
                  }));
    }
    start.countDown();
    for (Thread thread : started) {
      thread.join();
    }

    assertThat(clock.elapsed()).isEqualTo(Duration.ofMillis((long) threads * perThread));
    assertThat(clock.sleeps()).hasSize(threads / 2 * perThread);
  }
}
