package dev.pipeline.it;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kills a worker JVM with SIGKILL at random points, several times, then lets a last one finish, on
 * an H2 file and on PostgreSQL: every record must end in exactly the state it should, once; the
 * sinks must have every published record's final output; nothing may be lost, delivered beyond the
 * store's ledger, completed twice, or unexpected.
 *
 * <p>With the full ledger, every record must also have its own full row, in its terminal state.
 *
 * <p>A kill point is either a random time after the JVM starts (which may fall in its start-up, the
 * schema's creation, or the first ingests), or the moment the sinks have grown by a random share of
 * what is left (mid-run, records in every stage).
 */
class CrashRecoveryTest {
  private static final int RECORDS = 4_000;
  private static final int KILLS = 4;
  private static final long LEASE_MILLIS = 4_000;
  private static final long WORK_MICROS = 200;

  /**
   * How long a child may go without writing to its sink or journal before it counts as stuck. The
   * waits are on progress, not on a total time: how much a child JVM gets done in a minute depends
   * on the machine's load (its start-up alone is seconds of CPU, and at a load of 35 on two cores
   * it gets about a twentieth of a core), but a child that stops getting on is stuck whatever the
   * load.
   */
  private static final long STALL_MILLIS = 90_000;

  // five child JVMs' start-ups and 4,000 records' work take minutes of wall time on a loaded
  // machine; the waits inside fail a stuck child after STALL_MILLIS without progress
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql", "h2 full ledger", "postgresql full ledger"})
  @Timeout(value = 15, unit = TimeUnit.MINUTES)
  void survivesRepeatedSigkill(String database, @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir)
      throws Exception {
    Databases db = database.startsWith("h2") ? Databases.h2(dir) : Databases.postgres();
    boolean fullLedger = database.endsWith("full ledger");
    List<ChildJvm> workers = new ArrayList<>();
    try {
      crashAndRecover(db, dir, workers, fullLedger);
      if (fullLedger) {
        Ledger.verifyFullRows(db, RECORDS);
      }
    } finally {
      workers.forEach(ChildJvm::destroy);
      db.dropSchema();
    }
  }

  private static void crashAndRecover(
      Databases db, Path dir, List<ChildJvm> workers, boolean fullLedger) throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    System.out.println(db.name() + ": kill points seeded with " + seed + ", files in " + dir);
    List<String> kills = new ArrayList<>();
    for (int kill = 0; kill < KILLS; kill++) {
      long before = Ledger.sinkLines(workers);
      ChildJvm child =
          ChildJvm.start(
              db, "kill-" + kill, dir, RECORDS, LEASE_MILLIS, WORK_MICROS, 0, false, fullLedger);
      workers.add(child);
      if (random.nextInt(4) == 0) {
        long delay = 200 + random.nextInt(1_800);
        if (child.awaitExit(delay)) {
          child.awaitCompleted(0, TimeUnit.SECONDS); // it finished the run: exit 0
          kills.add(child + " finished before its kill point");
          continue;
        }
        child.kill();
        kills.add(child + " killed " + delay + " ms after start");
      } else {
        long target = before + 1 + random.nextInt((int) Math.max(1, (RECORDS - before) / 3));
        try {
          Ledger.awaitProgress(
              "the sinks to reach " + target + " lines",
              STALL_MILLIS,
              child::progress,
              () -> !child.isAlive() || Ledger.sinkLines(workers) >= target);
        } catch (AssertionError stuck) {
          throw new AssertionError(
              stuck.getMessage() + "; " + child + " is stuck: " + child.diagnosis(), stuck);
        }
        if (!child.isAlive()) {
          child.awaitCompleted(0, TimeUnit.SECONDS); // it finished the run: exit 0
          kills.add(child + " finished before its kill point");
          continue;
        }
        child.kill();
        kills.add(child + " killed at " + target + " sink lines");
      }
    }
    System.out.println(db.name() + ": " + kills);
    ChildJvm finisher =
        ChildJvm.start(db, "final", dir, RECORDS, LEASE_MILLIS, WORK_MICROS, 0, false, fullLedger);
    workers.add(finisher);
    finisher.awaitCompletedWhileProgressing(STALL_MILLIS);
    Ledger.verify(db, RECORDS, workers, List.of(finisher));
  }
}
