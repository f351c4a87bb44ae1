package dev.pipeline.examples.listings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import org.junit.jupiter.api.Test;

class ListingParserTest {

  @Test
  void readsTheSixFieldsInOrder() {
    RawListing raw =
        ListingParser.parse(
            "scraper-a", 7, "scraper-a-000007|CAT 320D Bagger|12.500 €|EUR|Top Zustand.|de");

    assertThat(raw)
        .isEqualTo(
            new RawListing(
                "scraper-a",
                7,
                "scraper-a-000007",
                "CAT 320D Bagger",
                "12.500 €",
                "EUR",
                "Top Zustand.",
                "de"));
  }

  @Test
  void keepsEmptyFieldsEmpty() {
    RawListing raw = ListingParser.parse("s", 1, "id-1|||||");

    assertThat(raw.title()).isEmpty();
    assertThat(raw.lang()).isEmpty();
  }

  @Test
  void resolvesEscapedBarsBackslashesLineBreaksAndTabs() {
    RawListing raw =
        ListingParser.parse("s", 1, "id-1|CAT 320D \\| Top|1|EUR|A\\\\B\\nnext\\tline|en");

    assertThat(raw.title()).isEqualTo("CAT 320D | Top");
    assertThat(raw.description()).isEqualTo("A\\B\nnext\tline");
  }

  @Test
  void acceptsRawTabsAndNonAsciiText() {
    RawListing raw = ListingParser.parse("s", 1, "id-1|Grúa\tmóvil|9’800 CHF|||es");

    assertThat(raw.title()).isEqualTo("Grúa\tmóvil");
    assertThat(raw.price()).isEqualTo("9’800 CHF");
  }

  @Test
  void ignoresOneTrailingCarriageReturn() {
    RawListing raw = ListingParser.parse("s", 1, "id-1|t|p|c|d|en\r");

    assertThat(raw.lang()).isEqualTo("en");
  }

  @Test
  void trimsTheId() {
    assertThat(ListingParser.parse("s", 1, "  scraper-b-000001 |t|p|c|d|fr").id())
        .isEqualTo("scraper-b-000001");
  }

  @Test
  void rejectsTheWrongNumberOfFieldsNamingSourceLineAndCount() {
    assertThatThrownBy(
            () -> ListingParser.parse("scraper-b", 812, "scraper-b-000812|Pelle|12 500 €"))
        .isInstanceOf(MalformedListingException.class)
        .hasMessageStartingWith("line 812 of scraper-b: expected 6 '|'-separated fields")
        .hasMessageContaining("found 3")
        .hasMessageContaining("\"scraper-b-000812|Pelle|12 500 €\"");
  }

  @Test
  void rejectsAnUnescapedBarAsOneFieldTooMany() {
    assertThatThrownBy(() -> ListingParser.parse("s", 1, "id-1|t|p|c|d | more|en"))
        .isInstanceOf(MalformedListingException.class)
        .hasMessageContaining("found 7");
  }

  @Test
  void rejectsABlankId() {
    assertThatThrownBy(() -> ListingParser.parse("s", 3, "   |t|p|c|d|en"))
        .isInstanceOf(MalformedListingException.class)
        .hasMessageContaining("field 'id' is blank");
  }

  @Test
  void rejectsAnIdWithCharactersOutsideTheAllowedSet() {
    assertThatThrownBy(() -> ListingParser.parse("s", 3, "id 1|t|p|c|d|en"))
        .isInstanceOf(MalformedListingException.class)
        .hasMessageContaining("field 'id' \"id 1\" contains ' ' at position 3");
  }

  @Test
  void rejectsControlCharactersShowingThemEscaped() {
    MalformedListingException e =
        catchThrowableOfType(
            MalformedListingException.class,
            () -> ListingParser.parse("feed", 42, "id-1|t|p|c|bad\u0001byte|en"));

    assertThat(e.getMessage())
        .startsWith("line 42 of feed: control character U+0001 at column 15")
        .contains("bad\\u0001byte");
    assertThat(e.sourceId()).isEqualTo("feed");
    assertThat(e.lineNo()).isEqualTo(42);
    assertThat(e.problem()).isEqualTo("control character U+0001 at column 15");
  }

  @Test
  void rejectsTheReplacementCharacterLeftByAFailedDecode() {
    assertThatThrownBy(() -> ListingParser.parse("s", 1, "id-1|t\uFFFD|p|c|d|en"))
        .isInstanceOf(MalformedListingException.class)
        .hasMessageContaining("U+FFFD");
  }

  @Test
  void rejectsUnpairedSurrogates() {
    assertThatThrownBy(() -> ListingParser.parse("s", 1, "id-1|t\uD800|p|c|d|en"))
        .isInstanceOf(MalformedListingException.class)
        .hasMessageContaining("unpaired surrogate U+D800");
  }

  @Test
  void acceptsPairedSurrogates() {
    assertThat(ListingParser.parse("s", 1, "id-1|t\uD83D\uDE9C|p|c|d|en").title())
        .isEqualTo("t\uD83D\uDE9C");
  }

  @Test
  void rejectsUnknownEscapes() {
    assertThatThrownBy(() -> ListingParser.parse("s", 1, "id-1|t\\q|p|c|d|en"))
        .isInstanceOf(MalformedListingException.class)
        .hasMessageContaining("unknown escape '\\q'");
  }

  @Test
  void rejectsALoneBackslashAtTheEnd() {
    assertThatThrownBy(() -> ListingParser.parse("s", 1, "id-1|t|p|c|d|en\\"))
        .isInstanceOf(MalformedListingException.class)
        .hasMessageContaining("lone '\\'");
  }

  @Test
  void rejectsBlankAndOverlongLines() {
    assertThatThrownBy(() -> ListingParser.parse("s", 1, "   "))
        .isInstanceOf(MalformedListingException.class)
        .hasMessageContaining("blank line");
    String overlong = "id-1|" + "x".repeat(ListingParser.MAX_LINE_LENGTH) + "||||";
    assertThatThrownBy(() -> ListingParser.parse("s", 1, overlong))
        .isInstanceOf(MalformedListingException.class)
        .hasMessageContaining("more than the limit of 16384")
        .hasMessageEndingWith("...\"");
  }

  @Test
  void treatsANullLineAsMalformed() {
    assertThatThrownBy(() -> ListingParser.parse("s", 1, null))
        .isInstanceOf(MalformedListingException.class)
        .hasMessageContaining("line is null");
  }
}
