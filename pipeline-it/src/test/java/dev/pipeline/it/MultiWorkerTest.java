package dev.pipeline.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three worker JVMs run the same pipeline over the same records against one fresh PostgreSQL
 * schema, started together behind a gate; one is killed with SIGKILL mid-run: the first to have
 * completed a random number of records while it holds some more. The two survivors take its records
 * over when its leases expire and finish the run. Then, besides the crash guarantees {@link
 * Ledger#verify} checks (one terminal state per record, none lost or unexpected, none completed
 * twice, every delivery in the ledger):
 *
 * <ul>
 *   <li>the survivors never delivered a record twice between them, nor did the victim;
 *   <li>a record both the victim and a survivor delivered is one the victim held a lease on when it
 *       died: re-deliveries are bounded by the victim's records in flight;
 *   <li>every record the victim held was taken over by a survivor's claim, never before its lease
 *       expired;
 *   <li>each survivor leased and completed records of its own.
 * </ul>
 */
class MultiWorkerTest {
  private static final int RECORDS = 6_000;
  private static final int WORKERS = 3;
  private static final long LEASE_MILLIS = 4_000;
  private static final long WORK_MICROS = 200;
  private static final int QUEUE_CAPACITY = 256;

  /** Records the victim must hold when it is killed, so that it dies mid-run. */
  private static final int MIN_HELD = 64;

  /** Slack between the JVM's clock, at which a journal line is written, and the database's. */
  private static final long CLOCK_SLACK_MILLIS = 50;

  @Test
  void survivorsFinishTheRunOfAKilledWorker(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir)
      throws Exception {
    Databases db = Databases.postgres();
    List<ChildJvm> workers = new ArrayList<>();
    try {
      run(db, dir, workers);
    } finally {
      workers.forEach(ChildJvm::destroy);
      db.dropSchema();
    }
  }

  private static void run(Databases db, Path dir, List<ChildJvm> workers) throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    System.out.println("multi-worker: schema " + db.schema() + ", the workers' files in " + dir);
    for (int i = 1; i <= WORKERS; i++) {
      workers.add(
          ChildJvm.start(
              db, "w" + i, dir, RECORDS, LEASE_MILLIS, WORK_MICROS, QUEUE_CAPACITY, true, false));
    }
    Ledger.await(
        "the workers to build their stores",
        60_000,
        () -> {
          for (ChildJvm w : workers) {
            if (!w.isAlive()) {
              throw new AssertionError(w + " ended before the start; its log:\n" + w.logText());
            }
          }
          return workers.stream().allMatch(ChildJvm::ready);
        });
    for (ChildJvm w : workers) {
      w.go();
    }

    // the victim is the first worker to reach the kill point, while the run is still young: a
    // worker picked in advance may have been left few records by the others' ingest, and finish
    // its share before it ever holds enough
    long threshold = 30 + random.nextInt(170);
    int first = random.nextInt(WORKERS); // where each look for the victim starts
    ChildJvm[] picked = new ChildJvm[1];
    Ledger.await(
        "a worker to complete " + threshold + " records while it holds " + MIN_HELD + " more",
        120_000,
        () -> {
          // each journal read once per look
          List<List<Ledger.Entry>> journals = new ArrayList<>();
          long completed = 0;
          for (ChildJvm w : workers) {
            if (!w.isAlive()) {
              throw new AssertionError(w + " ended before the kill; its log:\n" + w.logText());
            }
            List<Ledger.Entry> journal = Ledger.journal(w);
            journals.add(journal);
            completed += Ledger.count(journal, 'D');
          }
          if (completed > RECORDS / 2) {
            throw new AssertionError(
                "no worker reached the kill point in the run's first half: " + completed);
          }
          for (int i = 0; i < WORKERS; i++) {
            int k = (first + i) % WORKERS;
            List<Ledger.Entry> journal = journals.get(k);
            if (Ledger.count(journal, 'D') >= threshold && Ledger.held(journal) >= MIN_HELD) {
              picked[0] = workers.get(k);
              return true;
            }
          }
          return false;
        });
    ChildJvm victim = picked[0];
    List<ChildJvm> survivors = workers.stream().filter(w -> w != victim).toList();
    long completedBeforeKill = Ledger.count(victim, 'D');
    long killedAt;
    Map<String, Instant> inFlight;
    long readAfter;
    try (Ledger.LeaseReader leases = new Ledger.LeaseReader(db)) {
      killedAt = System.currentTimeMillis();
      victim.kill();
      // its leases run for a lease duration less a heartbeat period at least: read them before
      inFlight = leases.leasedTo(victim.workerId);
      readAfter = System.currentTimeMillis() - killedAt;
    }
    for (ChildJvm s : survivors) {
      s.awaitCompleted(90, TimeUnit.SECONDS);
    }

    Ledger.Result result = Ledger.verify(db, RECORDS, workers, survivors);

    // deliveries: the survivors' sinks, and the victim's
    Map<String, Integer> victimSink = Ledger.sinkCounts(victim);
    Map<String, Integer> liveSinks = new HashMap<>();
    for (ChildJvm s : survivors) {
      Ledger.sinkCounts(s).forEach((id, n) -> liveSinks.merge(id, n, Integer::sum));
    }
    List<String> liveDuplicates = new ArrayList<>();
    liveSinks.forEach(
        (id, n) -> {
          if (n > 1) {
            liveDuplicates.add(id + " " + n + "x");
          }
        });
    List<String> victimDuplicates = new ArrayList<>();
    victimSink.forEach(
        (id, n) -> {
          if (n > 1) {
            victimDuplicates.add(id + " " + n + "x");
          }
        });
    TreeSet<String> redelivered = new TreeSet<>(victimSink.keySet());
    redelivered.retainAll(liveSinks.keySet());
    TreeSet<String> unbounded = new TreeSet<>(redelivered);
    unbounded.removeAll(inFlight.keySet());

    // take-over: who claimed the victim's records, and when
    Map<String, Ledger.Entry> takenOver = new HashMap<>();
    Map<String, Long> leased = new HashMap<>();
    Map<String, Long> claimed = new HashMap<>();
    for (ChildJvm s : survivors) {
      long leases = 0;
      long claims = 0;
      for (Ledger.Entry e : Ledger.journal(s)) {
        if (e.kind() == 'I' || e.kind() == 'C') {
          leases++;
        }
        if (e.kind() == 'C') {
          claims++;
          if (inFlight.containsKey(e.id())) {
            takenOver.putIfAbsent(e.id(), e);
          }
        }
      }
      leased.put(s.workerId, leases);
      claimed.put(s.workerId, claims);
    }
    Map<String, Ledger.Row> rows = Ledger.rows(db);
    List<String> notTakenOver = new ArrayList<>();
    List<String> takenEarly = new ArrayList<>();
    long completedByDeadVictim = 0;
    long firstTakeOver = Long.MAX_VALUE;
    for (Map.Entry<String, Instant> e : inFlight.entrySet()) {
      Ledger.Entry claim = takenOver.get(e.getKey());
      if (claim == null) {
        // a completion the victim sent just before the kill, committed by the server after it
        if (victim.workerId.equals(rows.get(e.getKey()).worker())) {
          completedByDeadVictim++;
        } else {
          notTakenOver.add(e.getKey());
        }
        continue;
      }
      firstTakeOver = Math.min(firstTakeOver, claim.millis() - killedAt);
      if (claim.millis() + CLOCK_SLACK_MILLIS < e.getValue().toEpochMilli()) {
        takenEarly.add(
            e.getKey()
                + " claimed at "
                + Instant.ofEpochMilli(claim.millis())
                + ", its lease ran to "
                + e.getValue());
      }
    }

    System.out.printf(
        "multi-worker (seed %d): %s killed after %d completions; it held %d records (read %d ms"
            + " after the kill), first taken over %d ms after the kill; %d re-delivered by a"
            + " survivor after the victim had delivered them; survivors leased %s, claimed %s;"
            + " %d completed by the victim's last statement after its death%n",
        seed,
        victim,
        completedBeforeKill,
        inFlight.size(),
        readAfter,
        firstTakeOver,
        redelivered.size(),
        leased,
        claimed,
        completedByDeadVictim);

    assertThat(liveDuplicates).as("records the survivors delivered twice").isEmpty();
    assertThat(victimDuplicates).as("records the victim delivered twice").isEmpty();
    assertThat(unbounded)
        .as("re-delivered records the victim did not hold when it died (it held %s)", inFlight)
        .isEmpty();
    assertThat(inFlight).as("records the victim held when it died").isNotEmpty();
    assertThat(notTakenOver).as("records of the victim no survivor took over").isEmpty();
    assertThat(takenEarly).as("records taken over before their lease expired").isEmpty();
    for (ChildJvm s : survivors) {
      assertThat(leased.get(s.workerId)).as("records %s leased", s).isPositive();
      assertThat(result.completedBy().get(s.workerId)).as("records %s completed", s).isPositive();
    }
  }
}
