package dev.pipeline.examples.listings;

import static dev.pipeline.examples.listings.ListingFixture.listing;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * Feeds the stages inputs built to trigger quadratic or worse behaviour: a stray '&lt;' searched to
 * the end of the text for every occurrence, a reference name read without bound, a number scanned
 * again and again. Each input is a few hundred kilobytes, so a linear stage finishes in
 * milliseconds and a quadratic one would stall the build. The assertions are on results only;
 * timing is left to the eye of whoever runs the build.
 */
class PathologicalInputTest {

  private static final int SIZE = 100_000;

  @Test
  void cleanerStaysLinearOnUnclosedMarkup() {
    assertThat(Cleaner.cleanText("<a".repeat(SIZE))).hasSize(2 * SIZE);
    assertThat(Cleaner.cleanText("<!--".repeat(SIZE))).hasSize(4 * SIZE);
    assertThat(Cleaner.cleanText("<script>".repeat(SIZE))).isEmpty();
    assertThat(Cleaner.cleanText("&".repeat(SIZE) + "amp;")).hasSize(SIZE);
    assertThat(Cleaner.cleanText("&#".repeat(SIZE))).hasSize(2 * SIZE);
  }

  @Test
  void extractorStaysLinearOnEndlessNumbersAndWords() {
    ExtractedListing digits =
        listing()
            .title("1".repeat(SIZE))
            .price("9".repeat(SIZE) + " €")
            .description("1.000 ".repeat(SIZE / 6))
            .extracted();
    ExtractedListing years =
        listing()
            .title("x")
            .description("Bj. 2014 ".repeat(SIZE / 9) + "a".repeat(SIZE))
            .extracted();

    assertThat(digits.price().status()).isEqualTo(PriceInfo.Status.GARBLED);
    assertThat(digits.year()).isEmpty();
    assertThat(years.year()).hasValue(2014);
  }

  @Test
  void textStagesStayLinearOnLongTexts() {
    String longDescription = "Sehr guter Zustand, keine Mängel, nicht defekt. ".repeat(SIZE / 50);
    ValidatedListing validated =
        listing()
            .title("Bagger " + "Kettenbagger ".repeat(SIZE / 13))
            .description(longDescription)
            .lang("de")
            .validated();

    assertThat(validated.listing().title()).startsWith("Excavator crawler excavator");
    assertThat(validated.listing().analyzed().label()).isEqualTo(SentimentLabel.POSITIVE);
    assertThat(Indexer.index(validated).terms()).contains("crawler", "excavator");
  }

  @Test
  void parserRejectsRunawayLinesWithoutReadingThem() {
    assertThatThrownBy(() -> ListingParser.parse("s", 1, "|".repeat(10 * SIZE)))
        .isInstanceOf(MalformedListingException.class);
  }
}
