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
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

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
 * <p>The target only asks for the figures; a row fails if more workers make less throughput than
 * one. The worker counts rotate their order from round to round.
 */
final class DurableWorkersScenario implements Scenario {
  static final List<Integer> WORKERS = List.of(1, 2, 3);
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
    for (int w = 0; w < settings.warmups(); w++) {
      run(1, Math.max(1, lines / 5));
    }
    // each round's values: the rate of each worker count, its ratio to one worker's, and the
    // round trips per line of all its workers together
    int n = WORKERS.size();
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    while (rounds.more()) {
      StringBuilder line = new StringBuilder();
      double[] values = new double[3 * n];
      boolean disturbed = false;
      for (int i = 0; i < n; i++) {
        int k = (i + rounds.attempts()) % n;
        int workers = WORKERS.get(k);
        Result result = run(workers, lines);
        values[k] = lines / (result.nanos() / 1e9);
        disturbed |= result.cpu().disturbed();
        line.append(
            String.format(
                Locale.ROOT,
                "%n  %d worker%s: %,.0f lines/s, %.1f µs CPU per line, records per worker %s,"
                    + " %.4f round trips per line, of which coordination %.4f (%.1f µs wall per"
                    + " line), %s",
                workers,
                workers == 1 ? "" : "s",
                values[k],
                result.cpu().ours() / values[k] * 1e6,
                result.shares(),
                result.roundTrips() / (double) lines,
                result.coordinationTrips() / (double) lines,
                result.coordinationNanos() / 1e3 / lines,
                result.cpu()));
        values[2 * n + k] = result.roundTrips() / (double) lines;
      }
      int one = WORKERS.indexOf(1);
      for (int k = 0; k < n; k++) {
        values[n + k] = values[k] / values[one];
      }
      String label = rounds.label();
      String note = rounds.add(disturbed, values);
      log.printf("durable-workers round %s:%s%s%n", label, line, note);
    }
    List<Row> rows = new ArrayList<>();
    Samples one = rounds.samples(WORKERS.indexOf(1));
    for (int k = 0; k < n; k++) {
      int workers = WORKERS.get(k);
      Samples ratios = rounds.samples(n + k);
      Samples trips = rounds.samples(2 * n + k);
      rows.add(
          new Row(
              "durable workers, PostgreSQL: "
                  + workers
                  + " worker JVM"
                  + (workers == 1 ? "" : "s")
                  + ", "
                  + Targets.count(lines)
                  + " lines, "
                  + Runtime.getRuntime().availableProcessors()
                  + " cores",
              rounds.samples(k).format("%,.0f")
                  + " lines/s, "
                  + trips.format("%.4f")
                  + " round trips/line",
              "1 worker " + one.format("%,.0f") + " lines/s",
              ratios.format("%.2f") + "×" + rounds.note(),
              "reported; ≥ 1 worker's",
              Verdict.of(ratios.median() >= 0.995)));
    }
    return rows;
  }

  /**
   * The wall time of one run, and how many records each worker completed.
   *
   * @param shares records completed by each worker
   * @param cpu cores used meanwhile, the worker JVMs and their PostgreSQL backends counting as ours
   * @param roundTrips the workers' round trips to the database during their runs, summed
   * @param coordinationTrips those of them that coordinate the workers: claims, lease renewals and
   *     releases, looks at others' leases, polls for work left (see {@link
   *     DurableWorker#coordinates})
   * @param coordinationNanos the wall time the workers spent in those, summed
   */
  record Result(
      long nanos,
      List<Long> shares,
      CpuMeter.Usage cpu,
      long roundTrips,
      long coordinationTrips,
      long coordinationNanos) {}

  private static Result run(int workers, int lines) throws Exception {
    String schema = BenchDatabase.freshSchema();
    try (SharedSchema db = SharedSchema.create(schema)) {
      List<Process> processes = new ArrayList<>();
      List<BufferedReader> outputs = new ArrayList<>();
      try {
        for (int i = 0; i < workers; i++) {
          Process p =
              new ProcessBuilder(
                      Targets.javaCommand(),
                      "-Xms512m",
                      "-Xmx512m",
                      "-cp",
                      System.getProperty("java.class.path"),
                      DurableWorker.class.getName(),
                      BenchDatabase.tagged(schema),
                      schema,
                      Integer.toString(lines),
                      "bench-worker-" + (i + 1),
                      Integer.toString(i),
                      Integer.toString(workers))
                  .redirectError(ProcessBuilder.Redirect.INHERIT)
                  .start();
          processes.add(p);
          outputs.add(
              new BufferedReader(
                  new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
        }
        for (BufferedReader out : outputs) {
          expect(out, DurableWorker.READY);
        }
        Scenario.settle();
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
        List<Long> shares = new ArrayList<>();
        long done = 0;
        long[] outcome = new long[3];
        long trips = 0;
        long coordinationTrips = 0;
        long coordinationNanos = 0;
        for (int i = 0; i < workers; i++) {
          String[] f = expect(outputs.get(i), DurableWorker.DONE).split(" ");
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
        }
        // every worker's run ends when no record is left unfinished, so at about the same time;
        // the workers wait to be told to exit, so that their CPU time can still be read
        long took = System.nanoTime() - start;
        CpuMeter.Usage used = cpu.stop();
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
        return new Result(took, shares, used, trips, coordinationTrips, coordinationNanos);
      } finally {
        for (Process p : processes) {
          p.destroyForcibly();
        }
      }
    }
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
      Map<String, Long> counts = new HashMap<>();
      try (Connection c = DriverManager.getConnection(BenchDatabase.PG_URL);
          Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT status, COUNT(*) FROM "
                      + name
                      + "."
                      + BenchDatabase.PIPELINE_TABLE
                      + " GROUP BY status")) {
        while (rs.next()) {
          counts.put(rs.getString(1), rs.getLong(2));
        }
      }
      Map<String, Long> expected = new HashMap<>();
      expected.put("PUBLISHED", outcome[0]);
      expected.put("FILTERED", outcome[1]);
      expected.put("DEAD_LETTER", outcome[2]);
      expected.values().removeIf(v -> v == 0);
      if (!counts.equals(expected)) {
        throw new IllegalStateException(
            "the workers completed "
                + done
                + " records ("
                + expected
                + "), but the store holds "
                + counts);
      }
    }

    @Override
    public void close() throws SQLException {
      try (Connection c = DriverManager.getConnection(BenchDatabase.PG_URL);
          Statement s = c.createStatement()) {
        s.execute("DROP SCHEMA IF EXISTS " + name + " CASCADE");
      }
    }
  }
}
