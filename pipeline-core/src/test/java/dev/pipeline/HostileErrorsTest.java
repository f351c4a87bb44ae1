package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/**
 * A stage's error must only ever hurt its record: whatever the exception's methods do, however deep
 * its causes or long its message, the record is dead-lettered with a bounded, readable error and
 * the run goes on and ends. And error text from outside never reaches a log line raw.
 */
class HostileErrorsTest {
  private static final Duration DEADLINE = Duration.ofMinutes(1);

  /** Its getMessage() throws (and so would its toString(), which calls it). */
  static final class MessageThrows extends RuntimeException {
    private static final long serialVersionUID = 1L;

    @Override
    public String getMessage() {
      throw new IllegalStateException("getMessage fails");
    }
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

  private final Queue<Alert> alerts = new ConcurrentLinkedQueue<>();
  private final Queue<Envelope<String>> sunk = new ConcurrentLinkedQueue<>();

  /** A pipeline whose stage throws the error for records whose id starts with "bad". */
  private static PipelineBuilder<String, String> throwing(
      String name, Function<String, RuntimeException> error) {
    return Pipeline.builder(name, String.class)
        .stage(
            CLEANING,
            (String s) -> {
              if (s.startsWith("bad")) {
                throw error.apply(s);
              }
              return s;
            },
            o -> o.retry(RetryPolicy.none()));
  }

  private Pipeline<String, String> failing(String name, Function<String, RuntimeException> error) {
    return throwing(name, error).sink(sunk::addAll).alerts(alerts::add).build();
  }

  /** Runs the pipeline on "ok" and "bad"; the run must end, COMPLETED, in the deadline. */
  private DeadLetter deadLetterOfBad(Pipeline<String, String> pipeline) throws Exception {
    PipelineRun run = pipeline.start(Source.of("src", List.of("ok", "bad").iterator(), s -> s));
    RunResult result =
        run.await(DEADLINE).orElseThrow(() -> new AssertionError("the run did not end"));
    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.published()).isOne();
    assertThat(result.deadLettered()).isOne();
    assertThat(sunk).extracting(Envelope::id).containsExactly("ok");
    assertThat(alerts).extracting(Alert::recordId).containsExactly("bad");
    return Outcomes.deadLetter(pipeline, "bad");
  }

  @Test
  void anErrorWhoseGetMessageThrowsIsDeadLetteredWithANote() throws Exception {
    DeadLetter dead = deadLetterOfBad(failing("get-message-throws", s -> new MessageThrows()));

    ErrorInfo error = dead.lastError();
    assertThat(error.errorType()).isEqualTo("MessageThrows");
    assertThat(error.message()).isEqualTo("[getMessage() threw java.lang.IllegalStateException]");
    assertThat(error.stackTrace())
        .startsWith(MessageThrows.class.getName() + ": [getMessage() threw")
        .contains("\tat dev.pipeline.HostileErrorsTest");
  }

  @Test
  void aTenMegabyteFilterReasonIsKeptCutToItsBound() {
    // kept whole with every filtered record (in memory, in lineage, on the dashboard)
    String huge = "r".repeat(10 << 20);
    Pipeline<String, String> pipeline =
        Pipeline.builder("huge-reasons", String.class)
            .stage(
                CLEANING,
                (String s) -> {
                  if (s.equals("a")) {
                    throw RecordFilteredException.because(huge);
                  }
                  return s;
                })
            .batchStage(
                StageName.of("batch"),
                (List<String> batch, StageContext c) -> {
                  for (int i = 0; i < batch.size(); i++) {
                    c.filter(i, huge);
                  }
                  return batch;
                })
            .sink(sunk::addAll)
            .build();

    RunResult result = pipeline.run(Source.of("src", List.of("a", "b").iterator(), s -> s));

    assertThat(result.filtered()).isEqualTo(2);
    for (String id : List.of("a", "b")) {
      assertThat(Outcomes.state(pipeline, id).reason())
          .startsWith("rrr")
          .hasSizeLessThan(RecordFilteredException.MAX_REASON_CHARS + 100);
    }
    assertThat(RecordFilteredException.because(huge).reason())
        .hasSizeLessThan(RecordFilteredException.MAX_REASON_CHARS + 100);
  }

  @Test
  void anErrorWhoseToStringThrowsItselfIsDeadLetteredAndTheRunEnds() throws Exception {
    DeadLetter dead =
        deadLetterOfBad(
            failing("to-string-throws-itself", s -> new ToStringThrowsItself("cannot " + s)));

    assertThat(dead.lastError().message()).isEqualTo("cannot bad");
    assertThat(dead.lastError().stackTrace())
        .startsWith(ToStringThrowsItself.class.getName() + ": cannot bad");
  }

  @Test
  void aCauseChainTenThousandDeepIsCutAndTheRunEnds() throws Exception {
    DeadLetter dead =
        deadLetterOfBad(
            failing(
                "deep-causes",
                s -> {
                  RuntimeException e = new RuntimeException("root");
                  for (int i = 1; i <= 10_000; i++) {
                    e = new RuntimeException("level " + i, e);
                  }
                  return e;
                }));

    String trace = dead.lastError().stackTrace();
    assertThat(trace).startsWith("java.lang.RuntimeException: level 10000");
    assertThat(trace.length()).isLessThanOrEqualTo(ErrorInfo.MAX_STACK_TRACE + 200);
    assertThat(trace).containsPattern("… \\[cut: (more than 32 exceptions|the stack trace is)");
  }

  @Test
  void aCycleOfCausesAndSuppressedErrorsIsNamedNotFollowed() throws Exception {
    DeadLetter dead =
        deadLetterOfBad(
            failing(
                "cyclic-causes",
                s -> {
                  RuntimeException a = new RuntimeException("a");
                  RuntimeException b = new RuntimeException("b", a);
                  a.initCause(b);
                  b.addSuppressed(a);
                  return b;
                }));

    assertThat(dead.lastError().stackTrace())
        .startsWith("java.lang.RuntimeException: b")
        .contains("\tSuppressed: java.lang.RuntimeException: a")
        .contains("\tCaused by: [CIRCULAR REFERENCE: java.lang.RuntimeException: b]")
        .contains("\nCaused by: [CIRCULAR REFERENCE: java.lang.RuntimeException: a]");
  }

  @Test
  void aSinkErrorWhoseToStringThrowsItselfDeadLettersTheBatchAndTheRunEnds() throws Exception {
    List<String> logged = new CopyOnWriteArrayList<>();
    Pipeline<String, String> pipeline =
        Pipeline.builder("hostile-sink", String.class)
            .stage(CLEANING, (String s) -> s)
            .sink(
                batch -> {
                  throw new ToStringThrowsItself("sink down");
                },
                s -> s.retry(RetryPolicy.none()))
            .alerts(LoggingAlerts.to(new CapturingLogger(logged)))
            .build();

    RunResult result =
        pipeline
            .start(Source.of("src", List.of("a", "b").iterator(), s -> s))
            .await(DEADLINE)
            .orElseThrow(() -> new AssertionError("the run did not end"));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.deadLettered()).isEqualTo(2);
    assertThat(Outcomes.deadLetter(pipeline, "a").lastError().message()).isEqualTo("sink down");
    assertThat(logged)
        .hasSize(2)
        .allSatisfy(line -> assertThat(line).contains("failed at stage 'sink'", "sink down"));
  }

  @Test
  void aTenMegabyteMessageIsKeptCutWithTheCutSaid() throws Exception {
    String huge = "x".repeat(10 * 1024 * 1024);
    Pipeline<String, String> pipeline =
        failing("huge-messages", s -> new IllegalStateException(huge));
    List<String> ids = IntStream.range(0, 40).mapToObj(i -> "bad-" + i).toList();

    RunResult result =
        pipeline
            .start(Source.of("src", ids.iterator(), s -> s))
            .await(DEADLINE)
            .orElseThrow(() -> new AssertionError("the run did not end"));

    assertThat(result.deadLettered()).isEqualTo(40);
    long kept = 0;
    for (DeadLetter dead : Outcomes.deadLetters(pipeline)) {
      ErrorInfo error = dead.lastError();
      assertThat(error.message())
          .startsWith("xxxx")
          .endsWith("… [cut 10,481,664 chars]")
          .hasSize(4_096 + "… [cut 10,481,664 chars]".length());
      assertThat(error.stackTrace().length()).isLessThanOrEqualTo(ErrorInfo.MAX_STACK_TRACE + 200);
      kept += error.message().length() + error.stackTrace().length();
    }
    assertThat(kept).as("characters kept for 40 errors").isLessThan(40L * 24 * 1024);
    assertThat(alerts)
        .allSatisfy(a -> assertThat(a.message().length()).isLessThan(6 * 1024))
        .first()
        .satisfies(a -> assertThat(a.message()).contains("… [cut 10,481,664 chars]"));
  }

  @Test
  void errorTextLimitsAreThePipelines() throws Exception {
    Pipeline<String, String> pipeline =
        throwing("short-errors", s -> new IllegalStateException("y".repeat(1_000)))
            .alerts(alerts::add)
            .errorTextLimits(300, 600)
            .build();

    pipeline.run(Source.of("src", List.of("bad").iterator(), s -> s));

    ErrorInfo error = Outcomes.deadLetter(pipeline, "bad").lastError();
    assertThat(error.message()).isEqualTo("y".repeat(300) + "… [cut 700 chars]");
    assertThat(error.stackTrace().length()).isLessThanOrEqualTo(600 + 100);
    assertThat(error.stackTrace()).contains("… [cut: the stack trace is longer than 600 chars]");
  }

  @Test
  void errorTextLimitsOutOfRangeAreRefusedByBuildWithTheRange() {
    assertThatThrownBy(
            () ->
                Pipeline.builder("limits", String.class)
                    .stage(CLEANING, (String s) -> s)
                    .errorTextLimits(10, 2_000_000)
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("messageChars must be between 256 and 1048576, was 10");
  }

  @Test
  void aRecordRetriedAThousandTimesKeepsItsFirstAndLastErrorsAndTheCountDropped() {
    FakeClock clock = new FakeClock();
    Pipeline<String, String> pipeline =
        Pipeline.builder("many-retries", String.class)
            .stage(
                CLEANING,
                (String s, StageContext context) -> {
                  if (context.attempt() <= 1_000) {
                    throw new IllegalStateException("attempt " + context.attempt());
                  }
                  return s;
                },
                o ->
                    o.retry(
                        RetryPolicy.exponential(Duration.ofMillis(1), Duration.ofMillis(1))
                            .maxRetries(Integer.MAX_VALUE)))
            .alerts(alerts::add)
            .clock(clock)
            .retryQueueAfter(Duration.ofMinutes(1))
            .build();

    RunResult result = pipeline.run(Source.of("src", List.of("passes").iterator(), s -> s));

    assertThat(result.published()).isOne();
    RecordState state = Outcomes.state(pipeline, "passes");
    assertThat(state.status()).isEqualTo(RecordStatus.PUBLISHED);
    assertThat(state.attempts()).isEqualTo(1_001);
    List<ErrorInfo> errors = state.errors();
    assertThat(errors).hasSize(10);
    assertThat(errors.get(0).message()).isEqualTo("attempt 1");
    assertThat(errors.get(1).errorType()).isEqualTo("ErrorsDropped");
    assertThat(errors.get(1).attempt()).as("errors dropped").isEqualTo(991);
    assertThat(errors.get(1).message()).startsWith("991 errors between the first and the last 8");
    assertThat(errors.subList(2, 10))
        .extracting(ErrorInfo::attempt)
        .containsExactly(993, 994, 995, 996, 997, 998, 999, 1000);
    assertThat(result.metrics().stage("cleaning").errorsByType())
        .containsOnlyKeys("IllegalStateException");
  }

  @Test
  void aRecordThatUsesUpManyRetriesIsDeadLetteredWithABoundedHistory() {
    FakeClock clock = new FakeClock();
    Pipeline<String, ?> pipeline =
        Pipeline.builder("many-retries-dead", String.class)
            .stage(
                CLEANING,
                (String s, StageContext context) -> {
                  throw new IllegalStateException("attempt " + context.attempt());
                },
                o ->
                    o.retry(
                        RetryPolicy.exponential(Duration.ofMillis(1), Duration.ofMillis(1))
                            .maxRetries(2_000)))
            .alerts(alerts::add)
            .clock(clock)
            .retryQueueAfter(Duration.ofMinutes(1))
            .build();

    pipeline.run(Source.of("src", List.of("dead").iterator(), s -> s));

    DeadLetter dead = Outcomes.deadLetter(pipeline, "dead");
    assertThat(dead.attempts()).isEqualTo(2_001);
    assertThat(dead.errors()).hasSize(10);
    assertThat(dead.errors().get(1).attempt()).as("errors dropped").isEqualTo(1_992);
    assertThat(dead.lastError().message()).isEqualTo("attempt 2001");
  }

  @Test
  void controlCharactersInAnErrorAreEscapedInTheAlertLogLine() throws Exception {
    List<String> logged = new CopyOnWriteArrayList<>();
    Pipeline<String, String> pipeline =
        throwing(
                "log-forging",
                s ->
                    new IllegalStateException(
                        "boom\r\n12:00:00 [main] INFO forged line\u001B[31m red \u202E\u2028end"))
            .alerts(LoggingAlerts.to(new CapturingLogger(logged))) // what logging() returns
            .build();

    pipeline.run(Source.of("src", List.of("bad\nid").iterator(), s -> s));

    List<String> lines = logged;
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0))
        .contains("record 'bad\\nid' failed at stage 'cleaning'")
        .contains("boom\\r\\n12:00:00 [main] INFO forged line\\u001B[31m red \\u202E\\u2028end")
        .doesNotContain("\u001B", "\r", "\u202E", "\u2028");
    assertThat(lines.get(0)).doesNotContain("\nforged", "\n12:00:00");
  }

  @Test
  void secretsInAStageErrorReachNeitherTheDeadLetterNorTheAlertLogLine() throws Exception {
    List<String> logged = new CopyOnWriteArrayList<>();
    Pipeline<String, String> pipeline =
        throwing(
                "secret-errors",
                s ->
                    new IllegalStateException(
                        "cannot reach jdbc:postgresql://db/orders?user=app&password=hunter2",
                        new RuntimeException("401 for GET https://svc/items?api_key=k3y-123")))
            .alerts(LoggingAlerts.to(new CapturingLogger(logged)))
            .build();

    pipeline.run(Source.of("src", List.of("bad").iterator(), s -> s));

    ErrorInfo error = Outcomes.deadLetter(pipeline, "bad").lastError();
    assertThat(error.message())
        .isEqualTo("cannot reach jdbc:postgresql://db/orders?user=app&password=***");
    assertThat(error.stackTrace()).contains("password=***", "api_key=***");
    assertThat(logged).hasSize(1);
    assertThat(logged.get(0)).contains("password=***");
    assertThat(error.message() + error.stackTrace() + logged.get(0))
        .doesNotContain("hunter2", "k3y-123");
  }

  @Test
  void aPipelineNameWithAControlCharacterIsRefusedWithItsPosition() {
    assertThatThrownBy(() -> Pipeline.builder("orders\u001B[2J", String.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("U+001B at position 6")
        .hasMessageContaining("'orders\\u001B[2J'");
    assertThatThrownBy(() -> Pipeline.builder("a\nb", String.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("U+000A at position 1");
    assertThatThrownBy(() -> Pipeline.builder("left\u202Eright", String.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("U+202E at position 4");
    assertThatThrownBy(() -> StageName.of("clean\r\nFORGED"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("invalid stage name 'clean\\r\\nFORGED'");
  }

  /** Keeps each line logged at INFO or above, formatted as slf4j formats it. */
  private static final class CapturingLogger extends LegacyAbstractLogger {
    private final List<String> lines;

    CapturingLogger(List<String> lines) {
      this.lines = lines;
      this.name = "dev.pipeline.alerts";
    }

    @Override
    protected String getFullyQualifiedCallerName() {
      return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(
        Level level, Marker marker, String pattern, Object[] args, Throwable throwable) {
      lines.add(level + " " + MessageFormatter.basicArrayFormat(pattern, args));
    }

    @Override
    public boolean isTraceEnabled() {
      return false;
    }

    @Override
    public boolean isDebugEnabled() {
      return false;
    }

    @Override
    public boolean isInfoEnabled() {
      return true;
    }

    @Override
    public boolean isWarnEnabled() {
      return true;
    }

    @Override
    public boolean isErrorEnabled() {
      return true;
    }
  }
}
