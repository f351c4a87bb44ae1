package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.store.PayloadCodec;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

/**
 * Issue 11's IO-bound durable target: the {@link IoScenario} pipeline (eight stages, six of which
 * wait 2 ms per record, 20 workers each) durable on PostgreSQL must reach at least 90% of the same
 * pipeline's throughput in memory. Both run in the same interleaved rounds, their order
 * alternating, on {@link Settings#ioRecords} records; each durable run on a fresh schema, its
 * sink's sum checked against the in-memory run's. Without PostgreSQL it runs on H2 (a file), and
 * says so.
 */
final class DurableIoScenario implements Scenario {
  static final double GOAL = 0.90;

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
      inMemory(Math.max(1, records / 10));
      durable(kind, Math.max(1, records / 10));
    }
    Rounds rounds = new Rounds(settings.rounds(), settings.repeatDisturbed());
    while (rounds.more()) {
      Measured memory;
      Measured durable;
      if (rounds.attempts() % 2 == 0) {
        memory = inMemory(records);
        durable = durable(kind, records);
      } else {
        durable = durable(kind, records);
        memory = inMemory(records);
      }
      if (memory.sum() != durable.sum()) {
        throw new IllegalStateException(
            "the durable run's sink summed " + durable.sum() + ", in memory " + memory.sum());
      }
      String label = rounds.label();
      String note =
          rounds.add(
              memory.cpu().disturbed() || durable.cpu().disturbed(),
              durable.rate(),
              memory.rate(),
              durable.rate() / memory.rate(),
              durable.cpuMicrosPerRecord(),
              memory.cpuMicrosPerRecord());
      log.printf(
          Locale.ROOT,
          "durable-io round %s: %s %.0f records/s (%.1f µs CPU/record), in memory %.0f records/s"
              + " (%.1f µs CPU/record): %.0f%%%s%n",
          label,
          kind,
          durable.rate(),
          durable.cpuMicrosPerRecord(),
          memory.rate(),
          memory.cpuMicrosPerRecord(),
          100 * durable.rate() / memory.rate(),
          note);
    }
    Samples ratio = rounds.samples(2);
    List<Row> rows = new ArrayList<>();
    rows.add(
        new Row(
            "durable IO-bound: 6 of 8 stages wait 2 ms, c=20, "
                + Targets.count(records)
                + " records, "
                + kind,
            kind
                + " "
                + rounds.samples(0).format("%,.0f")
                + " records/s, "
                + rounds.samples(3).format("%.1f")
                + " µs CPU/record",
            "in memory "
                + rounds.samples(1).format("%,.0f")
                + " records/s, "
                + rounds.samples(4).format("%.1f")
                + " µs CPU/record",
            String.format(Locale.ROOT, "%.0f%%", 100 * ratio.median()) + rounds.note(),
            "≥ 90%",
            Verdict.of(ratio.median() >= GOAL)));
    return rows;
  }

  /** One run: its rate, the cores it used, and its sink's sum (the same on every store). */
  record Measured(double rate, CpuMeter.Usage cpu, long sum, int records) {
    /** Cores used over the run's time, per record: both cores and the database's backends. */
    double cpuMicrosPerRecord() {
      return cpu.ours() / rate * 1e6;
    }
  }

  private static Measured inMemory(int records) {
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
