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
 * What a merge costs a durable store per child, over the split alone: the same parents (ten
 * children each) split and published ({@code split}), or split, then merged again one record per
 * parent ({@code split+merge}), on a fresh H2 file or PostgreSQL schema per run, rounds alternated.
 * Prints the time and SQL round trips per child for each, and their ratio.
 *
 * <p>{@code java -cp pipeline-bench/target/benchmarks.jar dev.pipeline.bench.MergeCost [children]
 * [rounds]} (50,000 and 3 unless given); PostgreSQL as in the targets ({@code PIPELINE_PG_URL}).
 */
public final class MergeCost {
  private static final int CHILDREN = 10;
  private static final StageName MERGE = StageName.of("merge");

  private MergeCost() {}

  public static void main(String[] args) throws Exception {
    int children = args.length > 0 ? Integer.parseInt(args[0]) : 50_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    for (BenchDatabase.Kind kind : BenchDatabase.Kind.values()) {
      if (kind == BenchDatabase.Kind.POSTGRES && !BenchDatabase.postgresReachable(System.out)) {
        continue;
      }
      for (int round = 0; round <= rounds; round++) {
        // round 0 warms up
        double[] split = measure(kind, children, false);
        double[] merged = measure(kind, children, true);
        if (round > 0) {
          System.out.printf(
              Locale.ROOT,
              "%s round %d: split %.1f µs, %.4f round trips per child | split+merge %.1f µs,"
                  + " %.4f round trips per child | merge costs %.2fx the split's time%n",
              kind.label(),
              round,
              split[0],
              split[1],
              merged[0],
              merged[1],
              merged[0] / split[0]);
        }
      }
    }
  }

  /** One run on a fresh database: microseconds and round trips per child. */
  private static double[] measure(BenchDatabase.Kind kind, int children, boolean merge)
      throws Exception {
    try (BenchDatabase db = BenchDatabase.create(kind);
        JdbcPipelineStore store = db.store()) {
      LongAdder sunk = new LongAdder();
      PayloadCodec<String> text = PayloadCodec.string();
      var split =
          Pipeline.builder(merge ? "merge" : "split", String.class)
              .store(store)
              .splitStage(
                  StageName.EXTRACTION,
                  (String parent, StageContext c) ->
                      IntStream.range(0, CHILDREN).mapToObj(i -> parent + ":" + i).toList(),
                  s -> s.codec(text))
              .stage(
                  StageName.PUBLISHING,
                  (String s) -> s.toUpperCase(Locale.ROOT),
                  s -> s.codec(text));
      Pipeline<String, String> pipeline =
          (merge
                  ? split.mergeStage(
                      MERGE,
                      (List<String> parts, StageContext c) -> String.join(",", parts),
                      s -> s.codec(text))
                  : split)
              .sink(batch -> sunk.add(batch.size()))
              .build();
      int parents = children / CHILDREN;
      List<String> inputs = IntStream.range(0, parents).mapToObj(i -> "r" + i).toList();
      long trips = db.counter.roundTrips();
      long start = System.nanoTime();
      RunResult result = pipeline.run(Source.of("src", inputs.iterator(), s -> s));
      long nanos = System.nanoTime() - start;
      trips = db.counter.roundTrips() - trips;
      pipeline.close();
      long expected = merge ? parents : children;
      if (result.status() != RunStatus.COMPLETED || sunk.sum() != expected) {
        throw new IllegalStateException(
            "run " + result.status() + ", " + sunk.sum() + " of " + expected + " published");
      }
      return new double[] {nanos / 1e3 / children, (double) trips / children};
    }
  }
}
