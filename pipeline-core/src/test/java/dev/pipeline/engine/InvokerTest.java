package dev.pipeline.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.PipelineClock;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.resilience.CircuitBreaker;
import dev.pipeline.resilience.TokenBucket;
import org.junit.jupiter.api.Test;

class InvokerTest {
  private final Invoker invoker =
      new Invoker(
          "stage",
          CircuitBreaker.disabled(),
          TokenBucket.unlimited(),
          null,
          PipelineClock.system(),
          () -> false,
          false);
  private final Invoker.Check<Object> anything = (value, records, id) -> null;

  @Test
  void aReusedAttemptHoldsOnlyTheLastCallsOutcome() throws InterruptedException {
    Attempt<Object> attempt = new Attempt<>();
    IllegalStateException broken = new IllegalStateException("broken");

    Attempt<Object> passed =
        invoker.call(1, "r1", CallGuard.UNTIMED, () -> "out", anything, attempt);
    assertThat(passed).as("the attempt given is the one filled").isSameAs(attempt);
    assertThat(attempt.kind()).isEqualTo(Attempt.Kind.PASSED);
    assertThat(attempt.value()).isEqualTo("out");

    invoker.call(
        1,
        "r2",
        CallGuard.UNTIMED,
        () -> {
          throw broken;
        },
        anything,
        attempt);
    assertThat(attempt.kind()).isEqualTo(Attempt.Kind.FAILED);
    assertThat(attempt.value()).as("the passed call's value is gone").isNull();
    assertThat(attempt.failure()).isSameAs(broken);

    invoker.call(
        1,
        "r3",
        CallGuard.UNTIMED,
        () -> {
          throw RecordFilteredException.because("duplicate");
        },
        anything,
        attempt);
    assertThat(attempt.kind()).isEqualTo(Attempt.Kind.FILTERED);
    assertThat(attempt.filterReason()).isEqualTo("duplicate");
    assertThat(attempt.error()).as("the failed call's error is gone").isNull();
  }

  @Test
  void eachCallWithoutAnAttemptGetsItsOwn() throws InterruptedException {
    Attempt<Object> first = invoker.call(1, "r1", CallGuard.UNTIMED, () -> "a", anything);
    Attempt<Object> second = invoker.call(1, "r2", CallGuard.UNTIMED, () -> "b", anything);

    assertThat(first).isNotSameAs(second);
    assertThat(first.value()).isEqualTo("a");
    assertThat(second.value()).isEqualTo("b");
  }
}
