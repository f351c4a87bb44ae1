package dev.pipeline.examples.listings;

import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * A listing ready to publish: the display fields a search result shows, the searchable terms and
 * the facets. Self-contained, so that publishing needs nothing from the earlier stages. Produced by
 * {@link Indexer}; immutable.
 *
 * @param id listing id
 * @param sourceId source the line came from
 * @param lineNo line number within the source
 * @param title English title
 * @param originalTitle title as written by the seller
 * @param description English description
 * @param language language of the original
 * @param category kind of equipment
 * @param manufacturer canonical manufacturer name, or empty
 * @param model model designation, or empty
 * @param year year of manufacture
 * @param hours operating hours
 * @param price price as listed (always {@link PriceInfo.Status#PRESENT} with a known currency)
 * @param priceEurCents the price converted to euro cents at the fixed rates of {@link Currency}
 * @param sentiment sentiment score in [-1, 1]
 * @param sentimentLabel the score's polarity
 * @param quality completeness in [0, 1]
 * @param warnings the validator's warnings, as {@code "rule: message"}
 * @param terms searchable terms: sorted, distinct, stemmed, without stopwords
 * @param facets filterable fields
 */
public record IndexedListing(
    String id,
    String sourceId,
    long lineNo,
    String title,
    String originalTitle,
    String description,
    String language,
    Category category,
    String manufacturer,
    String model,
    OptionalInt year,
    OptionalInt hours,
    PriceInfo price,
    long priceEurCents,
    double sentiment,
    SentimentLabel sentimentLabel,
    double quality,
    List<String> warnings,
    List<String> terms,
    Facets facets) {

  public IndexedListing {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(sourceId, "sourceId");
    Objects.requireNonNull(title, "title");
    Objects.requireNonNull(originalTitle, "originalTitle");
    Objects.requireNonNull(description, "description");
    Objects.requireNonNull(language, "language");
    Objects.requireNonNull(category, "category");
    Objects.requireNonNull(manufacturer, "manufacturer");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(year, "year");
    Objects.requireNonNull(hours, "hours");
    Objects.requireNonNull(price, "price");
    Objects.requireNonNull(sentimentLabel, "sentimentLabel");
    Objects.requireNonNull(facets, "facets");
    warnings = List.copyOf(warnings);
    terms = List.copyOf(terms);
  }
}
