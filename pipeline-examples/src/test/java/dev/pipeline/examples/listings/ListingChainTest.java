package dev.pipeline.examples.listings;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs the bundled data set through all eight stages, the way the example's pipeline wires them,
 * and checks that every line ends up in exactly one place: malformed, rejected, filtered, duplicate
 * or published.
 */
class ListingChainTest {

  private static int lines;
  private static int malformed;
  private static int duplicates;
  private static final Map<ValidatedListing.Outcome, Integer> OUTCOMES =
      new EnumMap<>(ValidatedListing.Outcome.class);
  private static final Map<String, Integer> LANGUAGES = new HashMap<>();
  private static final ListingIndex INDEX = new ListingIndex();

  @BeforeAll
  static void runTheBundledDataSet() throws IOException {
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(ListingGenerator.openBundled(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        lines++;
        RawListing raw;
        try {
          raw = ListingParser.parse(ListingGenerator.BUNDLED_SOURCE_ID, lines, line);
        } catch (MalformedListingException e) {
          malformed++;
          continue;
        }
        AnalyzedListing analyzed = SentimentAnalyzer.analyze(Extractor.extract(Cleaner.clean(raw)));
        LANGUAGES.merge(analyzed.language(), 1, Integer::sum);
        ValidatedListing validated = ListingValidator.validate(Translator.translate(analyzed));
        OUTCOMES.merge(validated.outcome(), 1, Integer::sum);
        if (validated.passes()) {
          IndexedListing indexed = Indexer.index(validated);
          assertThat(JsonLinesWriter.render(indexed)).doesNotContain("\n");
          if (!INDEX.publish(indexed)) {
            duplicates++;
          }
        }
      }
    }
  }

  @Test
  void accountsForEveryLine() {
    int validated = OUTCOMES.values().stream().mapToInt(Integer::intValue).sum();

    assertThat(lines).isEqualTo(ListingGenerator.BUNDLED_COUNT);
    assertThat(malformed + validated).isEqualTo(lines);
    assertThat(INDEX.size() + duplicates)
        .isEqualTo(OUTCOMES.get(ValidatedListing.Outcome.ACCEPTED));
  }

  @Test
  void dropsEachKindOfBadLineSomewhere() {
    assertThat(malformed).isPositive();
    assertThat(OUTCOMES.get(ValidatedListing.Outcome.REJECTED)).isBetween(lines / 100, lines / 10);
    assertThat(OUTCOMES.get(ValidatedListing.Outcome.FILTERED)).isBetween(lines / 100, lines / 10);
    assertThat(duplicates).isBetween(lines / 200, lines * 3 / 100);
  }

  @Test
  void seesTheFourLanguagesInRoughlyTheGeneratedShares() {
    int total = lines - malformed;

    assertThat(LANGUAGES.get("en") * 100 / total).isBetween(36, 44);
    assertThat(LANGUAGES.get("de") * 100 / total).isBetween(21, 29);
    assertThat(LANGUAGES.get("fr") * 100 / total).isBetween(16, 24);
    assertThat(LANGUAGES.get("es") * 100 / total).isBetween(11, 19);
    assertThat(LANGUAGES.getOrDefault("und", 0)).isLessThan(total / 100);
  }

  @Test
  void publishesTheGreatMajority() {
    assertThat(INDEX.size()).isGreaterThan(lines * 85 / 100);
  }

  @Test
  void makesTheDataSearchableInEnglish() {
    assertThat(INDEX.search("excavator")).hasSizeGreaterThan(lines / 10);
    assertThat(INDEX.search("forklift language:de"))
        .isNotEmpty()
        .allSatisfy(
            listing -> assertThat(listing.originalTitle()).doesNotContainIgnoringCase("forklift"));
    assertThat(INDEX.search("wheel loader manufacturer:volvo"))
        .isNotEmpty()
        .allSatisfy(listing -> assertThat(listing.category()).isEqualTo(Category.WHEEL_LOADER));
  }
}
