package dev.pipeline.bench;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.examples.app.ScrapedLine;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.ListingIndex;
import dev.pipeline.jdbc.JdbcPipelineStore;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The workers target where this machine can measure it: 1, 2 and 3 workers in one JVM, each a
 * {@link JdbcPipelineStore} of its own (its worker id, heartbeat, leases, claimer and fencing)
 * sharing one fresh PostgreSQL schema and running the example's pipeline on its share of the lines
 * (split by line number, as {@link DurableWorkersScenario} splits them, generated before the timed
 * run), all started at once. CPU per line (this JVM and the schema's backends) from the start to
 * the last worker's end, against one worker's in the same round: goal at most 1.10×.
 *
 * <p>Worker JVMs ({@link DurableWorkersScenario}) each pay their compilers and collector, and on 2
 * cores three of them and the database cannot each have a core; in one JVM those are paid once, so
 * what grows with the workers is what the store does for being one of several: claims, lease
 * renewals, polls for the others' records, and the database's contention. Each run is checked:
 * every worker's run completes with nothing unfinished, having read its whole share, its records
 * adding up ({@link RunResult}'s identity); the workers end one record for each distinct id of the
 * input; and the store holds each record in exactly one terminal state as the runs reported them
 * (which of two lines of one id is taken first, and so its content, can differ, so the published
 * listings' checksum is logged, not compared).
 */
final class DurableStoresScenario implements Scenario {
  static final double GOAL = 1.10;

  @Override
  public String name() {
    return "durable-stores";
  }

  /** A run of {@code stores} workers: its measure and its coordination round trips by kind. */
  record Measured(DurableWork.Measured run, long[] coordination) {}

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    if (!settings.databases().contains(BenchDatabase.Kind.POSTGRES)
        || !BenchDatabase.postgresReachable(log)) {
      return List.of();
    }
    int lines = settings.durableLines();
    List<Integer> counts = DurableWorkersScenario.WORKERS;
    for (int w = 0; w < settings.warmups(); w++) {
      for (int n : counts) {
        run(n, lines);
      }
    }
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    while (rounds.more()) {
      int first = rounds.attempts() % counts.size(); // the counts' order rotates
      Measured[] by = new Measured[counts.size()];
      for (int i = 0; i < counts.size(); i++) {
        int at = (first + i) % counts.size();
        by[at] = run(counts.get(at), lines);
      }
      boolean disturbed = false;
      double[] values = new double[3 * counts.size()];
      for (int i = 0; i < counts.size(); i++) {
        DurableWork.Measured m = by[i].run();
        disturbed |= m.cpu().disturbed();
        values[i] = m.cpuMicrosPerLine(lines);
        values[counts.size() + i] = m.rate(lines);
        values[2 * counts.size() + i] = (double) m.roundTrips() / lines;
      }
      StringBuilder line = new StringBuilder("durable-stores round " + rounds.label() + ":");
      String note = rounds.add(disturbed, values);
      for (int i = 0; i < counts.size(); i++) {
        DurableWork.Measured m = by[i].run();
        line.append(
            String.format(
                Locale.ROOT,
                " %d %s %,.0f lines/s, %.1f µs CPU/line (backends %.1f), %.4f round trips/line"
                    + " (%s);",
                counts.get(i),
                counts.get(i) == 1 ? "worker" : "workers",
                m.rate(lines),
                m.cpuMicrosPerLine(lines),
                m.helperMicrosPerLine(lines),
                (double) m.roundTrips() / lines,
                DurableWorker.Coordination.perLine(by[i].coordination(), lines)));
      }
      log.println(line + " " + by[0].run().outcome() + note);
    }
    List<Row> rows = new ArrayList<>();
    String what =
        "durable workers in one JVM, PostgreSQL: a store each, one schema, "
            + Targets.count(lines)
            + " lines, CPU per line (JVM + backends), ";
    for (int i = 1; i < counts.size(); i++) {
      double[] ratios = ratios(rounds, i, counts.size());
      Samples ratio = Samples.of(ratios);
      rows.add(
          new Row(
              what + counts.get(i) + " workers vs 1",
              counts.get(i)
                  + " workers: "
                  + rounds.samples(i).format("%.1f")
                  + " µs, "
                  + rounds.samples(counts.size() + i).format("%,.0f")
                  + " lines/s, "
                  + rounds.samples(2 * counts.size() + i).format("%.4f")
                  + " round trips/line",
              "1 worker: "
                  + rounds.samples(0).format("%.1f")
                  + " µs, "
                  + rounds.samples(counts.size()).format("%,.0f")
                  + " lines/s, "
                  + rounds.samples(2 * counts.size()).format("%.4f")
                  + " round trips/line",
              ratio.format("%.3f") + "×" + rounds.note(),
              "≤ " + GOAL + "×",
              Verdict.of(ratio.median() <= GOAL)));
    }
    return rows;
  }

  /** Each round's CPU per line of the i-th worker count over one worker's. */
  private static double[] ratios(Rounds rounds, int i, int counts) {
    double[] ones = rounds.values(0);
    double[] these = rounds.values(i);
    double[] out = new double[ones.length];
    for (int r = 0; r < out.length; r++) {
      out[r] = these[r] / ones[r];
    }
    return out;
  }

  /** The distinct record ids of the workers' shares, as the source makes them of the lines. */
  private static long distinctIds(List<List<Map.Entry<Long, String>>> parts) throws Exception {
    Set<String> ids = new HashSet<>();
    for (List<Map.Entry<Long, String>> part : parts) {
      try (Source<ScrapedLine> source = DurableWork.source(part)) {
        Envelope<ScrapedLine> e;
        while ((e = source.next()) != null) {
          ids.add(e.id());
        }
      }
    }
    return ids.size();
  }

  /** Runs {@code stores} workers on their shares of the lines at once, on a fresh schema. */
  static Measured run(int stores, int lines) throws Exception {
    List<JdbcPipelineStore> opened = new ArrayList<>();
    List<Pipeline<ScrapedLine, IndexedListing>> pipelines = new ArrayList<>();
    List<ListingIndex> indexes = new ArrayList<>();
    List<List<Map.Entry<Long, String>>> parts = new ArrayList<>();
    ExecutorService workers = Executors.newFixedThreadPool(stores);
    try (BenchDatabase db = BenchDatabase.create(BenchDatabase.Kind.POSTGRES)) {
      try {
        for (int i = 0; i < stores; i++) {
          JdbcPipelineStore store = db.store();
          opened.add(store);
          ListingIndex index = new ListingIndex();
          indexes.add(index);
          pipelines.add(DurableWork.pipeline(store, index));
          parts.add(DurableWork.part(lines, i, stores));
        }
        long ids = distinctIds(parts);
        Scenario.settle();
        db.counter.resetBreakdown();
        long trips = db.counter.roundTrips();
        CpuMeter cpu = CpuMeter.start(db.helpers());
        long start = System.nanoTime();
        List<Future<RunResult>> runs = new ArrayList<>();
        for (int i = 0; i < stores; i++) {
          Pipeline<ScrapedLine, IndexedListing> pipeline = pipelines.get(i);
          List<Map.Entry<Long, String>> part = parts.get(i);
          runs.add(workers.submit(() -> pipeline.run(DurableWork.source(part))));
        }
        List<RunResult> results = new ArrayList<>();
        for (Future<RunResult> run : runs) {
          results.add(run.get());
        }
        long took = System.nanoTime() - start;
        CpuMeter.Usage used = cpu.stop();
        trips = db.counter.roundTrips() - trips;
        long[] coordination = DurableWorker.Coordination.count(db.counter);
        long published = 0;
        long filtered = 0;
        long deadLettered = 0;
        long duplicates = 0;
        long checksum = 0;
        for (int i = 0; i < stores; i++) {
          RunResult r = results.get(i);
          // a line whose id another worker holds in flight is not a duplicate of its run but
          // held unfinished, and finished by that worker: the run's own records add up thus
          long in =
              r.read()
                  - r.heldUnfinished()
                  + r.resumed()
                  - r.duplicates()
                  + r.children()
                  + r.mergedRecords();
          long out =
              r.published()
                  + r.filtered()
                  + r.deadLettered()
                  + r.parked()
                  + r.takenOver()
                  + r.split()
                  + r.merged();
          if (r.status() != RunStatus.COMPLETED
              || r.unfinished() != 0
              || r.read() != parts.get(i).size()
              || in != out) {
            throw new IllegalStateException(
                "a worker's run did not complete cleanly (read "
                    + r.read()
                    + " of its "
                    + parts.get(i).size()
                    + " lines; "
                    + in
                    + " records in, "
                    + out
                    + " ended)\n"
                    + r.summary(),
                r.failure());
          }
          published += r.published();
          filtered += r.filtered();
          deadLettered += r.deadLettered();
          duplicates += r.duplicates();
          checksum += DurableWork.checksum(indexes.get(i), lines);
        }
        DurableWork.Outcome all =
            new DurableWork.Outcome(published, filtered, deadLettered, duplicates, checksum);
        if (all.unique() != ids) {
          throw new IllegalStateException(
              "the workers ended " + all.unique() + " records of " + ids + " ids in the input");
        }
        BenchDatabase.checkEnded(
            db.schema(),
            new long[] {all.published(), all.filtered(), all.deadLettered()},
            "the workers reported " + all.unique() + " records");
        return new Measured(
            new DurableWork.Measured(took, all, trips, used, db.counter.breakdown()), coordination);
      } finally {
        for (Pipeline<ScrapedLine, IndexedListing> p : pipelines) {
          p.close();
        }
        opened.forEach(JdbcPipelineStore::close);
      }
    } finally {
      workers.shutdownNow();
    }
  }
}
