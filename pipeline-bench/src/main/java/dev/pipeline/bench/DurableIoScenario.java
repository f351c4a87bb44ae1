package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.RunResult;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.store.PayloadCodec;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * The IO-bound durable targets: the {@link IoScenario} pipeline (eight stages, six of which wait 2
 * ms per record, 20 workers each) durable on PostgreSQL must reach at least 90% of the same
 * pipeline's throughput in memory, and at least the throughput of Spring Batch 6 doing the same
 * work with its JDBC job repository on the same database, configured for IO-bound work (see {@link
 * SpringBatchIoWork}). The three run in the same interleaved rounds, their order rotating from
 * round to round, on {@link Settings#ioRecords} records; each durable run on a fresh schema, the
 * sums of its sink and of Spring Batch's writer checked against the in-memory run's. CPU per record
 * is reported for each, PostgreSQL backends included. Without PostgreSQL both durable runs are on
 * H2 (a file), and the rows say so.
 *
 * <p>The pipeline runs in two configurations, each in memory and durable: the {@link
 * IoScenario#builder tuned} one (the CPU stages at two workers and batches of 16: a durable run
 * then writes its delivery note and endings every 16 records at most) and {@link
 * IoScenario#defaultsBuilder default options but the IO stages' concurrency} (the CPU stages at one
 * worker and batches of 128). Spring Batch commits a chunk of {@link SpringBatchIoWork#CHUNK}
 * items; the second configuration is the nearer to it and what a user who sets nothing gets.
 */
final class DurableIoScenario implements Scenario {
  static final double GOAL = 0.90;

  /** The same work at least as fast as Spring Batch's best on the same database. */
  static final double SPRING_BATCH_GOAL = 1.0;

  /** A record's payload, its number, as 8 bytes. */
  static final PayloadCodec<Long> LONG =
      new PayloadCodec<>() {
        @Override
        public String name() {
          return "long";
        }

        @Override
        public byte[] encode(Long payload) {
          return ByteBuffer.allocate(Long.BYTES).putLong(payload).array();
        }

        @Override
        public Long decode(byte[] bytes) {
          if (bytes.length != Long.BYTES) {
            throw new IllegalArgumentException("a long is 8 bytes, not " + bytes.length);
          }
          return ByteBuffer.wrap(bytes).getLong();
        }
      };

  @Override
  public String name() {
    return "durable-io";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    int records = settings.ioRecords();
    BenchDatabase.Kind kind =
        settings.databases().contains(BenchDatabase.Kind.POSTGRES)
                && BenchDatabase.postgresReachable(log)
            ? BenchDatabase.Kind.POSTGRES
            : BenchDatabase.Kind.H2;
    // warm-ups of the measured count: at a tenth, a durable run's store code (a sink write every 16
    // records, about 300 a warm-up) was still being compiled in the first measured rounds, which
    // ran at 78-88% of in memory against 92-97% after
    for (int w = 0; w < settings.warmups(); w++) {
      for (Variant v : Variant.values()) {
        v.run(kind, records);
      }
    }
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    while (rounds.more()) {
      List<Variant> order = new ArrayList<>(List.of(Variant.values()));
      Collections.rotate(order, -rounds.attempts());
      Map<Variant, Measured> measured = new EnumMap<>(Variant.class);
      for (Variant v : order) {
        measured.put(v, v.run(kind, records));
      }
      Measured memory = measured.get(Variant.MEMORY);
      Measured durable = measured.get(Variant.DURABLE);
      Measured springBatch = measured.get(Variant.SPRING_BATCH);
      Measured memoryDefaults = measured.get(Variant.MEMORY_DEFAULTS);
      Measured durableDefaults = measured.get(Variant.DURABLE_DEFAULTS);
      for (Variant v : Variant.values()) {
        if (measured.get(v).sum() != memory.sum()) {
          throw new IllegalStateException(
              v.label + " summed " + measured.get(v).sum() + ", in memory " + memory.sum());
        }
      }
      boolean disturbed = false;
      for (Measured m : measured.values()) {
        disturbed |= m.cpu().disturbed();
      }
      String label = rounds.label();
      String note =
          rounds.add(
              disturbed,
              durable.rate(),
              memory.rate(),
              durable.rate() / memory.rate(),
              durable.cpuMicrosPerRecord(),
              memory.cpuMicrosPerRecord(),
              springBatch.rate(),
              durable.rate() / springBatch.rate(),
              springBatch.cpuMicrosPerRecord(),
              durableDefaults.rate(),
              memoryDefaults.rate(),
              durableDefaults.rate() / memoryDefaults.rate(),
              durableDefaults.cpuMicrosPerRecord(),
              memoryDefaults.cpuMicrosPerRecord(),
              durableDefaults.rate() / springBatch.rate());
      log.printf(
          Locale.ROOT,
          "durable-io round %s: %s %.0f records/s (%.1f µs CPU/record), in memory %.0f records/s"
              + " (%.1f µs CPU/record): %.0f%%; Spring Batch on %s %.0f records/s"
              + " (%.1f µs CPU/record): %.2f×; default options: %s %.0f records/s (%.1f µs"
              + " CPU/record), in memory %.0f records/s (%.1f µs CPU/record): %.0f%%, %.2f×"
              + " Spring Batch%s%n",
          label,
          kind.label(),
          durable.rate(),
          durable.cpuMicrosPerRecord(),
          memory.rate(),
          memory.cpuMicrosPerRecord(),
          100 * durable.rate() / memory.rate(),
          kind.label(),
          springBatch.rate(),
          springBatch.cpuMicrosPerRecord(),
          durable.rate() / springBatch.rate(),
          kind.label(),
          durableDefaults.rate(),
          durableDefaults.cpuMicrosPerRecord(),
          memoryDefaults.rate(),
          memoryDefaults.cpuMicrosPerRecord(),
          100 * durableDefaults.rate() / memoryDefaults.rate(),
          durableDefaults.rate() / springBatch.rate(),
          note);
    }
    String what =
        "durable IO-bound: 6 of 8 stages wait 2 ms, c=20, "
            + Targets.count(records)
            + " records, "
            + kind.label();
    String ours = figure(kind.label(), rounds, 0, 3);
    Samples memoryRatio = rounds.samples(2);
    Samples springBatchRatio = rounds.samples(6);
    String springBatchVs =
        " vs Spring Batch (chunks of "
            + SpringBatchIoWork.CHUNK
            + ", "
            + SpringBatchIoWork.CONCURRENCY
            + " items processed at once on virtual threads)";
    String springBatchFigure = figure("Spring Batch on " + kind.label(), rounds, 5, 7);
    String defaults =
        what.replace(
            "c=20",
            "c=20 at the IO stages, default options at the others (one worker,"
                + " batches of 128)");
    String oursDefaults = figure(kind.label(), rounds, 8, 11);
    return List.of(
        new Row(
            what,
            ours,
            figure("in memory", rounds, 1, 4),
            String.format(Locale.ROOT, "%.0f%%", 100 * memoryRatio.median()) + rounds.note(),
            "≥ 90%",
            Verdict.of(memoryRatio.median() >= GOAL)),
        springBatchRow(what + springBatchVs, ours, springBatchFigure, springBatchRatio, rounds),
        new Row(
            defaults,
            oursDefaults,
            figure("in memory", rounds, 9, 12),
            String.format(Locale.ROOT, "%.0f%%", 100 * rounds.samples(10).median()) + rounds.note(),
            "≥ 90%",
            Verdict.of(rounds.samples(10).median() >= GOAL)),
        springBatchRow(
            defaults + springBatchVs, oursDefaults, springBatchFigure, rounds.samples(13), rounds));
  }

  /** "who R records/s, C µs CPU/record" from the rounds' values at the two indexes. */
  private static String figure(String who, Rounds rounds, int rate, int cpu) {
    return who
        + " "
        + rounds.samples(rate).format("%,.0f")
        + " records/s, "
        + rounds.samples(cpu).format("%.1f")
        + " µs CPU/record";
  }

  private static Row springBatchRow(
      String what, String ours, String springBatch, Samples ratio, Rounds rounds) {
    return new Row(
        what,
        ours,
        springBatch,
        String.format(Locale.ROOT, "%.2f× (%.2f–%.2f×)", ratio.median(), ratio.min(), ratio.max())
            + rounds.note(),
        String.format(Locale.ROOT, "≥ %.1f×", SPRING_BATCH_GOAL),
        Verdict.of(ratio.median() >= SPRING_BATCH_GOAL));
  }

  /** The three runs of a round. */
  private enum Variant {
    MEMORY("in memory"),
    DURABLE("the durable run's sink"),
    SPRING_BATCH("Spring Batch's writer"),
    MEMORY_DEFAULTS("in memory with default options"),
    DURABLE_DEFAULTS("the durable run's sink with default options");

    final String label;

    Variant(String label) {
      this.label = label;
    }

    Measured run(BenchDatabase.Kind kind, int records) throws Exception {
      return switch (this) {
        case MEMORY -> inMemory(records, false);
        case DURABLE -> durable(kind, records, false);
        case SPRING_BATCH -> SpringBatchIoWork.run(kind, records);
        case MEMORY_DEFAULTS -> inMemory(records, true);
        case DURABLE_DEFAULTS -> durable(kind, records, true);
      };
    }
  }

  /** The scenario's pipeline: tuned, or default options but the IO stages' concurrency. */
  private static PipelineBuilder<Long, Long> builder(boolean defaults, LongAdder sum) {
    return defaults
        ? IoScenario.defaultsBuilder(IoScenario.TARGET_CONCURRENCY, sum)
        : IoScenario.builder(IoScenario.TARGET_CONCURRENCY, sum);
  }

  /** One run: its rate, the cores it used, and its sink's sum (the same on every store). */
  record Measured(double rate, CpuMeter.Usage cpu, long sum, int records) {
    /** Cores used over the run's time, per record: both cores and the database's backends. */
    double cpuMicrosPerRecord() {
      return cpu.ours() / rate * 1e6;
    }
  }

  static Measured inMemory(int records, boolean defaults) {
    LongAdder sum = new LongAdder();
    try (Pipeline<Long, Long> pipeline = builder(defaults, sum).build()) {
      return timed(pipeline, records, sum, CpuMeter.Helpers.NONE);
    }
  }

  private static Measured durable(BenchDatabase.Kind kind, int records, boolean defaults)
      throws Exception {
    LongAdder sum = new LongAdder();
    try (BenchDatabase db = BenchDatabase.uncounted(kind);
        JdbcPipelineStore store = db.store();
        Pipeline<Long, Long> pipeline =
            builder(defaults, sum).store(store).inputCodec(LONG).build()) {
      return timed(pipeline, records, sum, db.helpers());
    }
  }

  private static Measured timed(
      Pipeline<Long, Long> pipeline, int records, LongAdder sum, CpuMeter.Helpers helpers) {
    Scenario.settle();
    CpuMeter cpu = CpuMeter.start(helpers);
    long start = System.nanoTime();
    RunResult result = pipeline.run(TrivialStages.source(records));
    long took = System.nanoTime() - start;
    CpuMeter.Usage used = cpu.stop();
    Targets.requireComplete(result, records);
    return new Measured(records / (took / 1e9), used, sum.sum(), records);
  }
}
