package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.PUBLISHING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.engine.run.Observability;
import dev.pipeline.engine.run.Run;
import dev.pipeline.engine.run.RunPolicies;
import dev.pipeline.engine.run.StageDefinition;
import dev.pipeline.engine.run.Telemetry;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.RecordStatus;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Durations too large for nanoseconds or instants never reach a worker or the watchdog as an
 * ArithmeticException: values the user gives are refused at build (see PipelineBuilderTest), and
 * what policies of the user's return, or what slips past the checks, saturates.
 */
class SaturatedTimeTest {
  private static final Duration FOREVER = Duration.ofSeconds(Long.MAX_VALUE);

  private final FakeClock clock = new FakeClock();
  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void releaseStuckCalls() {
    release.countDown();
  }

  /** A policy of the user's that retries after longer than nanoseconds or instants can hold. */
  private static final class EndlessWait implements RetryPolicy {
    @Override
    public int maxRetries() {
      return 1;
    }

    @Override
    public boolean isRetryable(Throwable error) {
      return true;
    }

    @Override
    public Duration delay(int retry, RandomGenerator random) {
      return FOREVER;
    }
  }

  @Test
  void retryWaitTooLongForAnInstantIsParkedAtTheLongestDelayInsteadOfFailingTheRun()
      throws Exception {
    InMemoryPipelineStore store = InMemoryPipelineStore.create();
    Pipeline<String, String> pipeline =
        Pipeline.builder("endless-retry", String.class)
            .stage(
                CLEANING,
                (String s) -> {
                  if (!s.isEmpty()) {
                    throw new IOException("down");
                  }
                  return s;
                },
                o -> o.retry(new EndlessWait()))
            .store(store)
            .clock(clock)
            .build();

    PipelineRun run = pipeline.start(Source.of("src", List.of("r1").iterator(), id -> id));
    Await.until(
        "r1 is parked in the retry queue (or the run ended)",
        () ->
            run.status().isDone()
                || store
                    .find("endless-retry", "r1")
                    .filter(s -> s.status() == RecordStatus.RETRY_WAIT)
                    .isPresent());
    run.cancel();
    RunResult result = Await.result(run);

    assertThat(result.failure()).as("the run's failure").isNull();
    assertThat(result.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(store.nextDue("endless-retry")).contains(FakeClock.START.plus(Duration.ofDays(365)));
  }

  @Test
  void watchdogGoesOnEnforcingOtherStagesTimeoutsWhenOneStageCheckFails() throws Exception {
    // a timeout too large for nanoseconds, as build() now refuses it: it broke the watchdog, so
    // that no stage's timeout was enforced any more
    StageOptions.Builder vast = new StageOptions.Builder();
    vast.timeout(FOREVER);
    StageOptions.Builder short100ms = new StageOptions.Builder();
    short100ms.timeout(Duration.ofMillis(100));
    CountDownLatch entered = new CountDownLatch(1);
    Stage<Object, Object> same = (input, context) -> input;
    Stage<Object, Object> hangs =
        (input, context) -> {
          entered.countDown();
          release.await();
          return input;
        };
    List<StageDefinition> stages =
        List.of(
            new StageDefinition(CLEANING, 1, vast.buildUnchecked(), same, null, "same"),
            new StageDefinition(PUBLISHING, 2, short100ms.buildUnchecked(), hangs, null, "hangs"));
    InMemoryPipelineStore store = InMemoryPipelineStore.create();
    store.register("watchdog", List.of());
    Run run =
        new Run(
            "watchdog",
            stages,
            store,
            clock,
            null,
            new StageDefinition(
                StageName.of(Run.SINK_STEP),
                3,
                new StageOptions.Builder().buildUnchecked(),
                null,
                null,
                "none"),
            payload -> 0,
            0,
            stage -> org.slf4j.LoggerFactory.getLogger("test"),
            List.of(Source.<Object>of("src", List.<Object>of("r1").iterator(), Object::toString)),
            new RunPolicies(
                alert -> {},
                Map.of(),
                Duration.ofSeconds(1),
                List.of(true, true, true),
                PipelineBuilder.DEFAULT_SOURCE_LINGER,
                dev.pipeline.internal.ErrorText.defaults()),
            new Telemetry("watchdog", store, clock, alert -> {}, true, 100),
            new Observability(true, 100, true, PipelineBuilder.DEFAULT_METRICS_WINDOW, false),
            null);

    run.start();
    Await.on(entered, "r1's call at publishing");
    clock.advance(Duration.ofMillis(101));
    RunResult result = Await.result(run);

    assertThat(result.deadLettered()).as("records timed out at publishing").isOne();
    Optional<DeadLetter> dead =
        store.deadLetters("watchdog", dev.pipeline.store.DeadLetterQuery.all()).items().stream()
            .findFirst();
    assertThat(dead).isPresent();
    assertThat(dead.get().lastError().errorType()).isEqualTo("StageTimeoutException");
  }
}
