package dev.pipeline.examples.listings;

import static dev.pipeline.examples.listings.ListingFixture.listing;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SentimentAnalyzerTest {

  private static AnalyzedListing analyze(String description, String lang) {
    return listing().title("Bagger").description(description).lang(lang).analyzed();
  }

  @ParameterizedTest
  @CsvSource({
    "Excellent condition.,en",
    "Top Zustand.,de",
    "Très bon état.,fr",
    "Excelente estado.,es",
    "Like new & well maintained,en"
  })
  void scoresPraiseAsPositive(String description, String lang) {
    AnalyzedListing analyzed = analyze(description, lang);

    assertThat(analyzed.label()).isEqualTo(SentimentLabel.POSITIVE);
    assertThat(analyzed.sentiment()).isGreaterThan(0.5);
  }

  @ParameterizedTest
  @CsvSource({
    "Damaged.,en",
    "Motor defekt.,de",
    "En panne.,fr",
    "Averiado.,es",
    "Broken; leaking,en"
  })
  void scoresDefectsAsNegative(String description, String lang) {
    AnalyzedListing analyzed = analyze(description, lang);

    assertThat(analyzed.label()).isEqualTo(SentimentLabel.NEGATIVE);
    assertThat(analyzed.sentiment()).isLessThan(-0.5);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "No damage, no leaks.",
        "Ohne Mängel.",
        "Keine Mängel",
        "Aucun défaut.",
        "Sin averías.",
        "Sans défaut"
      })
  void negatedDefectsCountAsPraise(String description) {
    assertThat(analyze(description, "").label()).isEqualTo(SentimentLabel.POSITIVE);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "Engine not working.",
        "Motor läuft nicht.",
        "Ne démarre pas.",
        "No funciona.",
        "Hydraulics not good",
        "doesn't start",
        "Motor nicht gut"
      })
  void negatedPraiseCountsAsDefect(String description) {
    assertThat(analyze(description, "").label()).isEqualTo(SentimentLabel.NEGATIVE);
  }

  @Test
  void recordsNegatedCuesAsEvidence() {
    assertThat(analyze("Ohne Mängel, läuft.", "de").evidence())
        .containsExactly("+mängel (negated)", "+läuft");
  }

  @Test
  void negationEndsAtPunctuation() {
    assertThat(analyze("No. Damaged.", "en").label()).isEqualTo(SentimentLabel.NEGATIVE);
    assertThat(analyze("Not for sale, damaged", "en").label()).isEqualTo(SentimentLabel.NEGATIVE);
  }

  @Test
  void negationReachesOnlyThreeWords() {
    assertThat(analyze("No one would call it damaged", "en").label())
        .isEqualTo(SentimentLabel.NEGATIVE);
  }

  @Test
  void intensifiersStrengthenTheNextCue() {
    assertThat(analyze("very good", "en").sentiment())
        .isGreaterThan(analyze("good", "en").sentiment());
    assertThat(analyze("sehr gut", "de").sentiment())
        .isGreaterThan(analyze("gut", "de").sentiment());
  }

  @Test
  void aSingleMildCueStaysNeutral() {
    assertThat(analyze("Normal signs of wear.", "en").label()).isEqualTo(SentimentLabel.NEUTRAL);
  }

  @Test
  void textWithoutCuesScoresZero() {
    AnalyzedListing analyzed = analyze("Available immediately.", "en");

    assertThat(analyzed.sentiment()).isZero();
    assertThat(analyzed.label()).isEqualTo(SentimentLabel.NEUTRAL);
    assertThat(analyzed.evidence()).isEmpty();
  }

  @Test
  void scoreStaysWithinMinusOneAndOne() {
    String praise = "excellent perfect flawless like new ".repeat(40);

    assertThat(analyze(praise, "en").sentiment()).isBetween(0.99, 1.0);
    assertThat(analyze("broken defective scrap ".repeat(40), "en").sentiment())
        .isBetween(-1.0, -0.99);
  }

  @Test
  void keepsADeclaredLanguage() {
    AnalyzedListing analyzed = analyze("Top Zustand und sehr gepflegt", "fr");

    assertThat(analyzed.language()).isEqualTo("fr");
    assertThat(analyzed.languageDetected()).isFalse();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = ';',
      value = {
        "Sehr guter Zustand, mit Klimaanlage und Schnellwechsler.;de",
        "Très bon état, avec climatisation et godet.;fr",
        "Muy buen estado, con aire acondicionado y cazo.;es",
        "Very good condition, with air conditioning and bucket.;en",
      })
  void detectsAnUndeclaredLanguage(String description, String language) {
    AnalyzedListing analyzed = analyze(description, "");

    assertThat(analyzed.language()).isEqualTo(language);
    assertThat(analyzed.languageDetected()).isTrue();
  }

  @Test
  void detectsTheLanguageOfATitleAlone() {
    assertThat(
            listing()
                .title("Excavadora Hyundai R480LC-6 - 2010")
                .description("")
                .lang("")
                .analyzed()
                .language())
        .isEqualTo("es");
  }

  @Test
  void reportsUndeterminedWithoutEvidence() {
    assertThat(SentimentAnalyzer.detectLanguage("Komatsu PC210LC-8 2014")).isEqualTo("und");
  }
}
