package dev.pipeline.examples.listings;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class CleanerTest {

  @Test
  void decodesCommonNamedReferences() {
    assertThat(Cleaner.cleanText("M&uuml;ller &amp; S&ouml;hne &ndash; Pr&eacute;&nbsp;12&euro;"))
        .isEqualTo("Müller & Söhne - Pré 12€");
  }

  @Test
  void decodesDecimalAndHexadecimalReferences() {
    assertThat(Cleaner.cleanText("d&#39;occasion &#x20AC; &#8364; &#X20ac;"))
        .isEqualTo("d'occasion € € €");
  }

  @Test
  void decodesAstralCodePoints() {
    assertThat(Cleaner.cleanText("&#x1F69C;")).isEqualTo("\uD83D\uDE9C");
  }

  @Test
  void readsC1ReferencesAsWindows1252LikeBrowsersDo() {
    assertThat(Cleaner.cleanText("&#128; &#147;Top&#148; &#133;")).isEqualTo("€ \"Top\" ...");
  }

  @Test
  void turnsInvalidNumericReferencesIntoTheReplacementCharacter() {
    assertThat(Cleaner.cleanText("a&#0;b&#xD800;c&#x110000;d")).isEqualTo("a\uFFFDb\uFFFDc\uFFFDd");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"Smith & Sons", "A&B", "&unknown;", "&amp no semicolon", "&#;", "&#x;", "100 &"})
  void leavesAmpersandsThatStartNoReferenceAlone(String text) {
    assertThat(Cleaner.cleanText(text)).isEqualTo(text);
  }

  @Test
  void decodesOnlyOnce() {
    assertThat(Cleaner.cleanText("&amp;lt;b&amp;gt;")).isEqualTo("&lt;b&gt;");
  }

  @Test
  void stripsTagsLettingBlockTagsSeparateWords() {
    assertThat(Cleaner.cleanText("<p>Top<br/>Zustand</p><div>Mit <b>Klima</b>anlage</div>"))
        .isEqualTo("Top Zustand Mit Klimaanlage");
  }

  @Test
  void keepsEscapedMarkupAsText() {
    assertThat(Cleaner.cleanText("&lt;b&gt;bold&lt;/b&gt;")).isEqualTo("<b>bold</b>");
  }

  @Test
  void keepsLessThanSignsThatOpenNoTag() {
    assertThat(Cleaner.cleanText("< 5000 h, weight <3t")).isEqualTo("< 5000 h, weight <3t");
  }

  @Test
  void keepsAnUnclosedTagAsText() {
    assertThat(Cleaner.cleanText("price <b unclosed")).isEqualTo("price <b unclosed");
  }

  @Test
  void dropsCommentsScriptsStylesAndDeclarations() {
    String html =
        "<!DOCTYPE html><style>p{color:red}</style>Bagger<!-- crawl 12 --> <script>var x = '<b>';"
            + "</script>gut";

    assertThat(Cleaner.cleanText(html)).isEqualTo("Bagger gut");
  }

  @Test
  void collapsesAllKindsOfWhitespaceAndTrims() {
    assertThat(Cleaner.cleanText(" \t Top\u00A0\u00A0 Zustand\n\r  sofort\u202Fverfügbar  "))
        .isEqualTo("Top Zustand sofort verfügbar");
  }

  @Test
  void normalisesTypographicQuotesDashesAndEllipsis() {
    assertThat(Cleaner.cleanText("\u201ETop\u201C \u00AB neuf \u00BB l\u2019état \u2013 ok\u2026"))
        .isEqualTo("\"Top\" \" neuf \" l'état - ok...");
  }

  @Test
  void dropsInvisibleCharacters() {
    assertThat(Cleaner.cleanText("Bag\u00ADger\u200B \uFEFFgut")).isEqualTo("Bagger gut");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"N/A", "n.a.", "--", "-", "k.A.", " NULL ", "&nbsp;n/a&nbsp;", "<b>N/A</b>", ""})
  void turnsPlaceholdersIntoMissingValues(String placeholder) {
    CleanListing clean =
        Cleaner.clean(
            new RawListing("s", 1, "id-1", "CAT 320D", placeholder, "", placeholder, "en"));

    assertThat(clean.price()).isEmpty();
    assertThat(clean.description()).isEmpty();
  }

  @ParameterizedTest
  @CsvSource({
    "de,de",
    "DE,de",
    "de-DE,de",
    "fr_FR,fr",
    "Español,es",
    "english,en",
    "'',''",
    "klingon,''",
    "N/A,''"
  })
  void reducesTheLanguageFieldToAnIsoCode(String raw, String expected) {
    assertThat(Cleaner.language(raw)).isEqualTo(expected);
  }

  @Test
  void cleansEveryFieldAndKeepsProvenance() {
    RawListing raw =
        new RawListing(
            "feed",
            9,
            "id-9",
            " <b>Pelle</b> d&#39;occasion ",
            "12&nbsp;500 &euro;",
            " EUR ",
            "<p>Tr&egrave;s bon &eacute;tat.</p>",
            "FR");

    assertThat(Cleaner.clean(raw))
        .isEqualTo(
            new CleanListing(
                "feed", 9, "id-9", "Pelle d'occasion", "12 500 €", "EUR", "Très bon état.", "fr"));
  }
}
