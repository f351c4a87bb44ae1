package dev.pipeline.bench.micro;

import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.bench.TrivialStages;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What handing a record from stage to stage costs, per record per stage, beside the plain call of
 * the same trivial function. Every result is in nanoseconds per record per stage (per record for
 * the one-stage pipeline), so the rows compare directly:
 *
 * <ul>
 *   <li>{@code plainCall}: the eight functions called in a loop, the floor;
 *   <li>{@code pipelineEightStages}: the same through an eight-stage pipeline (wall clock, on all
 *       cores), by batch size;
 *   <li>{@code pipelineOneStage}: a one-stage pipeline, i.e. the fixed cost of a record (source,
 *       envelope, store, sink) plus one hand-off. (8-stage × 8 − 1-stage) / 7 is the marginal cost
 *       of one more stage.
 * </ul>
 *
 * <p>A fresh pipeline (and in-memory store) per invocation, since record ids repeat between
 * invocations; building one takes microseconds against the run's tens of milliseconds.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class HandOffBenchmark {
  static final int RECORDS = 100_000;

  /** The batch size of every stage. */
  @State(Scope.Benchmark)
  public static class Batching {
    @Param({"1", "16", "128"})
    public int batchSize;
  }

  @Benchmark
  @OperationsPerInvocation(RECORDS * TrivialStages.COUNT)
  public long plainCall() throws Exception {
    return TrivialStages.loop(TrivialStages.numbers(RECORDS), TrivialStages.COUNT);
  }

  @Benchmark
  @OperationsPerInvocation(RECORDS * TrivialStages.COUNT)
  public long pipelineEightStages(Batching batching) {
    return run(TrivialStages.COUNT, batching.batchSize);
  }

  @Benchmark
  @OperationsPerInvocation(RECORDS)
  public long pipelineOneStage(Batching batching) {
    return run(1, batching.batchSize);
  }

  private static long run(int stages, int batchSize) {
    LongAdder sum = new LongAdder();
    try (Pipeline<Long, Long> pipeline =
        TrivialStages.pipeline("bench", stages, options -> options.batchSize(batchSize), sum)) {
      RunResult result = pipeline.run(TrivialStages.source(RECORDS));
      if (result.published() != RECORDS) {
        throw new IllegalStateException(result.summary());
      }
    }
    return sum.sum();
  }
}
