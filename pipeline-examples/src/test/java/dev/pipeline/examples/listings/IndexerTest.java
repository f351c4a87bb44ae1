package dev.pipeline.examples.listings;

import static dev.pipeline.examples.listings.ListingFixture.listing;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class IndexerTest {

  @ParameterizedTest
  @CsvSource({
    "excavators,excavator",
    "excavator,excavator",
    "tyres,tyr",
    "tyre,tyr",
    "serviced,servic",
    "service,servic",
    "running,run",
    "hours,hour",
    "leaks,leak",
    "leaking,leak",
    "batteries,battery",
    "boxes,box",
    "class,class",
    "chassis,chassis",
    "status,status",
    "320d,320d",
    "new,new",
    "lifted,lift",
  })
  void stemsCommonEnglishForms(String word, String stem) {
    assertThat(Indexer.stem(word)).isEqualTo(stem);
  }

  @Test
  void analysesTextIntoStemmedTermsWithoutStopwordsOrBareNumbers() {
    assertThat(
            Indexer.analyze(
                "The excavators are in very good condition, 4,200 hours and NEW tyres!"))
        .containsExactly("excavator", "good", "condition", "hour", "new", "tyr");
  }

  @Test
  void producesSortedDistinctTermsIncludingModelNumbers() {
    IndexedListing indexed =
        listing()
            .title("Liebherr R 920 Excavator")
            .description("Excavator, good condition. Excavators like this rarely come up.")
            .indexed();

    assertThat(indexed.terms())
        .isSorted()
        .doesNotHaveDuplicates()
        .contains("excavator", "liebherr", "920", "condition", "rarely")
        .doesNotContain("this", "r");
  }

  @Test
  void indexesTheEnglishTextOfATranslatedListing() {
    IndexedListing indexed =
        listing()
            .title("Gabelstapler Linde H30D Baujahr 2012")
            .price("9.500 €")
            .description("Sehr guter Zustand, neue Reifen.")
            .lang("de")
            .indexed();

    assertThat(indexed.title()).isEqualTo("Forklift Linde H30D year of manufacture 2012");
    assertThat(indexed.originalTitle()).isEqualTo("Gabelstapler Linde H30D Baujahr 2012");
    assertThat(indexed.terms())
        .contains("forklift", "h30d", "condition", "tyr")
        .doesNotContain("gabelstapler");
  }

  @Test
  void derivesFacetsAsSlugs() {
    IndexedListing indexed =
        listing()
            .title("John Deere 6155R Tractor")
            .price("£58,000")
            .description("Year 2016")
            .indexed();

    assertThat(indexed.facets())
        .isEqualTo(new Facets("john-deere", "tractor", "gbp", "50k-100k", "2010s", "en"));
    assertThat(indexed.priceEurCents()).isEqualTo(6_786_000);
  }

  @Test
  void marksFacetsTheListingDoesNotProvideAsUnknown() {
    IndexedListing indexed = listing().title("Hydraulic breaker").description("").indexed();

    assertThat(indexed.facets().manufacturer()).isEqualTo(Facets.UNKNOWN);
    assertThat(indexed.facets().decade()).isEqualTo(Facets.UNKNOWN);
    assertThat(indexed.facets().category()).isEqualTo("other");
  }

  @ParameterizedTest
  @CsvSource({
    "0,under-5k",
    "499999,under-5k",
    "500000,5k-10k",
    "2499999,10k-25k",
    "2500000,25k-50k",
    "9999999,50k-100k",
    "10000000,100k-250k",
    "25000000,250k-plus"
  })
  void bucketsEuroPrices(long eurCents, String bucket) {
    assertThat(Indexer.priceBucket(eurCents)).isEqualTo(bucket);
  }

  @Test
  void carriesWarningsForDisplay() {
    IndexedListing indexed = listing().description("Top condition.").indexed();

    assertThat(indexed.warnings()).containsExactly("year.missing: year of manufacture not found");
  }

  @Test
  void refusesAListingThatDidNotPassValidation() {
    ValidatedListing filtered = listing().price("POA").validated();

    assertThatThrownBy(() -> Indexer.index(filtered))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "listing test-000001 is FILTERED and cannot be indexed: listing test-000001: "
                + "price.on-request: price on request (\"POA\")");
  }
}
