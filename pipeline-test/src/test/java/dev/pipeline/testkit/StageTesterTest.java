package dev.pipeline.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.PipelineException;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.Stage;
import dev.pipeline.StageContext;
import dev.pipeline.StageException;
import dev.pipeline.StageName;
import dev.pipeline.resilience.ExponentialRetryPolicy;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.testkit.StageResult.Outcome;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

class StageTesterTest {
  private static final ExponentialRetryPolicy BACKOFF =
      RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1));

  @Test
  void passesTheOutputOfAFunctionStage() {
    StageResult<String> result = StageTester.of((String s) -> s.trim()).run("  crane ");

    assertThat(result.outcome()).isEqualTo(Outcome.PASSED);
    assertThat(result.isPassed()).isTrue();
    assertThat(result.output()).isEqualTo("crane");
    assertThat(result.attempts()).isEqualTo(1);
    assertThat(result.errors()).isEmpty();
    assertThat(result.recordId()).isEqualTo("record-1");
  }

  @Test
  void givesTheStageAContextLikeTheEngines() {
    ManualClock clock = ManualClock.startingAt(Instant.parse("2027-03-01T10:00:00Z"));
    AtomicReference<String> seen = new AtomicReference<>();
    Stage<String, String> stage =
        (input, context) -> {
          seen.set(
              context.pipeline()
                  + "/"
                  + context.stage()
                  + "/"
                  + context.recordId()
                  + "/"
                  + context.recordIds()
                  + "/"
                  + context.attempt()
                  + "/"
                  + context.metadata()
                  + "/"
                  + context.metadata(0)
                  + "/"
                  + context.now());
          return input;
        };

    StageTester.of(stage)
        .pipelineName("listings")
        .stageName(StageName.CLEANING)
        .metadata("source", "scraper-a")
        .metadata("lang", "de")
        .clock(clock)
        .run("id-42", "payload");

    assertThat(seen.get())
        .isEqualTo(
            "listings/cleaning/id-42/[id-42]/1/{source=scraper-a, lang=de}"
                + "/{source=scraper-a, lang=de}/2027-03-01T10:00:00Z");
  }

  @Test
  void numbersRecordsFromRecordOneAcrossRuns() {
    StageTester<String, String> tester = StageTester.of((String s) -> s);

    assertThat(tester.run("a").recordId()).isEqualTo("record-1");
    assertThat(tester.runAll(List.of("b", "c")))
        .extracting(StageResult::recordId)
        .containsExactly("record-2", "record-3");
    assertThat(tester.run("own-id", "d").recordId()).isEqualTo("own-id");
    assertThat(tester.run("e").recordId()).isEqualTo("record-4");
  }

  @Test
  void filtersARecordWithTheReasonTheStageGave() {
    StageResult<String> result =
        StageTester.<String, String>of(
                (String s) -> {
                  throw RecordFilteredException.because("duplicate listing");
                })
            .run("crane");

    assertThat(result.outcome()).isEqualTo(Outcome.FILTERED);
    assertThat(result.filterReason()).isEqualTo("duplicate listing");
    assertThat(result.errors()).isEmpty();
  }

  @Test
  void failsWithTheExceptionTheStageThrew() {
    IOException down = new IOException("price service down");

    StageResult<String> result =
        StageTester.<String, String>of(
                (String s) -> {
                  throw down;
                })
            .run("crane");

    assertThat(result.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(result.failure()).isSameAs(down);
    assertThat(result.errors()).containsExactly(down);
    assertThat(result.attempts()).isEqualTo(1);
  }

  @Test
  void failsANullOutputNamingTheStageAndTheRecord() {
    StageResult<String> result =
        StageTester.of((String s) -> (String) null)
            .stageName(StageName.EXTRACTION)
            .run("listing-7", "crane");

    assertThat(result.failure())
        .isInstanceOf(StageException.class)
        .hasMessageContaining("stage 'extraction' returned null for record 'listing-7'")
        .hasMessageContaining("RecordFilteredException.because");
    StageException error = (StageException) result.failure();
    assertThat(error.stage()).isEqualTo("extraction");
    assertThat(error.recordId()).isEqualTo("listing-7");
  }

  @Test
  void failsOnAnErrorWithoutRetryingIt() {
    AtomicInteger calls = new AtomicInteger();

    StageResult<String> result =
        StageTester.<String, String>of(
                (String s) -> {
                  calls.incrementAndGet();
                  throw new AssertionError("broken invariant");
                })
            .retry(BACKOFF)
            .run("crane");

    assertThat(result.failure()).isInstanceOf(AssertionError.class).hasMessage("broken invariant");
    assertThat(calls).hasValue(1);
  }

  @Test
  void neverRetriesAVirtualMachineErrorEvenIfThePolicyWould() {
    ManualClock clock = ManualClock.create();

    StageResult<String> result =
        StageTester.<String, String>of(
                (String s) -> {
                  throw new StackOverflowError();
                })
            .retry(BACKOFF.retryOn(StackOverflowError.class))
            .clock(clock)
            .run("crane");

    assertThat(result.attempts()).isEqualTo(1);
    assertThat(result.failure()).isInstanceOf(StackOverflowError.class);
    assertThat(clock.sleeps()).isEmpty();
  }

  @Test
  void retriesWithExponentialBackoffOnTheManualClock() {
    ManualClock clock = ManualClock.create();
    Stage<String, String> flaky =
        (input, context) -> {
          if (context.attempt() < 3) {
            throw new IOException("timeout " + context.attempt());
          }
          return input.toUpperCase(Locale.ROOT);
        };

    StageResult<String> result = StageTester.of(flaky).retry(BACKOFF).clock(clock).run("crane");

    assertThat(result.output()).isEqualTo("CRANE");
    assertThat(result.attempts()).isEqualTo(3);
    assertThat(result.errors())
        .extracting(Throwable::getMessage)
        .containsExactly("timeout 1", "timeout 2");
    assertThat(clock.sleeps()).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2));
    assertThat(clock.now()).isEqualTo(ManualClock.DEFAULT_START.plusSeconds(3));
  }

  @Test
  void givesUpAfterTheMaximumRetries() {
    ManualClock clock = ManualClock.create();

    StageResult<String> result =
        StageTester.<String, String>of(
                (String s) -> {
                  throw new IOException("down");
                })
            .retry(BACKOFF.maxRetries(4))
            .clock(clock)
            .run("crane");

    assertThat(result.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(result.attempts()).isEqualTo(5);
    assertThat(result.errors()).hasSize(5);
    assertThat(clock.sleeps())
        .containsExactly(
            Duration.ofSeconds(1),
            Duration.ofSeconds(2),
            Duration.ofSeconds(4),
            Duration.ofSeconds(8));
  }

  @Test
  void doesNotRetryAnErrorThePolicyAbortsOn() {
    ManualClock clock = ManualClock.create();

    StageResult<Integer> result =
        StageTester.of((String s) -> Integer.parseInt(s))
            .retry(BACKOFF.abortOn(NumberFormatException.class))
            .clock(clock)
            .run("not a number");

    assertThat(result.failure()).isInstanceOf(NumberFormatException.class);
    assertThat(result.attempts()).isEqualTo(1);
    assertThat(clock.sleeps()).isEmpty();
  }

  @Test
  void doesNotRetryWithoutAPolicy() {
    AtomicInteger calls = new AtomicInteger();

    StageResult<String> result =
        StageTester.<String, String>of(
                (String s) -> {
                  calls.incrementAndGet();
                  throw new IOException("down");
                })
            .run("crane");

    assertThat(result.attempts()).isEqualTo(1);
    assertThat(calls).hasValue(1);
  }

  @Test
  void filtersOnARetryKeepingTheEarlierErrors() {
    Stage<String, String> stage =
        (input, context) -> {
          if (context.attempt() == 1) {
            throw new IOException("first");
          }
          throw RecordFilteredException.because("gone on retry");
        };

    StageResult<String> result = StageTester.of(stage).retry(BACKOFF).run("crane");

    assertThat(result.filterReason()).isEqualTo("gone on retry");
    assertThat(result.attempts()).isEqualTo(2);
    assertThat(result.errors()).extracting(Throwable::getMessage).containsExactly("first");
  }

  @Test
  void jitteredDelaysAreTheSameOnEveryTestRun() {
    RetryPolicy jittered = BACKOFF.withJitter(0.5).maxRetries(5);
    List<List<Duration>> runs = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      ManualClock clock = ManualClock.create();
      StageTester.<String, String>of(
              (String s) -> {
                throw new IOException("down");
              })
          .retry(jittered)
          .clock(clock)
          .run("crane");
      runs.add(clock.sleeps());
    }

    assertThat(runs.get(0)).hasSize(5).isEqualTo(runs.get(1));
    assertThat(runs.get(0).get(0)).isBetween(Duration.ofMillis(500), Duration.ofSeconds(1));
  }

  @Test
  void capturesLogsWithTheirArgumentsAndThrowable() {
    IOException cause = new IOException("connection reset");
    Stage<String, String> stage =
        (input, context) -> {
          context.logger().trace("entering");
          context.logger().debug("cleaning {}", input);
          context.logger().info("price {} for {}", 1200, input);
          context.logger().warn("lookup of {} failed", context.recordId(), cause);
          context.logger().error("three {} {} {}", "a", "b", "c");
          return input;
        };

    StageResult<String> result = StageTester.of(stage).stageName(StageName.ANALYSIS).run("crane");

    assertThat(result.logs())
        .containsExactly(
            new LogEntry(StageName.ANALYSIS, Level.TRACE, "entering", null),
            new LogEntry(StageName.ANALYSIS, Level.DEBUG, "cleaning crane", null),
            new LogEntry(StageName.ANALYSIS, Level.INFO, "price 1200 for crane", null),
            new LogEntry(StageName.ANALYSIS, Level.WARN, "lookup of record-1 failed", cause),
            new LogEntry(StageName.ANALYSIS, Level.ERROR, "three a b c", null));
  }

  @Test
  void keepsTheLogsOfEveryAttemptOfTheRecordOnly() {
    Stage<String, String> stage =
        (input, context) -> {
          context.logger().info("attempt {} at {}", context.attempt(), input);
          if (input.equals("flaky") && context.attempt() == 1) {
            throw new IOException("down");
          }
          return input;
        };
    StageTester<String, String> tester = StageTester.of(stage).retry(BACKOFF);

    List<StageResult<String>> results = tester.runAll(List.of("flaky", "steady"));

    assertThat(results.get(0).logs())
        .extracting(LogEntry::message)
        .containsExactly("attempt 1 at flaky", "attempt 2 at flaky");
    assertThat(results.get(1).logs())
        .extracting(LogEntry::message)
        .containsExactly("attempt 1 at steady");
  }

  @Test
  void keepsTheMetadataAddedByThePassingAttempt() {
    Stage<String, String> stage =
        (input, context) -> {
          context.putMetadata("attempt-" + context.attempt(), "yes");
          if (context.attempt() == 1) {
            throw new IOException("down");
          }
          context.putMetadata("lang", "de");
          return input;
        };

    StageResult<String> result = StageTester.of(stage).retry(BACKOFF).run("crane");

    assertThat(result.addedMetadata()).isEqualTo(Map.of("attempt-2", "yes", "lang", "de"));
  }

  @Test
  void rejectsAContextUsedAfterItsCall() {
    AtomicReference<StageContext> kept = new AtomicReference<>();
    StageTester.of(
            (String input, StageContext context) -> {
              kept.set(context);
              return input;
            })
        .run("crane");

    assertThatThrownBy(() -> kept.get().putMetadata("late", "value"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("after its call returned");
  }

  @Test
  void failsASingleStageThatFiltersByIndex() {
    StageResult<String> result =
        StageTester.of(
                (String input, StageContext context) -> {
                  context.filter(0, "nope");
                  return input;
                })
            .run("crane");

    assertThat(result.failure())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("processes one record at a time");
  }

  @Test
  void outcomeAccessorsExplainWhatHappenedInstead() {
    StageResult<String> failed =
        StageTester.<String, String>of(
                (String s) -> {
                  throw new UncheckedIOException(new IOException("down"));
                })
            .run("crane");
    StageResult<String> passed = StageTester.of((String s) -> s).run("crane");

    assertThatThrownBy(failed::output)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("record 'record-1' FAILED after 1 attempt")
        .hasMessageContaining("not PASSED")
        .hasCauseInstanceOf(UncheckedIOException.class);
    assertThatThrownBy(failed::filterReason).hasMessageContaining("not FILTERED");
    assertThatThrownBy(passed::failure)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("PASSED after 1 attempt, not FAILED");
  }

  @Test
  void rejectsAnOptionSetTwice() {
    StageTester<String, String> tester =
        StageTester.of((String s) -> s)
            .retry(BACKOFF)
            .clock(ManualClock.create())
            .stageName(StageName.CLEANING)
            .metadata("k", "v");

    assertThatThrownBy(() -> tester.retry(RetryPolicy.none()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("retry policy was already set");
    assertThatThrownBy(() -> tester.clock(ManualClock.create()))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> tester.stageName(StageName.INDEXING))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> tester.metadata("k", "w"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'k'");
  }

  @Test
  void rejectsNullArgumentsAtOnce() {
    StageTester<String, String> tester = StageTester.of((String s) -> s);

    assertThatThrownBy(() -> StageTester.of((Stage<String, String>) null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("stage cannot be null");
    assertThatThrownBy(() -> tester.run((String) null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("input cannot be null");
    assertThatThrownBy(() -> tester.runAll(java.util.Arrays.asList("a", null)))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("inputs cannot hold null");
    assertThatThrownBy(() -> tester.run(" ", "a")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void stopsWithTheInterruptFlagSetWhenInterruptedDuringBackoff() {
    StageTester<String, String> tester =
        StageTester.<String, String>of(
                (String s) -> {
                  Thread.currentThread().interrupt();
                  throw new IOException("down");
                })
            .retry(BACKOFF);

    assertThatThrownBy(() -> tester.run("crane"))
        .isInstanceOf(PipelineException.class)
        .hasMessageContaining("interrupted while backing off")
        .hasCauseInstanceOf(InterruptedException.class);
    assertThat(Thread.interrupted()).isTrue();
  }

  @Test
  void keepsTheFirstAndTheLastErrorsOfARecordRetriedAThousandTimes() {
    ManualClock clock = ManualClock.create();
    Stage<String, String> flaky =
        (input, context) -> {
          if (context.attempt() <= 1_000) {
            throw new IOException("timeout " + context.attempt());
          }
          return input;
        };

    StageResult<String> result =
        StageTester.of(flaky)
            .retry(
                RetryPolicy.exponential(Duration.ofMillis(1), Duration.ofMillis(1))
                    .maxRetries(Integer.MAX_VALUE))
            .clock(clock)
            .run("crane");

    assertThat(result.attempts()).isEqualTo(1_001);
    assertThat(result.errors())
        .extracting(Throwable::getMessage)
        .containsExactly(
            "timeout 1",
            "timeout 993",
            "timeout 994",
            "timeout 995",
            "timeout 996",
            "timeout 997",
            "timeout 998",
            "timeout 999",
            "timeout 1000");
  }

  /** Its toString() throws another instance of itself. */
  static final class ToStringThrowsItself extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ToStringThrowsItself(String message) {
      super(message);
    }

    @Override
    public String toString() {
      throw new ToStringThrowsItself("toString fails");
    }
  }

  @Test
  void describesAFailureWhoseToStringThrows() {
    StageResult<String> result =
        StageTester.<String, String>of(
                (String s) -> {
                  throw new ToStringThrowsItself("cannot\nclean");
                })
            .run("listing-7", "crane");

    String text;
    try {
      text = result.toString();
    } catch (ToStringThrowsItself e) {
      // not the exception itself: reporting it would call its toString()
      throw new AssertionError("StageResult.toString() let the failure's toString() throw");
    }
    assertThat(text)
        .isEqualTo(
            "StageResult[record 'listing-7' FAILED after 1 attempt: "
                + ToStringThrowsItself.class.getName()
                + ": cannot\\nclean]");
    assertThatThrownBy(result::output)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("FAILED after 1 attempt")
        .hasCauseInstanceOf(ToStringThrowsItself.class);
  }
}
