package dev.pipeline.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ExponentialRetryPolicyTest {
  private static final Duration SECOND = Duration.ofSeconds(1);
  private static final RandomGenerator UNUSED = new SplittableRandom(0);

  private static ExponentialRetryPolicy policy() {
    return RetryPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(10));
  }

  @Test
  void delayDoublesFromTheInitialDelay() {
    ExponentialRetryPolicy policy = policy();

    assertThat(List.of(1, 2, 3, 4, 5))
        .map(n -> policy.delay(n, UNUSED))
        .containsExactly(
            Duration.ofMillis(100),
            Duration.ofMillis(200),
            Duration.ofMillis(400),
            Duration.ofMillis(800),
            Duration.ofMillis(1_600));
  }

  @Test
  void multiplierSetsTheGrowth() {
    ExponentialRetryPolicy policy = policy().multiplier(3);

    assertThat(policy.delay(3, UNUSED)).isEqualTo(Duration.ofMillis(900));
    assertThat(policy().multiplier(1).delay(7, UNUSED)).isEqualTo(Duration.ofMillis(100));
  }

  @Test
  void delayIsCappedAtMaxDelay() {
    ExponentialRetryPolicy policy = RetryPolicy.exponential(Duration.ofMillis(100), SECOND);

    assertThat(policy.delay(4, UNUSED)).isEqualTo(Duration.ofMillis(800));
    assertThat(policy.delay(5, UNUSED)).isEqualTo(SECOND);
    assertThat(policy.delay(64, UNUSED)).isEqualTo(SECOND);
    assertThat(policy.delay(Integer.MAX_VALUE, UNUSED)).isEqualTo(SECOND);
  }

  @Test
  void jitterShortensEachDelayByAtMostItsFraction() {
    ExponentialRetryPolicy policy = policy().withJitter(0.25);
    RandomGenerator random = new SplittableRandom(42);

    List<Duration> delays = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      delays.add(policy.delay(3, random));
    }

    assertThat(delays)
        .allSatisfy(d -> assertThat(d).isBetween(Duration.ofMillis(300), Duration.ofMillis(400)));
    assertThat(delays.stream().distinct().count())
        .as("jitter spreads the delays")
        .isGreaterThan(900);
    assertThat(delays.stream().mapToLong(Duration::toNanos).min().orElseThrow())
        .isLessThan(Duration.ofMillis(310).toNanos());
  }

  @Test
  void fullJitterSpreadsBetweenZeroAndTheCappedDelay() {
    ExponentialRetryPolicy policy =
        RetryPolicy.exponential(Duration.ofMillis(100), SECOND).withJitter(1);
    RandomGenerator random = new SplittableRandom(7);

    for (int i = 0; i < 1_000; i++) {
      assertThat(policy.delay(20, random)).isBetween(Duration.ZERO, SECOND);
    }
  }

  @Test
  void sameSeedGivesTheSameDelays() {
    ExponentialRetryPolicy policy = policy().withJitter(0.5);
    RandomGenerator first = new SplittableRandom(99);
    RandomGenerator second = new SplittableRandom(99);

    for (int retry = 1; retry <= 10; retry++) {
      assertThat(policy.delay(retry, first)).isEqualTo(policy.delay(retry, second));
    }
  }

  @Test
  void retriesExceptionsButNotErrorsByDefault() {
    ExponentialRetryPolicy policy = policy();

    assertThat(policy.isRetryable(new IOException())).isTrue();
    assertThat(policy.isRetryable(new IllegalStateException())).isTrue();
    assertThat(policy.isRetryable(new AssertionError())).isFalse();
    assertThat(policy.isRetryable(new StackOverflowError())).isFalse();
  }

  @Test
  void retryOnLimitsRetriesToTheNamedTypesAndTheirSubtypes() {
    ExponentialRetryPolicy policy = policy().retryOn(IOException.class);

    assertThat(policy.isRetryable(new SocketTimeoutException())).isTrue();
    assertThat(policy.isRetryable(new UncheckedIOException(new IOException()))).isFalse();
    assertThat(policy().retryOn(AssertionError.class).isRetryable(new AssertionError())).isTrue();
  }

  @Test
  void abortOnWinsOverRetryOn() {
    ExponentialRetryPolicy policy =
        policy().retryOn(IOException.class).abortOn(SocketTimeoutException.class);

    assertThat(policy.isRetryable(new IOException())).isTrue();
    assertThat(policy.isRetryable(new SocketTimeoutException())).isFalse();
    assertThat(
            policy()
                .abortOn(IllegalArgumentException.class)
                .isRetryable(new NumberFormatException()))
        .isFalse();
  }

  @Test
  void settingsReturnNewPoliciesAndLeaveTheOriginalAlone() {
    ExponentialRetryPolicy original = policy();

    ExponentialRetryPolicy changed =
        original.maxRetries(7).withJitter(0.5).abortOn(IOException.class);

    assertThat(original.maxRetries()).isEqualTo(3);
    assertThat(original.jitter()).isZero();
    assertThat(original.isRetryable(new IOException())).isTrue();
    assertThat(changed.maxRetries()).isEqualTo(7);
    assertThat(changed.jitter()).isEqualTo(0.5);
    assertThat(changed.isRetryable(new IOException())).isFalse();
    assertThat(changed.toString()).contains("maxRetries=7").contains("jitter=0.5");
  }

  @Test
  void noneNeverRetries() {
    RetryPolicy none = RetryPolicy.none();

    assertThat(none.maxRetries()).isZero();
    assertThat(none.isRetryable(new IOException())).isFalse();
    assertThat(none.delay(1, UNUSED)).isZero();
  }

  @Test
  void delaysAreRejectedWhenNegativeOrOutOfOrder() {
    assertThatThrownBy(() -> RetryPolicy.exponential(Duration.ofMillis(-1), SECOND))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("initialDelay must be between PT0S and PT8760H (365 days), was PT-0.001S");
    assertThatThrownBy(() -> RetryPolicy.exponential(SECOND, Duration.ofMillis(999)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxDelay (PT0.999S) cannot be less than initialDelay (PT1S)");
    assertThatThrownBy(() -> RetryPolicy.exponential(null, SECOND))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("initialDelay cannot be null");
    assertThatThrownBy(() -> RetryPolicy.exponential(SECOND, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("maxDelay cannot be null");
  }

  @Test
  void maxDelayTooLargeForNanosecondsIsRejectedWithTheLimit() {
    assertThatThrownBy(() -> RetryPolicy.exponential(SECOND, Duration.ofSeconds(Long.MAX_VALUE)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("maxDelay must be at most PT8760H (365 days), was PT");
    assertThatThrownBy(() -> RetryPolicy.exponential(Duration.ofDays(366), Duration.ofDays(366)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("initialDelay must be between PT0S and PT8760H (365 days), was PT8784H");
  }

  @Test
  void delayOfAnyRetryNumberStaysWithinMaxDelay() {
    ExponentialRetryPolicy longest =
        RetryPolicy.exponential(ExponentialRetryPolicy.MAX_DELAY, ExponentialRetryPolicy.MAX_DELAY)
            .maxRetries(Integer.MAX_VALUE)
            .multiplier(Double.MAX_VALUE);
    ExponentialRetryPolicy fromZero =
        RetryPolicy.exponential(Duration.ZERO, SECOND).maxRetries(Integer.MAX_VALUE);

    assertThat(longest.delay(Integer.MAX_VALUE, UNUSED)).isEqualTo(Duration.ofDays(365));
    assertThat(policy().delay(Integer.MAX_VALUE, UNUSED)).isEqualTo(policy().delay(40, UNUSED));
    assertThat(fromZero.delay(Integer.MAX_VALUE, UNUSED)).isZero();
  }

  @ParameterizedTest
  @ValueSource(doubles = {0.99, 0, -2, Double.NaN, Double.POSITIVE_INFINITY})
  void multiplierBelowOneOrNotFiniteIsRejected(double multiplier) {
    assertThatThrownBy(() -> policy().multiplier(multiplier))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("multiplier must be a finite number >= 1");
  }

  @ParameterizedTest
  @ValueSource(doubles = {-0.01, 1.01, Double.NaN})
  void jitterOutsideZeroToOneIsRejected(double jitter) {
    assertThatThrownBy(() -> policy().withJitter(jitter))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("jitter must be between 0 and 1");
  }

  @Test
  void otherBadArgumentsAreRejected() {
    assertThatThrownBy(() -> policy().maxRetries(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRetries cannot be negative: -1");
    assertThatThrownBy(() -> policy().delay(0, UNUSED))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("retry counts from 1, was 0");
    assertThatThrownBy(() -> RetryPolicy.none().delay(0, UNUSED))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> policy().retryOn(IOException.class, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("exception type cannot be null");
    assertThatThrownBy(() -> policy().abortOn((Class<? extends Throwable>) null))
        .isInstanceOf(NullPointerException.class);
  }
}
