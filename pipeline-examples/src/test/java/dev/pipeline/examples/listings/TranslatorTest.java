package dev.pipeline.examples.listings;

import static dev.pipeline.examples.listings.ListingFixture.listing;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TranslatorTest {

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = ';',
      value = {
        "de;Sehr guter Zustand, scheckheftgepflegt.;Very good condition, full service history.",
        "de;Kettenbagger mit Klimaanlage und Schnellwechsler;Crawler excavator with air"
            + " conditioning and quick coupler",
        "de;Motor läuft nicht. Sofort verfügbar.;Engine does not run. Available immediately.",
        "de;Gebrauchter Gabelstapler, 4.200 Std.;Used forklift, 4.200 hours.",
        "fr;Pelle sur chenilles d'occasion en très bon état;Crawler excavator used in very good"
            + " condition",
        "fr;Chariot élévateur, ne démarre pas.;Forklift, does not start.",
        "fr;Fuite d'huile, à réparer.;Oil leak, to be repaired.",
        "es;Excavadora de cadenas en muy buen estado;Crawler excavator in very good condition",
        "es;Carretilla elevadora, no funciona.;Forklift, does not work.",
        "es;Grúa móvil con aire acondicionado;Mobile crane with air conditioning",
      })
  void translatesPhrasesLongestFirst(String language, String original, String english) {
    assertThat(Translator.translateText(original, language)).isEqualTo(english);
  }

  @Test
  void matchesCaseInsensitivelyAndKeepsShoutedWordsShouted() {
    assertThat(Translator.translateText("GABELSTAPLER gabelstapler Gabelstapler", "de"))
        .isEqualTo("FORKLIFT forklift forklift");
  }

  @Test
  void translatesAbbreviationsInLowerCase() {
    assertThat(Translator.translateText("Preis VB", "de")).isEqualTo("Price negotiable");
  }

  @Test
  void replacesWholeWordsOnly() {
    assertThat(Translator.translateText("Kranbahn und Baggerschaufel", "de"))
        .isEqualTo("Kranbahn and Baggerschaufel");
  }

  @Test
  void leavesModelCodesAndNamesAlone() {
    assertThat(Translator.translateText("Bagger CAT 320D, Händler Müller", "de"))
        .isEqualTo("Excavator CAT 320D, dealer Müller");
  }

  @Test
  void leavesOtherLanguagesUnchanged() {
    assertThat(Translator.translateText("Bagger in good condition", "en"))
        .isEqualTo("Bagger in good condition");
    assertThat(Translator.translateText("Escavatore cingolato", "it"))
        .isEqualTo("Escavatore cingolato");
  }

  @Test
  void keepsTheOriginalTextAndCountsReplacements() {
    TranslatedListing translated =
        listing().title("Radlader Volvo L60H").description("Top Zustand.").lang("de").translated();

    assertThat(translated.title()).isEqualTo("Wheel loader Volvo L60H");
    assertThat(translated.description()).isEqualTo("Top condition.");
    assertThat(translated.originalTitle()).isEqualTo("Radlader Volvo L60H");
    assertThat(translated.originalDescription()).isEqualTo("Top Zustand.");
    assertThat(translated.translatedTerms()).isEqualTo(2);
  }

  @Test
  void translatesWithTheDetectedLanguageWhenNoneWasDeclared() {
    TranslatedListing translated =
        listing()
            .title("Chariot élévateur Toyota 8FD25")
            .description("Très bon état, avec climatisation.")
            .lang("")
            .translated();

    assertThat(translated.title()).isEqualTo("Forklift Toyota 8FD25");
    assertThat(translated.description()).isEqualTo("Very good condition, with air conditioning.");
  }

  @Test
  void hasAboutAHundredAndFiftyEntriesOrMore() {
    int entries =
        Translator.dictionarySize("de")
            + Translator.dictionarySize("fr")
            + Translator.dictionarySize("es");

    assertThat(entries).isGreaterThanOrEqualTo(150);
    assertThat(Translator.dictionarySize("en")).isZero();
  }
}
