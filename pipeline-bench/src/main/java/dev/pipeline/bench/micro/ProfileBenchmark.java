package dev.pipeline.bench.micro;

import dev.pipeline.quality.drift.FieldProfiler;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What drift profiles cost per record (JMH average time, ns per record), beside the same-run
 * baseline of reading the same fields without profiling them:
 *
 * <ul>
 *   <li>{@code readFourFields}: the four getters called and consumed, the floor;
 *   <li>{@code profileFourFields}: {@code FieldProfiler.observe} of a record with two number fields
 *       and two category fields (one of 20 values, one of a million distinct values, the worst case
 *       for the top-values summary); divide by 4 for the cost per field;
 *   <li>{@code profileNumber}, {@code profileFewCategories}, {@code profileManyCategories}: one
 *       field of each kind alone;
 *   <li>{@code profileFourFieldsTwoThreads}: two threads feeding one profiler, as two workers of a
 *       stage do (time per record per thread: contention on the fields' locks shows here).
 * </ul>
 *
 * The window is an hour, so no window closes during a run: the steady per-record cost is measured.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@State(Scope.Thread)
public class ProfileBenchmark {

  /** A record as an extraction stage puts it out. */
  public record Row(double price, long year, String currency, String model) {}

  private static final int ROWS = 1 << 16;

  private Row[] rows;
  private int next;
  private FieldProfiler<Row> four;
  private FieldProfiler<Row> number;
  private FieldProfiler<Row> few;
  private FieldProfiler<Row> many;

  @Setup
  public void setUp() {
    SplittableRandom random = new SplittableRandom(1);
    rows = new Row[ROWS];
    for (int i = 0; i < ROWS; i++) {
      rows[i] =
          new Row(
              1_000 + 50_000 * random.nextDouble(),
              1990 + random.nextInt(35),
              "C" + random.nextInt(20),
              "model-" + random.nextInt(1_000_000));
    }
    four = fourFields();
    number = profiler().number("price", Row::price).build();
    few = profiler().category("currency", Row::currency).build();
    many = profiler().category("model", Row::model).build();
  }

  private static FieldProfiler<Row> fourFields() {
    return profiler()
        .number("price", Row::price)
        .number("year", Row::year)
        .category("currency", Row::currency)
        .category("model", Row::model)
        .build();
  }

  private static FieldProfiler.Builder<Row> profiler() {
    return FieldProfiler.<Row>builder("extraction").window(Duration.ofHours(1));
  }

  private Row row() {
    Row row = rows[next];
    next = (next + 1) & (ROWS - 1);
    return row;
  }

  /** One profiler shared by the threads of a benchmark. */
  @State(Scope.Benchmark)
  public static class Shared {
    FieldProfiler<Row> four;

    @Setup
    public void setUp() {
      four = fourFields();
    }
  }

  @Benchmark
  @Threads(2)
  public void profileFourFieldsTwoThreads(Shared shared) {
    shared.four.observe(row());
  }

  @Benchmark
  public void readFourFields(Blackhole sink) {
    Row row = row();
    sink.consume(row.price());
    sink.consume(row.year());
    sink.consume(row.currency());
    sink.consume(row.model());
  }

  @Benchmark
  public void profileFourFields() {
    four.observe(row());
  }

  @Benchmark
  public void profileNumber() {
    number.observe(row());
  }

  @Benchmark
  public void profileFewCategories() {
    few.observe(row());
  }

  @Benchmark
  public void profileManyCategories() {
    many.observe(row());
  }
}
