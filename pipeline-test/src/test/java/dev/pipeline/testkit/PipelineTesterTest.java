package dev.pipeline.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Envelope;
import dev.pipeline.PipelineConfigurationException;
import dev.pipeline.PipelineException;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.RunStatus;
import dev.pipeline.Sink;
import dev.pipeline.Source;
import dev.pipeline.Stage;
import dev.pipeline.StageName;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.RecordStatus;
import java.io.IOException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

class PipelineTesterTest {
  private static final List<String> INPUTS =
      List.of(" 10 ", "", "abc", "flaky-7", "500", "  42", "   ");

  /** Trims; filters blank inputs. */
  private static String clean(String input) {
    String trimmed = input.strip();
    if (trimmed.isEmpty()) {
      throw RecordFilteredException.because("blank");
    }
    return trimmed;
  }

  /** Parses a number; a "flaky-" one fails its first attempt, anything else not a number fails. */
  private static final Stage<String, Integer> EXTRACT =
      (input, context) -> {
        if (input.startsWith("flaky-") && context.attempt() == 1) {
          IOException timeout = new IOException("parser service timed out");
          context.logger().warn("attempt {} at {} failed", context.attempt(), input, timeout);
          throw timeout;
        }
        context.putMetadata("digits", String.valueOf(input.length()));
        return Integer.parseInt(input.replace("flaky-", ""));
      };

  /** Filters numbers over 100. */
  private static String validate(Integer number) {
    if (number > 100) {
      throw RecordFilteredException.because("too large: " + number);
    }
    return "n=" + number;
  }

  private static PipelineTester<String, String> tester() {
    return PipelineTester.forPipeline(
        "numbers",
        String.class,
        pipeline ->
            pipeline
                .stage(StageName.CLEANING, PipelineTesterTest::clean)
                .stage(
                    StageName.EXTRACTION,
                    EXTRACT,
                    options ->
                        options
                            .concurrency(3)
                            .retry(
                                RetryPolicy.exponential(
                                        Duration.ofSeconds(2), Duration.ofSeconds(30))
                                    .abortOn(NumberFormatException.class)))
                .stage(StageName.VALIDATION, PipelineTesterTest::validate));
  }

  @Test
  void putsEveryInputInExactlyOneTerminalState() {
    PipelineTestResult<String> result = tester().run(INPUTS);

    assertThat(result.runResult().status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.recordIds())
        .containsExactly(
            "record-1", "record-2", "record-3", "record-4", "record-5", "record-6", "record-7");
    assertThat(result.published())
        .containsOnly(
            Map.entry("record-1", "n=10"),
            Map.entry("record-4", "n=7"),
            Map.entry("record-6", "n=42"));
    assertThat(result.filtered())
        .containsExactly(
            Map.entry("record-2", "blank"),
            Map.entry("record-5", "too large: 500"),
            Map.entry("record-7", "blank"));
    assertThat(result.deadLetters()).extracting(DeadLetter::recordId).containsExactly("record-3");

    Set<String> accounted = new HashSet<>();
    for (String id : result.published().keySet()) {
      assertThat(accounted.add(id)).as("%s in one state only", id).isTrue();
    }
    for (String id : result.filtered().keySet()) {
      assertThat(accounted.add(id)).as("%s in one state only", id).isTrue();
    }
    for (DeadLetter deadLetter : result.deadLetters()) {
      assertThat(accounted.add(deadLetter.recordId()))
          .as("%s in one state only", deadLetter.recordId())
          .isTrue();
    }
    assertThat(accounted)
        .hasSize(INPUTS.size())
        .containsExactlyInAnyOrderElementsOf(result.recordIds());
    assertThat(result.runResult().published()).isEqualTo(3);
    assertThat(result.runResult().filtered()).isEqualTo(3);
    assertThat(result.runResult().deadLettered()).isEqualTo(1);
    assertThat(result.runResult().unfinished()).isZero();
  }

  @Test
  void keepsTheDeadLetterWithItsPayloadStageAndError() {
    PipelineTestResult<String> result = tester().run(INPUTS);

    DeadLetter deadLetter = result.deadLetter("record-3");

    assertThat(deadLetter.stage()).isEqualTo("extraction");
    assertThat(deadLetter.record().payload()).isEqualTo("abc");
    assertThat(deadLetter.attempts()).isEqualTo(1);
    assertThat(deadLetter.lastError().errorType()).isEqualTo("NumberFormatException");
    assertThat(result.state("record-3").orElseThrow().status()).isEqualTo(RecordStatus.DEAD_LETTER);
  }

  @Test
  void retriesOnTheManualClockWithoutWaiting() {
    ManualClock clock = ManualClock.create();

    PipelineTestResult<String> result = tester().clock(clock).run(INPUTS);

    assertThat(result.output("record-4")).isEqualTo("n=7");
    assertThat(result.state("record-4").orElseThrow().status()).isEqualTo(RecordStatus.PUBLISHED);
    // the 2 s wait is long enough to park the record in the retry queue; the run waits for it on
    // the manual clock (in steps of at most a second), without waiting for real
    assertThat(clock.sleeps().stream().reduce(Duration.ZERO, Duration::plus))
        .isEqualTo(Duration.ofSeconds(2));
    assertThat(result.runResult().parked()).isEqualTo(1);
    assertThat(result.clock()).isSameAs(clock);
    assertThat(result.runResult().metrics().stages())
        .filteredOn(stage -> stage.stage().equals("extraction"))
        .singleElement()
        .satisfies(stage -> assertThat(stage.retries()).isEqualTo(1));
  }

  @Test
  void capturesEachStagesLogs() {
    PipelineTestResult<String> result = tester().run(INPUTS);

    assertThat(result.logs(StageName.EXTRACTION))
        .singleElement()
        .satisfies(
            entry -> {
              assertThat(entry.level()).isEqualTo(Level.WARN);
              assertThat(entry.message()).isEqualTo("attempt 1 at flaky-7 failed");
              assertThat(entry.throwable()).hasMessage("parser service timed out");
            });
    assertThat(result.logs(StageName.CLEANING)).isEmpty();
    assertThat(result.logs()).hasSize(1);
  }

  @Test
  void publishesEnvelopesWithTheirMetadata() {
    PipelineTestResult<String> result = tester().run(INPUTS);

    assertThat(result.publishedEnvelopes())
        .filteredOn(envelope -> envelope.id().equals("record-6"))
        .singleElement()
        .satisfies(
            envelope -> {
              assertThat(envelope.metadata()).containsEntry("digits", "2");
              assertThat(envelope.sourceId()).isEqualTo(PipelineTester.SOURCE_ID);
            });
  }

  @Test
  void explainsWhereARecordEndedWhenItWasNotPublished() {
    PipelineTestResult<String> result = tester().run(INPUTS);

    assertThatThrownBy(() -> result.output("record-5"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "record 'record-5' was not published: FILTERED at stage 'validation' because 'too"
                + " large: 500'");
    assertThatThrownBy(() -> result.output("record-3"))
        .hasMessageContaining("DEAD_LETTER at stage 'extraction' after 1 attempts")
        .hasMessageContaining("java.lang.NumberFormatException");
    assertThatThrownBy(() -> result.deadLetter("record-1"))
        .hasMessageContaining("was not dead-lettered: PUBLISHED at stage 'validation'");
    assertThatThrownBy(() -> result.output("nope"))
        .hasMessageContaining("no record of that id was read");
  }

  @Test
  void runsEachTimeOnAFreshPipelineAndStore() {
    PipelineTester<String, String> tester = tester();

    PipelineTestResult<String> first = tester.run(INPUTS);
    PipelineTestResult<String> second = tester.run(INPUTS);

    assertThat(second.published()).isEqualTo(first.published());
    assertThat(second.runResult().duplicates()).isZero();
    assertThat(tester.clock().sleeps().stream().reduce(Duration.ZERO, Duration::plus))
        .as("one 2 s retry per run")
        .isEqualTo(Duration.ofSeconds(4));
  }

  @Test
  void runsOverAGivenSourceWithItsIds() {
    Source<String> source =
        Source.of("feed", List.of("1", "2", "2000").iterator(), input -> "listing-" + input);

    PipelineTestResult<String> result = tester().run(source);

    assertThat(result.recordIds()).containsExactly("listing-1", "listing-2", "listing-2000");
    assertThat(result.published()).containsOnlyKeys("listing-1", "listing-2");
    assertThat(result.filtered()).containsOnlyKeys("listing-2000");
  }

  @Test
  void runsNoInputs() {
    PipelineTestResult<String> result = tester().run(List.of());

    assertThat(result.runResult().status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.recordIds()).isEmpty();
    assertThat(result.published()).isEmpty();
  }

  @Test
  void rejectsAConfigurationThatSetsTheSink() {
    PipelineTester<String, String> tester =
        PipelineTester.forPipeline(
            "numbers",
            String.class,
            pipeline ->
                pipeline
                    .stage(StageName.CLEANING, PipelineTesterTest::clean)
                    .sink(Sink.discarding()));

    assertThatThrownBy(() -> tester.run(INPUTS))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("PipelineTester sets them itself")
        .hasMessageContaining("sink was already set");
  }

  @Test
  void reportsAnInvalidPipelineAsTheBuilderDoes() {
    PipelineTester<String, String> tester =
        PipelineTester.forPipeline(
            "numbers",
            String.class,
            pipeline ->
                pipeline
                    .stage(StageName.VALIDATION, PipelineTesterTest::clean)
                    .stage(StageName.CLEANING, PipelineTesterTest::clean));

    assertThatThrownBy(() -> tester.run(INPUTS))
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("comes after 'validation'");
  }

  @Test
  void cancelsARunThatDoesNotFinishInTime() {
    CountDownLatch never = new CountDownLatch(1);
    PipelineTester<String, String> tester =
        PipelineTester.forPipeline(
                "stuck",
                String.class,
                pipeline ->
                    pipeline.stage(
                        StageName.CLEANING,
                        (String input) -> {
                          never.await();
                          return input;
                        }))
            .timeout(Duration.ofMillis(200));

    assertThatThrownBy(() -> tester.run(List.of("a")))
        .isInstanceOf(PipelineException.class)
        .hasMessageContaining("pipeline 'stuck' did not finish within PT0.2S and was cancelled")
        .hasMessageContaining("read=1");
  }

  @Test
  void rejectsBadArgumentsAtOnce() {
    assertThatThrownBy(() -> PipelineTester.forPipeline(" ", String.class, pipeline -> pipeline))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> tester().timeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> tester().clock(ManualClock.create()).clock(ManualClock.create()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("clock was already set");
    assertThatThrownBy(() -> tester().run(java.util.Arrays.asList("1", null)))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("inputs cannot hold null");
  }

  @Test
  void publishedKeepsArrivalOrder() {
    PipelineTestResult<String> result =
        PipelineTester.forPipeline(
                "ordered",
                String.class,
                pipeline -> pipeline.stage(StageName.CLEANING, PipelineTesterTest::clean))
            .run(List.of("c", "a", "b"));

    assertThat(result.published().keySet())
        .containsExactlyElementsOf(result.publishedEnvelopes().stream().map(Envelope::id).toList());
  }
}
