package dev.pipeline.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Worker A is stopped (SIGSTOP) between a delivery note and its sink call, long enough for its
 * leases to expire; worker B takes its records over and delivers them, those A had noted flagged as
 * re-deliveries; then A goes on (SIGCONT). A must not hand the sink any record B took, must drop
 * its stale records in flight rather than process them, and its run must say what happened.
 */
class PausedWorkerTest {
  private static final int RECORDS = 3_000;
  private static final long LEASE_MILLIS = 2_000;

  @Test
  void aWorkerPausedBetweenItsDeliveryNoteAndItsSinkDeliversNothingAnotherWorkerTookOver(
      @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    Databases db = Databases.postgres();
    List<ChildJvm> workers = new ArrayList<>();
    try {
      ChildJvm a = worker(db, "a", dir, dir.toString());
      workers.add(a);
      Path noted = dir.resolve("noted.txt");
      await(a, () -> Files.exists(noted), "A to note a delivery and wait before its sink");
      a.pause();
      Files.writeString(dir.resolve("resume"), ""); // A sees it once it runs again
      Set<String> paused = new HashSet<>(Files.readAllLines(noted));
      String aId = workerId(a);

      ChildJvm b = worker(db, "b", dir, "-");
      workers.add(b);
      b.awaitCompleted(3, TimeUnit.MINUTES);
      String bId = workerId(b);
      a.resume();
      a.awaitCompleted(3, TimeUnit.MINUTES);

      List<Write> writes = journal(db);
      Map<String, List<Write>> byRecord = new LinkedHashMap<>();
      writes.forEach(w -> byRecord.computeIfAbsent(w.id, k -> new ArrayList<>()).add(w));
      List<String> twiceUnflagged = new ArrayList<>();
      List<String> badLater = new ArrayList<>();
      byRecord.forEach(
          (id, ws) -> {
            if (ws.stream().filter(w -> !w.redelivered).count() > 1) {
              twiceUnflagged.add(id + " " + ws);
            }
            for (int i = 1; i < ws.size(); i++) {
              if (!ws.get(i).redelivered || ws.get(i).token <= ws.get(i - 1).token) {
                badLater.add(id + " " + ws);
              }
            }
          });
      assertThat(byRecord).as("every record reached the sink").hasSize(RECORDS);
      assertThat(twiceUnflagged).as("records delivered unflagged twice").isEmpty();
      assertThat(badLater)
          .as("later deliveries of a record: flagged, with a higher fencing token")
          .isEmpty();
      assertThat(writes).as("writes the sink refused as stale").allMatch(w -> w.accepted);
      for (String id : paused) {
        assertThat(byRecord.get(id))
            .as("record %s, noted by A before its pause: delivered by B only, flagged", id)
            .singleElement()
            .satisfies(
                w -> {
                  assertThat(w.worker).isEqualTo(bId);
                  assertThat(w.redelivered).isTrue();
                  assertThat(w.token).isGreaterThan(1);
                });
      }
      Map<String, String> resultA = result(a);
      assertThat(resultA)
          .as("A's run, from its log:\n%s", a.logText())
          .containsEntry("status", "COMPLETED")
          .containsEntry("unfinished", "0");
      assertThat(Long.parseLong(resultA.get("takenOver")))
          .as("records A let B have")
          .isGreaterThanOrEqualTo(paused.size());
      assertThat(a.logText())
          .contains("taken over by another worker")
          .contains("ran out")
          .contains("re-claimed by worker " + bId);
      assertThat(writes.stream().filter(w -> w.worker.equals(aId)).count())
          .as("records A delivered, all before its pause")
          .isEqualTo(Long.parseLong(resultA.get("published")));
      assertThat(result(b)).containsEntry("status", "COMPLETED").containsEntry("unfinished", "0");
    } finally {
      workers.forEach(ChildJvm::destroy);
      db.dropSchema();
    }
  }

  static ChildJvm worker(Databases db, String name, Path dir, String pauseDir) throws Exception {
    return ChildJvm.startMain(
        DeliveryWorker.class,
        name,
        dir,
        List.of(
            db.url(),
            db.schema(),
            "default",
            Integer.toString(RECORDS),
            Long.toString(LEASE_MILLIS),
            "300",
            pauseDir));
  }

  /** The worker id a child printed when its store was built. */
  static String workerId(ChildJvm worker) throws InterruptedException {
    await(worker, () -> worker.logText().contains("READY "), worker + " to build its store");
    String text = worker.logText();
    int at = text.indexOf("READY ") + "READY ".length();
    return text.substring(at, text.indexOf('\n', at)).trim();
  }

  /** The counts of the RESULT line a child printed when its run ended. */
  static Map<String, String> result(ChildJvm worker) {
    Map<String, String> fields = new HashMap<>();
    for (String line : worker.logText().split("\n")) {
      if (line.startsWith("RESULT ")) {
        for (String field : line.substring(7).trim().split(" ")) {
          int eq = field.indexOf('=');
          fields.put(field.substring(0, eq), field.substring(eq + 1));
        }
      }
    }
    return fields;
  }

  static void await(ChildJvm worker, BooleanSupplier condition, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline || !worker.isAlive()) {
        throw new AssertionError("waited in vain for " + what + "; " + worker.diagnosis());
      }
      TimeUnit.MILLISECONDS.sleep(20);
    }
  }

  /** One write the sink was asked for, in order. */
  record Write(String id, String worker, long token, boolean redelivered, boolean accepted) {}

  static List<Write> journal(Databases db) throws Exception {
    List<Write> writes = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(db.url());
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT id, worker, token, redelivered, accepted FROM "
                    + db.schema()
                    + ".sink_journal ORDER BY seq")) {
      while (rs.next()) {
        writes.add(
            new Write(
                rs.getString(1),
                rs.getString(2),
                rs.getLong(3),
                rs.getBoolean(4),
                rs.getBoolean(5)));
      }
    }
    return writes;
  }
}
