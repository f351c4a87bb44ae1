package dev.pipeline.it;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
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

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"h2", "postgresql", "h2 full ledger", "postgresql full ledger"})
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
          Ledger.await(
              "the sinks to reach " + target + " lines",
              60_000,
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
    finisher.awaitCompleted(90, TimeUnit.SECONDS);
    Ledger.verify(db, RECORDS, workers, List.of(finisher));
  }
}
