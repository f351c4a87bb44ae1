package dev.pipeline.examples.listings;

import java.util.Objects;

/**
 * A listing whose text fields are plain, trimmed, single-spaced text: no markup, no entities, ASCII
 * quotes and dashes. Produced by {@link Cleaner}; immutable.
 *
 * <p>No component is null. An empty string means the value is absent, whether the scraper left the
 * field blank or filled it with a placeholder such as "N/A" or "--".
 *
 * @param sourceId where the line came from
 * @param lineNo 1-based line number within the source
 * @param id listing id
 * @param title clean title, or empty
 * @param price clean price text, e.g. {@code "12.500,00 €"}, or empty
 * @param currency clean currency field, e.g. {@code "EUR"}, or empty
 * @param description clean description, or empty
 * @param language ISO 639-1 code in lower case ({@code "de"}), or empty when the scraper did not
 *     say
 */
public record CleanListing(
    String sourceId,
    long lineNo,
    String id,
    String title,
    String price,
    String currency,
    String description,
    String language) {

  public CleanListing {
    Objects.requireNonNull(sourceId, "sourceId");
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(title, "title");
    Objects.requireNonNull(price, "price");
    Objects.requireNonNull(currency, "currency");
    Objects.requireNonNull(description, "description");
    Objects.requireNonNull(language, "language");
  }
}
