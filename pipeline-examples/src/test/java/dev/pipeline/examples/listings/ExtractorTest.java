package dev.pipeline.examples.listings;

import static dev.pipeline.examples.listings.ListingFixture.listing;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ExtractorTest {

  private static PriceInfo price(String text, String currency) {
    return listing().price(text).currency(currency).extracted().price();
  }

  @ParameterizedTest(name = "{0} (currency field {1}) -> {2} {3}")
  @CsvSource(
      delimiter = '|',
      value = {
        "12.500,00 €|          |12500.00|EUR",
        "$12,500|              |12500.00|USD",
        "EUR 12500|            |12500.00|EUR",
        "12 500 EUR|           |12500.00|EUR",
        "12&nbsp;500&nbsp;€|   |12500.00|EUR",
        "CHF 9'800|            |9800.00|CHF",
        "CHF 9’800|            |9800.00|CHF",
        "Fr. 9'800.-|          |9800.00|CHF",
        "12.500,- €|           |12500.00|EUR",
        "£12,500 + VAT|        |12500.00|GBP",
        "£12,500 ono|          |12500.00|GBP",
        "US$ 12,500.00|        |12500.00|USD",
        "12.5k €|              |12500.00|EUR",
        "1.250.000 €|          |1250000.00|EUR",
        "12,5 €|               |12.50|EUR",
        "VB 12.500 €|          |12500.00|EUR",
        "12500|                EUR|12500.00|EUR",
        "12500|                €|12500.00|EUR",
        "45.000 PLN|           |45000.00|PLN",
        "12500|                |12500.00|''",
      })
  void readsAmountAndCurrencyInCommonNotations(
      String text, String field, String amount, String currency) {
    PriceInfo price = price(text, field == null ? "" : field);

    assertThat(price.status()).isEqualTo(PriceInfo.Status.PRESENT);
    assertThat(price.amountText()).isEqualTo(amount);
    assertThat(price.currency()).isEqualTo(currency);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "POA",
        "Price on request",
        "Preis auf Anfrage",
        "Sur demande",
        "A consultar",
        "Call 0171 234567",
        "VB",
        "offers"
      })
  void recognisesPricesOnRequest(String text) {
    assertThat(price(text, "").status()).isEqualTo(PriceInfo.Status.ON_REQUEST);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = ';',
      value = {
        "12.5OO €;letters \"OO\" inside the amount \"12.5OO\"",
        "57.O00 €;letters \"O\" inside the amount \"57.O00\"",
        "1.2.3 EUR;digit groups of unequal size in \"1.2.3\"",
        "1.234,567 €;mixed thousands separators in \"1.234,567\"",
        "€€€;no amount in \"€€€\"",
        "see description;no amount in \"see description\"",
        "12.500 € / 13.750 €;more than one amount",
        "$12,500 EUR;conflicting currencies USD and EUR",
        "1234567890123 €;is too large",
      })
  void explainsGarbledPrices(String text, String detail) {
    PriceInfo price = price(text, "");

    assertThat(price.status()).isEqualTo(PriceInfo.Status.GARBLED);
    assertThat(price.detail()).contains(detail);
  }

  @Test
  void treatsAnEmptyPriceAsMissing() {
    assertThat(price("N/A", "EUR")).isEqualTo(PriceInfo.missing());
  }

  @Test
  void prefersTheCurrencyInThePriceTextAndNotesAContradictingField() {
    ExtractedListing extracted = listing().price("$12,500").currency("EUR").extracted();

    assertThat(extracted.price().currency()).isEqualTo("USD");
    assertThat(extracted.notes())
        .containsExactly("currency field \"EUR\" contradicts price \"$12,500\"; using USD");
  }

  @Test
  void notesWordsItIgnoredInAPrice() {
    ExtractedListing extracted = listing().price("ab 12.500 € Festpreis").extracted();

    assertThat(extracted.price().cents()).isEqualTo(1_250_000);
    assertThat(extracted.notes())
        .containsExactly("ignored \"Festpreis\" in price \"ab 12.500 € Festpreis\"");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = ';',
      value = {
        "CAT 320D Kettenbagger;Caterpillar;320D",
        "Kettenbagger Komatsu PC210LC-8 Bj. 2014;Komatsu;PC210LC-8",
        "Liebherr R 920 Compact;Liebherr;R 920",
        "Grue mobile Liebherr LTM 1050-3.1;Liebherr;LTM 1050-3.1",
        "John Deere 6155R Tractor;John Deere;6155R",
        "Claas Arion 650 Schlepper;Claas;Arion 650",
        "Volvo CE EC220E;Volvo;EC220E",
        "Komatsu Bagger 2014;Komatsu;''",
        "Case 580ST backhoe loader;Case;580ST",
        "Still RX20-16 Elektrostapler;Still;RX20-16",
      })
  void recognisesManufacturerAndModel(String title, String manufacturer, String model) {
    ExtractedListing extracted = listing().title(title).extracted();

    assertThat(extracted.manufacturer()).isEqualTo(manufacturer);
    assertThat(extracted.model()).isEqualTo(model);
  }

  @Test
  void ignoresAmbiguousManufacturerNamesWrittenInLowerCase() {
    ExtractedListing extracted =
        listing().title("Forklift, still in case of need").description("").extracted();

    assertThat(extracted.manufacturer()).isEmpty();
  }

  @Test
  void fallsBackToTheDescriptionForTheManufacturer() {
    ExtractedListing extracted =
        listing().title("Minibagger").description("Hersteller: Kubota, Typ U27-4").extracted();

    assertThat(extracted.manufacturer()).isEqualTo("Kubota");
  }

  @ParameterizedTest
  @CsvSource({
    "Gabelstapler Linde H30D,FORKLIFT",
    "Chariot élévateur Toyota,FORKLIFT",
    "Excavadora de cadenas Volvo,EXCAVATOR",
    "Raupenbagger Hitachi,EXCAVATOR",
    "Schubmaststapler Jungheinrich,FORKLIFT",
    "JCB 3CX Backhoe Loader,BACKHOE_LOADER",
    "Groupe électrogène SDMO,GENERATOR",
    "Grúa móvil Terex,CRANE",
    "Hydraulic breaker,OTHER",
  })
  void recognisesTheCategoryInAnyLanguage(String title, Category category) {
    assertThat(listing().title(title).description("").extracted().category()).isEqualTo(category);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = ';',
      value = {
        "Kettenbagger Bj. 2014;;2014",
        "CAT 320D;Baujahr 06/2015, sehr gut;2015",
        "2012 Komatsu PC210;;2012",
        "Komatsu PC210 (2012);Année de fabrication 2010;2010",
        "Bagger Bj. 1968;;1968",
        "Bagger;Bj. 2031;2031",
      })
  void findsTheYearOfManufacture(String title, String description, int year) {
    assertThat(
            listing()
                .title(title)
                .description(description == null ? "" : description)
                .extracted()
                .year())
        .hasValue(year);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = ';',
      value = {
        "Liebherr LTM 1050-3.1;2000 h, 3000 kg",
        "Komatsu PC2000;Preis 2.015 €",
        "Bagger;Built in the 1980s",
        "Bagger;1950 hp",
      })
  void takesNoYearFromModelCodesOrQuantities(String title, String description) {
    assertThat(listing().title(title).description(description).extracted().year())
        .isEqualTo(OptionalInt.empty());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "4.200 h",
        "4200 Std.",
        "4,200 hrs",
        "4 200 heures",
        "Betriebsstunden: 4.200",
        "Horas de trabajo: 4200",
        "Operating hours 4200.",
        "Compteur : 4200h"
      })
  void findsOperatingHours(String text) {
    assertThat(listing().title("Bagger").description("Top. " + text).extracted().hours())
        .hasValue(4200);
  }

  @ParameterizedTest
  @ValueSource(strings = {"1,5 h Anfahrt", "4200 kg", "Baujahr 2014", ""})
  void findsNoHoursWhereThereAreNone(String text) {
    assertThat(listing().title("Bagger").description(text).extracted().hours()).isEmpty();
  }
}
