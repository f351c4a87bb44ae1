package dev.pipeline.engine.run;

import dev.pipeline.Sink;
import dev.pipeline.StageOptions;
import dev.pipeline.engine.Invoker;
import dev.pipeline.engine.OutputShape;
import dev.pipeline.engine.Outputs;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.metrics.WindowScorer;
import dev.pipeline.metrics.WindowScores;
import dev.pipeline.resilience.CircuitBreaker;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A stage during this run: its queue, workers and metrics. */
final class RunStage {
  private static final Logger LOG = LoggerFactory.getLogger(RunStage.class);
  final StageDefinition def;
  final int index;
  final @Nullable AdaptiveBatchSize adaptive;
  // whether its workers take batches sized by time (see TakeSizer); set before the run starts
  boolean timedTakes;
  final RecordQueue queue;
  final @Nullable RunStage next;
  final @Nullable Sink<Object> sink; // set on the sink's pseudo-stage only
  // a route stage's branch sinks, by branch (null for a branch that joins); set before the run
  // starts, on route stages with branches that end at sinks only
  @Nullable RunStage @Nullable [] exits;
  // a route branch's sink only: its route stage, and whether the records it is given can be parked
  // in the store's retry queue; set before the run starts
  @Nullable RunStage route;
  boolean exitParkable;
  final StageRecorder recorder;
  final AtomicInteger workerNames = new AtomicInteger();
  final List<WorkerSlot> slots = new CopyOnWriteArrayList<>();
  final Invoker invoker;
  final Invoker.Check<Object> singleCheck;
  final Invoker.Check<List<Object>> batchCheck;
  // what each output must be, or null if the stage checks nothing (and for the sink)
  final @Nullable OutputShape shape;
  // the stage's logger for its call contexts, asked of the pipeline's stage loggers at the first
  // context (racing workers may each ask once: the function gives the same logger)
  volatile @Nullable Logger logger;
  private final ReentrantLock latencyLock = new ReentrantLock();
  // guarded by latencyLock
  private final LatencyHistogram latency = new LatencyHistogram();

  RunStage(
      StageDefinition def,
      RecordQueue queue,
      @Nullable RunStage next,
      int index,
      @Nullable Sink<Object> sink,
      Invoker invoker) {
    this.def = def;
    this.sink = sink;
    this.invoker = invoker;
    this.shape = sink == null ? OutputShape.of(def.name().value(), def.options()) : null;
    this.singleCheck = Outputs.single(def.name().value(), shape);
    this.batchCheck = Outputs.batch(def.name().value());
    this.index = index;
    this.adaptive =
        def.options().adaptiveBatchSize()
            ? new AdaptiveBatchSize(
                def.options().minBatchSize(),
                def.options().maxBatchSize(),
                def.options().batchSize())
            : null;
    this.queue = queue;
    this.next = next;
    StageOptions options = def.options();
    AdaptiveBatchSize sizes = adaptive;
    this.recorder =
        new StageRecorder(
            def.name().value(),
            options.concurrency(),
            queue::size,
            this::copyLatency,
            new StageRecorder.Live() {
              @Override
              public CircuitBreaker.@Nullable State circuit() {
                CircuitBreaker breaker = options.circuitBreaker();
                return breaker == CircuitBreaker.disabled() ? null : breaker.state();
              }

              @Override
              public double ratePerSecond() {
                return options.rateLimit().ratePerSecond();
              }

              @Override
              public int batchSize() {
                return sizes == null ? options.batchSize() : sizes.size();
              }

              @Override
              public @Nullable WindowScores takeScores() {
                WindowScorer scorer = options.qualityScorer();
                if (scorer == null) {
                  return null;
                }
                try {
                  WindowScores scores = scorer.takeWindow();
                  return scores == null || scores.isEmpty() ? null : scores;
                } catch (RuntimeException e) {
                  LOG.warn(
                      "the quality scorer of stage '{}' failed; its window has no scores: {}",
                      def.name().value(),
                      ErrorText.loggable(e.toString()));
                  return null;
                }
              }
            });
  }

  /**
   * Whether this stage's workers call a sink: the last stage's, and a route stage's with a branch
   * that ends at one.
   */
  boolean callsASink() {
    return next == null || exits != null;
  }

  void recordLatencies(long[] values, int count) {
    latencyLock.lock();
    try {
      for (int i = 0; i < count; i++) {
        latency.recordValue(values[i]);
      }
    } finally {
      latencyLock.unlock();
    }
  }

  LatencyHistogram copyLatency() {
    latencyLock.lock();
    try {
      return latency.copy();
    } finally {
      latencyLock.unlock();
    }
  }

  StageMetrics snapshot() {
    return recorder.snapshot();
  }
}
