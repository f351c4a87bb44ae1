package dev.pipeline;

import static dev.pipeline.StageName.ANALYSIS;
import static dev.pipeline.StageName.CLEANING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.StageCallListener.Outcome;
import dev.pipeline.resilience.RetryPolicy;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class StageCallListenerTest {
  private final FakeClock clock = new FakeClock();
  private final List<String> published = new CopyOnWriteArrayList<>();

  /** What a listener saw of one call: both halves, and whether they ran on one thread. */
  private record Seen(
      StageCallListener.Call call,
      Outcome outcome,
      long nanos,
      boolean sameThread,
      boolean token) {}

  private static final class Recording implements StageCallListener {
    final List<Seen> seen = new CopyOnWriteArrayList<>();

    @Override
    public Object callStarted(Call call) {
      return Thread.currentThread();
    }

    @Override
    public void callEnded(
        Call call, @Nullable Object started, Outcome outcome, long nanos, @Nullable Throwable e) {
      seen.add(
          new Seen(
              call,
              outcome,
              nanos,
              started == Thread.currentThread(),
              (outcome == Outcome.FAILED) == (e != null)));
    }
  }

  private static Source<String> source(String... ids) {
    return Source.of("src", List.of(ids).iterator(), id -> id);
  }

  @Test
  void everyStageAndSinkCallIsReportedOnItsThreadWithItsOutcomeAndClockTime() {
    Recording listener = new Recording();
    AtomicInteger flaky = new AtomicInteger();
    Pipeline<String, String> pipeline =
        Pipeline.builder("listened", String.class)
            .stage(
                CLEANING,
                (String s) -> {
                  clock.advance(Duration.ofMillis(5));
                  if (s.equals("drop")) {
                    throw RecordFilteredException.because("not wanted");
                  }
                  if (s.equals("flaky") && flaky.getAndIncrement() == 0) {
                    throw new IllegalStateException("first try fails");
                  }
                  return s;
                },
                o -> o.retry(RetryPolicy.exponential(Duration.ofMillis(1), Duration.ofMillis(1))))
            .stage(ANALYSIS, (String s) -> s.toUpperCase(java.util.Locale.ROOT))
            .sink(batch -> batch.forEach(e -> published.add(e.payload())))
            .retryQueueAfter(Duration.ofMinutes(1))
            .clock(clock)
            .callListener(listener)
            .build();

    RunResult result = pipeline.run(source("a", "drop", "flaky"));

    assertThat(result.published()).isEqualTo(2);
    Map<String, List<Outcome>> byStage =
        listener.seen.stream()
            .collect(
                Collectors.groupingBy(
                    s -> s.call().stage(), Collectors.mapping(Seen::outcome, Collectors.toList())));
    assertThat(byStage.get("cleaning"))
        .as("one call per record at cleaning, and one more for the retry")
        .containsExactlyInAnyOrder(
            Outcome.PASSED, Outcome.FILTERED, Outcome.FAILED, Outcome.PASSED);
    assertThat(byStage.get("analysis")).containsExactly(Outcome.PASSED, Outcome.PASSED);
    assertThat(byStage.get("sink")).isNotEmpty().allMatch(o -> o == Outcome.PASSED);
    assertThat(
            listener.seen.stream()
                .filter(s -> s.call().stage().equals("sink"))
                .mapToInt(s -> s.call().records())
                .sum())
        .as("the sink's calls are for the two published records")
        .isEqualTo(2);
    assertThat(listener.seen)
        .allMatch(s -> s.call().pipeline().equals("listened"))
        .allMatch(Seen::sameThread)
        .allMatch(Seen::token);
    assertThat(listener.seen.stream().filter(s -> s.call().stage().equals("cleaning")))
        .as("durations are read on the pipeline's clock")
        .allMatch(s -> s.nanos() == Duration.ofMillis(5).toNanos());
    assertThat(listener.seen.stream().map(s -> s.call().firstRecordId()))
        .contains("a", "drop", "flaky");
  }

  @Test
  void aListenerThatThrowsHurtsNoRecord() {
    Map<String, Integer> ended = new ConcurrentHashMap<>();
    StageCallListener broken =
        new StageCallListener() {
          @Override
          public Object callStarted(Call call) {
            throw new IllegalStateException("listener broke\nFAKE LOG LINE");
          }

          @Override
          public void callEnded(
              Call call,
              @Nullable Object started,
              Outcome outcome,
              long nanos,
              @Nullable Throwable error) {
            ended.merge(call.stage(), 1, Integer::sum);
            throw new IllegalStateException("listener broke again");
          }
        };
    Pipeline<String, String> pipeline =
        Pipeline.builder("broken-listener", String.class)
            .stage(CLEANING, (String s) -> s)
            .sink(batch -> batch.forEach(e -> published.add(e.payload())))
            .clock(clock)
            .callListener(broken)
            .build();

    RunResult result = pipeline.run(source("a", "b", "c"));

    assertThat(result.published()).isEqualTo(3);
    assertThat(result.deadLettered()).isZero();
    assertThat(published).containsExactlyInAnyOrder("a", "b", "c");
    assertThat(ended.get("cleaning")).as("callEnded is still called").isEqualTo(3);
  }

  @Test
  void aSecondListenerIsRefused() {
    Recording listener = new Recording();
    PipelineBuilder<String, String> builder =
        Pipeline.builder("twice", String.class)
            .stage(CLEANING, (String s) -> s)
            .callListener(listener);

    assertThatThrownBy(() -> builder.callListener(listener))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("callListener was already set");
    assertThatThrownBy(() -> Pipeline.builder("null", String.class).callListener(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("listener cannot be null");
  }
}
