package dev.pipeline.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.SplitStage;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.StatusCounts;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kills worker JVMs with SIGKILL inside the merge window, three times (after a merge call found
 * groups complete and before their merged records were stored; after merged records were stored and
 * before the children ended; after a merge call again), then lets a last worker finish, on an H2
 * file and on PostgreSQL: every parent must end SPLIT (or FILTERED without children) once, every
 * child FILTERED or MERGED once, every group with a part that arrived must have its merged record
 * once, published, with every part in order, and the sinks must hold each merged record, a repeat
 * only flagged as redelivered.
 */
class MergeCrashTest {
  private static final String ARCHIVES = "500";
  private static final String WORK_MICROS = "200";

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void aWorkerKilledInsideTheMergeWindowLosesAndDuplicatesNothing(
      String database, @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    String[][] kills = {{"parts", "1"}, {"merged", "2"}, {"parts", "4"}};
    try (CrashRun run = CrashRun.on(database, dir, MergeCrashWorker.class, "merge_")) {
      for (int k = 0; k < kills.length; k++) {
        ChildJvm child =
            run.crash(
                "kill-" + k,
                "SIGKILL in the merge window",
                ARCHIVES,
                WORK_MICROS,
                kills[k][0],
                kills[k][1]);
        assertKilledInTheWindow(child);
      }
      run.finish(ARCHIVES, WORK_MICROS, "none", "0");
      verify(run);
    }
  }

  /**
   * As above with split, split, merge, merge (archives into folders, folders into files): every
   * archive, folder, file, folder's merged record and archive's merged record ends once, a folder
   * whose files all ended on the way being left out of its archive's merge.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql"})
  void aWorkerKilledInsideNestedMergeWindowsLosesAndDuplicatesNothing(
      String database, @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    String[][] kills = {{"parts", "2"}, {"merged", "2"}, {"parts", "5"}};
    try (CrashRun run = CrashRun.on(database, dir, MergeCrashWorker.class, "merge_")) {
      for (int k = 0; k < kills.length; k++) {
        run.crash(
            "kill-" + k,
            "SIGKILL in the merge window",
            ARCHIVES,
            WORK_MICROS,
            kills[k][0],
            kills[k][1],
            "nested");
      }
      run.finish(ARCHIVES, WORK_MICROS, "none", "0", "nested");
      verifyNested(run);
    }
  }

  private static void verifyNested(CrashRun run) throws Exception {
    SinkLines lines = run.sinks();
    try (JdbcPipelineStore store = run.verifier()) {
      String pipeline = MergeCrashWorker.NAME;
      Set<String> published = new HashSet<>();
      long records = 0;
      for (int n = 0; n < Integer.parseInt(ARCHIVES); n++) {
        String archive = "arc-" + n;
        List<String> folders = MergeCrashWorker.folders(archive);
        records++;
        assertThat(store.find(pipeline, archive).orElseThrow().status())
            .as(archive)
            .isEqualTo(folders.isEmpty() ? RecordStatus.FILTERED : RecordStatus.SPLIT);
        for (int j = 0; j < folders.size(); j++) {
          String folder = archive + "/" + j;
          List<String> files = MergeCrashWorker.folderFiles(folders.get(j));
          records++;
          assertThat(store.find(pipeline, folder).orElseThrow().status())
              .as(folder)
              .isEqualTo(files.isEmpty() ? RecordStatus.FILTERED : RecordStatus.SPLIT);
          records += assertChildrenEnded(store, folder, files);
          boolean made = MergeCrashWorker.folderMerged(folders.get(j)) != null;
          assertThat(store.find(pipeline, folder + "/merged").map(RecordState::status))
              .as(folder + "/merged")
              .isEqualTo(
                  made ? java.util.Optional.of(RecordStatus.MERGED) : java.util.Optional.empty());
          records += made ? 1 : 0;
        }
        records +=
            assertPublished(
                store, lines, archive, MergeCrashWorker.nestedMerged(archive), published);
      }
      assertThat(published).as("the archives must make some merged records").isNotEmpty();
      CrashRun.assertEachOnce(store, pipeline, records, published, lines);
    }
  }

  /**
   * The worker found groups complete (its journal has them) and did not end every child of them: it
   * died after the parts' commit and before the children's states.
   */
  private static void assertKilledInTheWindow(ChildJvm child) throws Exception {
    Set<String> ended = new HashSet<>();
    Set<String> complete = new HashSet<>();
    for (String[] f : CrashRun.journal(child)) {
      if (f[0].equals("D")) {
        ended.add(f[1]);
      } else if (f[0].equals("G")) {
        complete.add(f[1]);
      }
    }
    Set<String> open = new HashSet<>();
    for (String parent : complete) {
      for (int j = 0; j < MergeCrashWorker.files(parent).size(); j++) {
        if (!ended.contains(parent + "/" + j)) {
          open.add(parent);
        }
      }
    }
    assertThat(open).as("complete groups with children %s did not end", child).isNotEmpty();
  }

  private static void verify(CrashRun run) throws Exception {
    SinkLines lines = run.sinks();
    try (JdbcPipelineStore store = run.verifier()) {
      String pipeline = MergeCrashWorker.NAME;
      int archives = Integer.parseInt(ARCHIVES);
      Set<String> merged = new HashSet<>();
      long records = 0;
      long children = 0;
      for (int n = 0; n < archives; n++) {
        String archive = "arc-" + n;
        List<String> files = MergeCrashWorker.files(archive);
        RecordState parent = store.find(pipeline, archive).orElseThrow();
        records++;
        if (files.isEmpty()) {
          assertThat(parent.status()).as(archive).isEqualTo(RecordStatus.FILTERED);
          assertThat(parent.reason()).isEqualTo(SplitStage.NO_RECORDS);
          continue;
        }
        assertThat(parent.status()).as(archive).isEqualTo(RecordStatus.SPLIT);
        records += assertChildrenEnded(store, archive, files);
        children += files.size();
        records += assertPublished(store, lines, archive, MergeCrashWorker.merged(archive), merged);
      }
      StatusCounts counts = store.counts(pipeline);
      assertThat(counts.get(RecordStatus.MERGED) + counts.get(RecordStatus.FILTERED))
          .isEqualTo(children + archives / 5);
      CrashRun.assertEachOnce(store, pipeline, records, merged, lines);
    }
  }

  /**
   * Checks that each child of {@code parent} ended once as its file says (FILTERED, else MERGED);
   * returns how many records that is.
   */
  private static int assertChildrenEnded(
      JdbcPipelineStore store, String parent, List<String> files) {
    for (int k = 0; k < files.size(); k++) {
      String id = parent + "/" + k;
      assertThat(store.find(MergeCrashWorker.NAME, id).orElseThrow().status())
          .as(id)
          .isEqualTo(
              MergeCrashWorker.filtered(files.get(k))
                  ? RecordStatus.FILTERED
                  : RecordStatus.MERGED);
    }
    return files.size();
  }

  /**
   * Checks the merged record of {@code parent}: not stored when its group makes none ({@code
   * expected} null), else published with {@code expected} as its payload and added to {@code
   * published}; returns how many records that is (0 or 1).
   */
  private static int assertPublished(
      JdbcPipelineStore store,
      SinkLines lines,
      String parent,
      @Nullable String expected,
      Set<String> published) {
    String mergedId = parent + "/merged";
    if (expected == null) {
      assertThat(store.find(MergeCrashWorker.NAME, mergedId)).as(mergedId).isEmpty();
      return 0;
    }
    published.add(mergedId);
    assertThat(store.find(MergeCrashWorker.NAME, mergedId).orElseThrow().status())
        .as(mergedId)
        .isEqualTo(RecordStatus.PUBLISHED);
    assertThat(lines.payloads.get(mergedId)).as(mergedId).isEqualTo(expected);
    return 1;
  }
}
