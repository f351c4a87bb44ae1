package dev.pipeline;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * How a {@link LoadBalancedStage} or {@link LoadBalancedBatchStage} picks one of its
 * implementations for each call, from their live state.
 *
 * <p>Every policy passes over an implementation whose circuit refuses the call (open, or half-open
 * with its trial calls taken) and tries the next one it would pick; when every circuit refuses, the
 * call fails with {@link CircuitOpenException}. The policies differ in what they prefer:
 *
 * <ul>
 *   <li>{@link #leastInFlight()} (the default): the implementation with the fewest calls in flight.
 *       Among those with equally few, calls go round robin in proportion to weight (weights 3 and
 *       1: three calls to the first, then one to the second), so sequential calls are shared out by
 *       weight too.
 *   <li>{@link #leastLatency(Duration)}: the lowest {@code latency × (inFlight + 1)}, where latency
 *       is an exponentially weighted moving average of the implementation's call times (see below)
 *       and the in-flight factor makes a fast one that is already busy look slower. Ties go to
 *       fewer calls in flight, then round robin by weight as above.
 *   <li>{@link #weightedRandom(RandomGenerator)}: a random implementation, each with a chance
 *       proportional to its weight; load plays no part.
 *   <li>{@link #failover()}: the first implementation, in the order they were added, whose circuit
 *       lets the call through; weights and load play no part.
 * </ul>
 *
 * <p><b>The latency estimate.</b> When a call ends after {@code t} of clock time, its
 * implementation's estimate becomes {@code w × estimate + (1 − w) × t}, where {@code w = 2^(−Δ /
 * halfLife)} and {@code Δ} is the clock time since the estimate's previous call ended: the estimate
 * averages the calls of roughly the last half-life, and a call after a long quiet spell counts for
 * more than one right behind another. The first call sets the estimate to its time. Between calls
 * the estimate decays toward zero by the same factor, so an implementation that lost the traffic
 * because it was slow looks a little faster with every half-life that passes; once it looks faster
 * than the others it gets a call, whose time sets its estimate again. A slow implementation is so
 * probed now and then, about every {@code halfLife × log2(its latency / the others')}. A failed
 * call never lowers an estimate (it counts as at least the current estimate), so an implementation
 * that fails fast does not look fast; one that has no estimate yet counts as the average of those
 * that have one. Estimates are kept under every policy, for {@link LoadBalancedStage#metrics()}; a
 * {@link LoadBalancedBatchStage} keeps them per record (a call's time divided by its batch size),
 * so that batches of different sizes compare.
 *
 * <p>Immutable and thread-safe; one policy may serve many stages. A random source given to {@link
 * #weightedRandom(RandomGenerator)} is used under a lock, so it need not be thread-safe itself.
 */
public final class LoadBalancePolicy {

  /** The half-life of latency estimates unless {@link #leastLatency(Duration)} sets one. */
  public static final Duration DEFAULT_HALF_LIFE = Duration.ofSeconds(10);

  /** The shortest half-life: the clock is read in nanoseconds, but shorter makes no estimate. */
  public static final Duration MIN_HALF_LIFE = Duration.ofMillis(1);

  /** The longest half-life: an estimate slower to forget would keep a recovered service out. */
  public static final Duration MAX_HALF_LIFE = Duration.ofDays(1);

  /** What the policy prefers. */
  enum Kind {
    LEAST_IN_FLIGHT,
    LEAST_LATENCY,
    WEIGHTED_RANDOM,
    FAILOVER
  }

  private static final LoadBalancePolicy LEAST_IN_FLIGHT =
      new LoadBalancePolicy(Kind.LEAST_IN_FLIGHT, DEFAULT_HALF_LIFE, null);
  private static final LoadBalancePolicy FAILOVER =
      new LoadBalancePolicy(Kind.FAILOVER, DEFAULT_HALF_LIFE, null);
  private static final LoadBalancePolicy WEIGHTED_RANDOM =
      new LoadBalancePolicy(Kind.WEIGHTED_RANDOM, DEFAULT_HALF_LIFE, null);

  private final Kind kind;
  private final Duration halfLife;
  private final @Nullable RandomGenerator random;
  // guards random, which may be a generator that is not thread-safe (a seeded one in a test)
  private final ReentrantLock randomLock = new ReentrantLock();

  private LoadBalancePolicy(Kind kind, Duration halfLife, @Nullable RandomGenerator random) {
    this.kind = kind;
    this.halfLife = halfLife;
    this.random = random;
  }

  /** The implementation with the fewest calls in flight; ties round robin by weight. */
  public static LoadBalancePolicy leastInFlight() {
    return LEAST_IN_FLIGHT;
  }

  /**
   * The implementation with the lowest {@code latency × (inFlight + 1)}, with latency estimates of
   * a {@link #DEFAULT_HALF_LIFE 10 second} half-life.
   */
  public static LoadBalancePolicy leastLatency() {
    return new LoadBalancePolicy(Kind.LEAST_LATENCY, DEFAULT_HALF_LIFE, null);
  }

  /**
   * The implementation with the lowest {@code latency × (inFlight + 1)}, with latency estimates
   * that forget half their weight every {@code halfLife} of clock time: shorter follows changes
   * faster and probes a slow implementation more often, longer is steadier.
   *
   * @throws NullPointerException if {@code halfLife} is null
   * @throws IllegalArgumentException if {@code halfLife} is outside [1 ms, 1 day] ({@link
   *     #MIN_HALF_LIFE}, {@link #MAX_HALF_LIFE})
   */
  public static LoadBalancePolicy leastLatency(Duration halfLife) {
    Objects.requireNonNull(halfLife, "halfLife cannot be null");
    if (halfLife.compareTo(MIN_HALF_LIFE) < 0 || halfLife.compareTo(MAX_HALF_LIFE) > 0) {
      throw new IllegalArgumentException(
          "halfLife must be between 1 ms and 1 day (LoadBalancePolicy.MIN_HALF_LIFE and"
              + " MAX_HALF_LIFE), was "
              + halfLife
              + "; e.g. leastLatency(Duration.ofSeconds(10))");
    }
    return new LoadBalancePolicy(Kind.LEAST_LATENCY, halfLife, null);
  }

  /** A random implementation, each with a chance proportional to its weight. */
  public static LoadBalancePolicy weightedRandom() {
    return WEIGHTED_RANDOM;
  }

  /**
   * A random implementation, each with a chance proportional to its weight, drawn from {@code
   * random} (a seeded one makes a test repeatable). The policy draws under a lock.
   *
   * @throws NullPointerException if {@code random} is null
   */
  public static LoadBalancePolicy weightedRandom(RandomGenerator random) {
    Objects.requireNonNull(random, "random cannot be null");
    return new LoadBalancePolicy(Kind.WEIGHTED_RANDOM, DEFAULT_HALF_LIFE, random);
  }

  /** The first implementation, in the order added, whose circuit lets the call through. */
  public static LoadBalancePolicy failover() {
    return FAILOVER;
  }

  /** The half-life of the latency estimates kept under this policy. */
  public Duration halfLife() {
    return halfLife;
  }

  Kind kind() {
    return kind;
  }

  /** A uniform draw in [0, bound). */
  long draw(long bound) {
    if (random == null) {
      return ThreadLocalRandom.current().nextLong(bound);
    }
    randomLock.lock();
    try {
      return random.nextLong(bound);
    } finally {
      randomLock.unlock();
    }
  }

  @Override
  public String toString() {
    return switch (kind) {
      case LEAST_IN_FLIGHT -> "LoadBalancePolicy.leastInFlight()";
      case LEAST_LATENCY -> "LoadBalancePolicy.leastLatency(" + halfLife + ")";
      case WEIGHTED_RANDOM ->
          "LoadBalancePolicy.weightedRandom("
              + (random == null ? "" : random.getClass().getSimpleName())
              + ")";
      case FAILOVER -> "LoadBalancePolicy.failover()";
    };
  }
}
