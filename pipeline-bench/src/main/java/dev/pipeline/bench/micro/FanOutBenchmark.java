package dev.pipeline.bench.micro;

import dev.pipeline.Parallel;
import dev.pipeline.PipelineClock;
import dev.pipeline.Stage;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.testkit.TestStageContext;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What joining a fan-out costs over its slowest branch (the target: at most 20 µs at p99): a {@link
 * Parallel} of two branches that take 50 µs and 200 µs, against a call of the 200 µs branch alone.
 * Each branch busy-spins (a CPU-bound call) or parks (a call waiting on I/O) for its time. {@code
 * slowFirst} puts the slow branch first, which the calling thread runs itself; otherwise a thread
 * of its own runs it and the caller waits for it. {@code timed} gives each branch a (never reached)
 * timeout, so that every branch gets a thread and the caller watches them.
 *
 * <p>Sample time, so JMH reports the percentiles: the overhead at p50 and p99 is {@code fanOut}'s
 * percentile minus {@code slowestAlone}'s, for the same {@code wait} and {@code caller}. {@code
 * timed} is off unless asked for ({@code -p timed=false,true}).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1)
@State(Scope.Benchmark)
public class FanOutBenchmark {
  static final long FAST_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
  static final long SLOW_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

  /** How a branch spends its time: on a core, or parked. Both benchmarks take it. */
  @State(Scope.Benchmark)
  public static class Work {
    @Param({"spin", "park", "none"})
    public String wait;

    Stage<String, Long> fast;
    Stage<String, Long> slow;

    @Setup
    public void setUp() {
      boolean spin = wait.equals("spin");
      boolean none = wait.equals("none");
      fast = (input, c) -> none ? 0L : spend(FAST_NANOS, spin);
      slow = (input, c) -> none ? 0L : spend(SLOW_NANOS, spin);
    }
  }

  /** The fan-out's shape: which branch the caller runs, and whether the caller watches. */
  @State(Scope.Benchmark)
  public static class Shape {
    /** Whether the slow branch is the first, the one the calling thread runs. */
    @Param({"false", "true"})
    public boolean slowFirst;

    /** Whether the branches have a timeout, so that each gets a thread, watched by the caller. */
    @Param({"false"})
    public boolean timed;

    Parallel<String, Long> fanOut;

    @Setup
    public void setUp(Work work) {
      Parallel.Branch<String, Long> fast = branch("fast", work.fast);
      Parallel.Branch<String, Long> slow = branch("slow", work.slow);
      fanOut =
          Parallel.join(slowFirst ? slow : fast, slowFirst ? fast : slow, (Long a, Long b) -> a + b)
              .bind(PipelineClock.system());
    }

    private Parallel.Branch<String, Long> branch(String name, Stage<String, Long> stage) {
      return Parallel.branch(
          StageName.of(name), stage, timed ? o -> o.timeout(Duration.ofSeconds(10)) : o -> {});
    }
  }

  private final StageContext context =
      TestStageContext.builder().pipeline("bench").stage(StageName.of("enrich")).build();

  /**
   * Where the stage is called from: the benchmark's own (platform) thread, or a virtual thread as a
   * pipeline's worker is, to which each call is handed (both benchmarks pay that hand-off).
   */
  @State(Scope.Thread)
  public static class Caller {
    @Param({"virtual", "platform"})
    public String caller;

    private final SynchronousQueue<Callable<Long>> calls = new SynchronousQueue<>();
    private final SynchronousQueue<Long> results = new SynchronousQueue<>();
    private @Nullable Thread worker;

    @Setup
    public void setUp() {
      if (caller.equals("virtual")) {
        worker = Thread.ofVirtual().name("bench-worker").start(this::work);
      }
    }

    @TearDown
    public void tearDown() throws InterruptedException {
      Thread running = worker;
      if (running != null) {
        running.interrupt();
        running.join();
      }
    }

    long call(Callable<Long> call) throws Exception {
      if (worker == null) {
        return call.call();
      }
      calls.put(call);
      return results.take();
    }

    private void work() {
      try {
        while (true) {
          Callable<Long> call = calls.take();
          long result;
          try {
            result = call.call();
          } catch (Exception e) {
            result = -1; // the benchmark's stages do not throw
          }
          results.put(result);
        }
      } catch (InterruptedException e) {
        // the trial is over
      }
    }
  }

  private static long spend(long nanos, boolean spin) {
    long start = System.nanoTime();
    long end = start + nanos;
    if (spin) {
      while (System.nanoTime() - end < 0) {
        Thread.onSpinWait();
      }
    } else {
      LockSupport.parkNanos(nanos);
    }
    return System.nanoTime() - start;
  }

  @Benchmark
  public long slowestAlone(Work work, Caller caller) throws Exception {
    return caller.call(() -> work.slow.process("record", context));
  }

  /**
   * The floor under any fan-out on virtual threads: starting one that does nothing and waiting for
   * it to end.
   */
  @Benchmark
  public long threadStartAndJoin(Caller caller) throws Exception {
    return caller.call(
        () -> {
          Thread thread = Thread.ofVirtual().start(() -> {});
          thread.join();
          return 0L;
        });
  }

  @Benchmark
  public long fanOut(Shape shape, Caller caller) throws Exception {
    return caller.call(() -> shape.fanOut.process("record", context));
  }
}
