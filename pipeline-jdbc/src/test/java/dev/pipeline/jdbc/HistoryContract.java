package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.metrics.WindowScores;
import dev.pipeline.store.AuditEntry;
import dev.pipeline.store.AuditQuery;
import dev.pipeline.store.Page;
import dev.pipeline.store.PayloadCodec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * The audit trail and the metrics history in {@code processing_logs} and {@code pipeline_metrics}:
 * run against H2 and PostgreSQL by the subclasses.
 */
abstract class HistoryContract extends DatabaseContract {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  static final Instant END = Instant.parse("2100-01-01T00:00:00Z");

  JdbcPipelineStore open() {
    JdbcPipelineStore store = build(database.builder().workerId("w1"));
    return store;
  }

  private AuditEntry line(int i, String stage, Level level, String message) {
    return new AuditEntry(
        0,
        T0.plusSeconds(i),
        pipeline,
        stage,
        "r" + (i % 5),
        level,
        AuditEntry.STAGE_LOG,
        message,
        Map.of("i", Integer.toString(i)));
  }

  @Test
  void linesAreReadBackByEveryFilterAPageAtATime() {
    JdbcPipelineStore store = open();
    List<AuditEntry> lines = new ArrayList<>();
    for (int i = 0; i < 450; i++) { // more than one insert statement's rows
      lines.add(
          line(
              i,
              i % 2 == 0 ? "parsing" : "cleaning",
              i % 50 == 0 ? Level.ERROR : Level.INFO,
              "line " + i + (i == 7 ? " 100%_off! Sale" : "")));
    }
    store.appendAudit(lines);

    List<AuditEntry> all = new ArrayList<>();
    AuditQuery query = AuditQuery.all().limit(100);
    Page<AuditEntry> page = store.auditTrail(pipeline, query);
    all.addAll(page.items());
    while (page.nextCursor() != null) {
      page = store.auditTrail(pipeline, query.after(page.nextCursor()));
      all.addAll(page.items());
    }
    assertThat(all).hasSize(450);
    assertThat(all.get(3).message()).isEqualTo("line 3");
    assertThat(all.get(3).metadata()).containsEntry("i", "3");
    assertThat(all.get(3).at()).isEqualTo(T0.plusSeconds(3));
    assertThat(all.get(3).recordId()).isEqualTo("r3");

    assertThat(store.auditTrail(pipeline, AuditQuery.all().containing("%_OFF!")).items())
        .as("LIKE's wildcards searched as text, ignoring case")
        .extracting(AuditEntry::message)
        .containsExactly("line 7 100%_off! Sale");
    assertThat(store.auditTrail(pipeline, AuditQuery.all().containing("_")).items()).hasSize(1);
    assertThat(
            store
                .auditTrail(pipeline, AuditQuery.all().atLeast(Level.WARN).stage("parsing"))
                .items())
        .extracting(AuditEntry::message)
        .containsExactly(
            "line 0",
            "line 50",
            "line 100",
            "line 150",
            "line 200",
            "line 250",
            "line 300",
            "line 350",
            "line 400");
    assertThat(
            store
                .auditTrail(
                    pipeline,
                    AuditQuery.all().recordId("r1").between(T0.plusSeconds(10), T0.plusSeconds(20)))
                .items())
        .extracting(AuditEntry::message)
        .containsExactly("line 11", "line 16");
    assertThat(store.auditTrail("another", AuditQuery.all()).items()).isEmpty();
  }

  @Test
  void hostileTextIsStoredEscapedAndBounded() {
    JdbcPipelineStore store = open();
    store.appendAudit(
        List.of(
            line(
                1,
                "parsing",
                Level.WARN,
                "nul\u0000 lone\ud800 '; DROP TABLE x; --" + "y".repeat(1_000_000))));

    AuditEntry back = store.auditTrail(pipeline, AuditQuery.all()).items().get(0);
    assertThat(back.message())
        .startsWith("nul\\u0000 lone\\ud800 '; DROP TABLE x; --")
        .hasSizeLessThanOrEqualTo(AuditEntry.MAX_MESSAGE_CHARS);
  }

  @Test
  void windowsAreWrittenAndReadBackByStageAndTime() {
    JdbcPipelineStore store = open();
    List<StageWindow> windows = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      for (String stage : List.of("parsing", "sink", "store")) {
        windows.add(
            new StageWindow(
                pipeline,
                stage,
                T0.plusSeconds(10L * i),
                T0.plusSeconds(10L * (i + 1)),
                100 + i,
                90 + i,
                5,
                5,
                3,
                Duration.ofMillis(2),
                Duration.ofMillis(9),
                Duration.ofMillis(20),
                9.0,
                1_000.0,
                12,
                0.75,
                Duration.ofSeconds(7),
                i == 1 ? "OPEN" : "CLOSED",
                stage.equals("parsing") ? Duration.ofSeconds(5) : null,
                stage.equals("parsing") ? 1_000_000L : -1,
                null));
      }
    }
    store.appendMetrics(windows);

    List<StageWindow> parsing = store.metricsHistory(pipeline, "parsing", T0, END);
    assertThat(parsing).hasSize(3);
    StageWindow second = parsing.get(1);
    assertThat(second.start()).isEqualTo(T0.plusSeconds(10));
    assertThat(second.end()).isEqualTo(T0.plusSeconds(20));
    assertThat(second.recordsIn()).isEqualTo(101);
    assertThat(second.passed()).isEqualTo(91);
    assertThat(second.p95()).isEqualTo(Duration.ofMillis(9));
    assertThat(second.queueDepth()).isEqualTo(12);
    assertThat(second.utilization()).isEqualTo(0.75);
    assertThat(second.busy()).isEqualTo(Duration.ofSeconds(7));
    assertThat(second.circuit()).isEqualTo("OPEN");
    assertThat(second.cpuUsage()).as("cores: 5 s of CPU in 10 s").isEqualTo(0.5);
    assertThat(second.allocatedBytes()).isEqualTo(1_000_000L);
    StageWindow sink = store.metricsHistory(pipeline, "sink", T0, END).get(0);
    assertThat(sink.cpuTime()).as("not sampled").isNull();
    assertThat(sink.allocatedBytes()).isEqualTo(-1);
    assertThat(store.metricsHistory(pipeline, "parsing", T0.plusSeconds(15), T0.plusSeconds(30)))
        .extracting(StageWindow::end)
        .containsExactly(T0.plusSeconds(20));
  }

  @Test
  void aGatesScoresAreKeptInTheirColumnsAndReadBack() {
    JdbcPipelineStore store = open();
    store.appendMetrics(
        List.of(
            window("validation", new WindowScores(98.5, 80, Double.NaN, 100, Double.NaN)),
            window("validation", null)));

    List<StageWindow> read = store.metricsHistory(pipeline, "validation", T0, END);
    assertThat(read).hasSize(2);
    WindowScores scores = read.get(0).scores();
    assertThat(scores).isNotNull();
    assertThat(scores.completeness()).isEqualTo(98.5);
    assertThat(scores.validity()).isEqualTo(80);
    assertThat(scores.consistency()).as("not measured stays not measured").isNaN();
    assertThat(scores.uniqueness()).isEqualTo(100);
    assertThat(scores.overall()).isEqualTo((98.5 + 80 + 100) / 3);
    assertThat(read.get(1).scores()).as("a window without scores").isNull();
    assertThat(
            database.query(
                "SELECT quality_score FROM "
                    + database.schema
                    + ".pipeline_metrics WHERE pipeline = ? ORDER BY metric_id",
                pipeline))
        .as("the overall score is a column of its own, for SQL")
        .containsExactly(List.of((98.5 + 80 + 100) / 3), java.util.Collections.singletonList(null));
  }

  private StageWindow window(String stage, @org.jspecify.annotations.Nullable WindowScores scores) {
    return new StageWindow(
        pipeline,
        stage,
        T0,
        T0.plusSeconds(10),
        10,
        10,
        0,
        0,
        0,
        Duration.ZERO,
        Duration.ZERO,
        Duration.ZERO,
        1.0,
        0,
        0,
        0.1,
        Duration.ZERO,
        null,
        null,
        -1,
        scores);
  }

  @Test
  void aRunWritesItsTrailAndHistoryToTheDatabase() {
    JdbcPipelineStore store = open();
    try (Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .inputCodec(PayloadCodec.string())
            .stage(
                StageName.INGESTION,
                (String s, StageContext c) -> {
                  c.logger().info("took {}", s);
                  if (s.equals("v3")) {
                    throw new IllegalStateException("no v3");
                  }
                  return s;
                })
            .sink(records -> {})
            .build()) {
      RunResult result =
          p.run(
              Source.of(
                  "src", IntStream.range(0, 10).mapToObj(i -> "v" + i).iterator(), s -> "id-" + s));

      assertThat(result.deadLettered()).isOne();
      assertThat(p.auditTrail(AuditQuery.all().recordId("id-v3")).items())
          .extracting(AuditEntry::event)
          .containsExactly(AuditEntry.STAGE_LOG, "dead-lettered");
      List<StageWindow> ingestion = p.metricsHistory(StageName.INGESTION, T0, END);
      assertThat(ingestion).isNotEmpty();
      assertThat(ingestion.stream().mapToLong(StageWindow::recordsIn).sum()).isEqualTo(10);
      assertThat(p.metricsHistory(StageName.of("store"), T0, END)).isNotEmpty();
    }
  }
}
