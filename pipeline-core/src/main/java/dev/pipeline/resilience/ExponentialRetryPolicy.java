package dev.pipeline.resilience;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Exponential backoff with optional jitter, a retry limit and retry/abort rules by exception type.
 *
 * <p>The delay before retry {@code n} is {@code min(maxDelay, initialDelay * multiplier^(n-1))},
 * then reduced by a random fraction of at most {@code jitter} of itself ("proportional jitter":
 * {@code jitter(1.0)} is AWS's "full jitter", which spreads a crowd of retries best; {@code 0.5}
 * keeps at least half the backoff). Jitter keeps many failed records from retrying in lock-step
 * against a struggling service.
 *
 * <p>Errors are retried when they are an {@link Exception} (or one of the {@link #retryOn} types,
 * if given) and not one of the {@link #abortOn} types; {@link Error}s are not retried unless named
 * in {@code retryOn}.
 *
 * <p>Immutable and thread-safe: every {@code with}-style method returns a new policy.
 */
public final class ExponentialRetryPolicy implements RetryPolicy {
  /**
   * The longest delay a policy may be given: a record that must wait longer should be discarded or
   * reprocessed by people, not retried.
   */
  public static final Duration MAX_DELAY = Duration.ofDays(365);

  private final Duration initialDelay;
  private final Duration maxDelay;
  private final double multiplier;
  private final double jitter;
  private final int maxRetries;
  private final List<Class<? extends Throwable>> retryOn;
  private final List<Class<? extends Throwable>> abortOn;

  private ExponentialRetryPolicy(
      Duration initialDelay,
      Duration maxDelay,
      double multiplier,
      double jitter,
      int maxRetries,
      List<Class<? extends Throwable>> retryOn,
      List<Class<? extends Throwable>> abortOn) {
    this.initialDelay = initialDelay;
    this.maxDelay = maxDelay;
    this.multiplier = multiplier;
    this.jitter = jitter;
    this.maxRetries = maxRetries;
    this.retryOn = retryOn;
    this.abortOn = abortOn;
  }

  static ExponentialRetryPolicy create(Duration initialDelay, Duration maxDelay) {
    Objects.requireNonNull(initialDelay, "initialDelay cannot be null");
    Objects.requireNonNull(maxDelay, "maxDelay cannot be null");
    if (initialDelay.isNegative() || initialDelay.compareTo(MAX_DELAY) > 0) {
      throw new IllegalArgumentException(
          "initialDelay must be between PT0S and "
              + MAX_DELAY
              + " (365 days), was "
              + initialDelay);
    }
    if (maxDelay.compareTo(MAX_DELAY) > 0) {
      throw new IllegalArgumentException(
          "maxDelay must be at most "
              + MAX_DELAY
              + " (365 days), was "
              + maxDelay
              + "; a record that must wait longer is better discarded or reprocessed by hand");
    }
    if (maxDelay.compareTo(initialDelay) < 0) {
      throw new IllegalArgumentException(
          "maxDelay (" + maxDelay + ") cannot be less than initialDelay (" + initialDelay + ")");
    }
    return new ExponentialRetryPolicy(initialDelay, maxDelay, 2.0, 0.0, 3, List.of(), List.of());
  }

  /**
   * Returns a copy that retries at most {@code maxRetries} times.
   *
   * @throws IllegalArgumentException if negative
   */
  public ExponentialRetryPolicy maxRetries(int maxRetries) {
    if (maxRetries < 0) {
      throw new IllegalArgumentException("maxRetries cannot be negative: " + maxRetries);
    }
    return new ExponentialRetryPolicy(
        initialDelay, maxDelay, multiplier, jitter, maxRetries, retryOn, abortOn);
  }

  /**
   * Returns a copy whose delays grow by {@code multiplier} per retry (2.0 unless set).
   *
   * @throws IllegalArgumentException if less than 1 or not finite
   */
  public ExponentialRetryPolicy multiplier(double multiplier) {
    if (!(multiplier >= 1.0) || Double.isInfinite(multiplier)) {
      throw new IllegalArgumentException(
          "multiplier must be a finite number >= 1, was " + multiplier);
    }
    return new ExponentialRetryPolicy(
        initialDelay, maxDelay, multiplier, jitter, maxRetries, retryOn, abortOn);
  }

  /**
   * Returns a copy that shortens each delay by a random fraction of up to {@code jitter}.
   *
   * @param jitter between 0 (none) and 1 (full jitter)
   * @throws IllegalArgumentException if outside [0, 1]
   */
  public ExponentialRetryPolicy withJitter(double jitter) {
    if (!(jitter >= 0.0 && jitter <= 1.0)) {
      throw new IllegalArgumentException("jitter must be between 0 and 1, was " + jitter);
    }
    return new ExponentialRetryPolicy(
        initialDelay, maxDelay, multiplier, jitter, maxRetries, retryOn, abortOn);
  }

  /**
   * Returns a copy that retries only errors of these types (and their subtypes).
   *
   * @throws NullPointerException if a type is null
   */
  @SafeVarargs
  @SuppressWarnings("varargs")
  public final ExponentialRetryPolicy retryOn(Class<? extends Throwable>... types) {
    return new ExponentialRetryPolicy(
        initialDelay, maxDelay, multiplier, jitter, maxRetries, concat(retryOn, types), abortOn);
  }

  /**
   * Returns a copy that never retries errors of these types (and their subtypes); abort wins over
   * {@link #retryOn}.
   *
   * @throws NullPointerException if a type is null
   */
  @SafeVarargs
  @SuppressWarnings("varargs")
  public final ExponentialRetryPolicy abortOn(Class<? extends Throwable>... types) {
    return new ExponentialRetryPolicy(
        initialDelay, maxDelay, multiplier, jitter, maxRetries, retryOn, concat(abortOn, types));
  }

  private static List<Class<? extends Throwable>> concat(
      List<Class<? extends Throwable>> existing, Class<? extends Throwable>[] more) {
    List<Class<? extends Throwable>> all = new ArrayList<>(existing);
    for (Class<? extends Throwable> type : more) {
      all.add(Objects.requireNonNull(type, "exception type cannot be null"));
    }
    return List.copyOf(all);
  }

  @Override
  public int maxRetries() {
    return maxRetries;
  }

  @Override
  public double backoffMultiplier() {
    return multiplier;
  }

  /** The jitter fraction, 0 to 1. */
  public double jitter() {
    return jitter;
  }

  @Override
  public boolean isRetryable(Throwable error) {
    if (matches(abortOn, error)) {
      return false;
    }
    if (retryOn.isEmpty()) {
      return error instanceof Exception;
    }
    return matches(retryOn, error);
  }

  private static boolean matches(List<Class<? extends Throwable>> types, Throwable error) {
    for (Class<? extends Throwable> type : types) {
      if (type.isInstance(error)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public Duration delay(int retry, RandomGenerator random) {
    if (retry < 1) {
      throw new IllegalArgumentException("retry counts from 1, was " + retry);
    }
    // both delays are at most MAX_DELAY, so toNanos() cannot overflow; the power may reach infinity
    // (a large retry number), or NaN for a zero initial delay, which the comparison treats as 0
    double nanos = initialDelay.toNanos() * Math.pow(multiplier, retry - 1);
    long max = maxDelay.toNanos();
    long capped = nanos >= max ? max : nanos > 0 ? (long) nanos : 0;
    if (jitter > 0.0 && capped > 0) {
      capped -= (long) (capped * jitter * random.nextDouble());
    }
    return Duration.ofNanos(capped);
  }

  @Override
  public String toString() {
    return "RetryPolicy.exponential("
        + initialDelay
        + ", "
        + maxDelay
        + ")[multiplier="
        + multiplier
        + ", jitter="
        + jitter
        + ", maxRetries="
        + maxRetries
        + ", retryOn="
        + retryOn
        + ", abortOn="
        + abortOn
        + "]";
  }
}
