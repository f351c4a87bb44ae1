package dev.pipeline;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A clock the test moves: {@link #nanoTime()} changes only through {@link #advance(Duration)}, and
 * {@link #sleep(Duration)} returns at once after advancing time by the duration, remembering it.
 */
final class FakeClock implements PipelineClock {
  static final Instant START = Instant.parse("2025-01-01T00:00:00Z");

  private final AtomicLong nanos = new AtomicLong();
  private final List<Duration> sleeps = new CopyOnWriteArrayList<>();

  @Override
  public Instant now() {
    return START.plusNanos(nanos.get());
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

  /** Every duration slept, in order. */
  List<Duration> sleeps() {
    return List.copyOf(sleeps);
  }
}
