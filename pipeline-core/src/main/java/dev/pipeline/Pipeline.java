package dev.pipeline;

import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.Page;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.PipelineStore;
import dev.pipeline.store.StageDescriptor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * A built pipeline: typed stages between sources and a sink, ready to run any number of times.
 *
 * <pre>{@code
 * Pipeline<String, Listing> pipeline = Pipeline.builder("equipment", String.class)
 *     .stage(INGESTION, Parser::parse)
 *     .stage(CLEANING, Cleaner::clean, s -> s.concurrency(4))
 *     .stage(PUBLISHING, publisher::publish)
 *     .sink(index)
 *     .build();
 * RunResult result = pipeline.run(Source.lines("scraper-a", file));
 * }</pre>
 *
 * <p>Every record read ends in exactly one terminal state: published (handed to the sink), filtered
 * (with a reason) or dead-lettered (with its errors); a failing record never stops the others. Runs
 * happen on virtual threads, one per stage worker and per source; queues between stages are
 * bounded, so memory stays flat however large the sources.
 *
 * <p>Thread-safe.
 *
 * @param <I> the type sources yield
 * @param <O> the type the sink receives
 */
public final class Pipeline<I, O> implements AutoCloseable {
  private final String name;
  private final List<StageDefinition> stages;
  private final PipelineStore store;
  private final boolean ownsStore;
  private final PipelineClock clock;
  private final @Nullable Sink<Object> sink;
  private final ToLongFunction<Object> payloadSize;
  private final int queueCapacity;
  private final Function<StageName, Logger> stageLoggers;
  private final AtomicReference<@Nullable Run> lastRun = new AtomicReference<>();

  Pipeline(
      String name,
      List<StageDefinition> stages,
      PipelineStore store,
      boolean ownsStore,
      PipelineClock clock,
      @Nullable Sink<Object> sink,
      ToLongFunction<Object> payloadSize,
      int queueCapacity,
      Function<StageName, Logger> stageLoggers,
      @Nullable PayloadCodec<?> inputCodec) {
    this.name = name;
    this.stageLoggers = stageLoggers;
    this.stages = stages;
    this.store = store;
    this.ownsStore = ownsStore;
    this.clock = clock;
    this.sink = sink;
    this.payloadSize = payloadSize;
    this.queueCapacity = queueCapacity;
    List<StageDescriptor> descriptors = new ArrayList<>();
    PayloadCodec<?> codec = inputCodec;
    for (StageDefinition stage : stages) {
      descriptors.add(stage.describe(codec));
      codec = stage.options().codec();
    }
    store.register(name, descriptors);
  }

  /**
   * Starts building a pipeline.
   *
   * @param name the pipeline's name, kept with its records in the store
   * @param inputType the type its sources yield (for the typed chain; not checked at run time)
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the name is blank
   */
  public static <T> PipelineBuilder<T, T> builder(String name, Class<T> inputType) {
    Objects.requireNonNull(name, "name cannot be null");
    Objects.requireNonNull(inputType, "inputType cannot be null");
    if (name.isBlank()) {
      throw new IllegalArgumentException("pipeline name cannot be blank");
    }
    return new PipelineBuilder<>(name, inputType);
  }

  /** The pipeline's name. */
  public String name() {
    return name;
  }

  /** The stages, in order. */
  public List<StageName> stages() {
    return stages.stream().map(StageDefinition::name).toList();
  }

  /** The options of a stage. */
  public StageOptions options(StageName stage) {
    for (StageDefinition definition : stages) {
      if (definition.name().equals(stage)) {
        return definition.options();
      }
    }
    throw new IllegalArgumentException("pipeline '" + name + "' has no stage '" + stage + "'");
  }

  /** The store that keeps the records' state. */
  public PipelineStore store() {
    return store;
  }

  /**
   * Runs the pipeline over one source and waits for it to finish.
   *
   * @throws PipelineException if interrupted while waiting (the run is cancelled)
   */
  public RunResult run(Source<? extends I> source) {
    return run(List.of(Objects.requireNonNull(source, "source cannot be null")));
  }

  /**
   * Runs the pipeline over several sources, read concurrently, and waits for it to finish.
   *
   * @throws PipelineException if interrupted while waiting (the run is cancelled)
   */
  public RunResult run(List<? extends Source<? extends I>> sources) {
    PipelineRun run = start(sources);
    try {
      return run.await();
    } catch (InterruptedException e) {
      run.cancel();
      Thread.currentThread().interrupt();
      throw new PipelineException(
          "interrupted while waiting for pipeline '" + name + "'; the run was cancelled", e);
    }
  }

  /** Starts the pipeline over one source and returns at once. */
  public PipelineRun start(Source<? extends I> source) {
    return start(List.of(Objects.requireNonNull(source, "source cannot be null")));
  }

  /**
   * Starts the pipeline over several sources and returns at once.
   *
   * @throws IllegalArgumentException if there are no sources
   */
  @SuppressWarnings("unchecked")
  public PipelineRun start(List<? extends Source<? extends I>> sources) {
    Objects.requireNonNull(sources, "sources cannot be null");
    if (sources.isEmpty()) {
      throw new IllegalArgumentException("give at least one source");
    }
    List<Source<Object>> all = new ArrayList<>();
    for (Source<? extends I> source : sources) {
      all.add((Source<Object>) Objects.requireNonNull(source, "sources cannot hold null"));
    }
    Run run =
        new Run(name, stages, store, clock, sink, payloadSize, queueCapacity, stageLoggers, all);
    lastRun.set(run);
    run.start();
    return run;
  }

  /** A snapshot of the metrics of the current run, or of the last one if none is running. */
  public PipelineMetrics metrics() {
    Run run = lastRun.get();
    if (run == null) {
      return new PipelineMetrics(name, clock.now(), List.of(), 0, 0, 0, 0, 0);
    }
    return run.metrics();
  }

  /** One page of dead letters matching the query. */
  public Page<DeadLetter> deadLetters(DeadLetterQuery query) {
    return store.deadLetters(name, query);
  }

  /**
   * Shuts down gracefully: a running run stops reading its sources and finishes the records it
   * read, waiting at most {@code timeout}; then it is cancelled. Closes the store if the pipeline
   * made it.
   */
  public void close(Duration timeout) {
    Run run = lastRun.get();
    try {
      if (run != null && !run.status().isDone()) {
        run.shutdown();
        if (run.await(timeout).isEmpty()) {
          run.cancel();
          run.await();
        }
      }
    } catch (InterruptedException e) {
      if (run != null) {
        run.cancel();
      }
      Thread.currentThread().interrupt();
    } finally {
      if (ownsStore) {
        store.close();
      }
    }
  }

  /** {@link #close(Duration)} with a timeout of 30 seconds. */
  @Override
  public void close() {
    close(Duration.ofSeconds(30));
  }

  @Override
  public String toString() {
    return "Pipeline[" + name + ", stages=" + stages() + "]";
  }
}
