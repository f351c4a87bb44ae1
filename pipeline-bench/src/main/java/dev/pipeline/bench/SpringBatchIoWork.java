package dev.pipeline.bench;

import java.util.Iterator;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.springframework.batch.core.job.Job;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.builder.JobBuilder;
import org.springframework.batch.core.step.Step;
import org.springframework.batch.core.step.builder.StepBuilder;
import org.springframework.batch.infrastructure.item.Chunk;
import org.springframework.batch.infrastructure.item.ItemWriter;
import org.springframework.batch.infrastructure.item.support.AbstractItemCountingItemStreamItemReader;
import org.springframework.core.task.SimpleAsyncTaskExecutor;

/**
 * The Spring Batch baseline of the IO-bound durable target (see {@link DurableIoScenario}): the
 * {@link IoScenario} work — the numbers 0 to n - 1, each through the eight stages' functions, six
 * of which wait 2 ms, the results summed — as a Spring Batch 6 job of one chunk-oriented step, with
 * its JDBC job repository on the same kind of fresh database as our durable run ({@link
 * SpringBatchRepository}).
 *
 * <p>Of the ways Spring Batch scales one step in one JVM (its reference, "Scaling and Parallel
 * Processing"), the one that gives it its best honest run here is the first:
 *
 * <ul>
 *   <li><b>A task executor on the chunk-oriented step</b> (Spring Batch 6's multi-threaded step):
 *       the items of a chunk are processed concurrently on the executor, while reading, writing and
 *       the chunk's transaction stay on the step's thread, one chunk at a time. The transaction,
 *       and so a connection, is held only by the step's thread, the reader's position is committed
 *       with each chunk (a restart resumes after the last one), and the concurrency is wherever the
 *       2 ms waits are. Chosen.
 *   <li>An {@code AsyncItemProcessor} and {@code AsyncItemWriter} (module {@code
 *       spring-batch-integration}): the same concurrency within a chunk, through futures handed to
 *       the writer; it gains nothing over the first and brings in Spring Integration.
 *   <li>Local chunking ({@code ChunkTaskExecutorItemWriter}, also in {@code
 *       spring-batch-integration}) or a partitioned step: concurrency by chunk, each worker
 *       processing its chunk's items one after another in a transaction of its own, which holds a
 *       connection while its items wait. 120 items in flight would take 120 open transactions: more
 *       than the bench's pool of 11 connections and than PostgreSQL's default {@code
 *       max_connections} of 100; with 11 workers, 11 items would be in flight.
 * </ul>
 *
 * <p>The executor is a {@link SimpleAsyncTaskExecutor} on virtual threads (a new one per item, as
 * cheap as our engine's workers), limited to {@link #CONCURRENCY} items at once: as many 2 ms calls
 * in flight as our six IO stages with {@link IoScenario#TARGET_CONCURRENCY} workers each, so both
 * have the same bound by Little's law, 10,000 records/s. The step reads on while the limit lets it
 * (the executor makes it wait for a free place), then waits for the chunk's last item, writes and
 * commits: the calls in flight drain at each chunk's end, which a chunk of {@link #CHUNK} items (32
 * rounds of the limit) keeps to a small share of its time; see that constant.
 *
 * <p>The processor runs the eight functions of our stages one after the other ({@link
 * IoScenario#throughStages}); the writer sums the results, as our sink does, so the sums must be
 * equal. Spring Batch keeps less than our store: no row per record, no payload; only the step's
 * counts and the reader's position. Only the job's execution is timed, from {@code
 * JobOperator.start} to its return; building the repository, the step, the job and the executor,
 * and creating the tables, are not.
 */
final class SpringBatchIoWork {
  /** Items processed at once: 6 IO stages × 20 workers, the calls our pipeline has in flight. */
  static final int CONCURRENCY = IoScenario.IO_STAGES * IoScenario.TARGET_CONCURRENCY;

  /**
   * Items per chunk, so per transaction: 32 rounds of the executor's limit, which made Spring Batch
   * fastest. The calls in flight drain at each chunk's end (for one record's six calls, about 12
   * ms, plus the commit), which costs the less, the more rounds a chunk holds: in runs on
   * PostgreSQL on this bench's machine, chunks of 120 were about 20% slower, 960 about 4%, 1,920
   * about 1%, and 7,680 no faster, while a crash would redo more work.
   */
  static final int CHUNK = 32 * CONCURRENCY;

  private SpringBatchIoWork() {}

  /** Runs the job over {@code records} numbers on a fresh database of the given kind. */
  static DurableIoScenario.Measured run(BenchDatabase.Kind kind, int records) throws Exception {
    try (BenchDatabase db = BenchDatabase.uncounted(kind);
        SimpleAsyncTaskExecutor executor =
            new SimpleAsyncTaskExecutor(Thread.ofVirtual().name("spring-batch-io-", 0).factory())) {
      // a factory rather than setVirtualThreads(true): that one needs Spring's class for Java 21,
      // which benchmarks.jar hides (its manifest does not say Multi-Release)
      executor.setConcurrencyLimit(CONCURRENCY);
      SpringBatchRepository batch = SpringBatchRepository.on(db);
      Summer summer = new Summer();
      Step step =
          new StepBuilder("io", batch.repository)
              .<Long, Long>chunk(CHUNK)
              .transactionManager(batch.transactions)
              .reader(new NumberReader(records))
              .processor(IoScenario::throughStages)
              .writer(summer)
              .taskExecutor(executor)
              .build();
      Job job =
          new JobBuilder("io-" + IoScenario.TARGET_CONCURRENCY, batch.repository)
              .start(step)
              .build();

      Scenario.settle();
      CpuMeter cpu = CpuMeter.start(db.helpers());
      long start = System.nanoTime();
      JobExecution execution = batch.run(job);
      long took = System.nanoTime() - start;
      CpuMeter.Usage used = cpu.stop();

      long sum = summer.sum.sum();
      SpringBatchRepository.requireComplete(
          execution,
          records,
          records,
          0,
          String.format("%,d written, sum %d", summer.written.sum(), sum));
      if (summer.written.sum() != records) {
        throw new IllegalStateException(
            "Spring Batch's writer got " + summer.written.sum() + " items of " + records);
      }
      return new DurableIoScenario.Measured(records / (took / 1e9), used, sum, records);
    }
  }

  /**
   * The numbers 0 to n - 1, counted: the count is saved in the step's execution context at each
   * chunk, and a restart skips that many. Read on the step's thread only.
   */
  private static final class NumberReader extends AbstractItemCountingItemStreamItemReader<Long> {
    private final int records;
    private @Nullable Iterator<Long> numbers;

    NumberReader(int records) {
      this.records = records;
      setName("numbers");
    }

    @Override
    protected void doOpen() {
      numbers = TrivialStages.numbers(records);
    }

    @Override
    protected @Nullable Long doRead() {
      Iterator<Long> n = numbers;
      if (n == null) {
        throw new IllegalStateException("reader not opened");
      }
      return n.hasNext() ? n.next() : null;
    }

    @Override
    protected void doClose() {
      numbers = null;
    }
  }

  /** Our sink: the chunk's results summed, and counted. */
  private static final class Summer implements ItemWriter<Long> {
    final LongAdder sum = new LongAdder();
    final LongAdder written = new LongAdder();

    @Override
    public void write(Chunk<? extends Long> chunk) {
      for (Long x : chunk) {
        sum.add(x);
      }
      written.add(chunk.size());
    }
  }
}
