package dev.pipeline.bench;

import static dev.pipeline.StageName.ANALYSIS;
import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.INDEXING;
import static dev.pipeline.StageName.INGESTION;
import static dev.pipeline.StageName.PUBLISHING;
import static dev.pipeline.StageName.TRANSLATION;
import static dev.pipeline.StageName.VALIDATION;

import dev.pipeline.Pipeline;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.StageFunction;
import dev.pipeline.StageOptions;
import dev.pipeline.examples.listings.AnalyzedListing;
import dev.pipeline.examples.listings.CleanListing;
import dev.pipeline.examples.listings.Cleaner;
import dev.pipeline.examples.listings.ExtractedListing;
import dev.pipeline.examples.listings.Extractor;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.Indexer;
import dev.pipeline.examples.listings.ListingGenerator;
import dev.pipeline.examples.listings.ListingIndex;
import dev.pipeline.examples.listings.ListingParser;
import dev.pipeline.examples.listings.ListingValidator;
import dev.pipeline.examples.listings.MalformedListingException;
import dev.pipeline.examples.listings.RawListing;
import dev.pipeline.examples.listings.SentimentAnalyzer;
import dev.pipeline.examples.listings.TranslatedListing;
import dev.pipeline.examples.listings.Translator;
import dev.pipeline.examples.listings.ValidatedListing;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * The equipment-listings example's eight stage functions, wired once and called both by the
 * pipeline and by the plain loop, so that both do exactly the same work: the same parse failures
 * dead-lettered, the same listings filtered by validation, the same listings published into a
 * {@link RollingIndex} of {@link ListingIndex} shards.
 *
 * <p>Lines come lazily from {@link ListingGenerator} (its listing ids are unique within one
 * sequence; about 2% of its lines are re-posts of an earlier line, which the index ignores). Each
 * line's record id is its position, so every line runs through all stages in both loop and
 * pipeline.
 */
final class ListingWork {
  static final String SOURCE_ID = "generated";

  static final StageFunction<String, RawListing> PARSE =
      line -> ListingParser.parse(SOURCE_ID, 0, line);
  static final StageFunction<RawListing, CleanListing> CLEAN = Cleaner::clean;
  static final StageFunction<CleanListing, ExtractedListing> EXTRACT = Extractor::extract;
  static final StageFunction<ExtractedListing, AnalyzedListing> ANALYZE =
      SentimentAnalyzer::analyze;
  static final StageFunction<AnalyzedListing, TranslatedListing> TRANSLATE =
      (AnalyzedListing listing) -> Translator.translate(listing);
  static final StageFunction<TranslatedListing, ValidatedListing> VALIDATE = ListingWork::gate;
  static final StageFunction<ValidatedListing, IndexedListing> INDEX = Indexer::index;

  private ListingWork() {}

  /** The validator's verdict as the pipeline acts on it: pass, filter or dead-letter. */
  static ValidatedListing gate(TranslatedListing listing) {
    ValidatedListing validated = ListingValidator.validate(listing);
    return switch (validated.outcome()) {
      case ACCEPTED -> validated;
      case FILTERED -> throw RecordFilteredException.because(validated.reason());
      case REJECTED -> throw new ListingRejectedException(validated.reason());
    };
  }

  /** The publishing stage: into the index (a re-posted id is ignored there), then on. */
  static StageFunction<IndexedListing, IndexedListing> publisher(RollingIndex index) {
    return listing -> {
      index.publish(listing);
      return listing;
    };
  }

  static Iterator<String> lines(int count) {
    return new ListingGenerator(ListingGenerator.DEFAULT_SEED).lines(count);
  }

  /** How the records of one run ended. */
  record Outcome(long published, long filtered, long deadLettered) {}

  /** The plain loop: each line through the eight functions in a row, on the calling thread. */
  static Outcome loop(Iterator<String> lines, RollingIndex index) throws Exception {
    StageFunction<IndexedListing, IndexedListing> publish = publisher(index);
    long published = 0;
    long filtered = 0;
    List<RuntimeException> deadLetters = new ArrayList<>();
    while (lines.hasNext()) {
      String line = lines.next();
      try {
        RawListing raw = PARSE.apply(line);
        CleanListing clean = CLEAN.apply(raw);
        ExtractedListing extracted = EXTRACT.apply(clean);
        AnalyzedListing analyzed = ANALYZE.apply(extracted);
        TranslatedListing translated = TRANSLATE.apply(analyzed);
        ValidatedListing validated = VALIDATE.apply(translated);
        IndexedListing indexed = INDEX.apply(validated);
        publish.apply(indexed);
        published++;
      } catch (RecordFilteredException e) {
        filtered++;
      } catch (MalformedListingException | ListingRejectedException e) {
        deadLetters.add(e);
      }
    }
    return new Outcome(published, filtered, deadLetters.size());
  }

  /**
   * The pipeline of the same eight functions; every stage gets the given options, each queue holds
   * at most {@code queueCapacity} records (0 for the engine's default), and alerts go to {@code
   * alerts} (counted, not logged).
   */
  static Pipeline<String, IndexedListing> pipeline(
      RollingIndex index,
      Consumer<StageOptions.Builder> options,
      int queueCapacity,
      LongAdder published,
      AlertCount alerts) {
    return pipeline(index, options, queueCapacity, published, alerts, true);
  }

  /** The same pipeline, with the stages' shape checks on or off. */
  static Pipeline<String, IndexedListing> pipeline(
      RollingIndex index,
      Consumer<StageOptions.Builder> options,
      int queueCapacity,
      LongAdder published,
      AlertCount alerts,
      boolean shapeChecks) {
    PipelineBuilder<String, String> builder =
        Pipeline.builder("listings", String.class).alerts(alerts).shapeChecks(shapeChecks);
    if (queueCapacity > 0) {
      builder.queueCapacity(queueCapacity);
    }
    return builder
        .stage(INGESTION, PARSE, options)
        .stage(CLEANING, CLEAN, options)
        .stage(EXTRACTION, EXTRACT, options)
        .stage(ANALYSIS, ANALYZE, options)
        .stage(TRANSLATION, TRANSLATE, options)
        .stage(VALIDATION, VALIDATE, options)
        .stage(INDEXING, INDEX, options)
        .stage(PUBLISHING, publisher(index), options)
        .sink(records -> published.add(records.size()))
        .build();
  }
}
