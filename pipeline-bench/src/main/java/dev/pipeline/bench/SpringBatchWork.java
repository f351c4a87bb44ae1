package dev.pipeline.bench;

import dev.pipeline.Envelope;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.examples.app.ListingRules;
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
import dev.pipeline.examples.listings.TranslatedListing;
import dev.pipeline.examples.listings.Translator;
import dev.pipeline.examples.listings.ValidatedListing;
import dev.pipeline.quality.QualityGate;
import java.util.HashSet;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.springframework.batch.core.job.Job;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.builder.JobBuilder;
import org.springframework.batch.core.step.Step;
import org.springframework.batch.core.step.builder.StepBuilder;
import org.springframework.batch.infrastructure.item.Chunk;
import org.springframework.batch.infrastructure.item.ItemProcessor;
import org.springframework.batch.infrastructure.item.ItemWriter;
import org.springframework.batch.infrastructure.item.support.AbstractItemCountingItemStreamItemReader;

/**
 * The Spring Batch baseline of the durable targets: the work of {@link DurableWork#durable} — the
 * equipment example's eight stages over the same generated lines — as a Spring Batch 6 job of one
 * chunk-oriented step, with its JDBC job repository on the same kind of fresh database (an H2 file,
 * a new PostgreSQL schema; see {@link BenchDatabase}).
 *
 * <p>The configuration is the one that gives Spring Batch its best honest run, in plain Java
 * (builders, no application context, no Spring Boot):
 *
 * <ul>
 *   <li>the JDBC job repository of {@link SpringBatchRepository}, on the bench database's counted
 *       pool;
 *   <li>the step of {@code StepBuilder.chunk(int)} (Spring Batch 6's chunk-oriented step, not the
 *       deprecated one), chunks of {@link DurableWork#BATCH} lines, one transaction each that
 *       writes the step's counts and the reader's position to the repository;
 *   <li>a reader over {@link DurableWork#source(int)} that counts its position and saves it in the
 *       step's execution context at each chunk, as Spring Batch's file readers do, so that a
 *       restart resumes after the last committed chunk;
 *   <li>a processor that runs the functions of the first seven stages as {@code EquipmentPipeline}
 *       wires them, the validation stage's data quality rules ({@link ListingRules}) included (the
 *       indexer reads the euro rates directly, not through reference data, and a rejected listing
 *       is counted, not thrown as our stage throws it), and filters (returns null for) what our
 *       pipeline filters, dead-letters or skips as a duplicate, counting each: no exception is
 *       thrown, so no chunk is rolled back or scanned, and nothing is written per record;
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
  private SpringBatchWork() {}

  /** Runs the job on a fresh database of the given kind, deleted afterwards. */
  static DurableWork.Measured run(BenchDatabase.Kind kind, int lines) throws Exception {
    try (BenchDatabase db = BenchDatabase.create(kind)) {
      SpringBatchRepository batch = SpringBatchRepository.on(db);
      ListingIndex index = new ListingIndex();
      Stages stages = new Stages();
      Publisher publisher = new Publisher(index);
      Step step =
          new StepBuilder("listings", batch.repository)
              .<Envelope<ScrapedLine>, IndexedListing>chunk(DurableWork.BATCH)
              .transactionManager(batch.transactions)
              .reader(new LineReader(lines))
              .processor(stages)
              .writer(publisher)
              .build();
      Job job = new JobBuilder(DurableWork.PIPELINE, batch.repository).start(step).build();

      Scenario.settle();
      long trips = db.counter.roundTrips();
      db.counter.resetBreakdown();
      CpuMeter cpu = CpuMeter.start(db.helpers());
      long start = System.nanoTime();
      JobExecution execution = batch.run(job);
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
      SpringBatchRepository.requireComplete(
          execution,
          lines,
          outcome.published(),
          outcome.filtered() + outcome.deadLettered() + outcome.duplicates(),
          outcome);
      return new DurableWork.Measured(took, outcome, trips, used, db.counter.breakdown());
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
   * The first seven stages, as {@code EquipmentPipeline} wires them (the validation stage checks
   * the rules of {@link ListingRules} before the validator, through a context moved to each line),
   * on a line whose listing id has not come before; null (filtered, in Spring Batch's terms) for a
   * duplicate, a line that does not parse and a listing the validator filters or rejects, each
   * counted as our pipeline counts it. Runs on the step's one thread.
   */
  private static final class Stages
      implements ItemProcessor<Envelope<ScrapedLine>, IndexedListing> {
    private final Set<String> seen = new HashSet<>();
    private final QualityGate<TranslatedListing> rules = ListingRules.gate();
    private final ItemStageContext validation =
        new ItemStageContext(DurableWork.PIPELINE, StageName.VALIDATION);
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
      TranslatedListing translated =
          Translator.translate(SentimentAnalyzer.analyze(Extractor.extract(Cleaner.clean(raw))));
      validation.moveTo(line);
      ValidatedListing validated = ListingValidator.validate(rules.process(translated, validation));
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
