package dev.pipeline.bench.micro;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.Route;
import dev.pipeline.RunResult;
import dev.pipeline.Sink;
import dev.pipeline.Source;
import dev.pipeline.Stage;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.testkit.TestStageContext;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What routing by data costs per record (the target: at most 100 ns over a straight pipeline): the
 * same three trivial stages, in memory, run straight ({@code parse → double → finish}) and routed
 * ({@code parse → route → finish}, the route sending even numbers down a branch that doubles and
 * odd ones down a branch that triples, both joining). Both have three stage slots, so the
 * difference is the route's own work per record: its predicate, its branch stage's call through the
 * call path, the branch's metadata ({@code branch.route}) and the per-branch count.
 *
 * <p>One operation is one record: each invocation runs a pipeline over {@value #RECORDS} records
 * with fresh ids, so the time per operation is the pipeline's time per record, whose difference
 * between the two is the route's cost.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 8, time = 1)
@Fork(value = 1)
@State(Scope.Benchmark)
public class RouteBenchmark {
  static final int RECORDS = 100_000;

  private static final StageName PARSE = StageName.of("parse");
  private static final StageName DOUBLE = StageName.of("double");
  private static final StageName ROUTE = StageName.of("route");
  private static final StageName FINISH = StageName.of("finish");

  private Pipeline<Long, Long> straight;
  private Pipeline<Long, Long> routed;
  private long round;

  @Setup(Level.Trial)
  public void setUp() {
    straight =
        start("straight")
            .stage(DOUBLE, (Long n, StageContext c) -> n * 2)
            .stage(FINISH, (Long n, StageContext c) -> n - 1)
            .sink(Sink.discarding())
            .build();
    Route<Long, Long> byParity =
        Route.builder(Long.class, Long.class)
            .when(
                n -> (n & 1) == 0,
                Route.<Long>branch(StageName.of("even"))
                    .stage(StageName.of("double-even"), (Long n, StageContext c) -> n * 2)
                    .join(Long.class))
            .otherwise(
                Route.<Long>branch(StageName.of("odd"))
                    .stage(StageName.of("triple-odd"), (Long n, StageContext c) -> n * 3)
                    .join(Long.class))
            .build();
    routed =
        start("routed")
            .stage(ROUTE, byParity)
            .stage(FINISH, (Long n, StageContext c) -> n - 1)
            .sink(Sink.discarding())
            .build();
  }

  private static PipelineBuilder<Long, Long> start(String name) {
    return Pipeline.builder(name, Long.class)
        // the default store keeps 100,000 completed records: both pipelines pay that the same
        .store(InMemoryPipelineStore.create())
        .stage(PARSE, (Long n, StageContext c) -> n + 1);
  }

  private Source<Long> source() {
    long base = round++ * RECORDS;
    Iterator<Long> numbers = LongStream.range(base, base + RECORDS).iterator();
    return Source.of("numbers", numbers, n -> Long.toString(n));
  }

  @Benchmark
  @OperationsPerInvocation(RECORDS)
  public long straightPipeline() {
    return check(straight.run(source()));
  }

  @Benchmark
  @OperationsPerInvocation(RECORDS)
  public long routedPipeline() {
    return check(routed.run(source()));
  }

  /**
   * The stage-level view of the same cost, less exposed to a loaded machine: the route's {@code
   * process} (predicate, branch stage through its invoker, metadata, count) against calling the
   * branch's stage function directly, both with a context that keeps added metadata in a map of its
   * own per record, as the engine's does.
   */
  @State(Scope.Thread)
  public static class Calls {
    Route<Long, Long> route;
    Stage<Long, Long> doubling = (n, c) -> n * 2;
    long next;

    @Setup
    public void setUp() {
      route =
          Route.builder(Long.class, Long.class)
              .when(
                  n -> (n & 1) == 0,
                  Route.<Long>branch(StageName.of("even"))
                      .stage(StageName.of("double-even"), doubling)
                      .join(Long.class))
              .otherwise(
                  Route.<Long>branch(StageName.of("odd"))
                      .stage(StageName.of("double-odd"), doubling)
                      .join(Long.class))
              .build();
    }
  }

  // the metadata is what the straight stage's envelope carries
  private final TestStageContext context =
      TestStageContext.builder()
          .pipeline("bench")
          .stage(ROUTE)
          .metadata(Map.of("source", "numbers"))
          .build();

  @Benchmark
  public Object stageAlone(Calls calls) throws Exception {
    return calls.doubling.process(calls.next++, context);
  }

  @Benchmark
  public Object stageInRoute(Calls calls) throws Exception {
    return calls.route.process(calls.next++, context);
  }

  private static long check(RunResult result) {
    if (result.published() != RECORDS) {
      throw new IllegalStateException("a run did not publish every record: " + result);
    }
    return result.published();
  }
}
