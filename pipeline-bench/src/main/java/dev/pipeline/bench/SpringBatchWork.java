package dev.pipeline.bench;

import dev.pipeline.Envelope;
import dev.pipeline.Source;
import dev.pipeline.examples.app.ScrapedLine;
import dev.pipeline.examples.listings.Cleaner;
import dev.pipeline.examples.listings.Extractor;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.Indexer;
import dev.pipeline.examples.listings.ListingIndex;
import dev.pipeline.examples.listings.ListingParser;
import dev.pipeline.examples.listings.ListingValidator;
import dev.pipeline.examples.listings.MalformedListingException;
import dev.pipeline.examples.listings.RawListing;
import dev.pipeline.examples.listings.SentimentAnalyzer;
import dev.pipeline.examples.listings.Translator;
import dev.pipeline.examples.listings.ValidatedListing;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.configuration.support.MapJobRegistry;
import org.springframework.batch.core.job.Job;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.builder.JobBuilder;
import org.springframework.batch.core.job.parameters.JobParameters;
import org.springframework.batch.core.launch.support.TaskExecutorJobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.repository.support.JdbcJobRepositoryFactoryBean;
import org.springframework.batch.core.step.Step;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.core.step.builder.StepBuilder;
import org.springframework.batch.infrastructure.item.Chunk;
import org.springframework.batch.infrastructure.item.ItemProcessor;
import org.springframework.batch.infrastructure.item.ItemWriter;
import org.springframework.batch.infrastructure.item.support.AbstractItemCountingItemStreamItemReader;
import org.springframework.core.io.ClassPathResource;
import org.springframework.jdbc.datasource.init.ScriptUtils;
import org.springframework.jdbc.support.JdbcTransactionManager;

/**
 * The Spring Batch baseline of the durable targets (issue 11): the work of {@link
 * DurableWork#durable} — the equipment example's eight stages over the same generated lines — as a
 * Spring Batch 6 job of one chunk-oriented step, with its JDBC job repository on the same kind of
 * fresh database (an H2 file, a new PostgreSQL schema; see {@link BenchDatabase}).
 *
 * <p>The configuration is the one that gives Spring Batch its best honest run, in plain Java
 * (builders, no application context, no Spring Boot):
 *
 * <ul>
 *   <li>the job repository of {@link JdbcJobRepositoryFactoryBean}, its tables made from the
 *       scripts in Spring Batch's jar ({@code schema-h2.sql}, {@code schema-postgresql.sql}), on
 *       the bench database's counted pool, with a {@link JdbcTransactionManager} on it;
 *   <li>the step of {@code StepBuilder.chunk(int)} (Spring Batch 6's chunk-oriented step, not the
 *       deprecated one), chunks of {@link DurableWork#BATCH} lines, one transaction each that
 *       writes the step's counts and the reader's position to the repository;
 *   <li>a reader over {@link DurableWork#source(int)} that counts its position and saves it in the
 *       step's execution context at each chunk, as Spring Batch's file readers do, so that a
 *       restart resumes after the last committed chunk;
 *   <li>a processor that runs the first seven stages as {@code EquipmentPipeline} wires them and
 *       filters (returns null for) what our pipeline filters, dead-letters or skips as a duplicate,
 *       counting each: no exception is thrown, so no chunk is rolled back or scanned, and nothing
 *       is written per record;
 *   <li>a writer that publishes each chunk into a fresh {@link ListingIndex}, as the publishing
 *       stage does.
 * </ul>
 *
 * <p>So Spring Batch keeps less than our store: no row per record, no payload, no record of what
 * was filtered or dead-lettered and why; the duplicates are found in a set in memory, which a
 * restart would start empty (the index ignores a re-published id). Only the job's execution is
 * timed, from {@code JobOperator.start} to its return (the launcher runs the job on the calling
 * thread); building the repository, the step and the job, and creating the tables, are not.
 */
final class SpringBatchWork {
  static {
    // Spring logs each job and step at INFO: four lines a run, in the middle of the progress log
    if (System.getProperty("org.slf4j.simpleLogger.log.org.springframework") == null) {
      System.setProperty("org.slf4j.simpleLogger.log.org.springframework", "warn");
    }
  }

  private SpringBatchWork() {}

  /** Runs the job on a fresh database of the given kind, deleted afterwards. */
  static DurableWork.Measured run(BenchDatabase.Kind kind, int lines) throws Exception {
    try (BenchDatabase db = BenchDatabase.create(kind)) {
      createTables(db);
      DataSource dataSource = db.dataSource();
      JdbcTransactionManager transactions = new JdbcTransactionManager(dataSource);
      JdbcJobRepositoryFactoryBean factory = new JdbcJobRepositoryFactoryBean();
      factory.setDataSource(dataSource);
      factory.setTransactionManager(transactions);
      factory.setDatabaseType(kind == BenchDatabase.Kind.H2 ? "H2" : "POSTGRES");
      String schema = db.schema();
      if (schema != null) {
        factory.setTablePrefix(schema + ".BATCH_");
      }
      factory.afterPropertiesSet();
      JobRepository repository = factory.getObject();

      ListingIndex index = new ListingIndex();
      Stages stages = new Stages();
      Publisher publisher = new Publisher(index);
      Step step =
          new StepBuilder("listings", repository)
              .<Envelope<ScrapedLine>, IndexedListing>chunk(DurableWork.BATCH)
              .transactionManager(transactions)
              .reader(new LineReader(lines))
              .processor(stages)
              .writer(publisher)
              .build();
      Job job = new JobBuilder(DurableWork.PIPELINE, repository).start(step).build();
      TaskExecutorJobOperator operator = new TaskExecutorJobOperator();
      operator.setJobRepository(repository);
      operator.setJobRegistry(new MapJobRegistry());
      operator.afterPropertiesSet();

      Scenario.settle();
      long trips = db.counter.roundTrips();
      db.counter.resetBreakdown();
      CpuMeter cpu = CpuMeter.start(db.helpers());
      long start = System.nanoTime();
      JobExecution execution = operator.start(job, new JobParameters());
      long took = System.nanoTime() - start;
      CpuMeter.Usage used = cpu.stop();
      trips = db.counter.roundTrips() - trips;

      DurableWork.Outcome outcome =
          new DurableWork.Outcome(
              publisher.published,
              stages.filtered,
              stages.deadLettered,
              stages.duplicates,
              DurableWork.checksum(index, lines));
      requireComplete(execution, outcome, lines);
      return new DurableWork.Measured(took, outcome, trips, used, db.counter.breakdown());
    }
  }

  /**
   * Creates Spring Batch's tables from the script in its jar, on a connection of its own: in the
   * run's schema on PostgreSQL (the script's names are unqualified), which is made first.
   */
  private static void createTables(BenchDatabase db) throws Exception {
    String schema = db.schema();
    try (Connection c = DriverManager.getConnection(db.url())) {
      if (schema != null) {
        try (Statement s = c.createStatement()) {
          s.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
          s.execute("SET search_path TO " + schema);
        }
      }
      String script = db.kind == BenchDatabase.Kind.H2 ? "h2" : "postgresql";
      ScriptUtils.executeSqlScript(
          c, new ClassPathResource("org/springframework/batch/core/schema-" + script + ".sql"));
    }
  }

  /**
   * Checks that the job completed, read every line and filtered or wrote each as counted.
   *
   * @throws IllegalStateException if not: a crash, not a missed target
   */
  private static void requireComplete(
      JobExecution execution, DurableWork.Outcome outcome, int lines) {
    List<StepExecution> steps = List.copyOf(execution.getStepExecutions());
    StepExecution step = steps.size() == 1 ? steps.get(0) : null;
    if (execution.getStatus() != BatchStatus.COMPLETED
        || step == null
        || step.getReadCount() != lines
        || step.getWriteCount() != outcome.published()
        || step.getFilterCount()
            != outcome.filtered() + outcome.deadLettered() + outcome.duplicates()
        || outcome.unique() + outcome.duplicates() != lines) {
      IllegalStateException failure =
          new IllegalStateException(
              "Spring Batch job did not complete cleanly: expected "
                  + lines
                  + " lines read, each written or filtered once; "
                  + execution
                  + ", steps "
                  + steps
                  + ", counted "
                  + outcome);
      execution.getAllFailureExceptions().forEach(failure::addSuppressed);
      throw failure;
    }
  }

  /**
   * The lines of {@link DurableWork#source(int)}, counted: the count is saved in the step's
   * execution context at each chunk, and a restart skips that many lines.
   */
  private static final class LineReader
      extends AbstractItemCountingItemStreamItemReader<Envelope<ScrapedLine>> {
    private final int lines;
    private @Nullable Source<ScrapedLine> source;

    LineReader(int lines) {
      this.lines = lines;
      setName("lines");
    }

    @Override
    protected void doOpen() {
      source = DurableWork.source(lines);
    }

    @Override
    protected @Nullable Envelope<ScrapedLine> doRead() throws Exception {
      Source<ScrapedLine> s = source;
      if (s == null) {
        throw new IllegalStateException("reader not opened");
      }
      return s.next();
    }

    @Override
    protected void doClose() throws Exception {
      Source<ScrapedLine> s = source;
      source = null;
      if (s != null) {
        s.close();
      }
    }
  }

  /**
   * The first seven stages, as {@code EquipmentPipeline} wires them, on a line whose listing id has
   * not come before; null (filtered, in Spring Batch's terms) for a duplicate, a line that does not
   * parse and a listing the validator filters or rejects, each counted as our pipeline counts it.
   * Runs on the step's one thread.
   */
  private static final class Stages
      implements ItemProcessor<Envelope<ScrapedLine>, IndexedListing> {
    private final Set<String> seen = new HashSet<>();
    long duplicates;
    long filtered;
    long deadLettered;

    @Override
    public @Nullable IndexedListing process(Envelope<ScrapedLine> line) {
      if (!seen.add(line.id())) {
        duplicates++;
        return null;
      }
      ScrapedLine scraped = line.payload();
      RawListing raw;
      try {
        raw = ListingParser.parse(scraped.sourceId(), scraped.lineNo(), scraped.text());
      } catch (MalformedListingException e) {
        deadLettered++;
        return null;
      }
      ValidatedListing validated =
          ListingValidator.validate(
              Translator.translate(
                  SentimentAnalyzer.analyze(Extractor.extract(Cleaner.clean(raw)))));
      return switch (validated.outcome()) {
        case ACCEPTED -> Indexer.index(validated);
        case FILTERED -> {
          filtered++;
          yield null;
        }
        case REJECTED -> {
          deadLettered++;
          yield null;
        }
      };
    }
  }

  /** The publishing stage: each listing of a chunk into the index, counted. */
  private static final class Publisher implements ItemWriter<IndexedListing> {
    private final ListingIndex index;
    long published;

    Publisher(ListingIndex index) {
      this.index = index;
    }

    @Override
    public void write(Chunk<? extends IndexedListing> chunk) {
      for (IndexedListing listing : chunk) {
        index.publish(listing);
      }
      published += chunk.size();
    }
  }
}
