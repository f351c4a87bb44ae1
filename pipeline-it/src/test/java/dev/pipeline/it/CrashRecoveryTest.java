package dev.pipeline.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a worker JVM with SIGKILL at random points, several times, then lets a last one finish:
 * every record must end in exactly the state it should, the sink must have every published record's
 * final output, and nothing may be lost, duplicated beyond the ledger, or unexpected.
 */
class CrashRecoveryTest {
  private static final int RECORDS = 4_000;
  private static final int KILLS = 4;
  private static final long LEASE_MILLIS = 1_500;
  private static final long WORK_MICROS = 200;

  @Test
  void postgresSurvivesRepeatedSigkill(@TempDir Path dir) throws Exception {
    Databases db = Databases.postgres();
    try {
      crashAndRecover(db, dir);
    } finally {
      db.dropSchema();
    }
  }

  private static void crashAndRecover(Databases db, Path dir) throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    System.out.println(db.name() + ": kill points seeded with " + seed);
    Path log = dir.resolve("children.log");
    List<Path> sinks = new ArrayList<>();
    for (int kill = 0; kill < KILLS; kill++) {
      Path sink = dir.resolve("sink-" + kill + ".tsv");
      sinks.add(sink);
      long before = Ledger.sinkLines(sinks);
      // kill once the sinks have grown by a random share of what is left
      long target = before + 1 + random.nextInt((int) Math.max(1, (RECORDS - before) / 3));
      Process child = ChildJvm.start(db, RECORDS, sink, LEASE_MILLIS, WORK_MICROS, log);
      Ledger.await(
          "the sinks to reach " + target + " lines (child alive: " + child.isAlive() + ")",
          120_000,
          () -> !child.isAlive() || linesOrZero(sinks) >= target);
      child.destroyForcibly(); // SIGKILL
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    Path last = dir.resolve("sink-final.tsv");
    sinks.add(last);
    Process finisher = ChildJvm.start(db, RECORDS, last, LEASE_MILLIS, WORK_MICROS, log);
    assertThat(finisher.waitFor(3, TimeUnit.MINUTES)).as("the last worker finishes").isTrue();
    assertThat(finisher.exitValue())
        .as("the last worker's exit code; its log:%n%s", Files.readString(log))
        .isZero();
    Ledger.verify(db, RECORDS, sinks);
  }

  private static long linesOrZero(List<Path> sinks) {
    try {
      return Ledger.sinkLines(sinks);
    } catch (java.io.IOException e) {
      return 0;
    }
  }
}
