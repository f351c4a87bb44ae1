package dev.pipeline.resilience;

import dev.pipeline.PipelineClock;
import dev.pipeline.internal.ErrorText;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A circuit breaker that opens when the failure rate over a sliding window of recent calls reaches
 * a threshold.
 *
 * <p>While {@code CLOSED}, every reported outcome goes into the window: the last {@link
 * #window(int) n calls} (100 unless set) or the calls of the last {@link #timeWindow(Duration)
 * duration}. Once the window holds at least {@link #minCalls(int) minCalls} calls (20 unless set;
 * for a count window smaller than that, a full window) and the fraction of failures in it is at
 * least the threshold, the circuit opens. It stays {@code OPEN} for {@link #openFor(Duration)} (30
 * seconds unless set), refusing every call; the first {@link #tryAcquirePermission()} or {@link
 * #state()} after that moves it to {@code HALF_OPEN}, which lets {@link #halfOpenCalls(int)} trial
 * calls through (5 unless set). If they all succeed the circuit closes with an empty window; the
 * first that fails opens it again for {@code openFor}.
 *
 * <p>Outcomes reported while {@code OPEN}, and in {@code HALF_OPEN} beyond the trial calls granted,
 * come from calls let through earlier and are ignored.
 *
 * <p>The configuration methods return copies in a fresh state and never change this breaker, so one
 * configured breaker can be shared; the state is per instance, and the pipeline gives each stage
 * its own through {@link #bind(PipelineClock)}. Thread-safe: state changes happen under a lock,
 * while a closed circuit grants permission without taking it, and only a change of state allocates.
 */
public final class FailureRateCircuitBreaker implements CircuitBreaker {
  private static final Logger LOG = LoggerFactory.getLogger(FailureRateCircuitBreaker.class);

  static final int DEFAULT_MIN_CALLS = 20;
  static final int DEFAULT_WINDOW_CALLS = 100;
  static final int MAX_WINDOW_CALLS = 1_000_000;
  static final Duration DEFAULT_OPEN_FOR = Duration.ofSeconds(30);
  static final int DEFAULT_HALF_OPEN_CALLS = 5;
  static final Duration MAX_DURATION = Duration.ofDays(365);
  private static final int TIME_BUCKETS = 10;

  private final double threshold;
  private final int minCalls;
  private final int windowCalls;
  private final @Nullable Duration timeWindow;
  private final Duration openFor;
  private final int halfOpenCalls;
  private final PipelineClock clock;
  private final List<Listener> listeners;

  private final long openNanos;
  private final int effectiveMinCalls;
  private final ReentrantLock lock = new ReentrantLock();
  private final ReentrantLock notifyLock = new ReentrantLock();
  // filled under lock, so in transition order; drained under notifyLock
  private final Queue<Transition> undelivered = new ConcurrentLinkedQueue<>();

  // written under lock; read without it on the fast paths
  private volatile State state = State.CLOSED;
  private volatile long openUntilNanos;
  // guarded by lock: when the circuit last became half-open
  private long halfOpenSinceNanos;
  // guarded by lock
  private final Window window;
  private int trialsGranted;
  private int trialsReported;

  private FailureRateCircuitBreaker(
      double threshold,
      int minCalls,
      int windowCalls,
      @Nullable Duration timeWindow,
      Duration openFor,
      int halfOpenCalls,
      PipelineClock clock,
      List<Listener> listeners) {
    this.threshold = threshold;
    this.minCalls = minCalls;
    this.windowCalls = windowCalls;
    this.timeWindow = timeWindow;
    this.openFor = openFor;
    this.halfOpenCalls = halfOpenCalls;
    this.clock = clock;
    this.listeners = new CopyOnWriteArrayList<>(listeners);
    this.openNanos = openFor.toNanos();
    this.window =
        timeWindow == null ? new CountWindow(windowCalls) : new TimeWindow(timeWindow, clock);
    this.effectiveMinCalls = timeWindow == null ? Math.min(minCalls, windowCalls) : minCalls;
  }

  static FailureRateCircuitBreaker create(double threshold) {
    if (!(threshold > 0.0 && threshold <= 1.0)) {
      throw new IllegalArgumentException("threshold must be in (0, 1], was " + threshold);
    }
    return new FailureRateCircuitBreaker(
        threshold,
        DEFAULT_MIN_CALLS,
        DEFAULT_WINDOW_CALLS,
        null,
        DEFAULT_OPEN_FOR,
        DEFAULT_HALF_OPEN_CALLS,
        PipelineClock.system(),
        List.of());
  }

  /**
   * Returns a copy that opens only once its window holds at least {@code minCalls} calls (20 unless
   * set), so that a few early failures do not open it. With a count window smaller than {@code
   * minCalls}, a full window is enough.
   *
   * @throws IllegalArgumentException if {@code minCalls} is less than 1
   */
  public FailureRateCircuitBreaker minCalls(int minCalls) {
    if (minCalls < 1) {
      throw new IllegalArgumentException("minCalls must be >= 1, was " + minCalls);
    }
    return new FailureRateCircuitBreaker(
        threshold, minCalls, windowCalls, timeWindow, openFor, halfOpenCalls, clock, listeners);
  }

  /**
   * Returns a copy whose window is the last {@code calls} calls (100 unless set), replacing any
   * {@link #timeWindow(Duration) time window}.
   *
   * @throws IllegalArgumentException if {@code calls} is outside [1, 1000000]
   */
  public FailureRateCircuitBreaker window(int calls) {
    if (calls < 1 || calls > MAX_WINDOW_CALLS) {
      throw new IllegalArgumentException(
          "window must be in [1, " + MAX_WINDOW_CALLS + "] calls, was " + calls);
    }
    return new FailureRateCircuitBreaker(
        threshold, minCalls, calls, null, openFor, halfOpenCalls, clock, listeners);
  }

  /**
   * Returns a copy whose window is the calls of the last {@code duration} of clock time instead of
   * a number of calls. Calls are counted in ten buckets of a tenth of the duration each, so a call
   * is forgotten between 0.9 and 1 times {@code duration} after it was reported, and never later.
   *
   * @throws NullPointerException if {@code duration} is null
   * @throws IllegalArgumentException if {@code duration} is outside (0, 365 days]
   */
  public FailureRateCircuitBreaker timeWindow(Duration duration) {
    checkDuration("timeWindow", duration);
    return new FailureRateCircuitBreaker(
        threshold,
        minCalls,
        DEFAULT_WINDOW_CALLS,
        duration,
        openFor,
        halfOpenCalls,
        clock,
        listeners);
  }

  /**
   * Returns a copy that stays open for {@code duration} of clock time (30 seconds unless set)
   * before letting trial calls through.
   *
   * @throws NullPointerException if {@code duration} is null
   * @throws IllegalArgumentException if {@code duration} is outside (0, 365 days]
   */
  public FailureRateCircuitBreaker openFor(Duration duration) {
    checkDuration("openFor", duration);
    return new FailureRateCircuitBreaker(
        threshold, minCalls, windowCalls, timeWindow, duration, halfOpenCalls, clock, listeners);
  }

  /**
   * Returns a copy that lets {@code calls} trial calls through when half-open (5 unless set): if
   * all succeed the circuit closes, if one fails it opens again.
   *
   * @throws IllegalArgumentException if {@code calls} is less than 1
   */
  public FailureRateCircuitBreaker halfOpenCalls(int calls) {
    if (calls < 1) {
      throw new IllegalArgumentException("halfOpenCalls must be >= 1, was " + calls);
    }
    return new FailureRateCircuitBreaker(
        threshold, minCalls, windowCalls, timeWindow, openFor, calls, clock, listeners);
  }

  /**
   * Returns a copy that reads time from {@code clock}; the same as {@link #bind(PipelineClock)}.
   *
   * @throws NullPointerException if {@code clock} is null
   */
  public FailureRateCircuitBreaker clock(PipelineClock clock) {
    Objects.requireNonNull(clock, "clock cannot be null");
    return new FailureRateCircuitBreaker(
        threshold, minCalls, windowCalls, timeWindow, openFor, halfOpenCalls, clock, listeners);
  }

  /**
   * Returns a copy with this configuration and listeners, in a fresh state, on {@code clock}.
   *
   * @throws NullPointerException if {@code clock} is null
   */
  @Override
  public FailureRateCircuitBreaker bind(PipelineClock clock) {
    return clock(clock);
  }

  private static void checkDuration(String name, Duration duration) {
    Objects.requireNonNull(duration, name + " cannot be null");
    if (duration.isNegative() || duration.isZero() || duration.compareTo(MAX_DURATION) > 0) {
      throw new IllegalArgumentException(
          name + " must be in (PT0S, " + MAX_DURATION + "], was " + duration);
    }
  }

  /** The failure fraction that opens the circuit, in (0, 1]. */
  public double threshold() {
    return threshold;
  }

  /** The number of calls the window must hold before the circuit may open. */
  public int minCalls() {
    return minCalls;
  }

  /** The size of the window in calls; empty if the window is a {@link #timeWindow()}. */
  public OptionalInt window() {
    return timeWindow == null ? OptionalInt.of(windowCalls) : OptionalInt.empty();
  }

  /** The duration of the window; empty if the window is a number of {@link #window() calls}. */
  public Optional<Duration> timeWindow() {
    return Optional.ofNullable(timeWindow);
  }

  /** How long the circuit stays open before trial calls. */
  public Duration openFor() {
    return openFor;
  }

  /** How many trial calls a half-open circuit lets through. */
  public int halfOpenCalls() {
    return halfOpenCalls;
  }

  /**
   * {@inheritDoc}
   *
   * @throws NullPointerException if {@code listener} is null
   */
  @Override
  public void addListener(Listener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener cannot be null"));
  }

  @Override
  public boolean tryAcquirePermission() {
    State current = state;
    if (current == State.CLOSED) {
      return true;
    }
    if (current == State.OPEN && clock.nanoTime() - openUntilNanos < 0) {
      return false;
    }
    boolean granted;
    boolean changed;
    lock.lock();
    try {
      changed = halfOpenIfDue();
      granted =
          switch (state) {
            case CLOSED -> true;
            case OPEN -> false;
            case HALF_OPEN -> {
              if (trialsGranted < halfOpenCalls) {
                trialsGranted++;
                yield true;
              }
              if (clock.nanoTime() - halfOpenSinceNanos > openNanos) {
                // a trial call's outcome never came (its caller was cancelled or hung): rather
                // than stay half-open for good, open again and try anew later
                changed |=
                    moveTo(
                        State.OPEN,
                        (trialsGranted - trialsReported)
                            + " trial calls unanswered for longer than "
                            + Duration.ofNanos(openNanos));
              }
              yield false;
            }
          };
    } finally {
      lock.unlock();
    }
    if (changed) {
      deliver();
    }
    return granted;
  }

  @Override
  public void onSuccess(long nanos) {
    record(null);
  }

  @Override
  public void onFailure(long nanos, Throwable error) {
    record(Objects.requireNonNull(error, "error cannot be null"));
  }

  private void record(@Nullable Throwable error) {
    boolean changed = false;
    lock.lock();
    try {
      switch (state) {
        case CLOSED -> {
          window.record(error != null);
          int calls = window.calls();
          if (calls >= effectiveMinCalls && (double) window.failures() / calls >= threshold) {
            changed = moveTo(State.OPEN, openReason(calls, window.failures()));
          }
        }
        case HALF_OPEN -> {
          if (trialsReported < trialsGranted) {
            trialsReported++;
            if (error != null) {
              changed =
                  moveTo(State.OPEN, "trial call failed: " + ErrorText.describeDefault(error));
            } else if (trialsReported == halfOpenCalls) {
              changed = moveTo(State.CLOSED, halfOpenCalls + " trial calls succeeded");
            }
          }
        }
        case OPEN -> {
          // the outcome of a call let through before the circuit opened
        }
      }
    } finally {
      lock.unlock();
    }
    if (changed) {
      deliver();
    }
  }

  @Override
  public State state() {
    State current = state;
    if (current != State.OPEN || clock.nanoTime() - openUntilNanos < 0) {
      return current;
    }
    boolean changed;
    lock.lock();
    try {
      changed = halfOpenIfDue();
      current = state;
    } finally {
      lock.unlock();
    }
    if (changed) {
      deliver();
    }
    return current;
  }

  @Override
  public Duration remainingOpen() {
    if (state != State.OPEN) {
      return Duration.ZERO;
    }
    long remaining = openUntilNanos - clock.nanoTime();
    return remaining > 0 ? Duration.ofNanos(remaining) : Duration.ZERO;
  }

  // under lock
  private boolean halfOpenIfDue() {
    if (state == State.OPEN && clock.nanoTime() - openUntilNanos >= 0) {
      return moveTo(State.HALF_OPEN, "open for " + openFor);
    }
    return false;
  }

  // under lock
  private boolean moveTo(State to, String reason) {
    State from = state;
    switch (to) {
      case OPEN -> openUntilNanos = clock.nanoTime() + openNanos;
      case HALF_OPEN -> {
        trialsGranted = 0;
        trialsReported = 0;
        halfOpenSinceNanos = clock.nanoTime();
      }
      case CLOSED -> window.reset();
    }
    state = to;
    if (!listeners.isEmpty()) {
      undelivered.add(new Transition(from, to, clock.now(), reason));
    }
    return true;
  }

  private String openReason(int calls, int failures) {
    String rate = percent((double) failures / calls);
    String limit = percent(threshold);
    return timeWindow == null
        ? "failure rate " + rate + " of the last " + calls + " calls >= " + limit
        : "failure rate "
            + rate
            + " of "
            + calls
            + " calls in the last "
            + timeWindow
            + " >= "
            + limit;
  }

  static String percent(double fraction) {
    double percent = fraction * 100;
    long rounded = Math.round(percent);
    if (Math.abs(percent - rounded) < 1e-9) {
      return rounded + "%";
    }
    return String.format(Locale.ROOT, "%.1f%%", percent);
  }

  // outside lock; notifyLock keeps a later transition from overtaking an earlier one
  private void deliver() {
    notifyLock.lock();
    try {
      Transition transition;
      while ((transition = undelivered.poll()) != null) {
        for (Listener listener : listeners) {
          try {
            listener.onTransition(transition);
          } catch (RuntimeException e) {
            LOG.warn(
                "Circuit breaker listener {} failed on {}; {}",
                ErrorText.loggable(listener),
                ErrorText.loggable(transition),
                ErrorText.defaults().stackTrace(e));
          }
        }
      }
    } finally {
      notifyLock.unlock();
    }
  }

  @Override
  public String toString() {
    int calls;
    int failures;
    State current;
    lock.lock();
    try {
      current = state;
      window.advance();
      calls = window.calls();
      failures = window.failures();
    } finally {
      lock.unlock();
    }
    return "CircuitBreaker.failureRate("
        + threshold
        + ")[minCalls="
        + minCalls
        + ", window="
        + (timeWindow == null ? windowCalls + " calls" : timeWindow.toString())
        + ", openFor="
        + openFor
        + ", halfOpenCalls="
        + halfOpenCalls
        + ", state="
        + current
        + (current == State.CLOSED ? ", failures=" + failures + "/" + calls : "")
        + "]";
  }

  /** The outcomes a closed circuit judges by. Not thread-safe: used under the breaker's lock. */
  private interface Window {
    /** Records an outcome, after forgetting what is too old. */
    void record(boolean failed);

    /** Forgets what is too old. */
    default void advance() {}

    int calls();

    int failures();

    void reset();
  }

  /** The last {@code size} outcomes, in a ring. */
  private static final class CountWindow implements Window {
    private final boolean[] failed;
    private int next;
    private int calls;
    private int failures;

    CountWindow(int size) {
      this.failed = new boolean[size];
    }

    @Override
    public void record(boolean failure) {
      if (calls == failed.length) {
        if (failed[next]) {
          failures--;
        }
      } else {
        calls++;
      }
      failed[next] = failure;
      if (failure) {
        failures++;
      }
      next = next + 1 == failed.length ? 0 : next + 1;
    }

    @Override
    public int calls() {
      return calls;
    }

    @Override
    public int failures() {
      return failures;
    }

    @Override
    public void reset() {
      Arrays.fill(failed, false);
      next = 0;
      calls = 0;
      failures = 0;
    }
  }

  /**
   * The outcomes of the last duration, in {@value #TIME_BUCKETS} buckets of a tenth of it each:
   * bucket {@code epoch % TIME_BUCKETS} counts the calls of clock time {@code [origin + epoch *
   * bucketNanos, origin + (epoch + 1) * bucketNanos)}.
   */
  private static final class TimeWindow implements Window {
    private final PipelineClock clock;
    private final long bucketNanos;
    private final int[] calls = new int[TIME_BUCKETS];
    private final int[] failures = new int[TIME_BUCKETS];
    private long origin;
    private long epoch;
    private int totalCalls;
    private int totalFailures;

    TimeWindow(Duration duration, PipelineClock clock) {
      this.clock = clock;
      this.bucketNanos = Math.max(1, duration.toNanos() / TIME_BUCKETS);
      this.origin = clock.nanoTime();
    }

    @Override
    public void advance() {
      long now = (clock.nanoTime() - origin) / bucketNanos;
      if (now <= epoch) {
        return;
      }
      // buckets of epochs (epoch, now] last held calls at least TIME_BUCKETS epochs old
      for (long e = Math.max(epoch + 1, now - TIME_BUCKETS + 1); e <= now; e++) {
        int i = (int) (e % TIME_BUCKETS);
        totalCalls -= calls[i];
        totalFailures -= failures[i];
        calls[i] = 0;
        failures[i] = 0;
      }
      epoch = now;
    }

    @Override
    public void record(boolean failed) {
      advance();
      int i = (int) (epoch % TIME_BUCKETS);
      calls[i]++;
      totalCalls++;
      if (failed) {
        failures[i]++;
        totalFailures++;
      }
    }

    @Override
    public int calls() {
      return totalCalls;
    }

    @Override
    public int failures() {
      return totalFailures;
    }

    @Override
    public void reset() {
      Arrays.fill(calls, 0);
      Arrays.fill(failures, 0);
      totalCalls = 0;
      totalFailures = 0;
      origin = clock.nanoTime();
      epoch = 0;
    }
  }
}
