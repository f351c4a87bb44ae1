package dev.pipeline.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The CPU per record of the window in which every worker was busy, and the CPU the workers spent
 * once their own part was done, waiting for the others' last records (polls, heartbeats, their JVMs
 * running on).
 *
 * <p>Why: the whole run's CPU per record mixes the records' cost with its start (the first batches,
 * the last compilations) and its tail (a worker done early polls until the last record of every
 * worker is done); the two-size difference cancels both only if they are the same in both runs,
 * which one round on a loaded machine does not give. The window starts once every worker has done
 * {@value #WINDOW_FROM} of its part and ends once one has done {@value #WINDOW_TO}; its CPU is the
 * worker JVMs' and their backends', sampled every {@value #SAMPLE_MILLIS} ms from {@code /proc}.
 *
 * @param cpu CPU seconds per record in the window (worker JVMs and backends), NaN if there was no
 *     window
 * @param jvm the worker JVMs' part of it
 * @param server the backends' part of it
 * @param application the worker JVMs' application threads' part of it
 * @param compiler their compiler threads' part of it
 * @param collector their collector threads' part of it
 * @param records the records done in the window
 * @param waiting CPU seconds the worker JVMs spent after their own part was done, summed
 * @param waitingSeconds wall seconds the workers spent so, summed
 */
record Steady(
    double cpu,
    double jvm,
    double server,
    double application,
    double compiler,
    double collector,
    long records,
    double waiting,
    double waitingSeconds) {
  static final double WINDOW_FROM = 0.1;
  static final double WINDOW_TO = 0.9;
  static final long SAMPLE_MILLIS = 100;

  /** Samples the workers until every one has printed its outcome. */
  static Steady sample(
      int lines, List<Process> processes, List<DurableWorkersScenario.Watch> watches, String schema)
      throws Exception {
    int n = processes.size();
    long[] share = new long[n];
    for (int i = 0; i < n; i++) {
      share[i] = (lines - i + n - 1) / n; // the lines numbered i modulo n, from 0
    }
    List<ThreadCpu.Snapshot> from = null;
    long fromServer = 0;
    long fromDone = 0;
    ThreadCpu.Split window = null;
    long windowServer = 0;
    long windowRecords = 0;
    long[] finishedTicks = new long[n];
    long[] finishedNanos = new long[n];
    Arrays.fill(finishedTicks, -1);
    try (Connection c = DriverManager.getConnection(BenchDatabase.PG_URL);
        PreparedStatement backends =
            c.prepareStatement("SELECT pid FROM pg_stat_activity WHERE application_name = ?")) {
      backends.setString(1, schema);
      Map<Long, Long> server = new HashMap<>();
      List<Long> serverPids = pids(backends);
      long serverAsked = System.nanoTime();
      long[] ticks = new long[n];
      while (!watches.stream().allMatch(DurableWorkersScenario.Watch::isEnded)) {
        long now = System.nanoTime();
        if (now - serverAsked > TimeUnit.SECONDS.toNanos(1)) {
          serverPids = pids(backends);
          serverAsked = now;
        }
        long serverTicks = 0;
        for (long pid : serverPids) {
          long t = CpuMeter.processTicks(pid);
          // a backend seen later counts from zero; one gone keeps its last ticks
          server.merge(pid, Math.max(0, t), Math::max);
        }
        for (long t : server.values()) {
          serverTicks += t;
        }
        long done = 0;
        boolean allBusy = true;
        boolean oneNearlyDone = false;
        for (int i = 0; i < n; i++) {
          ticks[i] = Math.max(ticks[i], CpuMeter.processTicks(processes.get(i).pid()));
          long d = watches.get(i).done().get();
          done += d;
          allBusy &= d >= WINDOW_FROM * share[i];
          oneNearlyDone |= d >= WINDOW_TO * share[i];
          if (finishedTicks[i] < 0 && d >= share[i]) {
            finishedTicks[i] = ticks[i];
            finishedNanos[i] = now;
          }
        }
        if (from == null && allBusy && !oneNearlyDone) {
          from = snapshots(processes);
          fromServer = serverTicks;
          fromDone = done;
        }
        if (from != null && window == null && oneNearlyDone) {
          List<ThreadCpu.Snapshot> to = snapshots(processes);
          for (int i = 0; i < n; i++) {
            ThreadCpu.Split one = ThreadCpu.between(from.get(i), to.get(i));
            window = window == null ? one : window.plus(one);
          }
          windowServer = serverTicks - fromServer;
          windowRecords = done - fromDone;
        }
        Thread.sleep(SAMPLE_MILLIS);
      }
      long end = System.nanoTime();
      double waiting = 0;
      double waitingSeconds = 0;
      for (int i = 0; i < n; i++) {
        if (finishedTicks[i] >= 0) {
          long last = Math.max(ticks[i], CpuMeter.processTicks(processes.get(i).pid()));
          waiting += (last - finishedTicks[i]) / DurableWorkersScenario.TICKS;
          waitingSeconds += (end - finishedNanos[i]) / 1e9;
        }
      }
      if (window == null || windowRecords <= 0) {
        return new Steady(
            Double.NaN,
            Double.NaN,
            Double.NaN,
            Double.NaN,
            Double.NaN,
            Double.NaN,
            0,
            waiting,
            waitingSeconds);
      }
      double perLine = 1 / DurableWorkersScenario.TICKS / windowRecords;
      return new Steady(
          (window.process() + windowServer) * perLine,
          window.process() * perLine,
          windowServer * perLine,
          window.of(ThreadCpu.Kind.APPLICATION) * perLine,
          window.of(ThreadCpu.Kind.COMPILER) * perLine,
          window.of(ThreadCpu.Kind.COLLECTOR) * perLine,
          windowRecords,
          waiting,
          waitingSeconds);
    }
  }

  /**
   * The CPU per record of the window less the worker JVMs' compiler threads': a warm worker's.
   *
   * <p>Why: a worker's compilers are still at work long after its warm-up (C2 compiling the store's
   * per-batch methods, {@code BulkAppend.bindRows}, {@code BatchWrites.write}, {@code
   * SourceReader.read}, as they cross its thresholds one by one: 40–55 % of a worker's CPU in the
   * window after 50,000 warm-up lines, about 20 µs a line still after 200,000, falling as the lines
   * a JVM has run grow). That is each JVM's, not each record's: with two workers each JVM has run
   * half the lines of one alone at the same point of the run, so its window has more of it per
   * line, and the ratio of the whole window's CPU counts a younger JVM against an older one. Left
   * out, what remains is what a worker that has been running a while spends a record.
   */
  double warm() {
    return cpu - compiler;
  }

  /** A figure per record of two windows, weighted by their records; NaN if neither had any. */
  static double pooled(Steady a, Steady b, ToDoubleFunction<Steady> figure) {
    double sum = 0;
    long records = 0;
    for (Steady w : List.of(a, b)) {
      if (w.records() > 0) {
        sum += figure.applyAsDouble(w) * w.records();
        records += w.records();
      }
    }
    return records == 0 ? Double.NaN : sum / records;
  }

  private static List<ThreadCpu.Snapshot> snapshots(List<Process> processes) {
    return processes.stream().map(p -> ThreadCpu.of(p.pid())).toList();
  }

  private static List<Long> pids(PreparedStatement backends) throws SQLException {
    List<Long> pids = new ArrayList<>();
    try (ResultSet rs = backends.executeQuery()) {
      while (rs.next()) {
        pids.add(rs.getLong(1));
      }
    }
    return pids;
  }

  @Override
  public String toString() {
    return String.format(
        Locale.ROOT,
        "steady window %,d lines: %.1f µs CPU per line (worker JVMs %.1f: application %.1f, JIT"
            + " %.1f, GC %.1f; backends %.1f); after their part %.0f ms CPU in %.1f s, summed"
            + " over the workers",
        records,
        cpu * 1e6,
        jvm * 1e6,
        application * 1e6,
        compiler * 1e6,
        collector * 1e6,
        server * 1e6,
        waiting * 1e3,
        waitingSeconds);
  }
}
