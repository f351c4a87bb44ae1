package dev.pipeline.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.SplitStage;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.StatusCounts;
import dev.pipeline.store.spi.Completion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kills worker JVMs with SIGKILL right after they stored a split's children and before the parents'
 * SPLIT states were written, three times, then lets a last worker finish, on an H2 file and on
 * PostgreSQL: every parent must end SPLIT (or FILTERED when it has no children) once, every child
 * must exist once and be published, and the sinks must hold every child, a child handed over again
 * only flagged as redelivered.
 */
class SplitCrashTest {
  private static final int ARCHIVES = 600;
  private static final long LEASE_MILLIS = 3_000;
  private static final long WORK_MICROS = 200;

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void aWorkerKilledBetweenStoringChildrenAndEndingTheirParentsLosesAndDuplicatesNothing(
      String database, @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    Databases db = database.equals("h2") ? Databases.h2(dir) : Databases.postgres();
    List<ChildJvm> workers = new ArrayList<>();
    try {
      for (int kill = 0; kill < 3; kill++) {
        ChildJvm child = start(db, dir, "kill-" + kill, 1 + 2 * kill);
        workers.add(child);
        assertThat(child.awaitExit(120_000)).as("%s ended", child).isTrue();
        assertThat(child.exitValue())
            .as("%s died of SIGKILL: %s", child, child.logText())
            .isEqualTo(137);
        assertKilledInTheWindow(child);
      }
      ChildJvm finisher = start(db, dir, "final", 0);
      workers.add(finisher);
      finisher.awaitCompleted(120, TimeUnit.SECONDS);
      verify(db, workers);
    } finally {
      workers.forEach(ChildJvm::destroy);
      db.dropSchema();
    }
  }

  private static ChildJvm start(Databases db, Path dir, String name, int killAfter)
      throws Exception {
    return ChildJvm.startMain(
        SplitCrashWorker.class,
        name,
        dir,
        List.of(
            db.url(),
            db.user(),
            db.schema(),
            name,
            Integer.toString(ARCHIVES),
            dir.resolve(name + ".sink").toString(),
            dir.resolve(name + ".journal").toString(),
            Long.toString(LEASE_MILLIS),
            Long.toString(WORK_MICROS),
            Integer.toString(killAfter)));
  }

  /**
   * The worker stored children (its journal has them) whose parents it did not end: it died after
   * the children's write and before the parents'.
   */
  private static void assertKilledInTheWindow(ChildJvm child) throws Exception {
    assertThat(child.logText()).contains("SIGKILL after storing a split's children");
    Set<String> ended = new HashSet<>();
    Set<String> parentsOfStored = new HashSet<>();
    for (String line : Files.readAllLines(child.journal)) {
      String[] f = line.split(" ");
      if (f[0].equals("D")) {
        ended.add(f[1]);
      } else if (f[0].equals("I") && f[1].contains("/")) {
        parentsOfStored.add(f[1].substring(0, f[1].lastIndexOf('/')));
      }
    }
    parentsOfStored.removeAll(ended);
    assertThat(parentsOfStored)
        .as("parents whose children %s stored but which it did not end", child)
        .isNotEmpty();
  }

  private static void verify(Databases db, List<ChildJvm> workers) throws Exception {
    SinkLines lines = SinkLines.read(workers);
    lines.payloads.forEach(
        (id, payload) -> assertThat(payload).isEqualTo("P:" + id.replace("/", ":")));
    try (JdbcPipelineStore store =
        JdbcPipelineStore.builder()
            .jdbcUrl(db.url(), db.user(), "")
            .schema(db.schema())
            .tablePrefix("split_")
            .workerId("verifier")
            .build()) {
      String pipeline = SplitCrashWorker.NAME;
      Set<String> children = new HashSet<>();
      long split = 0;
      for (int n = 0; n < ARCHIVES; n++) {
        String archive = "arc-" + n;
        List<String> files = SplitCrashWorker.files(archive);
        RecordState parent = store.find(pipeline, archive).orElseThrow();
        if (files.isEmpty()) {
          assertThat(parent.status()).as(archive).isEqualTo(RecordStatus.FILTERED);
          assertThat(parent.reason()).isEqualTo(SplitStage.NO_RECORDS);
          continue;
        }
        split++;
        assertThat(parent.status()).as(archive).isEqualTo(RecordStatus.SPLIT);
        assertThat(parent.reason()).isEqualTo(Completion.splitReason(files.size()));
        for (int j = 0; j < files.size(); j++) {
          String id = archive + "/" + j;
          children.add(id);
          RecordState child = store.find(pipeline, id).orElseThrow();
          assertThat(child.status()).as(id).isEqualTo(RecordStatus.PUBLISHED);
          assertThat(child.parentId()).isEqualTo(archive);
        }
      }
      StatusCounts counts = store.counts(pipeline);
      long all = 0;
      for (RecordStatus status : RecordStatus.values()) {
        all += counts.get(status);
      }
      assertThat(all)
          .as("records stored: every archive and child, once")
          .isEqualTo(ARCHIVES + children.size());
      assertThat(counts.get(RecordStatus.SPLIT)).isEqualTo(split);
      assertThat(counts.get(RecordStatus.PUBLISHED)).isEqualTo(children.size());
      assertThat(store.hasUnfinished(pipeline)).isFalse();
      assertThat(lines.times.keySet()).as("ids in the sinks").isEqualTo(children);
      assertThat(lines.unflagged())
          .as("children handed over again without the redelivered flag")
          .isEmpty();
    }
  }
}
