package dev.pipeline.testkit;

import dev.pipeline.PipelineClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link PipelineClock} that moves only when told to: by {@link #advance(Duration)}, or by a
 * {@link #sleep(Duration)}, which returns at once after moving the clock by the duration and
 * recording it. A retry's backoff therefore costs no real time, and a test asserts it through
 * {@link #sleeps()}:
 *
 * <pre>{@code
 * ManualClock clock = ManualClock.create();
 * StageTester.of(flakyStage)
 *     .retry(RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1)))
 *     .clock(clock)
 *     .run("excavator");
 * assertThat(clock.sleeps())
 *     .containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4));
 * }</pre>
 *
 * <p>{@link #now()} starts at the given instant ({@link #DEFAULT_START} unless given) and {@link
 * #nanoTime()} at 0; both move together. Several threads sleeping at once each move the clock by
 * their own duration, so the clock advances by the sum.
 *
 * <p>Thread-safe.
 */
public final class ManualClock implements PipelineClock {
  /** Where a clock starts unless told otherwise: 2026-01-01T00:00:00Z. */
  public static final Instant DEFAULT_START = Instant.parse("2026-01-01T00:00:00Z");

  private final Instant start;
  private final AtomicLong elapsedNanos = new AtomicLong();
  private final ReentrantLock lock = new ReentrantLock();
  // guarded by lock
  private final List<Duration> sleeps = new ArrayList<>();

  private ManualClock(Instant start) {
    this.start = start;
  }

  /** A clock at {@link #DEFAULT_START}. */
  public static ManualClock create() {
    return new ManualClock(DEFAULT_START);
  }

  /**
   * A clock at the given instant.
   *
   * @throws NullPointerException if {@code start} is null
   */
  public static ManualClock startingAt(Instant start) {
    return new ManualClock(Objects.requireNonNull(start, "start cannot be null"));
  }

  /** The start instant plus the time the clock was moved. */
  @Override
  public Instant now() {
    return start.plusNanos(elapsedNanos.get());
  }

  /** The nanoseconds the clock was moved since it was created. */
  @Override
  public long nanoTime() {
    return elapsedNanos.get();
  }

  /** How far the clock was moved since it was created. */
  public Duration elapsed() {
    return Duration.ofNanos(elapsedNanos.get());
  }

  /**
   * Moves the clock forward.
   *
   * @throws NullPointerException if {@code duration} is null
   * @throws IllegalArgumentException if {@code duration} is negative: time never goes back
   * @throws ArithmeticException if the clock would move more than 292 years in all
   */
  public void advance(Duration duration) {
    Objects.requireNonNull(duration, "duration cannot be null");
    if (duration.isNegative()) {
      throw new IllegalArgumentException(
          "cannot advance by a negative duration (" + duration + "): time never goes back");
    }
    move(duration);
  }

  /**
   * Records the sleep and moves the clock by {@code duration}, without blocking. As with the system
   * clock, a zero or negative duration does not move it (but is recorded).
   *
   * @throws NullPointerException if {@code duration} is null
   * @throws InterruptedException if the calling thread is interrupted, as a real sleep would be;
   *     the sleep is then neither recorded nor made
   */
  @Override
  public void sleep(Duration duration) throws InterruptedException {
    Objects.requireNonNull(duration, "duration cannot be null");
    if (Thread.interrupted()) {
      throw new InterruptedException("interrupted before sleeping " + duration);
    }
    lock.lock();
    try {
      sleeps.add(duration);
      if (duration.isPositive()) {
        move(duration);
      }
    } finally {
      lock.unlock();
    }
  }

  /** Every duration passed to {@link #sleep(Duration)} so far, oldest first; a copy. */
  public List<Duration> sleeps() {
    lock.lock();
    try {
      return List.copyOf(sleeps);
    } finally {
      lock.unlock();
    }
  }

  private void move(Duration duration) {
    long nanos = duration.toNanos();
    elapsedNanos.getAndUpdate(elapsed -> Math.addExact(elapsed, nanos));
  }

  @Override
  public String toString() {
    return "ManualClock[now=" + now() + ", sleeps=" + sleeps().size() + "]";
  }
}
