package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.PUBLISHING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;

class RetryTest {
  private static final RetryPolicy BACKOFF =
      RetryPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(10)).maxRetries(3);

  private final FakeClock clock = new FakeClock();
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();
  private final Queue<String> calls = new ConcurrentLinkedQueue<>();

  private static Source<String> source(String... ids) {
    return Source.of("src", List.of(ids).iterator(), id -> id);
  }

  private Pipeline<String, String> pipeline(
      String name, RetryPolicy policy, Stage<String, String> stage) {
    return Pipeline.builder(name, String.class)
        .stage(
            CLEANING,
            (String s, StageContext context) -> {
              calls.add(s + "#" + context.attempt());
              return stage.process(s, context);
            },
            o -> o.retry(policy))
        .sink(sink::addAll)
        .retryQueueAfter(Duration.ofMinutes(1)) // every wait here is a sleep in the worker
        .clock(clock)
        .build();
  }

  private static List<Integer> attempts(List<ErrorInfo> errors) {
    return errors.stream().map(ErrorInfo::attempt).toList();
  }

  @Test
  void retriedRecordSucceedsAndKeepsItsAttemptsAndErrors() {
    Pipeline<String, String> pipeline =
        pipeline(
            "retry-success",
            BACKOFF,
            (s, context) -> {
              if (s.equals("r2") && context.attempt() < 3) {
                throw new IOException("flaky " + context.attempt());
              }
              return s;
            });

    RunResult result = pipeline.run(source("r1", "r2", "r3"));

    assertThat(calls).containsExactly("r1#1", "r2#1", "r2#2", "r2#3", "r3#1");
    assertThat(sink).extracting(Envelope::id).containsExactly("r1", "r2", "r3");
    RecordState state = Outcomes.state(pipeline, "r2");
    assertThat(state.status()).isEqualTo(RecordStatus.PUBLISHED);
    assertThat(state.attempts()).isEqualTo(3);
    assertThat(state.errors()).extracting(ErrorInfo::message).containsExactly("flaky 1", "flaky 2");
    assertThat(attempts(state.errors())).containsExactly(1, 2);
    assertThat(Outcomes.state(pipeline, "r1").attempts()).isOne();
    assertThat(clock.sleeps()).containsExactly(Duration.ofMillis(100), Duration.ofMillis(200));
    assertThat(result.metrics().stage("cleaning").retries()).isEqualTo(2);
    assertThat(result.metrics().stage("cleaning").errorsByType()).containsEntry("IOException", 2L);
  }

  @Test
  void exhaustedRetriesDeadLetterTheRecordWithEveryError() {
    Pipeline<String, String> pipeline =
        pipeline(
            "retry-exhausted",
            BACKOFF,
            (s, context) -> {
              throw new IOException("down " + context.attempt());
            });

    RunResult result = pipeline.run(source("r1"));

    assertThat(calls).containsExactly("r1#1", "r1#2", "r1#3", "r1#4");
    DeadLetter dead = Outcomes.deadLetter(pipeline, "r1");
    assertThat(dead.attempts()).isEqualTo(4);
    assertThat(dead.errors())
        .extracting(ErrorInfo::message)
        .containsExactly("down 1", "down 2", "down 3", "down 4");
    assertThat(attempts(dead.errors())).containsExactly(1, 2, 3, 4);
    assertThat(Outcomes.state(pipeline, "r1").errors()).isEqualTo(dead.errors());
    assertThat(clock.sleeps())
        .containsExactly(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(400));
    assertThat(result.deadLettered()).isOne();
  }

  @Test
  void abortOnErrorIsDeadLetteredAtOnce() {
    Pipeline<String, String> pipeline =
        pipeline(
            "retry-abort",
            RetryPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(1))
                .abortOn(IllegalArgumentException.class),
            (s, context) -> {
              throw new IllegalArgumentException("not a price: " + s);
            });

    pipeline.run(source("r1"));

    assertThat(calls).containsExactly("r1#1");
    DeadLetter dead = Outcomes.deadLetter(pipeline, "r1");
    assertThat(dead.attempts()).isOne();
    assertThat(dead.errors()).hasSize(1);
    assertThat(clock.sleeps()).isEmpty();
  }

  @Test
  void errorIsNeverRetried() {
    Pipeline<String, String> pipeline =
        pipeline(
            "retry-error",
            BACKOFF,
            (s, context) -> {
              throw new AssertionError("bug");
            });

    pipeline.run(source("r1"));

    assertThat(calls).containsExactly("r1#1");
    assertThat(Outcomes.deadLetter(pipeline, "r1").attempts()).isOne();
  }

  @Test
  void backoffGrowsUntilItsCap() {
    Pipeline<String, String> pipeline =
        pipeline(
            "retry-cap",
            RetryPolicy.exponential(Duration.ofMillis(100), Duration.ofMillis(250)).maxRetries(4),
            (s, context) -> {
              throw new IOException("down");
            });

    pipeline.run(source("r1"));

    assertThat(clock.sleeps())
        .containsExactly(
            Duration.ofMillis(100),
            Duration.ofMillis(200),
            Duration.ofMillis(250),
            Duration.ofMillis(250));
  }

  @Test
  void jitteredBackoffStaysWithinItsBounds() {
    Pipeline<String, String> pipeline =
        pipeline(
            "retry-jitter",
            RetryPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(10))
                .maxRetries(5)
                .withJitter(0.5),
            (s, context) -> {
              throw new IOException("down");
            });

    pipeline.run(source("r1", "r2", "r3"));

    List<Duration> sleeps = clock.sleeps();
    assertThat(sleeps).hasSize(15);
    for (int i = 0; i < sleeps.size(); i++) {
      long full = 100L << (i % 5);
      assertThat(sleeps.get(i).toNanos())
          .as("retry %d", i % 5 + 1)
          .isBetween(Duration.ofMillis(full / 2).toNanos(), Duration.ofMillis(full).toNanos());
    }
  }

  @Test
  void errorsOfAnEarlierStageStayWithTheRecordWhenALaterStageFails() {
    Pipeline<String, String> pipeline =
        Pipeline.builder("retry-history", String.class)
            .stage(
                CLEANING,
                (String s, StageContext context) -> {
                  if (context.attempt() == 1) {
                    throw new IOException("cleaning hiccup");
                  }
                  return s;
                },
                o -> o.retry(BACKOFF))
            .<String>stage(
                EXTRACTION,
                (String s) -> {
                  throw new IllegalStateException("no price");
                })
            .clock(clock)
            .build();

    pipeline.run(source("r1"));

    DeadLetter dead = Outcomes.deadLetter(pipeline, "r1");
    assertThat(dead.stage()).isEqualTo("extraction");
    assertThat(dead.attempts()).isOne();
    assertThat(dead.errors())
        .extracting(ErrorInfo::stage, ErrorInfo::message)
        .containsExactly(tuple("cleaning", "cleaning hiccup"), tuple("extraction", "no price"));
  }

  @Test
  void batchStageRetriesOnlyItsFailedRecords() {
    List<List<String>> batches = new ArrayList<>();
    Pipeline<String, String> pipeline =
        Pipeline.builder("retry-batch", String.class)
            .batchStage(
                CLEANING,
                (List<String> inputs, StageContext context) -> {
                  batches.add(List.copyOf(inputs));
                  List<String> out = new ArrayList<>(inputs);
                  int b = inputs.indexOf("b");
                  if (b >= 0 && context.attempt() == 1) {
                    context.fail(b, new IOException("timeout on b"));
                    out.set(b, null);
                  }
                  return out;
                },
                o -> o.batchSize(3).retry(BACKOFF))
            .stage(PUBLISHING, (String s) -> s)
            .sink(sink::addAll)
            .clock(clock)
            .build();

    RunResult result = pipeline.run(source("a", "b", "c"));

    assertThat(batches).containsExactly(List.of("a", "b", "c"), List.of("b"));
    assertThat(sink).extracting(Envelope::id).containsExactlyInAnyOrder("a", "b", "c");
    RecordState b = Outcomes.state(pipeline, "b");
    assertThat(b.status()).isEqualTo(RecordStatus.PUBLISHED);
    assertThat(b.errors()).extracting(ErrorInfo::message).containsExactly("timeout on b");
    assertThat(clock.sleeps()).containsExactly(Duration.ofMillis(100));
    assertThat(result.metrics().stage("cleaning").retries()).isOne();
  }
}
