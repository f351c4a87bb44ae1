package dev.pipeline.engine;

import dev.pipeline.resilience.ExponentialRetryPolicy;
import dev.pipeline.resilience.RetryPolicy;
import java.time.Duration;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/** The retry policy's rules, one place for the engine and the test kit. */
public final class Retries {
  private Retries() {}

  /** Whether a call that failed with {@code error} on attempt {@code attempt} is tried again. */
  public static boolean retries(RetryPolicy policy, Throwable error, int attempt) {
    return attempt <= policy.maxRetries()
        && attempt < Integer.MAX_VALUE
        && !(error instanceof VirtualMachineError)
        && policy.isRetryable(error);
  }

  /** What follows a failed call of a batch stage on several records. */
  public enum WholeCall {
    /**
     * The call may pass if tried again (the service, not a record, may be at fault): the records
     * are tried again as one call, after one backoff.
     */
    RETRY,
    /**
     * Not retryable, or its retries are used up: the records are halved, so that those that can
     * pass do and the record(s) that made it fail end up alone, each meeting the retry policy (and
     * the fallback or the dead letter queue) on its own.
     */
    SPLIT
  }

  /**
   * What follows a failed call of a batch stage on {@code records} records, or null if the failure
   * is each record's own (a call on one record, or a {@link VirtualMachineError}).
   */
  public static @Nullable WholeCall wholeCall(
      RetryPolicy policy, Throwable error, int attempt, int records) {
    if (records < 2 || error instanceof VirtualMachineError) {
      return null;
    }
    return retries(policy, error, attempt) ? WholeCall.RETRY : WholeCall.SPLIT;
  }

  /**
   * The policy's wait before retry {@code retry}, within [0, {@link
   * ExponentialRetryPolicy#MAX_DELAY}]: a policy of the user's that returns a negative or a vast
   * wait must not make the clock's or the store's arithmetic overflow.
   */
  public static Duration delay(RetryPolicy policy, int retry, RandomGenerator random) {
    Duration wait = policy.delay(retry, random);
    if (wait.isNegative()) {
      return Duration.ZERO;
    }
    return wait.compareTo(ExponentialRetryPolicy.MAX_DELAY) > 0
        ? ExponentialRetryPolicy.MAX_DELAY
        : wait;
  }
}
