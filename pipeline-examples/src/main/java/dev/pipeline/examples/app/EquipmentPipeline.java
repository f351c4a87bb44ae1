package dev.pipeline.examples.app;

import static dev.pipeline.StageName.ANALYSIS;
import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.INDEXING;
import static dev.pipeline.StageName.INGESTION;
import static dev.pipeline.StageName.PUBLISHING;
import static dev.pipeline.StageName.TRANSLATION;
import static dev.pipeline.StageName.VALIDATION;

import dev.pipeline.PipelineBuilder;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.StageContext;
import dev.pipeline.examples.listings.AnalyzedListing;
import dev.pipeline.examples.listings.CleanListing;
import dev.pipeline.examples.listings.Cleaner;
import dev.pipeline.examples.listings.ExtractedListing;
import dev.pipeline.examples.listings.Extractor;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.Indexer;
import dev.pipeline.examples.listings.ListingIndex;
import dev.pipeline.examples.listings.ListingParser;
import dev.pipeline.examples.listings.ListingValidator;
import dev.pipeline.examples.listings.RawListing;
import dev.pipeline.examples.listings.SentimentAnalyzer;
import dev.pipeline.examples.listings.TranslatedListing;
import dev.pipeline.examples.listings.Translator;
import dev.pipeline.examples.listings.ValidatedListing;
import dev.pipeline.quality.QualityGate;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * The equipment-listings pipeline: eight stages from a scraped line to a searchable, published
 * listing.
 *
 * <pre>{@code
 * ListingIndex index = new ListingIndex();
 * Pipeline<ScrapedLine, IndexedListing> pipeline =
 *     EquipmentPipeline.stages(Pipeline.builder("equipment", ScrapedLine.class), index).build();
 * RunResult result = pipeline.run(ListingLines.file(Path.of("listings.txt")));
 * }</pre>
 *
 * <p>What happens to a line: a malformed one fails ingestion and is dead-lettered with the parse
 * error; a listing whose validation finds an ERROR (no title, an absurd price) is dead-lettered
 * with the broken rules; one that hits a FILTER rule (no price at all, "price on request") is
 * filtered with the reason; a re-posted listing id is a duplicate, skipped at ingestion; the rest
 * is published into the {@link ListingIndex} (idempotently, by listing id) and handed to the sink.
 *
 * <p>The indexing stage converts prices to euros at the rates of {@link ExchangeRates#EUR_RATES},
 * reference data it looks up through its context: the pipeline caches each rate once, so the rate
 * service is asked once per currency, not once per listing, and the run's metrics say so.
 */
public final class EquipmentPipeline {

  private EquipmentPipeline() {}

  /**
   * Adds the eight stages to a builder; the validation stage checks {@link ListingRules} (which tag
   * a listing) before the validator.
   *
   * @param builder a fresh builder of {@link ScrapedLine}s
   * @param index where the publishing stage publishes
   */
  public static PipelineBuilder<ScrapedLine, IndexedListing> stages(
      PipelineBuilder<ScrapedLine, ScrapedLine> builder, ListingIndex index) {
    return stages(builder, index, null, ListingRules.gate());
  }

  /**
   * Adds the eight stages to a builder, the extraction and validation stages watched by {@code
   * watch} if it is not null, the validation stage checking {@code rules} first.
   */
  static PipelineBuilder<ScrapedLine, IndexedListing> stages(
      PipelineBuilder<ScrapedLine, ScrapedLine> builder,
      ListingIndex index,
      @Nullable QualityWatch watch,
      QualityGate<TranslatedListing> rules) {
    return builder
        .stage(
            INGESTION,
            (ScrapedLine line) -> ListingParser.parse(line.sourceId(), line.lineNo(), line.text()))
        .stage(CLEANING, Cleaner::clean)
        .stage(EXTRACTION, watch == null ? (l, c) -> Extractor.extract(l) : watch.extraction())
        .stage(ANALYSIS, SentimentAnalyzer::analyze)
        .stage(TRANSLATION, Translator::translate, s -> s.timeout(Duration.ofSeconds(5)))
        .stage(
            VALIDATION,
            watch == null
                ? (TranslatedListing l, StageContext c) -> gate(rules.process(l, c))
                : (TranslatedListing l, StageContext c) -> watch.validate(rules.process(l, c)))
        .stage(INDEXING, EquipmentPipeline::index, s -> s.referenceData(ExchangeRates.EUR_RATES))
        .stage(
            PUBLISHING,
            (IndexedListing listing) -> {
              index.publish(listing);
              return listing;
            })
        .payloadSize(EquipmentPipeline::estimatedSize);
  }

  /**
   * About how many bytes a listing takes as text at each stage: the length of its text fields (a
   * size estimate for the bytes/s metrics, cheap enough to run on every record).
   */
  static long estimatedSize(Object payload) {
    return switch (payload) {
      case ScrapedLine line -> line.text().length();
      case RawListing raw ->
          raw.title().length() + raw.price().length() + raw.description().length() + 16;
      case CleanListing clean -> clean.title().length() + clean.description().length() + 24;
      case ExtractedListing extracted -> estimatedSize(extracted.listing()) + 48;
      case AnalyzedListing analyzed -> estimatedSize(analyzed.extracted()) + 16;
      case TranslatedListing translated ->
          estimatedSize(translated.analyzed())
              + translated.title().length()
              + translated.description().length();
      case ValidatedListing validated -> estimatedSize(validated.listing()) + 8;
      case IndexedListing indexed ->
          indexed.title().length()
              + indexed.description().length()
              + 8L * indexed.terms().size()
              + 64;
      default -> 0;
    };
  }

  /**
   * The indexing stage: indexes a listing at the euro rate {@link ExchangeRates#EUR_RATES} quotes
   * for its currency, looked up in the pipeline's cache.
   */
  static IndexedListing index(ValidatedListing listing, StageContext context) {
    return Indexer.indexAtRates(listing, context.reference(ExchangeRates.EUR_RATES)::get);
  }

  /** Turns the validator's verdict into the pipeline's outcome: pass, filter or fail. */
  static ValidatedListing gate(TranslatedListing listing) {
    return decide(ListingValidator.validate(listing));
  }

  /** Passes, filters or fails a validated listing by its outcome. */
  static ValidatedListing decide(ValidatedListing validated) {
    return switch (validated.outcome()) {
      case ACCEPTED -> validated;
      case FILTERED -> throw RecordFilteredException.because(validated.reason());
      case REJECTED -> throw new ListingRejectedException(validated.reason());
    };
  }
}
