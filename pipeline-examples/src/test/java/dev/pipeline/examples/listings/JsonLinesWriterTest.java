package dev.pipeline.examples.listings;

import static dev.pipeline.examples.listings.ListingFixture.listing;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonLinesWriterTest {

  @Test
  void escapesQuotesBackslashesAndControlCharacters() {
    assertThat(JsonLinesWriter.string("say \"hi\" C:\\temp\n\t\r\b\f\u0001\u001F\u007F"))
        .isEqualTo("\"say \\\"hi\\\" C:\\\\temp\\n\\t\\r\\b\\f\\u0001\\u001f\\u007f\"");
  }

  @Test
  void writesUnicodeAsIsButEscapesJavaScriptLineSeparators() {
    assertThat(JsonLinesWriter.string("Grúa 9’800 € \uD83D\uDE9C \u2028\u2029"))
        .isEqualTo("\"Grúa 9’800 € \uD83D\uDE9C \\u2028\\u2029\"");
  }

  @Test
  void replacesUnpairedSurrogatesSoTheOutputIsValidUtf8() {
    assertThat(JsonLinesWriter.string("a\uD800b\uDC00")).isEqualTo("\"a\uFFFDb\uFFFD\"");
  }

  @Test
  void roundTripsEveryAsciiCharacterThroughAStrictParser() {
    StringBuilder all = new StringBuilder();
    for (char c = 0; c < 0x80; c++) {
      all.append(c);
    }
    all.append("é€\uD83D\uDE9C\u2028");

    assertThat(JsonSyntax.parse(JsonLinesWriter.string(all.toString()))).isEqualTo(all.toString());
  }

  @Test
  void formatsNumbersWithoutExponentOrLocale() {
    StringBuilder out = new StringBuilder();
    JsonLinesWriter.fixed(out, 0.0001, 3);
    out.append(' ');
    JsonLinesWriter.fixed(out, -0.4626, 3);
    out.append(' ');
    JsonLinesWriter.fixed(out, -0.0001, 3);
    out.append(' ');
    JsonLinesWriter.fixed(out, 0.85, 2);
    out.append(' ');
    JsonLinesWriter.fixed(out, 1.0, 2);

    assertThat(out).hasToString("0.000 -0.463 0.000 0.85 1.00");
  }

  @Test
  void rendersAListingAsOneLineOfValidJson() {
    IndexedListing indexed =
        listing()
            .title("Bagger \"Top\" CAT 320D")
            .lang("de")
            .description("Sehr guter Zustand.\nMit Klimaanlage | Schnellwechsler\\Löffel")
            .indexed();

    String line = JsonLinesWriter.render(indexed);

    assertThat(line).doesNotContain("\n", "\r");
    @SuppressWarnings("unchecked")
    Map<String, Object> json = (Map<String, Object>) JsonSyntax.parse(line);
    assertThat(json)
        .containsEntry("id", "test-000001")
        .containsEntry("title", "Excavator \"Top\" CAT 320D")
        .containsEntry("originalTitle", "Bagger \"Top\" CAT 320D")
        .containsEntry(
            "description", "Very good condition. With air conditioning | quick coupler\\bucket")
        .containsEntry("manufacturer", "Caterpillar")
        .containsEntry("year", null)
        .containsEntry("hours", null)
        .containsEntry("price", Map.of("amount", 45000.0, "currency", "EUR", "eur", 45000.0))
        .containsEntry("sentimentLabel", "POSITIVE")
        .containsEntry("warnings", List.of("year.missing: year of manufacture not found"));
    assertThat(json.keySet())
        .containsExactly(
            "id",
            "source",
            "line",
            "title",
            "originalTitle",
            "description",
            "language",
            "category",
            "manufacturer",
            "model",
            "year",
            "hours",
            "price",
            "sentiment",
            "sentimentLabel",
            "quality",
            "warnings",
            "facets",
            "terms");
    assertThat((List<?>) json.get("terms")).isEqualTo(indexed.terms());
  }

  @Test
  void writesKnownYearAndHoursAsNumbers() {
    String line = JsonLinesWriter.render(listing().indexed());

    assertThat(line).contains("\"year\":2015,\"hours\":4200,").contains("\"quality\":1.00");
  }
}
