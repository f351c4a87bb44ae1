package dev.pipeline.resilience;

import dev.pipeline.PipelineClock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * A token bucket refilled continuously at a rate per second of clock time, up to a burst capacity;
 * optionally adaptive, slowing down when the calls it admits fail or are slow.
 *
 * <p>The bucket starts full. {@link #acquire(int)} works like a scheduler: it reserves its tokens
 * at once, going into debt if there are not enough, and then sleeps on the clock (outside any lock)
 * until the refill has paid the debt, so waiting callers queue in order and a request for more
 * tokens than the {@link #capacity() capacity} still completes. {@link #tryAcquire(int)} takes
 * tokens only if they are there now. Refill is computed from the clock's nanoseconds since a fixed
 * point, so rounding never accumulates: at 20 tokens per second, one second brings exactly 20.
 *
 * <p><b>Adaptive</b> ({@link #adaptive()}): additive increase, multiplicative decrease between
 * {@link #minRate(double) minRate} and the configured rate, which is where it starts. Outcomes
 * reported through {@link #onResult(long, boolean)} are judged per window of at least one second of
 * clock time, when the first call after it ends arrives (no background thread). A window in which
 * more than 10% of the calls failed, or, with a {@link #latencyTarget(Duration) latency target},
 * whose mean latency exceeded it or in which more than 10% of the calls exceeded it, multiplies the
 * rate by {@link #decrease(double) decrease} (0.5 unless set); so does {@link #onCircuitOpen()}, at
 * once. Any other window with calls adds a twentieth of the configured rate.
 *
 * <p>The configuration methods return copies in a fresh state and never change this bucket; the
 * pipeline gives each stage its own through {@link #bind(PipelineClock)}. Thread-safe: the state is
 * guarded by a lock that is never held while sleeping, and no call allocates unless it waits.
 */
public final class RefillingTokenBucket implements TokenBucket {
  static final double MAX_RATE = 1e9;
  static final double DEFAULT_DECREASE = 0.5;
  static final Duration MAX_DURATION = Duration.ofDays(365);
  private static final double NANOS_PER_SECOND = 1e9;
  private static final long WINDOW_NANOS = 1_000_000_000L;
  private static final int UNHEALTHY_PERCENT = 10;
  private static final int INCREASE_DIVISOR = 20;

  private final double rate;
  private final int burst;
  private final boolean adaptive;
  private final double decrease;
  private final double minRate;
  private final @Nullable Duration latencyTarget;
  private final PipelineClock clock;

  private final long latencyTargetNanos;
  private final ReentrantLock lock = new ReentrantLock();
  // written under lock
  private volatile double currentRate;
  // guarded by lock: tokens(now) = anchorTokens + (now - anchorNanos) * currentRate / 1e9 - taken,
  // up to burst; negative while acquirers are in debt
  private long anchorNanos;
  private double anchorTokens;
  private long taken;
  // guarded by lock: the adaptive window
  private long windowStart;
  private int windowCalls;
  private int windowFailures;
  private int windowSlowCalls;
  private double windowLatencyNanos;

  private RefillingTokenBucket(
      double rate,
      int burst,
      boolean adaptive,
      double decrease,
      double minRate,
      @Nullable Duration latencyTarget,
      PipelineClock clock) {
    this.rate = rate;
    this.burst = burst;
    this.adaptive = adaptive;
    this.decrease = decrease;
    this.minRate = minRate;
    this.latencyTarget = latencyTarget;
    this.clock = clock;
    this.latencyTargetNanos = latencyTarget == null ? Long.MAX_VALUE : latencyTarget.toNanos();
    this.currentRate = rate;
    this.anchorNanos = clock.nanoTime();
    this.anchorTokens = burst;
    this.windowStart = anchorNanos;
  }

  static RefillingTokenBucket create(double rate) {
    if (!(rate > 0.0 && rate <= MAX_RATE)) {
      throw new IllegalArgumentException(
          "rate must be in (0, " + MAX_RATE + "] tokens per second, was " + rate);
    }
    int burst = (int) Math.max(1, Math.ceil(rate));
    return new RefillingTokenBucket(
        rate, burst, false, DEFAULT_DECREASE, rate / 100, null, PipelineClock.system());
  }

  /**
   * Returns a copy that holds at most {@code capacity} tokens (unless set, one second's worth:
   * {@code max(1, ceil(rate))}), the most a caller can take at once without waiting after a pause.
   *
   * @throws IllegalArgumentException if {@code capacity} is less than 1
   */
  public RefillingTokenBucket burst(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("burst must be >= 1 tokens, was " + capacity);
    }
    return new RefillingTokenBucket(
        rate, capacity, adaptive, decrease, minRate, latencyTarget, clock);
  }

  /**
   * Returns an adaptive copy: it starts at the configured rate and moves between {@link
   * #minRate(double) minRate} and it by the outcomes reported to it (see the class description).
   */
  public RefillingTokenBucket adaptive() {
    return new RefillingTokenBucket(rate, burst, true, decrease, minRate, latencyTarget, clock);
  }

  /**
   * Returns a copy of this adaptive bucket that multiplies its rate by {@code factor} when it slows
   * down (0.5 unless set).
   *
   * @throws IllegalStateException if this bucket is not {@link #adaptive()}
   * @throws IllegalArgumentException if {@code factor} is outside (0, 1)
   */
  public RefillingTokenBucket decrease(double factor) {
    requireAdaptive("decrease");
    if (!(factor > 0.0 && factor < 1.0)) {
      throw new IllegalArgumentException("decrease must be in (0, 1), was " + factor);
    }
    return new RefillingTokenBucket(rate, burst, true, factor, minRate, latencyTarget, clock);
  }

  /**
   * Returns a copy of this adaptive bucket that never slows below {@code minRate} tokens per second
   * (a hundredth of the configured rate unless set).
   *
   * @throws IllegalStateException if this bucket is not {@link #adaptive()}
   * @throws IllegalArgumentException if {@code minRate} is outside (0, configured rate]
   */
  public RefillingTokenBucket minRate(double minRate) {
    requireAdaptive("minRate");
    if (!(minRate > 0.0 && minRate <= rate)) {
      throw new IllegalArgumentException(
          "minRate must be in (0, " + rate + "] tokens per second, was " + minRate);
    }
    return new RefillingTokenBucket(rate, burst, true, decrease, minRate, latencyTarget, clock);
  }

  /**
   * Returns a copy of this adaptive bucket that also slows down when, in a window, the mean latency
   * of the calls or the latency of more than 10% of them exceeds {@code target}.
   *
   * @throws NullPointerException if {@code target} is null
   * @throws IllegalStateException if this bucket is not {@link #adaptive()}
   * @throws IllegalArgumentException if {@code target} is outside (0, 365 days]
   */
  public RefillingTokenBucket latencyTarget(Duration target) {
    Objects.requireNonNull(target, "latencyTarget cannot be null");
    requireAdaptive("latencyTarget");
    if (target.isNegative() || target.isZero() || target.compareTo(MAX_DURATION) > 0) {
      throw new IllegalArgumentException(
          "latencyTarget must be in (PT0S, " + MAX_DURATION + "], was " + target);
    }
    return new RefillingTokenBucket(rate, burst, true, decrease, minRate, target, clock);
  }

  private void requireAdaptive(String option) {
    if (!adaptive) {
      throw new IllegalStateException(
          option + " applies only to an adaptive bucket: call adaptive() before " + option + "()");
    }
  }

  /**
   * Returns a copy that reads time and sleeps on {@code clock}; the same as {@link
   * #bind(PipelineClock)}.
   *
   * @throws NullPointerException if {@code clock} is null
   */
  public RefillingTokenBucket clock(PipelineClock clock) {
    Objects.requireNonNull(clock, "clock cannot be null");
    return new RefillingTokenBucket(rate, burst, adaptive, decrease, minRate, latencyTarget, clock);
  }

  /**
   * Returns a copy with this configuration, full and at the configured rate, on {@code clock}.
   *
   * @throws NullPointerException if {@code clock} is null
   */
  @Override
  public RefillingTokenBucket bind(PipelineClock clock) {
    return clock(clock);
  }

  /**
   * The configured rate in tokens per second: the rate of a plain bucket, the ceiling of an
   * adaptive one.
   */
  public double configuredRate() {
    return rate;
  }

  /** Whether the rate adapts to the outcomes reported. */
  public boolean isAdaptive() {
    return adaptive;
  }

  /** The lowest rate an adaptive bucket slows to, in tokens per second. */
  public double minRate() {
    return minRate;
  }

  /** The factor an adaptive bucket multiplies its rate by when it slows down. */
  public double decrease() {
    return decrease;
  }

  /** The latency above which an adaptive bucket slows down, if set. */
  public Optional<Duration> latencyTarget() {
    return Optional.ofNullable(latencyTarget);
  }

  /** The burst capacity in tokens. */
  @Override
  public int capacity() {
    return burst;
  }

  /**
   * The current rate in tokens per second: the configured one, or for an adaptive bucket where it
   * has moved to (judging a finished window first).
   */
  @Override
  public double ratePerSecond() {
    if (adaptive) {
      lock.lock();
      try {
        judgeWindowIfOver(clock.nanoTime());
      } finally {
        lock.unlock();
      }
    }
    return currentRate;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Reserves the tokens at once and then sleeps on the clock until the refill has covered them;
   * if interrupted while sleeping, gives them back.
   *
   * @throws InterruptedException if the thread is interrupted on entry or while waiting
   */
  @Override
  public void acquire(int permits) throws InterruptedException {
    checkPermits(permits);
    if (Thread.interrupted()) {
      throw new InterruptedException("interrupted before acquiring " + permits + " tokens");
    }
    long wait;
    lock.lock();
    try {
      long now = clock.nanoTime();
      judgeWindowIfOver(now);
      double left = tokens(now) - permits;
      taken += permits;
      wait = left >= 0 ? 0 : nanosToRefill(-left);
    } finally {
      lock.unlock();
    }
    if (wait > 0) {
      try {
        clock.sleep(Duration.ofNanos(wait));
      } catch (InterruptedException e) {
        giveBack(permits);
        throw e;
      }
    }
  }

  @Override
  public boolean tryAcquire(int permits) {
    checkPermits(permits);
    lock.lock();
    try {
      long now = clock.nanoTime();
      judgeWindowIfOver(now);
      if (tokens(now) >= permits) {
        taken += permits;
        return true;
      }
      return false;
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Ignored unless adaptive.
   *
   * @throws IllegalArgumentException if {@code latencyNanos} is negative
   */
  @Override
  public void onResult(long latencyNanos, boolean failed) {
    if (latencyNanos < 0) {
      throw new IllegalArgumentException("latencyNanos must be >= 0, was " + latencyNanos);
    }
    if (!adaptive) {
      return;
    }
    lock.lock();
    try {
      judgeWindowIfOver(clock.nanoTime());
      windowCalls++;
      windowLatencyNanos += latencyNanos;
      if (failed) {
        windowFailures++;
      }
      if (latencyNanos > latencyTargetNanos) {
        windowSlowCalls++;
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>An adaptive bucket multiplies its rate by {@link #decrease()} at once (not below {@link
   * #minRate()}) and starts a new window; a plain one ignores it.
   */
  @Override
  public void onCircuitOpen() {
    if (!adaptive) {
      return;
    }
    lock.lock();
    try {
      long now = clock.nanoTime();
      changeRate(now, Math.max(minRate, currentRate * decrease));
      startWindow(now);
    } finally {
      lock.unlock();
    }
  }

  private static void checkPermits(int permits) {
    if (permits < 1) {
      throw new IllegalArgumentException("permits must be >= 1, was " + permits);
    }
  }

  // under lock; re-anchors when full, so the refill formula restarts from an exact value
  private double tokens(long now) {
    long elapsed = Math.max(0, now - anchorNanos);
    double tokens = anchorTokens + elapsed * currentRate / NANOS_PER_SECOND - taken;
    if (tokens >= burst) {
      anchorNanos = now;
      anchorTokens = burst;
      taken = 0;
      return burst;
    }
    return tokens;
  }

  private long nanosToRefill(double tokens) {
    double nanos = Math.ceil(tokens * NANOS_PER_SECOND / currentRate);
    return nanos >= Long.MAX_VALUE ? Long.MAX_VALUE : (long) nanos;
  }

  private void giveBack(int permits) {
    lock.lock();
    try {
      long now = clock.nanoTime();
      if (tokens(now) + permits >= burst) {
        anchorNanos = now;
        anchorTokens = burst;
        taken = 0;
      } else {
        taken -= permits;
      }
    } finally {
      lock.unlock();
    }
  }

  // under lock
  private void changeRate(long now, double rate) {
    if (rate == currentRate) {
      return;
    }
    anchorTokens = tokens(now);
    anchorNanos = now;
    taken = 0;
    currentRate = rate;
  }

  // under lock
  private void judgeWindowIfOver(long now) {
    if (!adaptive || now - windowStart < WINDOW_NANOS) {
      return;
    }
    if (windowCalls > 0) {
      boolean failing = windowFailures * 100L > windowCalls * (long) UNHEALTHY_PERCENT;
      boolean slow =
          latencyTarget != null
              && (windowLatencyNanos > (double) latencyTargetNanos * windowCalls
                  || windowSlowCalls * 100L > windowCalls * (long) UNHEALTHY_PERCENT);
      double next =
          failing || slow
              ? Math.max(minRate, currentRate * decrease)
              : Math.min(rate, currentRate + rate / INCREASE_DIVISOR);
      changeRate(now, next);
    }
    startWindow(now);
  }

  // under lock
  private void startWindow(long now) {
    windowStart = now;
    windowCalls = 0;
    windowFailures = 0;
    windowSlowCalls = 0;
    windowLatencyNanos = 0;
  }

  @Override
  public String toString() {
    StringBuilder s =
        new StringBuilder("TokenBucket.perSecond(").append(rate).append(")[burst=").append(burst);
    if (adaptive) {
      s.append(", adaptive, minRate=").append(minRate).append(", decrease=").append(decrease);
      if (latencyTarget != null) {
        s.append(", latencyTarget=").append(latencyTarget);
      }
      s.append(", rate=").append(currentRate);
    }
    return s.append(']').toString();
  }
}
