package dev.pipeline.examples.app;

import dev.pipeline.examples.listings.TranslatedListing;
import dev.pipeline.quality.Action;
import dev.pipeline.quality.QualityGate;
import dev.pipeline.quality.Rule;
import dev.pipeline.quality.Severity;

/**
 * The data quality rules the validation stage checks before the validator: each tags a listing that
 * fails it ({@code quality.violations} in its metadata, counted per rule) and lets it go on, since
 * the validator decides what is accepted. They say what a person reviewing the catalogue would want
 * to know: a listing without a price, a sentiment score out of its range, an id of an unexpected
 * form, a title too short to search for, a listing seen twice.
 *
 * <p>Public so that a benchmark's baseline (Spring Batch's processor) can check the same rules as
 * the example's validation stage.
 */
public final class ListingRules {
  private ListingRules() {}

  /** A gate of the rules, one per pipeline built (it counts what it sees). */
  public static QualityGate<TranslatedListing> gate() {
    return QualityGate.of(TranslatedListing.class)
        .rule(tag(Rule.length("title-length", "title", "[3, 300]")))
        .rule(tag(Rule.range("sentiment-range", "analyzed.sentiment", "[-1, 1]")))
        .rule(tag(Rule.pattern("id-form", "analyzed.extracted.listing.id", "[a-z0-9-]{1,64}")))
        .rule(tag(Rule.unique("unique-id", "analyzed.extracted.listing.id")))
        .rule(tag(Rule.expression("declared-language", "!analyzed.languageDetected")))
        .rule(
            tag(
                Rule.expression(
                    "priced",
                    "analyzed.extracted.price.status != 'PRESENT'"
                        + " || analyzed.extracted.price.cents > 0")))
        .build();
  }

  private static Rule tag(Rule rule) {
    return rule.action(Action.TAG).severity(Severity.INFO);
  }
}
