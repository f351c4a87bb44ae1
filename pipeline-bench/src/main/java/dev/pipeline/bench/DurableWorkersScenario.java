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
 * Issue 3's third durable target: the example's pipeline in 1, 2 and 3 worker JVMs ({@link
 * DurableWorker}, this JVM's class path, 512 MB heap each) sharing one fresh PostgreSQL schema, all
 * reading the same {@link DurableScenario#records} lines. Throughput is the lines over the wall
 * time from the moment every worker is ready (JVM started, store built) until the last one has
 * finished. Each run is checked: every unique record in exactly one terminal state, and the
 * workers' completions adding up to the records (none completed twice).
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
    if (!BenchDatabase.postgresReachable(log)) {
      return List.of();
    }
    int lines = DurableScenario.records(settings);
    for (int w = 0; w < settings.warmups(); w++) {
      run(1, Math.max(1, lines / 5));
    }
    int rounds = settings.rounds();
    Map<Integer, double[]> rate = new HashMap<>();
    for (int n : WORKERS) {
      rate.put(n, new double[rounds]);
    }
    for (int r = 0; r < rounds; r++) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < WORKERS.size(); i++) {
        int n = WORKERS.get((i + r) % WORKERS.size());
        Result result = run(n, lines);
        rate.get(n)[r] = lines / (result.nanos() / 1e9);
        line.append(
            String.format(
                Locale.ROOT,
                "%n  %d worker%s: %,.0f lines/s, records per worker %s",
                n,
                n == 1 ? "" : "s",
                rate.get(n)[r],
                result.shares()));
      }
      log.printf("durable-workers round %d/%d:%s%n", r + 1, rounds, line);
    }
    List<Row> rows = new ArrayList<>();
    double[] one = rate.get(1);
    for (int n : WORKERS) {
      double[] ratio = new double[rounds];
      for (int r = 0; r < rounds; r++) {
        ratio[r] = rate.get(n)[r] / one[r];
      }
      Samples ratios = Samples.of(ratio);
      rows.add(
          new Row(
              "durable workers, PostgreSQL: "
                  + n
                  + " worker JVM"
                  + (n == 1 ? "" : "s")
                  + ", "
                  + Targets.count(lines)
                  + " lines, "
                  + Runtime.getRuntime().availableProcessors()
                  + " cores",
              Samples.of(rate.get(n)).format("%,.0f") + " lines/s",
              "1 worker " + Samples.of(one).format("%,.0f") + " lines/s",
              ratios.format("%.2f") + "×",
              "reported; ≥ 1 worker's",
              Verdict.of(ratios.median() >= 0.995)));
    }
    return rows;
  }

  /**
   * The wall time of one run, and how many records each worker completed.
   *
   * @param shares records completed by each worker
   */
  record Result(long nanos, List<Long> shares) {}

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
                      BenchDatabase.PG_URL,
                      schema,
                      Integer.toString(lines),
                      "bench-worker-" + (i + 1))
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
        long start = System.nanoTime();
        for (Process p : processes) {
          Writer go = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
          go.write("go\n");
          go.flush();
        }
        List<Long> shares = new ArrayList<>();
        long done = 0;
        long[] outcome = new long[3];
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
        }
        for (Process p : processes) {
          if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("a worker JVM failed: exit " + p.exitValue());
          }
        }
        long took = System.nanoTime() - start;
        db.check(done, outcome);
        return new Result(took, shares);
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
