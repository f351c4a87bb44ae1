package dev.pipeline.examples.listings;

/**
 * Builds a listing from field values and runs it through the real stages up to the one a test
 * needs. Defaults describe a complete, valid English listing, so a test only states the fields it
 * is about.
 */
final class ListingFixture {

  private String id = "test-000001";
  private String title = "Caterpillar 320D Excavator";
  private String price = "€ 45.000";
  private String currency = "";
  private String description = "Excellent condition. Year of manufacture 2015. 4,200 hours.";
  private String lang = "en";

  static ListingFixture listing() {
    return new ListingFixture();
  }

  ListingFixture id(String value) {
    id = value;
    return this;
  }

  ListingFixture title(String value) {
    title = value;
    return this;
  }

  ListingFixture price(String value) {
    price = value;
    return this;
  }

  ListingFixture currency(String value) {
    currency = value;
    return this;
  }

  ListingFixture description(String value) {
    description = value;
    return this;
  }

  ListingFixture lang(String value) {
    lang = value;
    return this;
  }

  RawListing raw() {
    return new RawListing("fixture", 1, id, title, price, currency, description, lang);
  }

  CleanListing clean() {
    return Cleaner.clean(raw());
  }

  ExtractedListing extracted() {
    return Extractor.extract(clean());
  }

  AnalyzedListing analyzed() {
    return SentimentAnalyzer.analyze(extracted());
  }

  TranslatedListing translated() {
    return Translator.translate(analyzed());
  }

  ValidatedListing validated() {
    return ListingValidator.validate(translated());
  }

  IndexedListing indexed() {
    return Indexer.index(validated());
  }
}
