package dev.pipeline.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.RecordStatus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Reads what the children left (sink files, journals, the store's tables) and checks the crash
 * guarantees.
 */
final class Ledger {
  private Ledger() {}

  /** Polls a condition every 20 ms until it holds or the deadline passes. */
  static void await(String what, long timeoutMillis, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeoutMillis + "ms waiting for " + what);
      }
      LockSupport.parkNanos(20_000_000);
    }
  }

  /** The complete lines of a file so far (a last, partly written line is left out). */
  static List<String> lines(Path file) {
    if (!Files.exists(file)) {
      return List.of();
    }
    try {
      String text = Files.readString(file, StandardCharsets.UTF_8);
      int end = text.lastIndexOf('\n');
      return end < 0 ? List.of() : List.of(text.substring(0, end).split("\n", -1));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Polls a condition every 100 ms until it holds; fails once {@code progress} has not grown for
   * {@code stallMillis}. What a child JVM gets done in a minute depends on the machine's load (at a
   * load of 35 on two cores it gets about a twentieth of a core), so a fixed deadline fails a child
   * that is slow; one that stops getting on is stuck whatever the load.
   */
  static void awaitProgress(
      String what, long stallMillis, LongSupplier progress, BooleanSupplier condition) {
    long last = progress.getAsLong();
    long stalledSince = System.nanoTime();
    while (!condition.getAsBoolean()) {
      long now = progress.getAsLong();
      if (now != last) {
        last = now;
        stalledSince = System.nanoTime();
      } else if (System.nanoTime() - stalledSince > stallMillis * 1_000_000) {
        throw new AssertionError(
            "no progress for " + stallMillis + " ms (at " + last + ") waiting for " + what);
      }
      LockSupport.parkNanos(100_000_000);
    }
  }

  /** Lines the sinks received so far. */
  static long sinkLines(Collection<ChildJvm> workers) {
    long lines = 0;
    for (ChildJvm w : workers) {
      lines += lines(w.sink).size();
    }
    return lines;
  }

  /** How often the sink of one worker received each record id. */
  static Map<String, Integer> sinkCounts(ChildJvm worker) {
    Map<String, Integer> counts = new HashMap<>();
    for (String line : lines(worker.sink)) {
      counts.merge(line.split("\t", -1)[0], 1, Integer::sum);
    }
    return counts;
  }

  /** One line of a worker's journal; see {@link JournalingStore}. */
  record Entry(char kind, String id, String status, long millis) {}

  static List<Entry> journal(ChildJvm worker) {
    List<Entry> entries = new ArrayList<>();
    for (String line : lines(worker.journal)) {
      String[] f = line.split(" ", -1);
      entries.add(new Entry(f[0].charAt(0), f[1], f[2], Long.parseLong(f[3])));
    }
    return entries;
  }

  /** How many journal entries of a kind a worker has written so far. */
  static long count(ChildJvm worker, char kind) {
    return count(journal(worker), kind);
  }

  /** How many entries of a kind a journal holds. */
  static long count(List<Entry> journal, char kind) {
    return journal.stream().filter(e -> e.kind() == kind).count();
  }

  /** Records a worker leased and has not completed (nor was refused), as far as it journaled. */
  static long held(ChildJvm worker) {
    return held(journal(worker));
  }

  /** Records a journal says were leased and not completed (nor refused). */
  static long held(List<Entry> journal) {
    java.util.Set<String> held = new java.util.HashSet<>();
    for (Entry e : journal) {
      switch (e.kind()) {
        case 'I', 'C' -> held.add(e.id());
        case 'D', 'F' -> held.remove(e.id());
        default -> {}
      }
    }
    return held.size();
  }

  /** A record's row in the store's status table. */
  record Row(
      String status,
      @Nullable String worker,
      @Nullable String leaseOwner,
      @Nullable Instant leaseExpires,
      int deliveries) {}

  /** Every status row of the crash pipeline, by record id. */
  static Map<String, Row> rows(Databases db) throws SQLException {
    Map<String, Row> rows = new LinkedHashMap<>();
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), "");
        PreparedStatement q =
            c.prepareStatement(
                // the schema name is generated from [a-z0-9_] only
                "SELECT record_id, status, worker_id, lease_owner, lease_expires_at, deliveries"
                    + " FROM "
                    + db.schema()
                    + ".crash_pipeline_status WHERE pipeline = ? ORDER BY record_id")) {
      q.setString(1, CrashPipeline.NAME);
      try (ResultSet rs = q.executeQuery()) {
        while (rs.next()) {
          Timestamp expires = rs.getTimestamp(5);
          rows.put(
              rs.getString(1),
              new Row(
                  rs.getString(2),
                  rs.getString(3),
                  rs.getString(4),
                  expires == null ? null : expires.toInstant(),
                  rs.getInt(6)));
        }
      }
    }
    return rows;
  }

  /**
   * With the full ledger: every record has its own row in the records table (not only in the view),
   * in the terminal state its number calls for, as many rows as records.
   */
  static void verifyFullRows(Databases db, int records) throws SQLException {
    Map<String, String> rows = new HashMap<>();
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), "");
        PreparedStatement q =
            c.prepareStatement(
                // the schema name is generated from [a-z0-9_] only
                "SELECT record_id, status FROM "
                    + db.schema()
                    + ".crash_pipeline_records WHERE pipeline = ?")) {
      q.setString(1, CrashPipeline.NAME);
      try (ResultSet rs = q.executeQuery()) {
        while (rs.next()) {
          rows.put(rs.getString(1), rs.getString(2));
        }
      }
    }
    List<String> wrong = new ArrayList<>();
    for (int n = 0; n < records; n++) {
      String id = CrashPipeline.id(n);
      String expected = CrashPipeline.expectedStatus(n).name();
      if (!expected.equals(rows.get(id))) {
        wrong.add(id + ": " + rows.get(id) + ", expected " + expected);
      }
    }
    assertThat(wrong).as("records without their full row in its terminal state").isEmpty();
    assertThat(rows).as("full rows, one per record").hasSize(records);
  }

  /**
   * Reads the leases a worker holds, as the database has them, with their expiry: a connection
   * opened beforehand, so that a read right after a kill is quick.
   */
  static final class LeaseReader implements AutoCloseable {
    private final Connection connection;
    private final PreparedStatement query;

    LeaseReader(Databases db) throws SQLException {
      connection = DriverManager.getConnection(db.url(), db.user(), "");
      query =
          connection.prepareStatement(
              // the schema name is generated from [a-z0-9_] only
              "SELECT record_id, lease_expires_at FROM "
                  + db.schema()
                  + ".crash_pipeline_status WHERE pipeline = ? AND lease_owner = ?"
                  + " AND status = 'IN_PROGRESS'");
    }

    Map<String, Instant> leasedTo(String workerId) throws SQLException {
      query.setString(1, CrashPipeline.NAME);
      query.setString(2, workerId);
      Map<String, Instant> leased = new LinkedHashMap<>();
      try (ResultSet rs = query.executeQuery()) {
        while (rs.next()) {
          leased.put(rs.getString(1), rs.getTimestamp(2).toInstant());
        }
      }
      return leased;
    }

    @Override
    public void close() throws SQLException {
      connection.close();
    }
  }

  /**
   * What {@link #verify} found besides the guarantees it asserts.
   *
   * @param redelivered records the sinks received more than once
   * @param sinkLines lines all sinks received
   * @param completedBy records each worker completed, by the store's {@code worker_id}
   */
  record Result(long redelivered, long sinkLines, Map<String, Long> completedBy) {}

  /**
   * Checks, after the workers are done (killed, or finished):
   *
   * <ul>
   *   <li>the store has exactly one row per record, in the terminal state its number calls for
   *       (none lost by the store, none wrongly terminated, none unexpected);
   *   <li>the sinks received each published record's final output (none lost), never a record that
   *       was not to be published or a wrong output (none unexpected), and never more often than
   *       the store's delivery ledger ({@code deliveries}) says;
   *   <li>no record was completed twice: the store accepted at most one completion of each record
   *       across all workers' journals, that completion is the one the row shows (same worker, same
   *       status), and a worker that finished journaled every completion the row credits it with.
   * </ul>
   */
  static Result verify(Databases db, int records, List<ChildJvm> workers, List<ChildJvm> finished)
      throws SQLException {
    Map<String, Integer> received = new HashMap<>();
    List<String> unexpected = new ArrayList<>();
    long sinkLines = 0;
    for (ChildJvm w : workers) {
      for (String line : lines(w.sink)) {
        sinkLines++;
        String[] f = line.split("\t", -1);
        int n = f.length == 3 ? parse(f[0]) : -1;
        if (n < 0
            || n >= records
            || CrashPipeline.expectedStatus(n) != RecordStatus.PUBLISHED
            || !CrashPipeline.expectedOutput(n).equals(f[1])) {
          unexpected.add(w + ": " + line);
          continue;
        }
        received.merge(f[0], 1, Integer::sum);
      }
    }

    Map<String, Row> rows = rows(db);
    List<String> wrongState = new ArrayList<>();
    List<String> lost = new ArrayList<>();
    List<String> overDelivered = new ArrayList<>();
    long redelivered = 0;
    for (int n = 0; n < records; n++) {
      String id = CrashPipeline.id(n);
      RecordStatus expected = CrashPipeline.expectedStatus(n);
      Row row = rows.get(id);
      if (row == null || !row.status().equals(expected.name())) {
        wrongState.add(
            id + ": " + (row == null ? "no row" : row.status()) + ", expected " + expected);
      }
      int times = received.getOrDefault(id, 0);
      if (expected == RecordStatus.PUBLISHED && times == 0) {
        lost.add(id);
      }
      int deliveries = row == null ? 0 : row.deliveries();
      if (times > deliveries) {
        overDelivered.add(id + ": sink got it " + times + "x, ledger says " + deliveries);
      }
      if (times > 1) {
        redelivered++;
      }
    }
    List<String> strangers = new ArrayList<>();
    for (String id : rows.keySet()) {
      int n = parse(id);
      if (n < 0 || n >= records) {
        strangers.add(id);
      }
    }

    // the completions ledger
    Map<String, List<String>> completions = new HashMap<>();
    List<String> misattributed = new ArrayList<>();
    for (ChildJvm w : workers) {
      for (Entry e : journal(w)) {
        if (e.kind() != 'D') {
          continue;
        }
        completions.computeIfAbsent(e.id(), k -> new ArrayList<>()).add(w.workerId);
        Row row = rows.get(e.id());
        if (row == null || !w.workerId.equals(row.worker()) || !e.status().equals(row.status())) {
          misattributed.add(
              e.id() + ": " + w + " completed it as " + e.status() + ", the store has " + row);
        }
      }
    }
    List<String> completedTwice = new ArrayList<>();
    completions.forEach(
        (id, by) -> {
          if (by.size() > 1) {
            completedTwice.add(id + " by " + by);
          }
        });
    List<String> workerIds = workers.stream().map(w -> w.workerId).toList();
    List<String> finishedIds = finished.stream().map(w -> w.workerId).toList();
    List<String> unjournaled = new ArrayList<>();
    Map<String, Long> completedBy = new LinkedHashMap<>();
    workerIds.forEach(w -> completedBy.put(w, 0L));
    rows.forEach(
        (id, row) -> {
          String by = row.worker();
          if (by == null || !workerIds.contains(by)) {
            misattributed.add(id + ": completed by unknown worker " + by);
            return;
          }
          completedBy.merge(by, 1L, Long::sum);
          if (finishedIds.contains(by) && !completions.getOrDefault(id, List.of()).contains(by)) {
            unjournaled.add(id + ": the store credits " + by + ", which did not journal it");
          }
        });

    System.out.printf(
        "%s: %d records, %d sink lines, %d re-delivered (all in the ledger), completed by %s%n",
        db.name(), records, sinkLines, redelivered, completedBy);
    assertThat(lost).as("published records the sinks never received").isEmpty();
    assertThat(unexpected).as("sink lines for records that were not to be published").isEmpty();
    assertThat(wrongState).as("records not in the terminal state they must end in").isEmpty();
    assertThat(strangers).as("rows of records that were never ingested").isEmpty();
    assertThat(rows).as("rows, one per record").hasSize(records);
    assertThat(overDelivered).as("deliveries the store's ledger did not record").isEmpty();
    assertThat(completedTwice).as("records whose completion the store accepted twice").isEmpty();
    assertThat(misattributed).as("completions the store's rows do not show").isEmpty();
    assertThat(unjournaled)
        .as("completions of finished workers missing from their journal")
        .isEmpty();
    return new Result(redelivered, sinkLines, completedBy);
  }

  private static int parse(String id) {
    try {
      return id.startsWith("rec-") ? CrashPipeline.numberOf(id) : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
