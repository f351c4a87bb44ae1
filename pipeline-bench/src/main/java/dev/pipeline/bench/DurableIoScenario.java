package dev.pipeline.bench;

import dev.pipeline.Pipeline;
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
    for (int w = 0; w < settings.warmups(); w++) {
      for (Variant v : Variant.values()) {
        v.run(kind, Math.max(1, records / 10));
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
      for (Measured m : List.of(durable, springBatch)) {
        if (m.sum() != memory.sum()) {
          throw new IllegalStateException(
              (m == durable ? "the durable run's sink" : "Spring Batch's writer")
                  + " summed "
                  + m.sum()
                  + ", in memory "
                  + memory.sum());
        }
      }
      String label = rounds.label();
      String note =
          rounds.add(
              memory.cpu().disturbed()
                  || durable.cpu().disturbed()
                  || springBatch.cpu().disturbed(),
              durable.rate(),
              memory.rate(),
              durable.rate() / memory.rate(),
              durable.cpuMicrosPerRecord(),
              memory.cpuMicrosPerRecord(),
              springBatch.rate(),
              durable.rate() / springBatch.rate(),
              springBatch.cpuMicrosPerRecord());
      log.printf(
          Locale.ROOT,
          "durable-io round %s: %s %.0f records/s (%.1f µs CPU/record), in memory %.0f records/s"
              + " (%.1f µs CPU/record): %.0f%%; Spring Batch on %s %.0f records/s"
              + " (%.1f µs CPU/record): %.2f×%s%n",
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
          note);
    }
    String what =
        "durable IO-bound: 6 of 8 stages wait 2 ms, c=20, "
            + Targets.count(records)
            + " records, "
            + kind.label();
    String ours =
        kind.label()
            + " "
            + rounds.samples(0).format("%,.0f")
            + " records/s, "
            + rounds.samples(3).format("%.1f")
            + " µs CPU/record";
    Samples memoryRatio = rounds.samples(2);
    Samples springBatchRatio = rounds.samples(6);
    return List.of(
        new Row(
            what,
            ours,
            "in memory "
                + rounds.samples(1).format("%,.0f")
                + " records/s, "
                + rounds.samples(4).format("%.1f")
                + " µs CPU/record",
            String.format(Locale.ROOT, "%.0f%%", 100 * memoryRatio.median()) + rounds.note(),
            "≥ 90%",
            Verdict.of(memoryRatio.median() >= GOAL)),
        new Row(
            what
                + " vs Spring Batch (chunks of "
                + SpringBatchIoWork.CHUNK
                + ", "
                + SpringBatchIoWork.CONCURRENCY
                + " items processed at once on virtual threads)",
            ours,
            "Spring Batch on "
                + kind.label()
                + " "
                + rounds.samples(5).format("%,.0f")
                + " records/s, "
                + rounds.samples(7).format("%.1f")
                + " µs CPU/record",
            String.format(
                    Locale.ROOT,
                    "%.2f× (%.2f–%.2f×)",
                    springBatchRatio.median(),
                    springBatchRatio.min(),
                    springBatchRatio.max())
                + rounds.note(),
            String.format(Locale.ROOT, "≥ %.1f×", SPRING_BATCH_GOAL),
            Verdict.of(springBatchRatio.median() >= SPRING_BATCH_GOAL)));
  }

  /** The three runs of a round. */
  private enum Variant {
    MEMORY,
    DURABLE,
    SPRING_BATCH;

    Measured run(BenchDatabase.Kind kind, int records) throws Exception {
      return switch (this) {
        case MEMORY -> inMemory(records);
        case DURABLE -> durable(kind, records);
        case SPRING_BATCH -> SpringBatchIoWork.run(kind, records);
      };
    }
  }

  /** One run: its rate, the cores it used, and its sink's sum (the same on every store). */
  record Measured(double rate, CpuMeter.Usage cpu, long sum, int records) {
    /** Cores used over the run's time, per record: both cores and the database's backends. */
    double cpuMicrosPerRecord() {
      return cpu.ours() / rate * 1e6;
    }
  }

  static Measured inMemory(int records) {
    LongAdder sum = new LongAdder();
    try (Pipeline<Long, Long> pipeline =
        IoScenario.builder(IoScenario.TARGET_CONCURRENCY, sum).build()) {
      return timed(pipeline, records, sum, CpuMeter.Helpers.NONE);
    }
  }

  private static Measured durable(BenchDatabase.Kind kind, int records) throws Exception {
    LongAdder sum = new LongAdder();
    try (BenchDatabase db = BenchDatabase.create(kind);
        JdbcPipelineStore store = db.store();
        Pipeline<Long, Long> pipeline =
            IoScenario.builder(IoScenario.TARGET_CONCURRENCY, sum)
                .store(store)
                .inputCodec(LONG)
                .build()) {
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
