package dev.pipeline.bench;

import dev.pipeline.jdbc.JdbcPipelineStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The third durable target: the example's pipeline in 1, 2 and 3 worker JVMs ({@link
 * DurableWorker}, this JVM's class path, 512 MB heap each) sharing one fresh PostgreSQL schema,
 * each reading its share of the {@link DurableScenario#records} lines (split by line number, as a
 * partitioned input would be, and generated before the timed run; earlier versions had every worker
 * read every line and race to ingest it, then generate every line and keep its share, which
 * multiplied that work by the workers). Throughput is the lines over the wall time from the moment
 * every worker is ready (JVM started, store built) until the last one has reported its run finished
 * (before it closes its store and exits). Each run is checked: every unique record in exactly one
 * terminal state, and the workers' completions adding up to the records (none completed twice).
 *
 * <p>Each worker count runs twice, over the lines and over twice as many, so that what a worker JVM
 * costs for being there (its compilers and collector running all along, its polls) is told apart
 * from what each more record costs: the target is the marginal CPU per line (worker JVMs and their
 * backends) of 2 and 3 workers at most 1.10× one worker's. The worker JVMs' CPU is also split by
 * kind of thread ({@link ThreadCpu}), and their CPU before the ready barrier reported apart.
 *
 * <p>The two-size difference assumes each run's start and tail cost the same at both sizes, which a
 * round on a loaded machine does not give (one round gave a negative fixed cost). So each run is
 * also measured over the window in which every worker is busy ({@link Steady}: the workers print
 * their progress, this JVM samples their CPU and their backends'), which leaves the start and the
 * tail out, and what a worker done with its part spends waiting for the others' last records is
 * reported apart. The workers' coordination round trips are counted by kind (claims, lease
 * renewals, releases, polls; {@link DurableWorker.Coordination}).
 *
 * <p>A throughput row fails if more workers make less throughput than one. The worker counts rotate
 * their order from round to round.
 *
 * <p>With {@code -Dbench.workers.pinned=true}, each worker JVM gets a core of its own: it is
 * started under {@code taskset} on core {@code i mod cores} with {@code
 * -XX:ActiveProcessorCount=1}, and only as many workers run as there are cores (1 and 2 on a 2-core
 * machine). That is the configuration the per-record target assumes (N workers on N cores);
 * unpinned, N worker JVMs on fewer cores each run longer and pay their compilers and collector for
 * longer per record.
 */
final class DurableWorkersScenario implements Scenario {
  static final List<Integer> WORKERS = List.of(1, 2, 3);

  /** The property that gives each worker JVM a core of its own. */
  static final String PINNED = "bench.workers.pinned";

  private final boolean pinned = Boolean.getBoolean(PINNED);
  private final int cores = Runtime.getRuntime().availableProcessors();

  /** The worker counts run: 1 to 3, or, pinned, no more than there are cores. */
  private List<Integer> counts() {
    return pinned ? WORKERS.stream().filter(w -> w <= Math.max(1, cores)).toList() : WORKERS;
  }

  private static final long TIMEOUT_MINUTES = 30;

  @Override
  public String name() {
    return "durable-workers";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    if (!settings.databases().contains(BenchDatabase.Kind.POSTGRES)
        || !BenchDatabase.postgresReachable(log)) {
      return List.of();
    }
    int lines = DurableScenario.records(settings);
    List<Integer> counts = counts();
    for (int w = 0; w < settings.warmups(); w++) {
      run(1, Math.max(1, lines / 5));
    }
    int n = counts.size();
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    while (rounds.more()) {
      StringBuilder line = new StringBuilder();
      double[] values = new double[Figure.values().length * n];
      boolean disturbed = false;
      for (int i = 0; i < n; i++) {
        int k = (i + rounds.attempts()) % n;
        int workers = counts.get(k);
        // the two sizes in turn, the longer first every other round
        boolean longFirst = (rounds.attempts() + i) % 2 == 1;
        Result first = run(workers, longFirst ? 2 * lines : lines);
        Result second = run(workers, longFirst ? lines : 2 * lines);
        Result shorter = longFirst ? second : first;
        Result longer = longFirst ? first : second;
        disturbed |= shorter.cpu().disturbed() || longer.cpu().disturbed();
        Marginal m = Marginal.of(shorter, longer);
        double rate = lines / (shorter.nanos() / 1e9);
        Figure.RATE.set(values, n, k, rate);
        Figure.TRIPS.set(values, n, k, shorter.roundTrips() / (double) lines);
        Figure.STATEMENTS.set(values, n, k, m.statements());
        Figure.CPU.set(values, n, k, shorter.cpuSeconds() / lines * 1e6);
        Figure.MARGINAL.set(values, n, k, m.cpu() * 1e6);
        Figure.MARGINAL_JVM.set(values, n, k, m.jvm() * 1e6);
        Figure.MARGINAL_SERVER.set(values, n, k, m.server() * 1e6);
        Figure.FIXED.set(values, n, k, m.fixedPerWorker(shorter) * 1e3);
        Figure.BEFORE_READY.set(values, n, k, longer.beforeReadySeconds() / workers);
        // the two runs' windows pooled: the records' CPU while every worker is busy
        Steady a = shorter.steady();
        Steady b = longer.steady();
        Figure.STEADY.set(values, n, k, Steady.pooled(a, b, Steady::cpu) * 1e6);
        Figure.STEADY_JVM.set(values, n, k, Steady.pooled(a, b, Steady::jvm) * 1e6);
        Figure.STEADY_SERVER.set(values, n, k, Steady.pooled(a, b, Steady::server) * 1e6);
        Figure.STEADY_JIT.set(values, n, k, Steady.pooled(a, b, Steady::compiler) * 1e6);
        Figure.STEADY_WARM.set(values, n, k, Steady.pooled(a, b, Steady::warm) * 1e6);
        Figure.WAITING.set(values, n, k, (a.waiting() + b.waiting()) / 2 / workers * 1e3);
        for (DurableWorker.Coordination kind : DurableWorker.Coordination.values()) {
          Figure.valueOf(kind.name())
              .set(
                  values,
                  n,
                  k,
                  (shorter.coordinationKinds()[kind.ordinal()]
                          + longer.coordinationKinds()[kind.ordinal()])
                      / (3.0 * lines));
        }
        for (Result r : List.of(shorter, longer)) {
          line.append(
              String.format(Locale.ROOT, "%n  %d worker%s, %s", workers, plural(workers), r));
        }
        line.append(
            String.format(
                Locale.ROOT,
                "%n  %d worker%s, marginal per line: %.1f µs CPU (worker JVMs %.1f, backends %.1f),"
                    + " %.4f statements; fixed in the window %.0f ms CPU per worker",
                workers,
                plural(workers),
                m.cpu() * 1e6,
                m.jvm() * 1e6,
                m.server() * 1e6,
                m.statements(),
                m.fixedPerWorker(shorter) * 1e3));
      }
      int one = counts.indexOf(1);
      for (int k = 0; k < n; k++) {
        Figure.RATIO.set(
            values, n, k, Figure.RATE.get(values, n, k) / Figure.RATE.get(values, n, one));
        Figure.MARGINAL_RATIO.set(
            values, n, k, Figure.MARGINAL.get(values, n, k) / Figure.MARGINAL.get(values, n, one));
        Figure.STEADY_RATIO.set(
            values, n, k, Figure.STEADY.get(values, n, k) / Figure.STEADY.get(values, n, one));
        Figure.STEADY_WARM_RATIO.set(
            values,
            n,
            k,
            Figure.STEADY_WARM.get(values, n, k) / Figure.STEADY_WARM.get(values, n, one));
      }
      String label = rounds.label();
      String note = rounds.add(disturbed, values);
      log.printf("durable-workers round %s:%s%s%n", label, line, note);
    }
    List<Row> rows = new ArrayList<>();
    int one = counts.indexOf(1);
    Samples oneRate = rounds.samples(Figure.RATE.index(n, one));
    Samples oneMarginal = rounds.samples(Figure.MARGINAL.index(n, one));
    for (int k = 0; k < n; k++) {
      int workers = counts.get(k);
      String who = "durable workers, PostgreSQL: " + workers + " worker JVM" + plural(workers);
      String cores =
          ", "
              + this.cores
              + " cores"
              + (pinned ? ", each worker JVM pinned to a core of its own" : "");
      Samples ratios = rounds.samples(Figure.RATIO.index(n, k));
      rows.add(
          new Row(
              who + ", " + Targets.count(lines) + " lines" + cores,
              String.join(
                  ", ",
                  Figure.RATE.format(rounds, n, k, "%,.0f") + " lines/s",
                  Figure.CPU.format(rounds, n, k, "%.1f") + " µs CPU/line",
                  Figure.TRIPS.format(rounds, n, k, "%.4f") + " round trips/line"),
              "1 worker " + oneRate.format("%,.0f") + " lines/s",
              ratios.format("%.2f") + "×" + rounds.note(),
              goal(workers, "reported; ≥ 1 worker's"),
              verdict(workers, ratios.median() >= 0.995)));
      Samples marginalRatios = rounds.samples(Figure.MARGINAL_RATIO.index(n, k));
      rows.add(
          new Row(
              who
                  + ", marginal CPU per line from "
                  + Targets.count(lines)
                  + " to "
                  + Targets.count(2L * lines)
                  + " lines (worker JVMs + backends)"
                  + cores,
              String.format(
                  Locale.ROOT,
                  "%s, %s statements/line; fixed %s ms CPU per worker in the run, %s s before it",
                  cpuSplit(
                      rounds, n, k, Figure.MARGINAL, Figure.MARGINAL_JVM, Figure.MARGINAL_SERVER),
                  Figure.STATEMENTS.format(rounds, n, k, "%.4f"),
                  Figure.FIXED.format(rounds, n, k, "%,.0f"),
                  Figure.BEFORE_READY.format(rounds, n, k, "%.1f")),
              "1 worker " + oneMarginal.format("%.1f") + " µs/line",
              marginalRatios.format("%.3f") + "×" + rounds.note(),
              goal(workers, "≤ 1.10× 1 worker's"),
              verdict(workers, marginalRatios.median() <= 1.10)));
      Samples steadyRatios = rounds.samples(Figure.STEADY_RATIO.index(n, k));
      rows.add(
          new Row(
              who
                  + ", CPU per line while every worker is busy (worker JVMs + backends; the"
                  + " window from "
                  + Math.round(Steady.WINDOW_FROM * 100)
                  + " % of each worker's part to "
                  + Math.round(Steady.WINDOW_TO * 100)
                  + " % of the first's)"
                  + cores,
              String.format(
                  Locale.ROOT,
                  "%s, of which compiler threads %s µs/line; coordination per line: claims %s,"
                      + " renewals %s, releases %s, polls %s; a worker done with its part waits"
                      + " with %s ms CPU",
                  cpuSplit(rounds, n, k, Figure.STEADY, Figure.STEADY_JVM, Figure.STEADY_SERVER),
                  Figure.STEADY_JIT.format(rounds, n, k, "%.1f"),
                  Figure.CLAIM.format(rounds, n, k, "%.5f"),
                  Figure.RENEWAL.format(rounds, n, k, "%.5f"),
                  Figure.RELEASE.format(rounds, n, k, "%.5f"),
                  Figure.POLL.format(rounds, n, k, "%.5f"),
                  Figure.WAITING.format(rounds, n, k, "%,.0f")),
              "1 worker " + rounds.samples(Figure.STEADY.index(n, one)).format("%.1f") + " µs/line",
              steadyRatios.format("%.3f") + "×" + rounds.note(),
              goal(workers, "≤ 1.10× 1 worker's"),
              verdict(workers, steadyRatios.median() <= 1.10)));
      Samples warmRatios = rounds.samples(Figure.STEADY_WARM_RATIO.index(n, k));
      rows.add(
          new Row(
              who
                  + ", CPU per line while every worker is busy, its JVMs' compiler threads left"
                  + " out (a worker that has run long enough to have compiled its code; the JIT"
                  + " still at work after the warm-up is each JVM's, and a JVM of two workers has"
                  + " run half the lines of one alone)"
                  + cores,
              Figure.STEADY_WARM.format(rounds, n, k, "%.1f") + " µs/line",
              "1 worker "
                  + rounds.samples(Figure.STEADY_WARM.index(n, one)).format("%.1f")
                  + " µs/line",
              warmRatios.format("%.3f") + "×" + rounds.note(),
              goal(workers, "≤ 1.10× 1 worker's"),
              verdict(workers, warmRatios.median() <= 1.10)));
    }
    return rows;
  }

  /** "84.0 (80.1–90.2) µs/line (JVMs …, backends …)": a CPU figure per line and its two parts. */
  private static String cpuSplit(
      Rounds rounds, int n, int k, Figure all, Figure jvm, Figure server) {
    return String.format(
        Locale.ROOT,
        "%s µs/line (JVMs %s, backends %s)",
        all.format(rounds, n, k, "%.1f"),
        jvm.format(rounds, n, k, "%.1f"),
        server.format(rounds, n, k, "%.1f"));
  }

  private static String plural(int workers) {
    return workers == 1 ? "" : "s";
  }

  /** The figures of one worker count in a round, each at {@code ordinal * counts + count}. */
  private enum Figure {
    RATE,
    RATIO,
    TRIPS,
    STATEMENTS,
    CPU,
    MARGINAL,
    MARGINAL_JVM,
    MARGINAL_SERVER,
    MARGINAL_RATIO,
    FIXED,
    BEFORE_READY,
    STEADY,
    STEADY_JVM,
    STEADY_SERVER,
    STEADY_RATIO,
    STEADY_JIT,
    STEADY_WARM,
    STEADY_WARM_RATIO,
    WAITING,
    // coordination round trips per line, by DurableWorker.Coordination kind, both runs pooled
    CLAIM,
    RENEWAL,
    RELEASE,
    POLL;

    int index(int counts, int k) {
      return ordinal() * counts + k;
    }

    void set(double[] values, int counts, int k, double value) {
      values[index(counts, k)] = value;
    }

    double get(double[] values, int counts, int k) {
      return values[index(counts, k)];
    }

    /** The rounds' median and range of this figure for one worker count. */
    String format(Rounds rounds, int counts, int k, String number) {
      return rounds.samples(index(counts, k)).format(number);
    }
  }

  /**
   * The cost of the records the longer of two runs with the same workers had beyond the shorter's,
   * per record: what each more record costs once the JVMs are running, whatever each JVM costs in
   * the measured window for being there (its collector's and compilers' work, its idle threads, the
   * wait for the last records). CPU in seconds and statements per record.
   */
  private record Marginal(double cpu, double jvm, double server, double statements) {
    static Marginal of(Result shorter, Result longer) {
      long lines = longer.lines() - shorter.lines();
      return new Marginal(
          (longer.cpuSeconds() - shorter.cpuSeconds()) / lines,
          (longer.workerTicks().process() - shorter.workerTicks().process()) / TICKS / lines,
          (longer.backendTicks() - shorter.backendTicks()) / TICKS / lines,
          (longer.statements() - shorter.statements()) / (double) lines);
    }

    /** The run's CPU beyond its records' marginal cost, per worker JVM, in seconds. */
    double fixedPerWorker(Result run) {
      return (run.cpuSeconds() - cpu * run.lines()) / run.shares().size();
    }
  }

  static final double TICKS = 100; // USER_HZ on Linux

  /**
   * The wall time of one run, and how many records each worker completed.
   *
   * @param lines the lines the workers shared
   * @param shares records completed by each worker
   * @param cpu cores used meanwhile, the worker JVMs and their PostgreSQL backends counting as ours
   * @param workerTicks the worker JVMs' CPU ticks during the run, by kind of thread, summed
   * @param backendTicks the CPU ticks of the PostgreSQL backends serving the workers' stores
   * @param beforeReadyTicks the worker JVMs' CPU ticks before they were ready (the JVM's start, the
   *     warm-up run, the store's build), summed
   * @param roundTrips the workers' round trips to the database during their runs, summed
   * @param statements those of them that ran a statement (not a commit or rollback)
   * @param coordinationTrips those of them that coordinate the workers: claims, lease renewals and
   *     releases, looks at others' leases, polls for work left (see {@link
   *     DurableWorker#coordinates})
   * @param coordinationNanos the wall time the workers spent in those, summed
   * @param coordinationKinds those round trips by {@link DurableWorker.Coordination} kind, summed
   * @param steady the CPU of the window in which every worker was busy, and of the tail
   */
  record Result(
      int lines,
      long nanos,
      List<Long> shares,
      CpuMeter.Usage cpu,
      ThreadCpu.Split workerTicks,
      long backendTicks,
      long beforeReadyTicks,
      long roundTrips,
      long statements,
      long coordinationTrips,
      long coordinationNanos,
      long[] coordinationKinds,
      Steady steady) {

    /** The CPU seconds of the run: the worker JVMs, their backends and this JVM. */
    double cpuSeconds() {
      return cpu.ours() * nanos / 1e9;
    }

    double beforeReadySeconds() {
      return beforeReadyTicks / TICKS;
    }

    @Override
    public String toString() {
      double rate = lines / (nanos / 1e9);
      double perLine = 1e6 / TICKS / lines;
      return String.format(
          Locale.ROOT,
          "%,d lines: %,.0f lines/s, %.1f µs CPU per line (worker JVMs %.1f: application %.1f,"
              + " JIT %.1f, GC %.1f, VM %.1f, ended threads %.1f; backends %.1f), records per"
              + " worker %s, %.4f round trips per line (statements %.4f), of which coordination"
              + " %.4f (%.1f µs wall per line; %s), %.1f s CPU per worker before ready, %s; %s",
          lines,
          rate,
          cpuSeconds() / lines * 1e6,
          workerTicks.process() * perLine,
          workerTicks.of(ThreadCpu.Kind.APPLICATION) * perLine,
          workerTicks.of(ThreadCpu.Kind.COMPILER) * perLine,
          workerTicks.of(ThreadCpu.Kind.COLLECTOR) * perLine,
          workerTicks.of(ThreadCpu.Kind.VM) * perLine,
          workerTicks.lost() * perLine,
          backendTicks * perLine,
          shares,
          roundTrips / (double) lines,
          statements / (double) lines,
          coordinationTrips / (double) lines,
          coordinationNanos / 1e3 / lines,
          DurableWorker.Coordination.perLine(coordinationKinds, lines),
          beforeReadySeconds() / shares.size(),
          cpu,
          steady);
    }
  }

  private Result run(int workers, int lines) throws Exception {
    String schema = BenchDatabase.freshSchema();
    try (SharedSchema db = SharedSchema.create(schema)) {
      List<Process> processes = new ArrayList<>();
      List<BufferedReader> outputs = new ArrayList<>();
      try {
        for (int i = 0; i < workers; i++) {
          List<String> command = new ArrayList<>();
          if (pinned) {
            command.addAll(List.of("taskset", "-c", Integer.toString(i % cores)));
          }
          command.addAll(List.of(Targets.javaCommand(), "-Xms512m", "-Xmx512m"));
          if (pinned) {
            command.add("-XX:ActiveProcessorCount=1");
          }
          if (Boolean.getBoolean(DurableWorker.BREAKDOWN)) {
            command.add("-D" + DurableWorker.BREAKDOWN + "=true");
          }
          String warmUp = System.getProperty(DurableWorker.WARM_UP);
          if (warmUp != null) {
            command.add("-D" + DurableWorker.WARM_UP + "=" + warmUp);
          }
          command.addAll(
              List.of(
                  "-cp",
                  System.getProperty("java.class.path"),
                  DurableWorker.class.getName(),
                  BenchDatabase.tagged(schema),
                  schema,
                  Integer.toString(lines),
                  "bench-worker-" + (i + 1),
                  Integer.toString(i),
                  Integer.toString(workers)));
          Process p =
              new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
          processes.add(p);
          outputs.add(
              new BufferedReader(
                  new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
        }
        for (BufferedReader out : outputs) {
          expect(out, DurableWorker.READY);
        }
        Scenario.settle();
        List<ThreadCpu.Snapshot> ready = new ArrayList<>();
        long beforeReady = 0;
        for (Process p : processes) {
          ThreadCpu.Snapshot s = ThreadCpu.of(p.pid());
          ready.add(s);
          beforeReady += s.process();
        }
        Map<Long, Long> backendsAtStart = ticks(BenchDatabase.backends(schema));
        CpuMeter cpu =
            CpuMeter.start(
                () -> {
                  List<Long> pids = new ArrayList<>(BenchDatabase.backends(schema));
                  processes.forEach(p -> pids.add(p.pid()));
                  return pids;
                });
        long start = System.nanoTime();
        List<Writer> inputs = new ArrayList<>();
        for (Process p : processes) {
          Writer go = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
          go.write("go\n");
          go.flush();
          inputs.add(go);
        }
        List<Watch> watches = new ArrayList<>();
        for (int i = 0; i < workers; i++) {
          watches.add(Watch.start(outputs.get(i)));
        }
        Steady steady = Steady.sample(lines, processes, watches, schema);
        List<Long> shares = new ArrayList<>();
        long done = 0;
        long[] outcome = new long[3];
        long trips = 0;
        long statements = 0;
        long coordinationTrips = 0;
        long coordinationNanos = 0;
        long[] coordinationKinds = new long[DurableWorker.Coordination.values().length];
        for (int i = 0; i < workers; i++) {
          String[] f = watches.get(i).outcome().split(" ");
          long published = Long.parseLong(f[1]);
          long filtered = Long.parseLong(f[2]);
          long dead = Long.parseLong(f[3]);
          shares.add(published + filtered + dead);
          done += published + filtered + dead;
          outcome[0] += published;
          outcome[1] += filtered;
          outcome[2] += dead;
          trips += Long.parseLong(f[6]);
          coordinationTrips += Long.parseLong(f[7]);
          coordinationNanos += Long.parseLong(f[8]);
          statements += Long.parseLong(f[9]);
          for (int k = 0; k < coordinationKinds.length; k++) {
            coordinationKinds[k] += Long.parseLong(f[10 + k]);
          }
        }
        // every worker's run ends when no record is left unfinished, so at about the same time;
        // the workers wait to be told to exit, so that their CPU time can still be read
        long took = System.nanoTime() - start;
        List<Long> backendPids = BenchDatabase.backends(schema);
        CpuMeter.Usage used = cpu.stop();
        long backendTicks = 0;
        for (Map.Entry<Long, Long> b : ticks(backendPids).entrySet()) {
          backendTicks += b.getValue() - backendsAtStart.getOrDefault(b.getKey(), 0L);
        }
        ThreadCpu.Split window = null;
        for (int i = 0; i < workers; i++) {
          ThreadCpu.Split one =
              ThreadCpu.between(ready.get(i), ThreadCpu.of(processes.get(i).pid()));
          window = window == null ? one : window.plus(one);
        }
        for (Writer exit : inputs) {
          exit.write("exit\n");
          exit.flush();
        }
        for (Process p : processes) {
          if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("a worker JVM failed: exit " + p.exitValue());
          }
        }
        db.check(done, outcome);
        return new Result(
            lines,
            took,
            shares,
            used,
            window,
            backendTicks,
            beforeReady,
            trips,
            statements,
            coordinationTrips,
            coordinationNanos,
            coordinationKinds,
            steady);
      } finally {
        for (Process p : processes) {
          p.destroyForcibly();
        }
      }
    }
  }

  /**
   * A worker's output read as it comes, on a thread of its own: the records it has done so far
   * ({@link DurableWorker#PROGRESS}), then its outcome ({@link DurableWorker#DONE}).
   */
  record Watch(AtomicLong done, CompletableFuture<String> ended) {
    static Watch start(BufferedReader out) {
      Watch watch = new Watch(new AtomicLong(), new CompletableFuture<>());
      Thread.ofVirtual()
          .start(
              () -> {
                try {
                  String line;
                  while ((line = out.readLine()) != null) {
                    if (line.startsWith(DurableWorker.PROGRESS + " ")) {
                      watch.done.set(Long.parseLong(line.substring(line.indexOf(' ') + 1)));
                    } else if (line.startsWith(DurableWorker.DONE)) {
                      watch.ended.complete(line);
                      return;
                    }
                  }
                  watch.ended.completeExceptionally(
                      new IllegalStateException(
                          "a worker JVM ended before it printed " + DurableWorker.DONE));
                } catch (IOException | RuntimeException e) {
                  watch.ended.completeExceptionally(e);
                }
              });
      return watch;
    }

    boolean isEnded() {
      return ended.isDone();
    }

    /** The worker's {@link DurableWorker#DONE} line, once it has printed it. */
    String outcome() throws Exception {
      return ended.get(TIMEOUT_MINUTES, TimeUnit.MINUTES);
    }
  }

  /** The CPU ticks of each process that can be read. */
  static Map<Long, Long> ticks(List<Long> pids) {
    Map<Long, Long> ticks = new HashMap<>();
    for (long pid : pids) {
      long t = CpuMeter.processTicks(pid);
      if (t >= 0) {
        ticks.put(pid, t);
      }
    }
    return ticks;
  }

  /** Reads the worker's output up to a line starting with the word; returns that line. */
  private static String expect(BufferedReader out, String word) throws IOException {
    String line;
    while ((line = out.readLine()) != null) {
      if (line.startsWith(word)) {
        return line;
      }
    }
    throw new IllegalStateException("a worker JVM ended before it printed " + word);
  }

  /** The schema the workers share: made before they start, dropped after. */
  private record SharedSchema(String name) implements AutoCloseable {

    static SharedSchema create(String name) {
      JdbcPipelineStore.builder()
          .jdbcUrl(BenchDatabase.PG_URL, null, null)
          .schema(name)
          .build()
          .close();
      return new SharedSchema(name);
    }

    /**
     * Checks that each record is in exactly one terminal state, as the workers reported.
     *
     * @param outcome published, filtered and dead-lettered records, summed over the workers
     */
    void check(long done, long[] outcome) throws SQLException {
      BenchDatabase.checkEnded(name, outcome, "the workers completed " + done + " records");
    }

    @Override
    public void close() throws SQLException {
      try (Connection c = DriverManager.getConnection(BenchDatabase.PG_URL);
          Statement s = c.createStatement()) {
        s.execute("DROP SCHEMA IF EXISTS " + name + " CASCADE");
      }
    }
  }

  /**
   * A row's verdict: the one worker's rows are the baseline, a ratio to themselves, so they are
   * reported rather than passed.
   */
  private static Verdict verdict(int workers, boolean met) {
    return workers == 1 ? Verdict.REPORTED : Verdict.of(met);
  }

  /** A row's goal, which the one worker's rows, the baseline, do not have. */
  private static String goal(int workers, String goal) {
    return workers == 1 ? "reported" : goal;
  }
}
