package dev.pipeline.bench;

import dev.pipeline.RecordFilteredException;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.MalformedListingException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.springframework.batch.core.configuration.support.MapJobRegistry;
import org.springframework.batch.core.job.Job;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.builder.JobBuilder;
import org.springframework.batch.core.job.parameters.JobParameters;
import org.springframework.batch.core.launch.support.TaskExecutorJobOperator;
import org.springframework.batch.core.repository.support.ResourcelessJobRepository;
import org.springframework.batch.core.step.Step;
import org.springframework.batch.core.step.builder.StepBuilder;
import org.springframework.batch.infrastructure.item.Chunk;
import org.springframework.batch.infrastructure.item.ItemProcessor;
import org.springframework.batch.infrastructure.item.ItemWriter;
import org.springframework.batch.infrastructure.item.support.IteratorItemReader;
import org.springframework.batch.infrastructure.item.support.SynchronizedItemReader;
import org.springframework.batch.infrastructure.support.transaction.ResourcelessTransactionManager;
import org.springframework.core.task.support.TaskExecutorAdapter;

/**
 * The Spring Batch baseline of the in-memory real-work target: the eight functions of {@link
 * ListingWork} over the same generated lines, as a Spring Batch 6 job of one step with its
 * in-memory ({@code ResourcelessJobRepository}) repository and transaction manager, on the
 * machine's cores. Plain Java: builders, no application context.
 *
 * <p>Of Spring Batch's ways to use several cores in one step, two are measured and the faster is
 * the baseline:
 *
 * <ul>
 *   <li>{@link Config#CONCURRENT_ITEMS}: Spring Batch 6's chunk-oriented step ({@code
 *       StepBuilder.chunk(int)}) with a task executor, which processes the items of each chunk
 *       concurrently while reading and writing stay on the step's thread;
 *   <li>{@link Config#MULTI_THREADED_STEP}: the older multi-threaded step ({@code
 *       StepBuilder.chunk(int, PlatformTransactionManager)}, deprecated in 6.0) with a task
 *       executor, where each thread reads a chunk through a synchronized reader, processes and
 *       writes it.
 * </ul>
 *
 * <p>Both use a pool of {@link #THREADS} threads, one per core, and chunks of {@link #CHUNK} items.
 * The processor runs the first seven functions and returns null (Spring Batch's filter) for what
 * our pipeline filters or dead-letters, counting each; the writer publishes into a {@link
 * RollingIndex}, as our publishing stage does. Only the job's execution is timed.
 */
final class SpringBatchMemoryWork {
  /** Threads processing items: the machine's cores. */
  static final int THREADS = Runtime.getRuntime().availableProcessors();

  /** Items per chunk: the real-work scenario's batch size. */
  static final int CHUNK = 128;

  /** The two multi-threaded configurations measured. */
  enum Config {
    CONCURRENT_ITEMS("chunk-oriented step, concurrent items"),
    MULTI_THREADED_STEP("multi-threaded step (deprecated)");

    final String label;

    Config(String label) {
      this.label = label;
    }
  }

  static {
    if (System.getProperty("org.slf4j.simpleLogger.log.org.springframework") == null) {
      System.setProperty("org.slf4j.simpleLogger.log.org.springframework", "warn");
    }
  }

  private SpringBatchMemoryWork() {}

  /** Runs the job over {@code records} generated lines; its outcome, and how long it took. */
  @SuppressWarnings({"deprecation", "removal"}) // the multi-threaded step is deprecated in 6.0
  static RealWorkScenario.Measured run(Config config, int records) throws Exception {
    ResourcelessJobRepository repository = new ResourcelessJobRepository();
    ResourcelessTransactionManager transactions = new ResourcelessTransactionManager();
    RollingIndex index = new RollingIndex();
    Stages stages = new Stages();
    Publisher publisher = new Publisher(index);
    ExecutorService threads =
        Executors.newFixedThreadPool(
            THREADS, Thread.ofPlatform().daemon().name("spring-batch-", 0).factory());
    try {
      // a pool of one thread per core: a new thread per item (SimpleAsyncTaskExecutor) made the
      // chunk-oriented step eight times slower than this
      TaskExecutorAdapter executor = new TaskExecutorAdapter(threads);
      IteratorItemReader<String> lines = new IteratorItemReader<>(ListingWork.lines(records));
      Step step =
          switch (config) {
            case CONCURRENT_ITEMS ->
                new StepBuilder("listings", repository)
                    .<String, IndexedListing>chunk(CHUNK)
                    .transactionManager(transactions)
                    .reader(lines)
                    .processor(stages)
                    .writer(publisher)
                    .taskExecutor(executor)
                    .build();
            case MULTI_THREADED_STEP ->
                new StepBuilder("listings", repository)
                    .<String, IndexedListing>chunk(CHUNK, transactions)
                    .reader(new SynchronizedItemReader<>(lines))
                    .processor(stages)
                    .writer(publisher)
                    .taskExecutor(executor)
                    .build();
          };
      Job job = new JobBuilder("listings-" + config.name(), repository).start(step).build();
      TaskExecutorJobOperator operator = new TaskExecutorJobOperator();
      operator.setJobRepository(repository);
      operator.setJobRegistry(new MapJobRegistry());
      operator.afterPropertiesSet();

      Scenario.settle();
      CpuMeter cpu = CpuMeter.start();
      long start = System.nanoTime();
      JobExecution execution = operator.start(job, new JobParameters());
      long took = System.nanoTime() - start;
      CpuMeter.Usage used = cpu.stop();
      ListingWork.Outcome outcome =
          new ListingWork.Outcome(
              publisher.published.sum(), stages.filtered.sum(), stages.deadLettered.sum());
      SpringBatchRepository.requireComplete(
          execution,
          records,
          outcome.published(),
          outcome.filtered() + outcome.deadLettered(),
          outcome);
      return new RealWorkScenario.Measured(took, outcome, used);
    } finally {
      threads.shutdownNow();
    }
  }

  /**
   * The first seven functions; null for a line that does not parse or a listing validation filters
   * or rejects, counted as our pipeline counts them. Runs on several threads.
   */
  private static final class Stages implements ItemProcessor<String, IndexedListing> {
    final LongAdder filtered = new LongAdder();
    final LongAdder deadLettered = new LongAdder();

    @Override
    public @Nullable IndexedListing process(String line) throws Exception {
      try {
        return ListingWork.INDEX.apply(
            ListingWork.VALIDATE.apply(
                ListingWork.TRANSLATE.apply(
                    ListingWork.ANALYZE.apply(
                        ListingWork.EXTRACT.apply(
                            ListingWork.CLEAN.apply(ListingWork.PARSE.apply(line)))))));
      } catch (RecordFilteredException e) {
        filtered.increment();
        return null;
      } catch (MalformedListingException | ListingRejectedException e) {
        deadLettered.increment();
        return null;
      }
    }
  }

  /** The publishing stage: each listing of a chunk into the index, counted. */
  private static final class Publisher implements ItemWriter<IndexedListing> {
    private final RollingIndex index;
    final LongAdder published = new LongAdder();

    Publisher(RollingIndex index) {
      this.index = index;
    }

    @Override
    public void write(Chunk<? extends IndexedListing> chunk) {
      for (IndexedListing listing : chunk) {
        index.publish(listing);
      }
      published.add(chunk.size());
    }
  }
}
