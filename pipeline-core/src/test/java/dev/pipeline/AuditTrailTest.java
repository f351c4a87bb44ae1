package dev.pipeline;

import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.INGESTION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.AuditEntry;
import dev.pipeline.store.AuditQuery;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.Page;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.event.Level;

class AuditTrailTest {
  private final FakeClock clock = new FakeClock();

  private static Source<Integer> numbers(int n) {
    return Source.of("src", IntStream.rangeClosed(1, n).boxed().iterator(), i -> "r" + i);
  }

  private static List<AuditEntry> lines(Pipeline<?, ?> pipeline, AuditQuery query) {
    return pipeline.auditTrail(query.limit(10_000)).items();
  }

  @Test
  void whatAStageLogsGoesToTheAuditTrailWithItsRecord() {
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("logs", Integer.class)
            .clock(clock)
            .stage(
                INGESTION,
                (Integer i, StageContext c) -> {
                  c.logger().info("parsed {} of {}", i, "input");
                  c.logger().debug("noise {}", i);
                  return i;
                })
            .build();

    pipeline.run(numbers(5));

    List<AuditEntry> r3 = lines(pipeline, AuditQuery.all().recordId("r3"));
    assertThat(r3).as("the lines about r3").hasSize(1);
    AuditEntry line = r3.get(0);
    assertThat(line.message()).isEqualTo("parsed 3 of input");
    assertThat(line.stage()).isEqualTo("ingestion");
    assertThat(line.level()).isEqualTo(Level.INFO);
    assertThat(line.event()).isEqualTo(AuditEntry.STAGE_LOG);
    assertThat(line.at()).isEqualTo(FakeClock.START);
    assertThat(line.id()).as("numbered by the store").isPositive();
    assertThat(lines(pipeline, AuditQuery.all()))
        .as("DEBUG is below the stage's default audit level, INFO")
        .hasSize(5)
        .allMatch(e -> e.message().startsWith("parsed"));
  }

  @Test
  void aStageAuditLevelKeepsOnlyWhatIsAtOrAboveIt() {
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("levels", Integer.class)
            .stage(
                INGESTION,
                (Integer i, StageContext c) -> {
                  c.logger().info("info {}", i);
                  c.logger().warn("warn {}", i, new IllegalStateException("odd " + i));
                  return i;
                },
                s -> s.auditLevel(Level.WARN))
            .build();

    pipeline.run(numbers(3));

    List<AuditEntry> all = lines(pipeline, AuditQuery.all());
    assertThat(all).extracting(AuditEntry::message).containsExactly("warn 1", "warn 2", "warn 3");
    assertThat(all.get(1).metadata())
        .containsEntry("errorType", IllegalStateException.class.getName())
        .containsEntry("errorMessage", "odd 2");
  }

  @Test
  void secretsInALoggedLineOrItsErrorAreMaskedInTheTrail() {
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("secret-logs", Integer.class)
            .clock(clock)
            .stage(
                INGESTION,
                (Integer i, StageContext c) -> {
                  c.logger()
                      .warn(
                          "calling {}",
                          "https://svc/v1?access_token=t0k3n",
                          new IllegalStateException("Authorization: Bearer abcdefgh12345678"));
                  return i;
                })
            .build();

    pipeline.run(numbers(1));

    AuditEntry line = lines(pipeline, AuditQuery.all()).get(0);
    assertThat(line.message()).isEqualTo("calling https://svc/v1?access_token=***");
    assertThat(line.metadata()).containsEntry("errorMessage", "Authorization: Bearer ***");
  }

  @Test
  void samplingKeepsAShareOfTheLinesAndIsCheckedAtBuild() {
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("sampled", Integer.class)
            .stage(
                INGESTION,
                (Integer i, StageContext c) -> {
                  c.logger().info("line {}", i);
                  return i;
                },
                s -> s.auditSampling(0.1))
            .build();

    pipeline.run(numbers(2_000));

    int kept = lines(pipeline, AuditQuery.all()).size();
    // binomial(2000, 0.1): mean 200, standard deviation 13.4; these bounds are 7.5 deviations out
    assertThat(kept).as("lines kept of 2,000 at 10 %").isBetween(100, 300);

    assertThatThrownBy(
            () ->
                Pipeline.builder("bad", Integer.class)
                    .stage(INGESTION, (Integer i) -> i, s -> s.auditSampling(0))
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("audit sampling must be between 1.0E-4 and 1");
    assertThatThrownBy(
            () ->
                Pipeline.builder("bad", Integer.class)
                    .stage(INGESTION, (Integer i) -> i)
                    .auditBuffer(0)
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining("auditBuffer must be between 1 and 1000000 lines, was 0");
  }

  @Test
  void theEngineDecisionsAreAuditedWithWhoDiscardedAndWhy() {
    Map<Integer, Integer> calls = new ConcurrentHashMap<>();
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("decisions", Integer.class)
            .clock(clock)
            .stage(
                CLEANING,
                (Integer i) -> {
                  int call = calls.merge(i, 1, Integer::sum);
                  if (i == 2 && call == 1) {
                    throw new IllegalStateException("flaky");
                  }
                  if (i == 3) {
                    throw new IllegalArgumentException("bad\u0000record");
                  }
                  return i;
                },
                s ->
                    s.retry(
                        RetryPolicy.exponential(Duration.ofMillis(10), Duration.ofMillis(10))
                            .maxRetries(2)))
            .build();

    pipeline.run(numbers(3));

    List<AuditEntry> r2 = lines(pipeline, AuditQuery.all().recordId("r2"));
    assertThat(r2).extracting(AuditEntry::event).containsExactly("retry-scheduled");
    assertThat(r2.get(0).metadata())
        .containsEntry("attempt", "1")
        .containsEntry("errorType", "IllegalStateException")
        .containsKey("delay");
    List<AuditEntry> r3 = lines(pipeline, AuditQuery.all().recordId("r3"));
    assertThat(r3)
        .extracting(AuditEntry::event)
        .containsExactly("retry-scheduled", "retry-scheduled", "dead-lettered");
    AuditEntry dead = r3.get(2);
    assertThat(dead.level()).isEqualTo(Level.WARN);
    assertThat(dead.stage()).isEqualTo("cleaning");
    assertThat(dead.message())
        .as("the NUL of the error is escaped, never stored")
        .contains("dead-lettered after 3 attempts (IllegalArgumentException: bad")
        .doesNotContain("\u0000");

    Set<String> gone = pipeline.deadLetters().discard(List.of("r3"), "a test record", "ops-anna");
    assertThat(gone).containsExactly("r3");
    List<AuditEntry> discarded =
        lines(pipeline, AuditQuery.all().recordId("r3").containing("DISCARDED BY"));
    assertThat(discarded).hasSize(1);
    assertThat(discarded.get(0).metadata())
        .containsEntry("by", "ops-anna")
        .containsEntry("reason", "a test record");
    assertThat(lines(pipeline, AuditQuery.all().atLeast(Level.WARN)))
        .extracting(AuditEntry::event)
        .containsExactly("dead-lettered");
  }

  @Test
  void aDiscardReasonHoldingASecretIsStoredAndAuditedMasked() {
    InMemoryPipelineStore store = InMemoryPipelineStore.create();
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("discard-secret", Integer.class)
            .clock(clock)
            .store(store)
            .stage(
                CLEANING,
                (Integer i) -> {
                  if (i == 1) {
                    throw new IllegalArgumentException("bad " + i);
                  }
                  return i;
                })
            .build();
    pipeline.run(numbers(1));

    String reason = "replayed from jdbc:postgresql://db/orders?user=app&password=hunter2 by hand";
    assertThat(pipeline.deadLetters().discard(List.of("r1"), reason, "ops-anna"))
        .containsExactly("r1");

    assertThat(store.find("discard-secret", "r1").orElseThrow().reason())
        .as("the stored reason")
        .isEqualTo("replayed from jdbc:postgresql://db/orders?user=app&password=*** by hand");
    AuditEntry line =
        lines(pipeline, AuditQuery.all().recordId("r1").containing("discarded by")).get(0);
    assertThat(line.message()).doesNotContain("hunter2").contains(SafeText.MASK);
    assertThat(line.metadata().get("reason")).doesNotContain("hunter2");
  }

  @Test
  void anEditedPayloadSentBackIsAuditedWithWhoEditedIt() {
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("edits", Integer.class)
            .clock(clock)
            .stage(
                CLEANING,
                (Integer i) -> {
                  if (i == 2) {
                    throw new IllegalArgumentException("bad two");
                  }
                  return i;
                })
            .build();
    pipeline.run(numbers(2));

    assertThat(pipeline.deadLetters().reprocessEdited("r2", 20, "ops-bo")).isTrue();
    assertThat(pipeline.deadLetters().reprocessEdited("r2", 21, "ops-bo"))
        .as("no longer a dead letter: nothing sent, nothing audited")
        .isFalse();

    List<AuditEntry> edited = lines(pipeline, AuditQuery.all().recordId("r2").containing("edited"));
    assertThat(edited).hasSize(1);
    assertThat(edited.get(0).event()).isEqualTo("edited-reprocessed");
    assertThat(edited.get(0).message()).contains("by ops-bo").doesNotContain("20");
    assertThat(edited.get(0).metadata()).containsEntry("by", "ops-bo");
    assertThatThrownBy(() -> pipeline.deadLetters().reprocessEdited("r2", 22, " "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 to 200 characters");
  }

  @Test
  void everyLineLoggedInsideAStageCarriesThePipelineStageAndRecordInItsMdc() {
    MDC.clear(); // what earlier tests left on this thread
    List<Map<String, String>> seen = new CopyOnWriteArrayList<>();
    org.slf4j.Logger elsewhere = LoggerFactory.getLogger("some.library.inside.a.stage");
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("mdc", Integer.class)
            .stage(
                INGESTION,
                (Integer i, StageContext c) -> {
                  elsewhere.info("a library's line");
                  seen.add(MDC.getCopyOfContextMap());
                  return i;
                })
            .batchStage(
                CLEANING,
                (List<Integer> batch, StageContext c) -> {
                  seen.add(MDC.getCopyOfContextMap());
                  return batch;
                },
                s -> s.batchSize(100))
            .sink(records -> seen.add(MDC.getCopyOfContextMap()))
            .build();

    pipeline.run(Source.of("src", List.of(1, 2, 3).iterator(), i -> "id\n" + i));

    assertThat(seen)
        .as("in the single-record stage")
        .contains(
            Map.of("pipeline", "mdc", "stage", "ingestion", "recordId", "id\\n1"),
            Map.of("pipeline", "mdc", "stage", "ingestion", "recordId", "id\\n3"));
    assertThat(seen)
        .as("in the batch stage and the sink: the first record and how many more")
        .anyMatch(m -> m.get("stage").equals("cleaning") && m.get("recordId").startsWith("id\\n"))
        .anyMatch(m -> m.get("stage").equals("sink") && m.get("recordId").startsWith("id\\n"));
    assertThat(MDC.get("recordId")).as("the test thread's MDC is untouched").isNull();
  }

  @Test
  void linesThatDoNotFitTheBufferAreDroppedCountedAndAlerted() {
    List<Alert> alerts = new CopyOnWriteArrayList<>();
    Pipeline<Integer, Integer> pipeline =
        Pipeline.builder("overload", Integer.class)
            .auditBuffer(10)
            .alerts(alerts::add)
            .stage(
                INGESTION,
                (Integer i, StageContext c) -> {
                  // far more lines at once than the buffer holds: the writer drains it every
                  // 100 ms, so most of these cannot fit
                  for (int line = 0; line < 10_000; line++) {
                    c.logger().info("line {}", line);
                  }
                  return i;
                })
            .build();

    RunResult result = pipeline.run(numbers(1));

    assertThat(result.published()).as("the record is not hurt by the overload").isOne();
    long dropped = pipeline.metrics().telemetryDropped();
    assertThat(dropped).isPositive();
    assertThat(lines(pipeline, AuditQuery.all()).size() + dropped).isEqualTo(10_000);
    assertThat(alerts)
        .filteredOn(a -> a.kind() == Alert.Kind.AUDIT_DROPPED)
        .isNotEmpty()
        .allMatch(a -> a.message().contains("raise auditBuffer(...)"));
  }

  @Test
  void theTrailIsReadByRecordStageLevelTimeAndTextAPageAtATime() {
    InMemoryPipelineStore store = InMemoryPipelineStore.create();
    List<AuditEntry> entries = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      entries.add(
          new AuditEntry(
              0,
              FakeClock.START.plusSeconds(i),
              "p",
              i % 2 == 0 ? "ingestion" : "cleaning",
              "r" + (i % 5),
              i % 5 == 0 ? Level.ERROR : Level.INFO,
              AuditEntry.STAGE_LOG,
              "line " + i + (i == 7 ? " Needle" : ""),
              Map.of()));
    }
    entries.add(
        new AuditEntry(
            0, FakeClock.START, "other", null, null, Level.ERROR, "x", "other pipeline", Map.of()));
    store.appendAudit(entries);

    AuditQuery query = AuditQuery.all().limit(10);
    Page<AuditEntry> first = store.auditTrail("p", query);
    assertThat(first.items()).hasSize(10);
    Page<AuditEntry> second = store.auditTrail("p", query.after(first.nextCursor()));
    Page<AuditEntry> third = store.auditTrail("p", query.after(second.nextCursor()));
    assertThat(third.items()).hasSize(5);
    assertThat(third.nextCursor()).isNull();
    assertThat(second.items().get(0).message()).isEqualTo("line 10");

    assertThat(store.auditTrail("p", AuditQuery.all().containing("needle")).items())
        .extracting(AuditEntry::message)
        .containsExactly("line 7 Needle");
    assertThat(
            store.auditTrail("p", AuditQuery.all().atLeast(Level.ERROR).stage("cleaning")).items())
        .extracting(AuditEntry::message)
        .containsExactly("line 5", "line 15");
    Instant from = FakeClock.START.plusSeconds(20);
    assertThat(
            store
                .auditTrail("p", AuditQuery.all().recordId("r1").between(from, from.plusSeconds(5)))
                .items())
        .extracting(AuditEntry::message)
        .containsExactly("line 21");
    assertThatThrownBy(() -> AuditQuery.all().after("'; drop table x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a cursor of the audit trail");
  }

  @Test
  void anEntryBoundsWhatComesFromOutside() {
    String huge = "x".repeat(1_000_000);
    AuditEntry entry =
        new AuditEntry(
            0,
            FakeClock.START,
            "p",
            "s",
            "id\u0000" + huge,
            Level.INFO,
            AuditEntry.STAGE_LOG,
            huge + "\ud800",
            Map.of(huge, huge));

    assertThat(entry.message()).hasSizeLessThanOrEqualTo(AuditEntry.MAX_MESSAGE_CHARS);
    assertThat(entry.recordId()).hasSizeLessThanOrEqualTo(1_000).doesNotContain("\u0000");
    assertThat(entry.metadata().keySet().iterator().next())
        .hasSizeLessThanOrEqualTo(AuditEntry.MAX_METADATA_CHARS);
  }
}
