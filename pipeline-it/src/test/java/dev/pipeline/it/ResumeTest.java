package dev.pipeline.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker killed with SIGKILL mid-run, with a ten-minute lease, then a rerun on the same host: the
 * rerun sees that the dead worker's process is gone and takes its records over at once (waiting for
 * the lease would time this test out), and reports them as resumed, not as duplicates.
 */
class ResumeTest {
  private static final int RECORDS = 2_000;
  private static final long TEN_MINUTES = TimeUnit.MINUTES.toMillis(10);

  @Test
  void aRerunOnTheSameHostTakesOverAKilledWorkersRecordsAtOnceAndCountsThemAsResumed(
      @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    Databases db = Databases.postgres();
    ChildJvm crashed = null;
    ChildJvm rerun = null;
    try {
      // the first run stops after a delivery note, a quarter of the way in, holding records
      crashed = worker(db, "crashed", dir, dir.toString());
      ChildJvm first = crashed;
      PausedWorkerTest.await(
          first, () -> Files.exists(dir.resolve("noted.txt")), "the first run to get going");
      String deadId = PausedWorkerTest.workerId(first);
      first.kill();

      rerun = worker(db, "rerun", dir, "-");
      rerun.awaitCompleted(3, TimeUnit.MINUTES); // the lease is ten

      Map<String, String> result = PausedWorkerTest.result(rerun);
      assertThat(result)
          .as("the rerun, from its log:\n%s", rerun.logText())
          .containsEntry("status", "COMPLETED")
          .containsEntry("unfinished", "0");
      long resumed = Long.parseLong(result.get("resumed"));
      long held = Long.parseLong(result.get("heldUnfinished"));
      long duplicates = Long.parseLong(result.get("duplicates"));
      long published = Long.parseLong(result.get("published"));
      long deliveredBefore =
          PausedWorkerTest.journal(db).stream().filter(w -> w.worker().equals(deadId)).count();
      assertThat(resumed).as("records of the dead run the rerun finished").isPositive();
      assertThat(held).as("records read again that the dead run held unfinished").isPositive();
      // read again: held unfinished, or finished (by the dead run, or by the rerun that resumed it
      // before it read it again)
      assertThat(held + duplicates).isEqualTo(deliveredBefore + resumed);
      assertThat(duplicates + held + (published - resumed)).isEqualTo(RECORDS);
      assertThat(rerun.logText())
          .contains("worker " + deadId + " ran on this host as process")
          .contains("which is gone");
    } finally {
      for (ChildJvm w : new ChildJvm[] {crashed, rerun}) {
        if (w != null) {
          w.destroy();
        }
      }
      db.dropSchema();
    }
  }

  private static ChildJvm worker(Databases db, String name, Path dir, String pauseDir)
      throws Exception {
    return ChildJvm.startMain(
        DeliveryWorker.class,
        name,
        dir,
        List.of(
            db.url(),
            db.schema(),
            "default",
            Integer.toString(RECORDS),
            Long.toString(TEN_MINUTES),
            "100",
            pauseDir));
  }
}
