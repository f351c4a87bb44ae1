package dev.pipeline.examples.listings;

import java.util.Objects;

/**
 * One scraped line split into its fields, escapes resolved but otherwise untouched: titles may
 * still carry HTML, prices are free text. Produced by {@link ListingParser}; immutable.
 *
 * @param sourceId where the line came from (file or scraper name), for error messages
 * @param lineNo 1-based line number within the source
 * @param id listing id, trimmed and validated, e.g. {@code scraper-a-000123}
 * @param title raw title
 * @param price raw price text, e.g. {@code "12.500,00 €"} or {@code "POA"}
 * @param currency raw currency field, often blank
 * @param description raw description
 * @param lang raw language field, often blank
 */
public record RawListing(
    String sourceId,
    long lineNo,
    String id,
    String title,
    String price,
    String currency,
    String description,
    String lang) {

  public RawListing {
    Objects.requireNonNull(sourceId, "sourceId");
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(title, "title");
    Objects.requireNonNull(price, "price");
    Objects.requireNonNull(currency, "currency");
    Objects.requireNonNull(description, "description");
    Objects.requireNonNull(lang, "lang");
  }
}
