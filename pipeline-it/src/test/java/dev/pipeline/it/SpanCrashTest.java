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
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void aWorkerKilledMidRunOnAFileIsResumedFromItsSpansLosingAndRepeatingNothing(
      String database, @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    Path file = writeLines(dir, "v");
    try (CrashRun run = CrashRun.on(database, dir, SpanCrashWorker.class, "span_")) {
      crash(run, file);
      run.finish(file.toString(), "0");

      SinkLines lines = run.sinks();
      Set<String> ids = new HashSet<>();
      try (JdbcPipelineStore store = run.verifier()) {
        for (int i = 1; i <= LINES; i++) {
          String id = SpanCrashWorker.SOURCE + "-" + i;
          ids.add(id);
          RecordState state = store.find(SpanCrashWorker.NAME, id).orElseThrow();
          assertThat(state.status()).as(id).isEqualTo(RecordStatus.PUBLISHED);
          assertThat(lines.payloads.get(id)).as(id).isEqualTo("P:v-" + i);
        }
        CrashRun.assertEachOnce(store, SpanCrashWorker.NAME, LINES, ids, lines);
      }
    }
  }

  @Test
  void recordsOfAFileThatChangedBeforeTheResumeAreDeadLetteredNotPublishedWithTheNewData(
      @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    Path file = writeLines(dir, "v");
    try (CrashRun run = CrashRun.on("h2", dir, SpanCrashWorker.class, "span_")) {
      crash(run, file);
      writeLines(dir, "changed"); // every line longer: a span read again ends elsewhere
      run.finish(file.toString(), "0");

      SinkLines lines = run.sinks();
      try (JdbcPipelineStore store = run.verifier()) {
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
    }
  }

  /** Runs a worker that kills itself after its second ingest, and checks it kept spans. */
  private static void crash(CrashRun run, Path file) throws Exception {
    run.crash("killed", "SIGKILL after an ingest", file.toString(), "2");
    Databases db = run.db;
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
}
