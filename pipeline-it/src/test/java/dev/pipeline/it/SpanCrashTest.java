package dev.pipeline.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A worker reading a file, whose store keeps each batch as its source span (no payloads), killed
 * with SIGKILL mid-run, then resumed by another worker: the resumed run reads the dead worker's
 * unfinished batches again from the file. Nothing is lost, no record ends twice, and the sink gets
 * every line, a line handed over again only flagged as redelivered. If the file changed between the
 * crash and the resume, the records the dead worker held are dead letters naming the source, never
 * published with the new data.
 */
class SpanCrashTest {
  private static final int LINES = 6_000;
  private static final long LEASE_MILLIS = 3_000;

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void aWorkerKilledMidRunOnAFileIsResumedFromItsSpansLosingAndRepeatingNothing(
      String database, @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    Databases db = database.equals("h2") ? Databases.h2(dir) : Databases.postgres();
    Path file = writeLines(dir, "v");
    List<ChildJvm> workers = new ArrayList<>();
    try {
      crash(db, dir, file, workers);
      ChildJvm finisher = start(db, dir, file, "final", 0);
      workers.add(finisher);
      finisher.awaitCompleted(120, TimeUnit.SECONDS);

      SinkLines lines = SinkLines.read(workers);
      try (JdbcPipelineStore store = verifier(db)) {
        for (int i = 1; i <= LINES; i++) {
          String id = SpanCrashWorker.SOURCE + "-" + i;
          RecordState state = store.find(SpanCrashWorker.NAME, id).orElseThrow();
          assertThat(state.status()).as(id).isEqualTo(RecordStatus.PUBLISHED);
          assertThat(lines.payloads.get(id)).as(id).isEqualTo("P:v-" + i);
        }
        assertThat(store.counts(SpanCrashWorker.NAME).get(RecordStatus.PUBLISHED)).isEqualTo(LINES);
        assertThat(store.hasUnfinished(SpanCrashWorker.NAME)).isFalse();
      }
      assertThat(lines.times).hasSize(LINES);
      assertThat(lines.unflagged()).as("lines handed over again without the flag").isEmpty();
    } finally {
      workers.forEach(ChildJvm::destroy);
      db.dropSchema();
    }
  }

  @Test
  void recordsOfAFileThatChangedBeforeTheResumeAreDeadLetteredNotPublishedWithTheNewData(
      @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    Databases db = Databases.h2(dir);
    Path file = writeLines(dir, "v");
    List<ChildJvm> workers = new ArrayList<>();
    try {
      crash(db, dir, file, workers);
      writeLines(dir, "changed"); // every line longer: a span read again ends elsewhere
      ChildJvm finisher = start(db, dir, file, "final", 0);
      workers.add(finisher);
      finisher.awaitCompleted(120, TimeUnit.SECONDS);

      SinkLines lines = SinkLines.read(workers);
      try (JdbcPipelineStore store = verifier(db)) {
        List<DeadLetter> dead =
            store.deadLetters(SpanCrashWorker.NAME, DeadLetterQuery.all().limit(1_000)).items();
        assertThat(dead).as("the dead worker's unfinished records").isNotEmpty();
        for (DeadLetter d : dead) {
          assertThat(d.lastError().message())
              .contains("source '" + SpanCrashWorker.SOURCE + "'", "reprocessWithPayload");
          String published = lines.payloads.get(d.recordId());
          assertThat(published == null || published.startsWith("P:v-"))
              .as("%s reached the sink only with the data it was read with", d.recordId())
              .isTrue();
        }
        assertThat(store.hasUnfinished(SpanCrashWorker.NAME)).isFalse();
      }
      assertThat(lines.unflagged()).isEmpty();
    } finally {
      workers.forEach(ChildJvm::destroy);
      db.dropSchema();
    }
  }

  /** Runs a worker that kills itself after its second ingest, and checks it kept spans. */
  private static void crash(Databases db, Path dir, Path file, List<ChildJvm> workers)
      throws Exception {
    ChildJvm child = start(db, dir, file, "killed", 2);
    workers.add(child);
    assertThat(child.awaitExit(120_000)).as("%s ended", child).isTrue();
    assertThat(child.exitValue()).as("%s: %s", child, child.logText()).isEqualTo(137);
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), "");
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT COUNT(*), COUNT(payloads) FROM "
                    + (db.schema() == null ? "" : db.schema() + ".")
                    + "span_pipeline_batches WHERE source_id = '"
                    + SpanCrashWorker.SOURCE
                    + "'")) {
      rs.next();
      assertThat(rs.getLong(1)).as("batches kept as spans").isPositive();
      assertThat(rs.getLong(2)).as("of them with payloads").isZero();
    }
  }

  private static Path writeLines(Path dir, String prefix) throws Exception {
    Path file = dir.resolve("lines.txt");
    Files.write(file, IntStream.rangeClosed(1, LINES).mapToObj(i -> prefix + "-" + i).toList());
    return file;
  }

  private static JdbcPipelineStore verifier(Databases db) {
    return JdbcPipelineStore.builder()
        .jdbcUrl(db.url(), db.user(), "")
        .schema(db.schema())
        .tablePrefix("span_")
        .workerId("verifier")
        .build();
  }

  private static ChildJvm start(Databases db, Path dir, Path file, String name, int killAfter)
      throws Exception {
    return ChildJvm.startMain(
        SpanCrashWorker.class,
        name,
        dir,
        List.of(
            db.url(),
            db.user(),
            db.schema(),
            name,
            file.toString(),
            dir.resolve(name + ".sink").toString(),
            dir.resolve(name + ".journal").toString(),
            Long.toString(LEASE_MILLIS),
            Integer.toString(killAfter)));
  }
}
