package dev.pipeline.examples.listings;

import static dev.pipeline.examples.listings.ListingFixture.listing;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ListingValidatorTest {

  private static List<String> rules(ValidatedListing validated) {
    return validated.violations().stream().map(Violation::rule).toList();
  }

  @Test
  void acceptsACompleteListingWithoutViolations() {
    ValidatedListing validated = listing().validated();

    assertThat(validated.violations()).isEmpty();
    assertThat(validated.outcome()).isEqualTo(ValidatedListing.Outcome.ACCEPTED);
    assertThat(validated.passes()).isTrue();
    assertThat(validated.reason()).isEmpty();
    assertThat(validated.quality()).isEqualTo(1.0);
  }

  @Test
  void rejectsAListingWithoutTitle() {
    ValidatedListing validated = listing().title("N/A").validated();

    assertThat(validated.outcome()).isEqualTo(ValidatedListing.Outcome.REJECTED);
    assertThat(validated.reason())
        .isEqualTo("listing test-000001: title.missing: title is missing");
  }

  @Test
  void filtersAPriceOnRequestNamingTheText() {
    ValidatedListing validated = listing().price("POA").validated();

    assertThat(validated.outcome()).isEqualTo(ValidatedListing.Outcome.FILTERED);
    assertThat(validated.passes()).isFalse();
    assertThat(validated.reason())
        .isEqualTo("listing test-000001: price.on-request: price on request (\"POA\")");
  }

  @Test
  void filtersAListingWithoutPrice() {
    assertThat(rules(listing().price("").validated())).containsExactly("price.missing");
  }

  @Test
  void rejectsAGarbledPriceQuotingIt() {
    ValidatedListing validated = listing().price("12.5OO €").validated();

    assertThat(validated.outcome()).isEqualTo(ValidatedListing.Outcome.REJECTED);
    assertThat(validated.reason()).contains("price.garbled", "12.5OO");
  }

  @Test
  void rejectsAnAmountWithoutCurrency() {
    assertThat(rules(listing().price("45000").validated())).containsExactly("currency.missing");
  }

  @Test
  void rejectsACurrencyWithoutExchangeRate() {
    ValidatedListing validated = listing().price("180.000 PLN").validated();

    assertThat(rules(validated)).containsExactly("currency.unknown");
    assertThat(validated.reason()).contains("currency \"PLN\" is not one of EUR, USD, GBP, CHF");
  }

  @Test
  void rejectsPricesOutsideTheCategoryRange() {
    ValidatedListing placeholder = listing().price("1 €").validated();
    ValidatedListing strayZeros =
        listing().title("Linde H30D Gabelstapler").price("3.000.000 €").validated();

    assertThat(placeholder.reason())
        .isEqualTo(
            "listing test-000001: price.range: price 1.00 EUR (1.00 EUR) is outside 1500..1500000"
                + " EUR for excavator");
    assertThat(strayZeros.reason()).contains("outside 500..250000 EUR for forklift");
  }

  @Test
  void convertsToEurosAtFixedRatesBeforeCheckingTheRange() {
    // 1,300 GBP is 1,521 EUR and 1,600 USD is 1,472 EUR; an excavator needs at least 1,500 EUR.
    assertThat(listing().price("£1,300").validated().passes()).isTrue();
    assertThat(rules(listing().price("$1,600").validated())).containsExactly("price.range");
  }

  @Test
  void rejectsAYearInTheFutureAndWarnsAboutAVeryOldOne() {
    assertThat(rules(listing().description("Bj. 2031").validated())).contains("year.future");
    ValidatedListing vintage = listing().description("Baujahr 1965, 4.200 h").validated();

    assertThat(vintage.passes()).isTrue();
    assertThat(rules(vintage)).containsExactly("year.old");
  }

  @Test
  void rejectsMoreHoursThanTheMachineCanHaveRun() {
    ValidatedListing validated = listing().description("Year 2024. 30,000 hours.").validated();

    assertThat(validated.reason())
        .contains("hours.impossible", "30000 operating hours exceed the 26352 hours");
  }

  @Test
  void warnsAboutHoursAboveTwoShiftsAYear() {
    ValidatedListing validated = listing().description("Year 2024. 20,000 hours.").validated();

    assertThat(validated.passes()).isTrue();
    assertThat(rules(validated)).containsExactly("hours.high");
  }

  @Test
  void keepsIncompleteListingsWithWarnings() {
    ValidatedListing validated =
        listing().title("Hydraulic breaker").description("").lang("").validated();

    assertThat(validated.outcome()).isEqualTo(ValidatedListing.Outcome.ACCEPTED);
    assertThat(rules(validated))
        .containsExactly(
            "year.missing",
            "manufacturer.unknown",
            "category.unknown",
            "description.missing",
            "language.unknown");
    assertThat(validated.quality()).isEqualTo(0.45);
  }

  @Test
  void surfacesExtractionNotesAsWarnings() {
    ValidatedListing validated = listing().price("$45,000").currency("EUR").validated();

    assertThat(validated.violations(Severity.WARNING))
        .singleElement()
        .extracting(Violation::message)
        .asString()
        .contains("contradicts");
  }

  @Test
  void listsGravestViolationsFirstAndLetErrorsOutrankFilters() {
    ValidatedListing validated = listing().title("").price("POA").description("").validated();

    assertThat(validated.violations())
        .extracting(Violation::severity)
        .containsExactly(
            Severity.ERROR,
            Severity.FILTER,
            Severity.WARNING,
            Severity.WARNING,
            Severity.WARNING,
            Severity.WARNING);
    assertThat(validated.outcome()).isEqualTo(ValidatedListing.Outcome.REJECTED);
    assertThat(validated.reason()).contains("title.missing").doesNotContain("price.on-request");
  }

  @Test
  void warnsAboutTitlesWrittenInCapitals() {
    assertThat(rules(listing().title("CAT 320D KETTENBAGGER TOP ZUSTAND !!!").validated()))
        .containsExactly("title.shouting");
    assertThat(ListingValidator.isShouting("JCB 3CX")).isFalse();
    assertThat(ListingValidator.isShouting("Volvo CE EC220E Excavator")).isFalse();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "Top Zustand. Tel. 0171 2345678.|0171 2345678",
        "Kontakt: +49 (171) 234-5678, sofort.|+49 (171) 234-5678",
        "Tél. : 06 12 34 56 78.|06 12 34 56 78",
        "Email sales@smith-plant.co.uk.|sales@smith-plant.co.uk",
      })
  void warnsAboutContactDetailsInTheDescription(String description, String contact) {
    ValidatedListing validated = listing().description(description).validated();

    assertThat(validated.violations(Severity.WARNING))
        .extracting(Violation::message)
        .contains("description contains contact details \"" + contact + "\"");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "Baujahr 06/2015, 4.200 h",
        "Preis 012.500 €",
        "12 500 heures",
        "Reply to @seller",
        "user@localhost"
      })
  void findsNoContactDetailsInDatesHoursOrPrices(String description) {
    assertThat(ListingValidator.contactDetails(description)).isNull();
  }

  @Test
  void warnsAboutMarkupThatSurvivedCleaning() {
    ValidatedListing validated =
        listing().description("Tr&amp;egrave;s bon &amp;lt;b&amp;gt;état").validated();

    assertThat(validated.violations(Severity.WARNING))
        .extracting(Violation::message)
        .contains("markup left over after cleaning: \"&egrave;\"");
    assertThat(ListingValidator.markupResidue("price < 5000 & more; see <3t")).isNull();
    assertThat(ListingValidator.markupResidue("escaped &lt;/b&gt; tag")).isEqualTo("&lt;");
  }
}
