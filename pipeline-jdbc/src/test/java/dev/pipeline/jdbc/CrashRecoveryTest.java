package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Child JVMs running a pipeline are killed with SIGKILL at random points, several times; a last one
 * finishes. Then every record is terminal exactly once, none is lost, none unexpected, and every
 * hand-over to the sink is in the store's delivery ledger.
 */
class CrashRecoveryTest {
  private static final int RECORDS = 1_500;
  private static final int KILLS = 3;

  @TempDir Path dir;

  @Test
  void h2FileSurvivesKilledWorkers() throws Exception {
    crashAndRecover(
        TestDatabase.of(Connections.h2FileUrl(dir.resolve("crash")), "crash"), new Random(42));
  }

  @Test
  void postgresSurvivesKilledWorkers() throws Exception {
    TestDatabase db = TestDatabase.postgres("crash");
    try {
      crashAndRecover(db, new Random(7));
    } finally {
      db.drop();
    }
  }

  private void crashAndRecover(TestDatabase db, Random random) throws Exception {
    Path sink = dir.resolve("sink-" + db.schema + ".txt");
    List<String> log = new ArrayList<>();
    for (int i = 0; i < KILLS; i++) {
      Process child = start(db, sink, i);
      long delay = 800 + random.nextInt(1_500);
      boolean ended = child.waitFor(delay, TimeUnit.MILLISECONDS);
      if (!ended) {
        child.destroyForcibly(); // SIGKILL
        child.waitFor(30, TimeUnit.SECONDS);
        long sunk = Files.exists(sink) ? Files.readAllLines(sink).size() : 0;
        log.add("killed after " + delay + " ms, " + sunk + " handed over so far");
      } else {
        log.add("ended by itself with " + child.exitValue());
      }
    }
    Process last = start(db, sink, KILLS);
    assertThat(last.waitFor(90, TimeUnit.SECONDS)).as("the last run finishes").isTrue();
    assertThat(last.exitValue())
        .as(Files.readString(dir.resolve("out-" + KILLS + ".txt")))
        .isZero();

    Set<String> expected = new HashSet<>();
    for (int i = 0; i < RECORDS; i++) {
      expected.add("item-" + i);
    }
    Map<String, Integer> handedOver = new HashMap<>();
    for (String id : Files.readAllLines(sink)) {
      if (!id.isBlank()) {
        handedOver.merge(id, 1, Integer::sum);
      }
    }
    Set<String> lost = new HashSet<>(expected);
    lost.removeAll(handedOver.keySet());
    Set<String> unexpected = new HashSet<>(handedOver.keySet());
    unexpected.removeAll(expected);
    String status = db.table("pipeline_status");
    Map<String, Long> deliveries = new HashMap<>();
    for (List<Object> row :
        db.query("SELECT record_id, deliveries FROM " + status + " WHERE pipeline = 'crash'")) {
      deliveries.put((String) row.get(0), ((Number) row.get(1)).longValue());
    }
    List<String> unledgered = new ArrayList<>();
    handedOver.forEach(
        (id, times) -> {
          if (deliveries.getOrDefault(id, 0L) < times) {
            unledgered.add(id + " handed over " + times + "x, ledger " + deliveries.get(id));
          }
        });
    long redelivered = handedOver.values().stream().filter(t -> t > 1).count();

    assertThat(lost).as("lost (%s)", log).isEmpty();
    assertThat(unexpected).as("unexpected").isEmpty();
    assertThat(unledgered).as("hand-overs missing from the ledger").isEmpty();
    assertThat(
            db.count(
                "SELECT COUNT(*) FROM "
                    + status
                    + " WHERE pipeline = 'crash' AND status = 'PUBLISHED'"))
        .isEqualTo(RECORDS);
    assertThat(db.count("SELECT COUNT(*) FROM " + status + " WHERE pipeline = 'crash'"))
        .as("one row, so one terminal state, per record")
        .isEqualTo(RECORDS);
    System.out.printf(
        "crash test on %s: %s; %d records re-delivered after a crash, all in the ledger%n",
        db.url, log, redelivered);
  }

  private Process start(TestDatabase db, Path sink, int run) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classpath =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    return new ProcessBuilder(
            java,
            "-Xmx256m",
            "-cp",
            classpath,
            CrashWorker.class.getName(),
            db.url,
            db.schema,
            Integer.toString(RECORDS),
            sink.toString())
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("out-" + run + ".txt").toFile())
        .start();
  }
}
