package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.Envelope;
import dev.pipeline.LineageLevel;
import dev.pipeline.Pipeline;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.resilience.RetryPolicy;
import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.LineageOutcome;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordStatus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lineage packed per record per append ({@code record_traces}, schema version 12), the source
 * position and merges in lineage, and the retention of merge groups and uniqueness rules' keys: run
 * against H2 and PostgreSQL by the subclasses.
 */
abstract class LineageRetentionContract extends DatabaseContract {
  private static final PayloadCodec<String> STRING = PayloadCodec.string();
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00.000001Z");

  private final Queue<Envelope<String>> sunk = new ConcurrentLinkedQueue<>();

  /** Whether the database has the view of one row per event (PostgreSQL only). */
  abstract boolean hasEventsView();

  @BeforeEach
  void clearSinks() {
    sunk.clear();
  }

  private JdbcPipelineStore open(JdbcPipelineStoreBuilder builder) {
    JdbcPipelineStore store = build(builder);
    return store;
  }

  private JdbcPipelineStore open() {
    return open(database.builder().workerId("w1"));
  }

  private static LineageEvent event(
      String id, String stage, int second, String detail, String position) {
    return new LineageEvent(
        id,
        stage,
        detail == null ? LineageOutcome.PASSED : LineageOutcome.DEAD_LETTER,
        T0.plusSeconds(second),
        T0.plusSeconds(second).plusNanos(7_000),
        1,
        -42L * second,
        detail == null ? (long) second : null,
        "src",
        id.startsWith("c") ? "p" : null,
        0,
        "branch.x=a\tb",
        null,
        detail,
        position);
  }

  @Test
  void aRecordsEventsOfOneAppendAreOneRowReadBackInOrderWithTheirTextAsItWas() {
    JdbcPipelineStore store = open();
    String hostile = "tab\there, line\nbreak\r, back\\slash, \\N, \\t, and NUL \0 at the end\\";
    List<LineageEvent> first =
        List.of(
            event("r1", "parsing", 1, null, "lines:0:1"),
            event("c2", "parsing", 2, null, null),
            event("r1", "clean\ting", 3, null, null),
            event("r1", "sink", 4, hostile, null));
    List<LineageEvent> second = List.of(event("r1", "again", 5, null, null));

    store.appendLineage(pipeline, first);
    store.appendLineage(pipeline, second);

    List<LineageEvent> r1 = store.lineage(pipeline, "r1");
    assertThat(r1).hasSize(4);
    assertThat(r1.subList(0, 3)).containsExactly(first.get(0), first.get(2), first.get(3));
    assertThat(r1.get(3)).isEqualTo(second.get(0));
    assertThat(r1.get(3).detail()).isNull();
    assertThat(r1.get(2).detail()).contains("tab\there, line\nbreak\r, back\\slash, \\N, \\t");
    assertThat(store.lineage(pipeline, "c2")).containsExactly(first.get(1));
    assertThat(store.lineage(pipeline, "c2").get(0).parentId()).isEqualTo("p");
    assertThat(
            database.query(
                "SELECT record_id, event_count FROM "
                    + database.table("record_traces")
                    + " WHERE pipeline = ? ORDER BY trace_id",
                pipeline))
        .as("one row per record per append")
        .extracting(row -> row.get(0) + "=" + ((Number) row.get(1)).intValue())
        .containsExactly("r1=3", "c2=1", "r1=1");
    if (hasEventsView()) {
      assertThat(
              database.query(
                  "SELECT stage_name, outcome, attempts, input_hash, output_hash, source_id,"
                      + " position FROM "
                      + database.table("record_lineage_events")
                      + " WHERE pipeline = ? AND record_id = 'r1' ORDER BY trace_id, event_no",
                  pipeline))
          .as("the view: one row per event; text as packed (escaped)")
          .extracting(row -> row.toString())
          .containsExactly(
              "[parsing, PASSED, 1, -42, 1, src, lines:0:1]",
              "[clean\\ting, PASSED, 1, -126, 3, src, null]",
              "[sink, DEAD_LETTER, 1, -168, null, src, null]",
              "[again, PASSED, 1, -210, 5, src, null]");
      assertThat(
              database.count(
                  "SELECT COUNT(*) FROM "
                      + database.table("record_lineage_events")
                      + " WHERE pipeline = ? AND entered_at = ?",
                  pipeline,
                  java.sql.Timestamp.from(T0.plusSeconds(3))))
          .as("times to the microsecond")
          .isEqualTo(1);
    }
  }

  @Test
  void aRecordsEventsPastTheRowsSizeGoOnInAnotherRowAndAreReadBackInOrder() {
    JdbcPipelineStore store = open();
    String detail = "d\u00E9tail ".repeat(LineageEvent.MAX_TEXT / 8);
    List<LineageEvent> events = new ArrayList<>();
    for (int i = 0; i < 60; i++) { // each counted as 3,600 of a row's 200,000 characters
      events.add(event("r1", "stage" + i, i, detail + i, null));
    }

    store.appendLineage(pipeline, events);

    assertThat(store.lineage(pipeline, "r1")).containsExactlyElementsOf(events);
    assertThat(
            database.query(
                "SELECT event_count FROM "
                    + database.table("record_traces")
                    + " WHERE pipeline = ? ORDER BY trace_id",
                pipeline))
        .extracting(row -> ((Number) row.get(0)).intValue())
        .as("rows of at most LineageLog.MAX_PACKED characters, counted escaped")
        .containsExactly(55, 5);
  }

  @Test
  void aSeekableSourcesPositionIsInTheRecordsEventsAtTheFirstStageOnly(@TempDir Path dir)
      throws IOException {
    Path file = dir.resolve("in.txt");
    Files.writeString(file, "alpha\nbeta\n", StandardCharsets.UTF_8);
    JdbcPipelineStore store = open();
    Pipeline<String, String> p =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .inputCodec(STRING)
            .lineage(LineageLevel.ALL)
            .stage(StageName.of("parsing"), (String s) -> s.trim(), o -> o.codec(STRING))
            .stage(
                StageName.CLEANING, (String s) -> s.toUpperCase(Locale.ROOT), o -> o.codec(STRING))
            .sink(sunk::addAll)
            .build();

    assertThat(p.run(Source.lines("file", file)).status()).isEqualTo(RunStatus.COMPLETED);

    assertThat(sunk).hasSize(2);
    List<String> positions = new ArrayList<>();
    for (Envelope<String> out : sunk) {
      List<LineageEvent> events = p.lineage(out.id()).events();
      assertThat(events)
          .extracting(LineageEvent::stage)
          .containsExactly("parsing", "cleaning", "sink");
      assertThat(events.get(0).position()).as(out.id()).startsWith("lines:");
      assertThat(events.subList(1, 3)).extracting(LineageEvent::position).containsOnlyNulls();
      assertThat(out.metadata()).containsEntry(Envelope.SOURCE_POSITION, events.get(0).position());
      positions.add(events.get(0).position());
    }
    assertThat(positions).doesNotHaveDuplicates();
  }

  /** Fails "bad…" at once, filters "skip…", upper-cases the rest. */
  private static String read(String f, StageContext c) {
    if (f.startsWith("bad")) {
      throw new IllegalStateException("unreadable");
    }
    if (f.startsWith("skip")) {
      throw RecordFilteredException.because("not a listing");
    }
    return f.toUpperCase(Locale.ROOT);
  }

  /** An archive's files, its name split at commas; "bad" fails at reading. */
  private Pipeline<String, String> merging(JdbcPipelineStore store) {
    return Pipeline.builder(pipeline, String.class)
        .store(store)
        .inputCodec(STRING)
        .lineage(LineageLevel.ALL)
        .splitStage(
            StageName.EXTRACTION,
            (String a, StageContext c) -> Arrays.asList(a.split(",")),
            o -> o.codec(STRING))
        .stage(
            StageName.of("reading"),
            LineageRetentionContract::read,
            o -> o.codec(STRING).retry(RetryPolicy.none()))
        .mergeStage(
            StageName.of("merge"),
            (List<String> parts, StageContext c) -> String.join("+", parts),
            o -> o.codec(STRING))
        .sink(sunk::addAll)
        .build();
  }

  /** Two stages, the first filtering "skip…" and failing "bad…" at once, then a sink. */
  private Pipeline<String, String> twoStages(dev.pipeline.store.spi.RecordLedger store) {
    return twoStages(store, true);
  }

  private Pipeline<String, String> twoStages(
      dev.pipeline.store.spi.RecordLedger store, boolean sink) {
    var builder =
        Pipeline.builder(pipeline, String.class)
            .store(store)
            .inputCodec(STRING)
            .lineage(LineageLevel.ALL)
            .stage(
                StageName.of("parsing"),
                LineageRetentionContract::read,
                o -> o.codec(STRING).retry(RetryPolicy.none()))
            .stage(StageName.CLEANING, (String s) -> s + "!", o -> o.codec(STRING));
    return sink ? builder.sink(sunk::addAll).build() : builder.build();
  }

  @Test
  void withoutASinkTheRecordsThatPassTheLastStageShareTheirBatchsRows() {
    List<String> ids = List.of("r1", "skip-1", "r2", "bad-1", "r3");
    JdbcPipelineStore store = open();
    Pipeline<String, String> p = twoStages(store, false);

    assertThat(p.run(Source.of("src", ids.iterator(), s -> s)).status())
        .isEqualTo(RunStatus.COMPLETED);

    assertThat(recordsWithRowsOfTheirOwn())
        .as("rows of their own only for the records that did not pass")
        .containsExactly("bad-1", "skip-1");
    for (String id : List.of("r1", "r2", "r3")) {
      assertThat(p.lineage(id).events())
          .extracting(LineageEvent::stage)
          .containsExactly("parsing", "cleaning");
    }
  }

  /** The ids of the pipeline's records that have lineage rows of their own (not a batch's). */
  private List<Object> recordsWithRowsOfTheirOwn() {
    return database
        .query(
            "SELECT record_id FROM "
                + database.table("record_traces")
                + " WHERE pipeline = ? AND record_id IS NOT NULL ORDER BY record_id",
            pipeline)
        .stream()
        .map(row -> row.get(0))
        .toList();
  }

  /** An event as text without its times (which differ from one run to the next). */
  private static String timeless(LineageEvent e) {
    return String.join(
        " ",
        e.recordId(),
        e.stage(),
        e.outcome().name(),
        String.valueOf(e.attempts()),
        Long.toHexString(e.inputHash()),
        String.valueOf(e.outputHash()),
        String.valueOf(e.sourceId()),
        String.valueOf(e.parentId()),
        String.valueOf(e.detail()));
  }

  @Test
  void theRecordsABatchHandsToTheSinkShareItsRowsAndReadBackAsTheirOwnRowsWould() {
    List<String> ids =
        List.of(
            "r1",
            "a|b",
            "back\\slash\\",
            "tab\tid",
            "=eq",
            "line\nbreak",
            "\\N",
            "skip-1",
            "bad-1",
            "r2");
    JdbcPipelineStore store = open();
    Pipeline<String, String> durable = twoStages(store);
    Pipeline<String, String> memory = twoStages(dev.pipeline.store.InMemoryPipelineStore.create());

    assertThat(durable.run(Source.of("src", ids.iterator(), s -> s)).status())
        .isEqualTo(RunStatus.COMPLETED);
    assertThat(memory.run(Source.of("src", ids.iterator(), s -> s)).status())
        .isEqualTo(RunStatus.COMPLETED);

    for (String id : ids) {
      List<LineageEvent> events = durable.lineage(id).events();
      assertThat(events).as(id).isNotEmpty();
      assertThat(events)
          .as("%s, read back from the database as the store in memory keeps it", id)
          .extracting(LineageRetentionContract::timeless)
          .containsExactlyElementsOf(
              memory.lineage(id).events().stream()
                  .map(LineageRetentionContract::timeless)
                  .toList());
    }
    assertThat(recordsWithRowsOfTheirOwn())
        .as("rows of their own only for the records that did not pass the sink")
        .containsExactly("bad-1", "skip-1");
    List<List<Object>> batchRows =
        database.query(
            "SELECT batch_id, event_count, packing FROM "
                + database.table("record_traces")
                + " WHERE pipeline = ? AND record_id IS NULL",
            pipeline);
    assertThat(batchRows).as("the batches' rows").isNotEmpty();
    assertThat(batchRows).allSatisfy(row -> assertThat(row.get(0)).isNotNull());
    assertThat(batchRows.stream().mapToInt(row -> ((Number) row.get(1)).intValue()).sum())
        .as("each passing record's three events: parsing, cleaning, the sink")
        .isEqualTo(3 * (ids.size() - 2));
    if (hasEventsView()) {
      List<String> viewed = new ArrayList<>();
      for (List<Object> row :
          database.query(
              "SELECT record_id, stage_name, outcome, attempts, input_hash, output_hash, source_id,"
                  + " parent_id, detail FROM "
                  + database.table("record_lineage_events")
                  + " WHERE pipeline = ? ORDER BY record_id, trace_id, event_no",
              pipeline)) {
        viewed.add(
            String.join(
                " ",
                String.valueOf(row.get(0)),
                String.valueOf(row.get(1)),
                String.valueOf(row.get(2)),
                String.valueOf(row.get(3)),
                Long.toHexString(((Number) row.get(4)).longValue()),
                String.valueOf(row.get(5)),
                String.valueOf(row.get(6)),
                String.valueOf(row.get(7)),
                String.valueOf(row.get(8))));
      }
      List<String> expected = new ArrayList<>();
      for (String id : ids.stream().sorted().toList()) {
        durable.lineage(id).events().forEach(e -> expected.add(timeless(e)));
      }
      assertThat(viewed)
          .as("the view: every record's events, ids as given")
          .hasSameElementsAs(expected);
      assertThat(viewed).hasSize(expected.size());
      assertThat(
              database.count(
                  "SELECT COUNT(*) FROM "
                      + database.table("record_lineage_events")
                      + " WHERE pipeline = ? AND record_id = ?",
                  pipeline,
                  "line\nbreak"))
          .as("a record of a batch's row found by its id")
          .isEqualTo(3);
    }
  }

  @Test
  void aMergedRecordsLineageNamesItsPartsAndThePartsNameIt() {
    JdbcPipelineStore store = open();
    Pipeline<String, String> p = merging(store);

    assertThat(p.run(Source.of("zip", List.of("a,b,c").iterator())).status())
        .isEqualTo(RunStatus.COMPLETED);

    List<LineageEvent> merged = p.lineage("zip-1/merged").events();
    assertThat(merged).extracting(LineageEvent::stage).containsExactly("merge", "sink");
    LineageEvent made = merged.get(0);
    assertThat(made.outcome()).isEqualTo(LineageOutcome.PASSED);
    assertThat(made.parentId()).isEqualTo("zip-1");
    assertThat(made.detail())
        .isEqualTo("merged from the 3 of 3 parts of 'zip-1' that arrived ('zip-1/0' to 'zip-1/2')");
    assertThat(made.inputHash()).as("the parts, a list").isEqualTo(listHash("A", "B", "C"));
    assertThat(made.outputHash()).isEqualTo(fnv("A+B+C"));
    for (int i = 0; i < 3; i++) {
      LineageEvent last = p.lineage("zip-1/" + i).events().getLast();
      assertThat(last.stage()).isEqualTo("merge");
      assertThat(last.outcome()).isEqualTo(LineageOutcome.MERGED);
      assertThat(last.detail()).isEqualTo("merged into 'zip-1/merged'");
    }
  }

  /**
   * The lineage hash of a payload's text: 64-bit FNV-1a of its UTF-16 characters, low byte first.
   */
  private static long fnv(String text) {
    return chars(0xcbf29ce484222325L, text);
  }

  private static long chars(long h, String text) {
    for (char c : text.toCharArray()) {
      h = (h ^ (c & 0xff)) * 0x100000001b3L;
      h = (h ^ (c >>> 8)) * 0x100000001b3L;
    }
    return h;
  }

  /**
   * The lineage hash of a list of texts, as documented: the mark '[' and the size, each a long's
   * eight bytes low first, then each element's length (one round) and characters.
   */
  private static long listHash(String... texts) {
    long h = 0xcbf29ce484222325L;
    for (long value : new long[] {'[', texts.length}) {
      for (int shift = 0; shift < 64; shift += 8) {
        h = (h ^ ((value >>> shift) & 0xff)) * 0x100000001b3L;
      }
    }
    for (String text : texts) {
      h = chars((h ^ text.length()) * 0x100000001b3L, text);
    }
    return h;
  }

  @Test
  void finishedMergeGroupsArePurgedPastRetentionAndAGroupADeadLetterNeedsIsKept() {
    JdbcPipelineStore store =
        open(database.builder().workerId("w1").retainCompleted(Duration.ofDays(1)));
    Pipeline<String, String> p = merging(store);
    RunResult result = p.run(Source.of("zip", List.of("a,b", "d,bad", "e,skip").iterator()));
    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(store.find(pipeline, "zip-2/1").orElseThrow().status())
        .isEqualTo(RecordStatus.DEAD_LETTER);
    String groups = database.table("pipeline_merge_groups");
    String parts = database.table("pipeline_merge_parts");
    assertThat(store.purge().mergeGroupsDeleted()).as("all completed just now").isZero();

    database.update(
        "UPDATE "
            + groups
            + " SET completed_at = CURRENT_TIMESTAMP - INTERVAL '2' DAY WHERE pipeline = ?"
            + " AND parent_id <> 'zip-3'",
        pipeline);
    JdbcPipelineStore.Purged purged = store.purge();

    assertThat(purged.mergeGroupsDeleted()).as("zip-1 only").isEqualTo(1);
    assertThat(
            database.query(
                "SELECT DISTINCT parent_id FROM " + parts + " WHERE pipeline = ? ORDER BY 1",
                pipeline))
        .as("zip-2 is kept for its dead letter, zip-3 is too recent")
        .containsExactly(List.of("zip-2"), List.of("zip-3"));
    assertThat(database.count("SELECT COUNT(*) FROM " + groups + " WHERE pipeline = ?", pipeline))
        .isEqualTo(2);
    assertThat(store.purge().mergeGroupsDeleted()).isZero();
  }

  @Test
  void uniquenessRulesKeysArePurgedPastTheirAgeAndKeptWithoutIt() {
    String keys = database.table("quality_seen_keys");
    JdbcPipelineStore keeping = open();
    for (int i = 0; i < 5; i++) {
      database.update(
          "INSERT INTO "
              + keys
              + " (pipeline, stage_name, rule_name, key_hash, record_id, first_seen_at) VALUES"
              + " (?, 'validation', 'unique-sku', ?, ?, CURRENT_TIMESTAMP - INTERVAL '"
              + (i < 3 ? 40 : 1)
              + "' DAY)",
          pipeline,
          i,
          "r" + i);
    }
    assertThat(keeping.purge().seenKeysDeleted()).as("kept unless retainSeenKeys is set").isZero();

    JdbcPipelineStore purging =
        open(
            database
                .builder()
                .workerId("w2")
                .retainSeenKeys(Duration.ofDays(30))
                .purgeBatchSize(2));
    assertThat(purging.purge().seenKeysDeleted()).isEqualTo(3);
    assertThat(
            database.query(
                "SELECT record_id FROM " + keys + " WHERE pipeline = ? ORDER BY 1", pipeline))
        .containsExactly(List.of("r3"), List.of("r4"));
  }

  @Test
  void retainSeenKeysRefusesANegativeAgeWithTheRange() {
    assertThatThrownBy(() -> database.builder().retainSeenKeys(Duration.ofDays(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("retainSeenKeys")
        .hasMessageContaining("10 years");
  }
}
