package dev.pipeline.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.BatchStage;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.StageException;
import dev.pipeline.StageName;
import dev.pipeline.resilience.ExponentialRetryPolicy;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.testkit.StageResult.Outcome;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StageTesterBatchTest {
  private static final ExponentialRetryPolicy BACKOFF =
      RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1));

  /** Upper-cases, filters "skip", fails "bad" (for good) and "flaky" (on its first attempt). */
  private static final BatchStage<String, String> UPPER =
      (inputs, context) -> {
        List<String> outputs = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
          String input = inputs.get(i);
          if (input.equals("skip")) {
            context.filter(i, "skipped on purpose");
            outputs.add(null);
          } else if (input.equals("bad") || (input.equals("flaky") && context.attempt() == 1)) {
            context.fail(i, new IOException(input + " at attempt " + context.attempt()));
            outputs.add(null);
          } else {
            outputs.add(input.toUpperCase(Locale.ROOT));
          }
        }
        context.logger().info("batch of {} at attempt {}", inputs.size(), context.attempt());
        return outputs;
      };

  @Test
  void filtersAndFailsSingleRecordsOfABatchByIndex() {
    List<StageResult<String>> results =
        StageTester.ofBatch(UPPER).runAll(List.of("crane", "skip", "bad", "loader"));

    assertThat(results)
        .extracting(StageResult::outcome)
        .containsExactly(Outcome.PASSED, Outcome.FILTERED, Outcome.FAILED, Outcome.PASSED);
    assertThat(results)
        .extracting(StageResult::recordId)
        .containsExactly("record-1", "record-2", "record-3", "record-4");
    assertThat(results.get(0).output()).isEqualTo("CRANE");
    assertThat(results.get(1).filterReason()).isEqualTo("skipped on purpose");
    assertThat(results.get(2).failure())
        .isInstanceOf(IOException.class)
        .hasMessage("bad at attempt 1");
    assertThat(results.get(3).output()).isEqualTo("LOADER");
  }

  @Test
  void retriesOnlyTheFailedRecordsOfABatch() {
    ManualClock clock = ManualClock.create();
    List<List<String>> calls = new ArrayList<>();
    BatchStage<String, String> recording =
        (inputs, context) -> {
          calls.add(List.copyOf(context.recordIds()));
          return UPPER.process(inputs, context);
        };

    List<StageResult<String>> results =
        StageTester.ofBatch(recording)
            .retry(BACKOFF.maxRetries(2))
            .clock(clock)
            .runAll(List.of("crane", "flaky", "bad"));

    assertThat(calls)
        .containsExactly(
            List.of("record-1", "record-2", "record-3"),
            List.of("record-2", "record-3"),
            List.of("record-3"));
    assertThat(results).extracting(StageResult::attempts).containsExactly(1, 2, 3);
    assertThat(results.get(1).output()).isEqualTo("FLAKY");
    assertThat(results.get(1).errors())
        .extracting(Throwable::getMessage)
        .containsExactly("flaky at attempt 1");
    assertThat(results.get(2).errors())
        .extracting(Throwable::getMessage)
        .containsExactly("bad at attempt 1", "bad at attempt 2", "bad at attempt 3");
    assertThat(clock.sleeps()).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2));
    assertThat(results.get(2).logs())
        .extracting(LogEntry::message)
        .containsExactly(
            "batch of 3 at attempt 1", "batch of 2 at attempt 2", "batch of 1 at attempt 3");
    assertThat(results.get(0).logs())
        .extracting(LogEntry::message)
        .containsExactly("batch of 3 at attempt 1");
  }

  @Test
  void failsEveryRecordWhenTheBatchCallThrows() {
    List<StageResult<String>> results =
        StageTester.<String, String>ofBatch(
                (inputs, context) -> {
                  throw new IOException("bulk endpoint down");
                })
            .runAll(List.of("a", "b"));

    assertThat(results)
        .allSatisfy(result -> assertThat(result.failure()).hasMessage("bulk endpoint down"));
  }

  @Test
  void filtersEveryRecordWhenTheBatchCallFilters() {
    List<StageResult<String>> results =
        StageTester.<String, String>ofBatch(
                (inputs, context) -> {
                  throw RecordFilteredException.because("whole batch is stale");
                })
            .runAll(List.of("a", "b"));

    assertThat(results)
        .extracting(StageResult::filterReason)
        .containsExactly("whole batch is stale", "whole batch is stale");
  }

  @Test
  void halvesABatchThatReturnsTheWrongNumberOfOutputsAsThePipelineDoes() {
    List<Integer> calls = new java.util.ArrayList<>();
    List<StageResult<String>> results =
        StageTester.ofBatch(
                (List<String> inputs, dev.pipeline.StageContext context) -> {
                  calls.add(inputs.size());
                  // one output short while given several, right for one alone
                  return inputs.size() > 1 ? inputs.subList(1, inputs.size()) : inputs;
                })
            .stageName(StageName.INDEXING)
            .runAll(List.of("a", "b", "c", "d"));

    assertThat(results).extracting(StageResult::output).containsExactly("a", "b", "c", "d");
    assertThat(calls).containsExactly(4, 2, 1, 1, 2, 1, 1);
  }

  @Test
  void failsEachRecordAloneWhenEveryCallReturnsTheWrongNumberOfOutputs() {
    List<StageResult<String>> results =
        StageTester.ofBatch(
                (List<String> inputs, dev.pipeline.StageContext context) ->
                    inputs.subList(1, inputs.size()))
            .stageName(StageName.INDEXING)
            .runAll(List.of("a", "b"));

    assertThat(results.get(0).failure())
        .isInstanceOf(StageException.class)
        .hasMessage(
            "batch stage 'indexing' returned 0 outputs for 1 inputs (first record"
                + " 'record-1'); return one output per input, in order");
    assertThat(results.get(1).failure()).hasMessageContaining("(first record 'record-2')");
  }

  @Test
  void failsARecordLeftNullWithoutBeingFilteredOrFailed() {
    List<StageResult<String>> results =
        StageTester.ofBatch(
                (List<String> inputs, dev.pipeline.StageContext context) ->
                    java.util.Arrays.asList("A", null))
            .runAll(List.of("a", "b"));

    assertThat(results.get(0).output()).isEqualTo("A");
    assertThat(results.get(1).failure())
        .isInstanceOf(StageException.class)
        .hasMessageContaining("returned null for record 'record-2' without filtering or failing");
  }

  @Test
  void givesMetadataAddedByABatchToEveryRecordThatPassed() {
    List<StageResult<String>> results =
        StageTester.ofBatch(
                (List<String> inputs, dev.pipeline.StageContext context) -> {
                  context.putMetadata("indexed-by", "bulk");
                  return UPPER.process(inputs, context);
                })
            .runAll(List.of("a", "skip", "b"));

    assertThat(results.get(0).addedMetadata()).isEqualTo(Map.of("indexed-by", "bulk"));
    assertThat(results.get(1).addedMetadata()).isEmpty();
    assertThat(results.get(2).addedMetadata()).isEqualTo(Map.of("indexed-by", "bulk"));
  }

  @Test
  void answersABatchContextByIndexOnly() {
    List<StageResult<String>> results =
        StageTester.ofBatch(
                (List<String> inputs, dev.pipeline.StageContext context) -> {
                  if (inputs.size() == 2) {
                    assertThat(context.metadata(1)).containsEntry("source", "feed");
                    assertThatThrownBy(() -> context.filter(2, "out of range"))
                        .isInstanceOf(IndexOutOfBoundsException.class);
                  }
                  // fails the call: the batch is halved, and each record fails alone
                  return List.of(context.recordId());
                })
            .metadata("source", "feed")
            .runAll(List.of("a", "b"));

    assertThat(results)
        .allSatisfy(
            result ->
                assertThat(result.failure())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("is a batch stage: recordId() has no single answer"));
  }

  @Test
  void runsOneInputAsABatchOfOne() {
    StageResult<String> result = StageTester.ofBatch(UPPER).run("id-9", "crane");

    assertThat(result.recordId()).isEqualTo("id-9");
    assertThat(result.output()).isEqualTo("CRANE");
    assertThat(result.logs())
        .extracting(LogEntry::message)
        .containsExactly("batch of 1 at attempt 1");
  }

  @Test
  void runsNoInputsWithoutCallingTheStage() {
    assertThat(
            StageTester.<String, String>ofBatch(
                    (inputs, context) -> {
                      throw new AssertionError("called with no inputs");
                    })
                .runAll(List.of()))
        .isEmpty();
  }
}
