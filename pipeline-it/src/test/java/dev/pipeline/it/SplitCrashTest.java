package dev.pipeline.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.SplitStage;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.Completion;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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
  private static final String ARCHIVES = "600";
  private static final String WORK_MICROS = "200";

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void aWorkerKilledBetweenStoringChildrenAndEndingTheirParentsLosesAndDuplicatesNothing(
      String database, @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    try (CrashRun run = CrashRun.on(database, dir, SplitCrashWorker.class, "split_")) {
      for (int kill = 0; kill < 3; kill++) {
        ChildJvm child =
            run.crash(
                "kill-" + kill,
                "SIGKILL after storing a split's children",
                ARCHIVES,
                WORK_MICROS,
                Integer.toString(1 + 2 * kill));
        assertKilledInTheWindow(child);
      }
      run.finish(ARCHIVES, WORK_MICROS, "0");
      verify(run);
    }
  }

  /**
   * The worker stored children (its journal has them) whose parents it did not end: it died after
   * the children's write and before the parents'.
   */
  private static void assertKilledInTheWindow(ChildJvm child) throws Exception {
    Set<String> ended = new HashSet<>();
    Set<String> parentsOfStored = new HashSet<>();
    for (String[] f : CrashRun.journal(child)) {
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

  private static void verify(CrashRun run) throws Exception {
    SinkLines lines = run.sinks();
    lines.payloads.forEach(
        (id, payload) -> assertThat(payload).isEqualTo("P:" + id.replace("/", ":")));
    try (JdbcPipelineStore store = run.verifier()) {
      String pipeline = SplitCrashWorker.NAME;
      int archives = Integer.parseInt(ARCHIVES);
      Set<String> children = new HashSet<>();
      long split = 0;
      for (int n = 0; n < archives; n++) {
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
      assertThat(store.counts(pipeline).get(RecordStatus.SPLIT)).isEqualTo(split);
      CrashRun.assertEachOnce(store, pipeline, archives + children.size(), children, lines);
    }
  }
}
