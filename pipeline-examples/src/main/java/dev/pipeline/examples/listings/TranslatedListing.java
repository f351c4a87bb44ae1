package dev.pipeline.examples.listings;

import java.util.Objects;

/**
 * An analysed listing with an English rendering of its title and description. The originals stay
 * reachable through {@link #originalTitle()} and {@link #originalDescription()}. Produced by {@link
 * Translator}; immutable.
 *
 * @param analyzed the analysed listing
 * @param title English title; the original when the listing is English or in a language without a
 *     dictionary
 * @param description English description, likewise
 * @param translatedTerms how many dictionary phrases were replaced, over title and description
 */
public record TranslatedListing(
    AnalyzedListing analyzed, String title, String description, int translatedTerms) {

  public TranslatedListing {
    Objects.requireNonNull(analyzed, "analyzed");
    Objects.requireNonNull(title, "title");
    Objects.requireNonNull(description, "description");
    if (translatedTerms < 0) {
      throw new IllegalArgumentException("translatedTerms " + translatedTerms + " is negative");
    }
  }

  /** The listing id. */
  public String id() {
    return analyzed.id();
  }

  /** The title as the seller wrote it, cleaned. */
  public String originalTitle() {
    return analyzed.extracted().listing().title();
  }

  /** The description as the seller wrote it, cleaned. */
  public String originalDescription() {
    return analyzed.extracted().listing().description();
  }
}
