package dev.pipeline.examples.listings;

import java.util.List;
import java.util.Objects;

/**
 * An extracted listing plus its language and the sentiment of its wording. Produced by {@link
 * SentimentAnalyzer}; immutable.
 *
 * @param extracted the listing and its extracted facts
 * @param language ISO 639-1 code as declared, or as detected when none was declared; {@code "und"}
 *     (undetermined) when detection found no evidence either way
 * @param languageDetected whether {@code language} was detected rather than declared
 * @param sentiment score in [-1, 1]; 0 when no cue was found
 * @param label the score's polarity
 * @param evidence the cues that made up the score, e.g. {@code "+top zustand"}, {@code "-defekt"},
 *     {@code "+mängel (negated)"}
 */
public record AnalyzedListing(
    ExtractedListing extracted,
    String language,
    boolean languageDetected,
    double sentiment,
    SentimentLabel label,
    List<String> evidence) {

  public AnalyzedListing {
    Objects.requireNonNull(extracted, "extracted");
    Objects.requireNonNull(language, "language");
    Objects.requireNonNull(label, "label");
    if (!(sentiment >= -1.0 && sentiment <= 1.0)) {
      throw new IllegalArgumentException("sentiment " + sentiment + " outside [-1, 1]");
    }
    evidence = List.copyOf(evidence);
  }

  /** The listing id. */
  public String id() {
    return extracted.id();
  }
}
