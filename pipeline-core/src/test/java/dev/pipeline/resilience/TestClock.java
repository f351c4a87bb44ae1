package dev.pipeline.resilience;

import dev.pipeline.PipelineClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A clock the test moves: {@link #nanoTime()} changes only through {@link #advance(Duration)}, and
 * {@link #sleep(Duration)} returns at once after advancing time by the duration, remembering it.
 * Thread-safe.
 */
final class TestClock implements PipelineClock {
  static final Instant START = Instant.parse("2025-01-01T00:00:00Z");

  private final long startNanos;
  private final AtomicLong nanos;
  private final Queue<Duration> sleeps = new ConcurrentLinkedQueue<>();

  /** A clock whose {@link #nanoTime()} starts at an arbitrary value, as the system's does. */
  TestClock() {
    this(123_456_789_000L);
  }

  /** A clock whose {@link #nanoTime()} starts at {@code startNanos}. */
  TestClock(long startNanos) {
    this.startNanos = startNanos;
    this.nanos = new AtomicLong(startNanos);
  }

  @Override
  public Instant now() {
    return START.plusNanos(nanos.get() - startNanos);
  }

  @Override
  public long nanoTime() {
    return nanos.get();
  }

  @Override
  public void sleep(Duration duration) throws InterruptedException {
    if (Thread.interrupted()) {
      throw new InterruptedException("interrupted before sleeping " + duration);
    }
    sleeps.add(duration);
    advance(duration);
  }

  void advance(Duration duration) {
    nanos.addAndGet(duration.toNanos());
  }

  /** The time elapsed since this clock was created. */
  Duration elapsed() {
    return Duration.ofNanos(nanos.get() - startNanos);
  }

  /** Every duration slept, in order. */
  List<Duration> sleeps() {
    return List.copyOf(sleeps);
  }
}
