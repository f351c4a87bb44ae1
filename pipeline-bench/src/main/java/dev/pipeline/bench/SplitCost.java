package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.store.PayloadCodec;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.IntStream;

/**
 * What a split costs a durable store: the same number of records reaching the last stage, either
 * read from a source or split from a tenth as many parents (ten children each), on a fresh H2 file
 * or PostgreSQL schema per run, rounds alternated. Prints records per second and SQL round trips
 * per record reaching the last stage, for each way and database.
 *
 * <p>{@code java -cp pipeline-bench/target/benchmarks.jar dev.pipeline.bench.SplitCost [records]
 * [rounds]} (50,000 and 3 unless given); PostgreSQL as in the targets ({@code PIPELINE_PG_URL}).
 */
public final class SplitCost {
  private static final int CHILDREN = 10;

  private SplitCost() {}

  public static void main(String[] args) throws Exception {
    int records = args.length > 0 ? Integer.parseInt(args[0]) : 50_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    for (BenchDatabase.Kind kind : BenchDatabase.Kind.values()) {
      if (kind == BenchDatabase.Kind.POSTGRES && !BenchDatabase.postgresReachable(System.out)) {
        continue;
      }
      for (int round = 0; round <= rounds; round++) {
        // round 0 warms up
        String flat = measure(kind, records, false);
        String split = measure(kind, records, true);
        if (round > 0) {
          System.out.println(kind.label() + " round " + round + ": " + flat + " | " + split);
        }
      }
    }
  }

  /** One run on a fresh database; what it measured. */
  private static String measure(BenchDatabase.Kind kind, int records, boolean split)
      throws Exception {
    try (BenchDatabase db = BenchDatabase.create(kind);
        JdbcPipelineStore store = db.store()) {
      LongAdder sunk = new LongAdder();
      var builder = Pipeline.builder(split ? "split" : "flat", String.class).store(store);
      Pipeline<String, String> pipeline =
          (split
                  ? builder.splitStage(
                      StageName.EXTRACTION,
                      (String parent, StageContext c) ->
                          IntStream.range(0, CHILDREN).mapToObj(i -> parent + ":" + i).toList(),
                      s -> s.codec(PayloadCodec.string()))
                  : builder.stage(StageName.EXTRACTION, (String s) -> s))
              .stage(StageName.PUBLISHING, (String s) -> s.toUpperCase(Locale.ROOT))
              .sink(batch -> sunk.add(batch.size()))
              .build();
      int read = split ? records / CHILDREN : records;
      List<String> inputs = IntStream.range(0, read).mapToObj(i -> "r" + i).toList();
      long trips = db.counter.roundTrips();
      long start = System.nanoTime();
      RunResult result = pipeline.run(Source.of("src", inputs.iterator(), s -> s));
      long nanos = System.nanoTime() - start;
      trips = db.counter.roundTrips() - trips;
      pipeline.close();
      if (result.status() != RunStatus.COMPLETED || sunk.sum() != records) {
        throw new IllegalStateException(
            "run " + result.status() + ", " + sunk.sum() + " of " + records + " published");
      }
      return String.format(
          Locale.ROOT,
          "%s: %,.0f records/s, %.4f round trips/record",
          split ? "split" : "read",
          records / (nanos / 1e9),
          (double) trips / records);
    }
  }
}
