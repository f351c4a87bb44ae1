/**
 * Domain logic of the equipment-listings example: pure stage functions that turn noisy lines
 * scraped from equipment marketplaces into searchable documents, and a deterministic generator of
 * such lines.
 *
 * <p>The stages, in pipeline order, each a static {@code Out apply(In)}-shaped method:
 *
 * <ol>
 *   <li>ingestion, {@link dev.pipeline.examples.listings.ListingParser#parse}: line to {@code
 *       RawListing}
 *   <li>cleaning, {@link dev.pipeline.examples.listings.Cleaner#clean}: to {@code CleanListing}
 *   <li>extraction, {@link dev.pipeline.examples.listings.Extractor#extract}: to {@code
 *       ExtractedListing}
 *   <li>analysis, {@link dev.pipeline.examples.listings.SentimentAnalyzer#analyze}: to {@code
 *       AnalyzedListing}
 *   <li>translation, {@link dev.pipeline.examples.listings.Translator#translate(AnalyzedListing)}:
 *       to {@code TranslatedListing}
 *   <li>validation, {@link dev.pipeline.examples.listings.ListingValidator#validate}: to {@code
 *       ValidatedListing}
 *   <li>indexing, {@link dev.pipeline.examples.listings.Indexer#indexAtRates}: to {@code
 *       IndexedListing}, at the rates the pipeline's reference data quotes (see {@code
 *       EquipmentPipeline})
 *   <li>publishing, {@link dev.pipeline.examples.listings.ListingIndex#publish} and {@link
 *       dev.pipeline.examples.listings.JsonLinesWriter#render}
 * </ol>
 *
 * Every stage function is deterministic and thread-safe, and costs in the order of a microsecond
 * per listing. None depends on the pipeline library; wiring them into a pipeline is the example's
 * other half.
 *
 * <p><b>Conventions.</b> No stage returns null. Text components of the records are never null: an
 * empty string means "absent". Optional numbers use {@link java.util.OptionalInt}. A null argument
 * is a programming error and fails with {@link java.lang.NullPointerException}.
 *
 * <p><b>Where listings are dropped, and why.</b> Every drop is explicit:
 *
 * <ul>
 *   <li>{@link dev.pipeline.examples.listings.ListingParser} throws {@link
 *       dev.pipeline.examples.listings.MalformedListingException} for a line that is not a listing
 *       at all: dead letter.
 *   <li>{@link dev.pipeline.examples.listings.ValidatedListing#outcome()} is {@code REJECTED} when
 *       data is broken (unreadable price, unknown currency, missing title...): dead letter, with
 *       {@link dev.pipeline.examples.listings.ValidatedListing#reason()} as the explanation.
 *   <li>{@link dev.pipeline.examples.listings.ValidatedListing#outcome()} is {@code FILTERED} for a
 *       sound listing the index does not want (no asking price): the pipeline's filter signal, with
 *       the same reason.
 *   <li>{@link dev.pipeline.examples.listings.ListingIndex#publish} returns false for an id already
 *       published: a re-posted duplicate.
 * </ul>
 */
package dev.pipeline.examples.listings;
