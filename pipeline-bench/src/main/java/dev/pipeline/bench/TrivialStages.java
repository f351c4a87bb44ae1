package dev.pipeline.bench;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.Sink;
import dev.pipeline.Source;
import dev.pipeline.StageFunction;
import dev.pipeline.StageName;
import dev.pipeline.StageOptions;
import dev.pipeline.store.InMemoryPipelineStore;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * Eight stages of a few nanoseconds each (the steps of a SplitMix64 mix on a boxed long), so that
 * what a run measures is the engine, not the work. The same eight functions run in the pipeline and
 * in the plain loop it is compared with; both sum the results, so the JIT cannot drop them.
 *
 * <p>Thread-safe.
 */
public final class TrivialStages {
  /** Number of stages. */
  public static final int COUNT = 8;

  private static final List<StageFunction<Long, Long>> FUNCTIONS =
      List.of(
          x -> x + 0x9E3779B97F4A7C15L,
          x -> x ^ (x >>> 30),
          x -> x * 0xBF58476D1CE4E5B9L,
          x -> x ^ (x >>> 27),
          x -> x * 0x94D049BB133111EBL,
          x -> x ^ (x >>> 31),
          x -> Long.rotateLeft(x, 17),
          x -> x + 1);

  private TrivialStages() {}

  /** The i-th function, 0 to 7. */
  public static StageFunction<Long, Long> function(int i) {
    return FUNCTIONS.get(i);
  }

  /** The numbers 0 to count - 1, boxed one at a time as they are asked for. */
  public static Iterator<Long> numbers(long count) {
    return new Iterator<>() {
      private long next;

      @Override
      public boolean hasNext() {
        return next < count;
      }

      @Override
      public Long next() {
        if (next >= count) {
          throw new NoSuchElementException();
        }
        return next++;
      }
    };
  }

  /** A lazy source of the numbers 0 to count - 1. */
  public static Source<Long> source(long count) {
    return Source.of("numbers", numbers(count));
  }

  /**
   * The plain loop: every item through the {@code stages} functions in a row, results summed.
   *
   * @return the sum of the outputs
   */
  public static long loop(Iterator<Long> items, int stages) throws Exception {
    long sum = 0;
    while (items.hasNext()) {
      Long value = items.next();
      for (int i = 0; i < stages; i++) {
        value = FUNCTIONS.get(i).apply(value);
      }
      sum += value;
    }
    return sum;
  }

  /**
   * A pipeline of the first {@code stages} functions, each stage with the given options, whose sink
   * adds the outputs to {@code sum}. Its store is a fresh in-memory one with the default retention.
   */
  public static Pipeline<Long, Long> pipeline(
      String name, int stages, Consumer<StageOptions.Builder> options, LongAdder sum) {
    return pipeline(name, stages, options, sum, InMemoryPipelineStore.create());
  }

  static Pipeline<Long, Long> pipeline(
      String name,
      int stages,
      Consumer<StageOptions.Builder> options,
      LongAdder sum,
      InMemoryPipelineStore store) {
    PipelineBuilder<Long, Long> builder = Pipeline.builder(name, Long.class);
    for (int i = 0; i < stages; i++) {
      builder = builder.stage(StageName.canonical().get(i), FUNCTIONS.get(i), options);
    }
    Sink<Long> sink =
        records -> {
          long batchSum = 0;
          for (var record : records) {
            batchSum += record.payload();
          }
          sum.add(batchSum);
        };
    return builder.sink(sink).store(store).build();
  }
}
