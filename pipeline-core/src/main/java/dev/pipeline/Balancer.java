package dev.pipeline;

import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.ImplementationMetrics;
import dev.pipeline.resilience.CircuitBreaker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The live state and the pick behind {@link LoadBalancedStage} and {@link LoadBalancedBatchStage},
 * one path for both: which implementation takes a call, and what each call did to it.
 *
 * <p>Thread-safe without locks: counters are atomics, and each latency estimate is an immutable
 * value swapped by compare-and-set. The pick reads the counters without a snapshot of all of them
 * at once, so two calls picking at the same moment may both choose the same implementation; the
 * next picks see it busier.
 *
 * @param <T> the implementations' type ({@link Stage} or {@link BatchStage})
 */
final class Balancer<T> {
  /** An implementation's name: what a metadata value and an error text can carry safely. */
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]{0,62}");

  // a line of ErrorText's stack trace layout that only a note of ours can produce: messages are
  // escaped onto one line, and frames start with "at"
  private static final Pattern NOTE_LINE =
      Pattern.compile(
          "^\\tSuppressed: "
              + Pattern.quote(LoadBalancerNote.class.getName())
              + ": implementation '("
              + NAME.pattern()
              + ")' of stage '",
          Pattern.MULTILINE);

  private static final double LN2 = Math.log(2);

  private final LoadBalancePolicy policy;
  private final PipelineClock clock;
  private final List<Member<T>> members;
  private final double halfLifeNanos;
  // the round robin among implementations the policy finds equally good
  private final AtomicLong turn = new AtomicLong();

  private Balancer(LoadBalancePolicy policy, PipelineClock clock, List<Member<T>> members) {
    this.policy = policy;
    this.clock = clock;
    this.members = members;
    this.halfLifeNanos = policy.halfLife().toNanos();
  }

  LoadBalancePolicy policy() {
    return policy;
  }

  long now() {
    return clock.nanoTime();
  }

  /**
   * Picks an implementation whose circuit lets the call through, and counts the call in flight on
   * it; the caller must {@link #release} it.
   *
   * @throws CircuitOpenException if every circuit refused
   */
  Member<T> acquire(StageContext context, boolean batch) {
    long passed = 0; // bit i: implementation i refused this call
    for (int tries = 0; tries < members.size(); tries++) {
      Member<T> chosen = choose(passed);
      if (chosen.breaker.tryAcquirePermission()) {
        // calls first, in flight second: a snapshot then never counts a call in flight only
        chosen.calls.increment();
        chosen.inFlight.incrementAndGet();
        return chosen;
      }
      chosen.refused.increment();
      passed |= 1L << chosen.index;
    }
    throw refused(context, batch);
  }

  /**
   * Ends a call taken by {@link #acquire}: its time goes into the estimate and the circuit.
   *
   * @param records the records of the call, to keep a batch stage's estimate per record
   */
  void release(Member<T> member, long startNanos, @Nullable Throwable error, int records) {
    long end = clock.nanoTime();
    long took = Math.max(0, end - startNanos);
    member.observe(end, (double) took / Math.max(1, records), error != null, halfLifeNanos);
    // out of flight before counted as failed: a snapshot then never counts a call twice
    member.inFlight.decrementAndGet();
    if (error == null) {
      member.breaker.onSuccess(took);
    } else {
      member.failures.increment();
      member.breaker.onFailure(took, error);
    }
  }

  private Member<T> choose(long passed) {
    return switch (policy.kind()) {
      case FAILOVER -> first(passed);
      case WEIGHTED_RANDOM -> random(passed);
      case LEAST_IN_FLIGHT -> leastInFlight(passed);
      case LEAST_LATENCY -> leastLatency(passed);
    };
  }

  private static boolean isPassed(long passed, int index) {
    return (passed & (1L << index)) != 0;
  }

  private Member<T> first(long passed) {
    for (Member<T> m : members) {
      if (!isPassed(passed, m.index)) {
        return m;
      }
    }
    throw new IllegalStateException("every implementation was passed over");
  }

  private Member<T> random(long passed) {
    long total = 0;
    for (Member<T> m : members) {
      if (!isPassed(passed, m.index)) {
        total += m.weight;
      }
    }
    long draw = policy.draw(total);
    Member<T> last = null;
    for (Member<T> m : members) {
      if (!isPassed(passed, m.index)) {
        last = m;
        draw -= m.weight;
        if (draw < 0) {
          return m;
        }
      }
    }
    // only a generator that broke its contract (a draw >= bound) gets here
    return Objects.requireNonNull(last);
  }

  private Member<T> leastInFlight(long passed) {
    int n = members.size();
    int[] load = new int[n];
    int least = Integer.MAX_VALUE;
    for (Member<T> m : members) {
      if (!isPassed(passed, m.index)) {
        load[m.index] = m.inFlight.get();
        least = Math.min(least, load[m.index]);
      }
    }
    long ties = 0;
    for (Member<T> m : members) {
      if (!isPassed(passed, m.index) && load[m.index] == least) {
        ties |= 1L << m.index;
      }
    }
    return roundRobin(ties);
  }

  private Member<T> leastLatency(long passed) {
    int n = members.size();
    long now = clock.nanoTime();
    double[] estimate = new double[n];
    int[] load = new int[n];
    double sum = 0;
    int measured = 0;
    for (Member<T> m : members) {
      if (!isPassed(passed, m.index)) {
        estimate[m.index] = m.estimate(now, halfLifeNanos);
        load[m.index] = m.inFlight.get();
        if (!Double.isNaN(estimate[m.index])) {
          sum += estimate[m.index];
          measured++;
        }
      }
    }
    // not measured yet: as good as the average, so it gets calls without being flooded by them
    double unmeasured = measured == 0 ? 0 : sum / measured;
    double[] score = new double[n];
    double best = Double.POSITIVE_INFINITY;
    int bestLoad = Integer.MAX_VALUE;
    for (Member<T> m : members) {
      if (!isPassed(passed, m.index)) {
        int i = m.index;
        double latency = Double.isNaN(estimate[i]) ? unmeasured : estimate[i];
        score[i] = latency * (load[i] + 1.0);
        if (score[i] < best || (score[i] == best && load[i] < bestLoad)) {
          best = score[i];
          bestLoad = load[i];
        }
      }
    }
    long ties = 0;
    for (Member<T> m : members) {
      if (!isPassed(passed, m.index) && score[m.index] == best && load[m.index] == bestLoad) {
        ties |= 1L << m.index;
      }
    }
    if (ties == 0) {
      // every score was NaN or infinite (estimates past a double's range): the first one left
      return first(passed);
    }
    return roundRobin(ties);
  }

  /** One of {@code ties}, round robin in proportion to weight. */
  private Member<T> roundRobin(long ties) {
    if (Long.bitCount(ties) == 1) {
      return members.get(Long.numberOfTrailingZeros(ties));
    }
    long weights = 0;
    for (Member<T> m : members) {
      if (isPassed(ties, m.index)) {
        weights += m.weight;
      }
    }
    long slot = Math.floorMod(turn.getAndIncrement(), weights);
    for (Member<T> m : members) {
      if (isPassed(ties, m.index)) {
        slot -= m.weight;
        if (slot < 0) {
          return m;
        }
      }
    }
    throw new IllegalStateException("no implementation among the ties");
  }

  private CircuitOpenException refused(StageContext context, boolean batch) {
    String stage = context.stage().value();
    String recordId;
    if (batch) {
      List<String> ids = context.recordIds();
      recordId = ids.isEmpty() ? null : ids.get(0);
    } else {
      recordId = context.recordId();
    }
    CircuitBreaker.State state = CircuitBreaker.State.HALF_OPEN;
    Duration soonest = null;
    StringBuilder detail =
        new StringBuilder("every implementation of stage '")
            .append(stage)
            .append("' refused the call: ");
    for (Member<T> m : members) {
      CircuitBreaker.State s = m.breaker.state();
      Duration remaining = m.breaker.remainingOpen();
      detail.append(m.index == 0 ? "" : ", ").append(m.name).append(' ').append(s);
      if (s == CircuitBreaker.State.OPEN) {
        state = CircuitBreaker.State.OPEN;
        if (remaining.isPositive()) {
          detail.append(" for another ").append(remaining);
          soonest = soonest == null || remaining.compareTo(soonest) < 0 ? remaining : soonest;
        }
      } else if (s == CircuitBreaker.State.HALF_OPEN) {
        detail.append(" (its trial calls are taken)");
      }
    }
    detail.append(
        ". The record is retried as the stage's retry policy says; to park records while no"
            + " implementation takes calls, give the stage itself a circuit breaker (these"
            + " refusals open it) and Fallback.hold()");
    CircuitOpenException refused =
        new CircuitOpenException(stage, recordId, state, soonest == null ? Duration.ZERO : soonest);
    refused.initCause(new LoadBalancerNote(detail.toString()));
    return refused;
  }

  /**
   * Notes on {@code error} which implementation of the stage threw it, as a suppressed exception:
   * its type stays the stage's own (retry policies and error counts match on it), and the dead
   * letter's stack trace names the implementation.
   */
  static void note(Throwable error, String implementation, StageName stage) {
    String text = "implementation '" + implementation + "' of stage '" + stage.value() + "'";
    for (Throwable suppressed : error.getSuppressed()) {
      if (suppressed instanceof LoadBalancerNote && text.equals(suppressed.getMessage())) {
        return; // the same exception object thrown again: one note is enough
      }
    }
    error.addSuppressed(new LoadBalancerNote(text));
  }

  /** The implementation a {@link #note} in a stack trace names, if it holds one. */
  static Optional<String> implementationOf(String stackTrace) {
    Matcher matcher = NOTE_LINE.matcher(stackTrace);
    return matcher.find() ? Optional.of(matcher.group(1)) : Optional.empty();
  }

  List<ImplementationMetrics> metrics() {
    long now = clock.nanoTime();
    List<ImplementationMetrics> all = new ArrayList<>(members.size());
    for (Member<T> m : members) {
      all.add(m.metrics(now, halfLifeNanos));
    }
    return List.copyOf(all);
  }

  List<Member<T>> members() {
    return members;
  }

  @Override
  public String toString() {
    StringBuilder out = new StringBuilder(policy.toString()).append(", implementations [");
    for (Member<T> m : members) {
      out.append(m.index == 0 ? "" : ", ")
          .append(m.name)
          .append(" (weight ")
          .append(m.weight)
          .append(", ")
          .append(m.breaker.state())
          .append(')');
    }
    return out.append(']').toString();
  }

  /** How far an estimate {@code age} nanoseconds old has decayed. */
  private static double decay(long age, double halfLifeNanos) {
    return age <= 0 ? 1.0 : Math.exp(-LN2 * age / halfLifeNanos);
  }

  /** A latency estimate and the clock reading of the call that last moved it. */
  private record Estimate(double nanos, long at) {}

  /** One implementation and its live state. */
  static final class Member<T> {
    final int index;
    final String name;
    final int weight;
    final CircuitBreaker breaker;
    final T implementation;
    final AtomicInteger inFlight = new AtomicInteger();
    final LongAdder calls = new LongAdder();
    final LongAdder failures = new LongAdder();
    final LongAdder refused = new LongAdder();
    private final AtomicReference<@Nullable Estimate> latency = new AtomicReference<>();

    Member(int index, String name, int weight, CircuitBreaker breaker, T implementation) {
      this.index = index;
      this.name = name;
      this.weight = weight;
      this.breaker = breaker;
      this.implementation = implementation;
    }

    /** The estimate now, in nanoseconds; NaN before the first measured call. */
    double estimate(long now, double halfLifeNanos) {
      Estimate e = latency.get();
      return e == null ? Double.NaN : e.nanos() * decay(now - e.at(), halfLifeNanos);
    }

    void observe(long now, double sample, boolean failed, double halfLifeNanos) {
      while (true) {
        Estimate previous = latency.get();
        Estimate next;
        if (previous == null) {
          if (failed) {
            return; // a failure's time says nothing of how fast an answer is
          }
          next = new Estimate(sample, now);
        } else {
          double w = decay(now - previous.at(), halfLifeNanos);
          double current = previous.nanos() * w;
          double counted = failed ? Math.max(sample, current) : sample;
          next = new Estimate(current + (1 - w) * counted, Math.max(now, previous.at()));
        }
        if (latency.compareAndSet(previous, next)) {
          return;
        }
      }
    }

    ImplementationMetrics metrics(long now, double halfLifeNanos) {
      // failures and in flight before calls: calls only grow, so calls >= inFlight + failures
      long failed = failures.sum();
      int busy = inFlight.get();
      long made = calls.sum();
      double estimate = estimate(now, halfLifeNanos);
      Duration latency =
          Double.isNaN(estimate) ? Duration.ZERO : Duration.ofNanos(Math.round(estimate));
      return new ImplementationMetrics(
          name, weight, busy, made, failed, refused.sum(), latency, breaker.state());
    }
  }

  /** An implementation as added, its circuit not yet bound to the balancer's clock. */
  private record Added<T>(String name, int weight, CircuitBreaker breaker, T impl) {}

  /**
   * Collects implementations, policy and clock for either stage type, checking each argument at
   * once. Not thread-safe.
   */
  static final class Builder<T> {
    private final List<Added<T>> added = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private @Nullable LoadBalancePolicy policy;
    private @Nullable PipelineClock clock;

    void add(String name, T implementation, Consumer<LoadBalancedStage.Options> options) {
      Objects.requireNonNull(name, "name cannot be null");
      Objects.requireNonNull(implementation, "implementation cannot be null");
      Objects.requireNonNull(options, "options cannot be null");
      if (!NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "invalid implementation name '"
                + ErrorText.escape(ErrorText.cut(name, 200))
                + "': use lower case letters, digits, '-' and '_', starting with a letter, at most"
                + " 63 characters (e.g. \"deepl\")");
      }
      if (names.contains(name)) {
        throw new IllegalStateException(
            "implementation '"
                + name
                + "' was already added: give each implementation its own name");
      }
      if (added.size() == LoadBalancedStage.MAX_IMPLEMENTATIONS) {
        throw new IllegalStateException(
            "a load-balanced stage takes at most "
                + LoadBalancedStage.MAX_IMPLEMENTATIONS
                + " implementations (each pick looks at all of them); '"
                + name
                + "' would be the "
                + (added.size() + 1)
                + "th");
      }
      LoadBalancedStage.Options chosen = new LoadBalancedStage.Options();
      options.accept(chosen);
      added.add(new Added<>(name, chosen.weight, chosen.breaker, implementation));
      names.add(name);
    }

    void policy(LoadBalancePolicy policy) {
      Objects.requireNonNull(policy, "policy cannot be null");
      if (this.policy != null) {
        throw new IllegalStateException("policy was already set, to " + this.policy);
      }
      this.policy = policy;
    }

    void clock(PipelineClock clock) {
      Objects.requireNonNull(clock, "clock cannot be null");
      if (this.clock != null) {
        throw new IllegalStateException("clock was already set, to " + this.clock);
      }
      this.clock = clock;
    }

    Balancer<T> build() {
      if (added.isEmpty()) {
        throw new IllegalStateException(
            "a load-balanced stage needs at least one implementation: add one with add(name,"
                + " implementation)");
      }
      PipelineClock on = clock == null ? PipelineClock.system() : clock;
      List<Member<T>> bound = new ArrayList<>(added.size());
      for (Added<T> a : added) {
        // a circuit of its own, in a fresh state, on this clock: one configured breaker may
        // serve several implementations
        bound.add(new Member<>(bound.size(), a.name(), a.weight(), a.breaker().bind(on), a.impl()));
      }
      return new Balancer<>(
          policy == null ? LoadBalancePolicy.leastInFlight() : policy, on, List.copyOf(bound));
    }
  }
}
