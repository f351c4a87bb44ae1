package dev.pipeline;

import java.time.Duration;
import java.time.Instant;

/** The real clock. */
enum SystemClock implements PipelineClock {
  INSTANCE;

  @Override
  public Instant now() {
    return Instant.now();
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public void sleep(Duration duration) throws InterruptedException {
    if (duration.isPositive()) {
      Thread.sleep(duration);
    }
  }

  @Override
  public String toString() {
    return "PipelineClock.system()";
  }
}
