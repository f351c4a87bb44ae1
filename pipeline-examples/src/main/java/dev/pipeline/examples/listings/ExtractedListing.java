package dev.pipeline.examples.listings;

import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * A clean listing plus the facts read out of its text. Produced by {@link Extractor}; immutable.
 *
 * @param listing the clean listing the facts were read from
 * @param price amount and currency, or why there is none
 * @param manufacturer canonical manufacturer name ("Caterpillar" for "CAT"), or empty when
 *     unrecognised
 * @param model model designation as written ("320D", "PC210LC-8", "R 920"), or empty
 * @param category kind of equipment, {@link Category#OTHER} when unrecognised
 * @param year year of manufacture as written; judged for plausibility later, by the validator
 * @param hours operating hours
 * @param notes remarks about things the extractor ignored or resolved, worth showing as warnings
 */
public record ExtractedListing(
    CleanListing listing,
    PriceInfo price,
    String manufacturer,
    String model,
    Category category,
    OptionalInt year,
    OptionalInt hours,
    List<String> notes) {

  public ExtractedListing {
    Objects.requireNonNull(listing, "listing");
    Objects.requireNonNull(price, "price");
    Objects.requireNonNull(manufacturer, "manufacturer");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(category, "category");
    Objects.requireNonNull(year, "year");
    Objects.requireNonNull(hours, "hours");
    notes = List.copyOf(notes);
  }

  /** The listing id. */
  public String id() {
    return listing.id();
  }
}
