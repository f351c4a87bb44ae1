package dev.pipeline.examples.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.examples.listings.Cleaner;
import dev.pipeline.examples.listings.Extractor;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.Indexer;
import dev.pipeline.examples.listings.ListingParser;
import dev.pipeline.examples.listings.ListingValidator;
import dev.pipeline.examples.listings.SentimentAnalyzer;
import dev.pipeline.examples.listings.Translator;
import dev.pipeline.examples.listings.ValidatedListing;
import dev.pipeline.metrics.ReferenceDataMetrics;
import dev.pipeline.testkit.StageResult;
import dev.pipeline.testkit.StageTester;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The indexing stage's euro rates: reference data looked up through the stage's context. */
class ExchangeRatesTest {

  private static ValidatedListing validated(String id, String price, String currency) {
    String line =
        id
            + "|Caterpillar 320D Excavator|"
            + price
            + "|"
            + currency
            + "|Excellent condition. Year of manufacture 2015. 4,200 hours.|en";
    return ListingValidator.validate(
        Translator.translate(
            SentimentAnalyzer.analyze(
                Extractor.extract(Cleaner.clean(ListingParser.parse("test", 1, line))))));
  }

  @Test
  void theIndexingStageConvertsAtTheQuotedRatesAskingOncePerCurrency() {
    ValidatedListing dollars = validated("a-1", "45,000", "USD");
    ValidatedListing pounds = validated("a-2", "38,000", "GBP");
    StageTester<ValidatedListing, IndexedListing> tester =
        StageTester.of(EquipmentPipeline::index)
            .stageName(dev.pipeline.StageName.INDEXING)
            .withReferenceData(ExchangeRates.EUR_RATES);

    List<StageResult<IndexedListing>> results =
        tester.runAll(List.of(dollars, pounds, dollars, dollars));

    assertThat(results)
        .extracting(r -> r.output().priceEurCents())
        .containsExactly(
            Indexer.index(dollars).priceEurCents(),
            Indexer.index(pounds).priceEurCents(),
            Indexer.index(dollars).priceEurCents(),
            Indexer.index(dollars).priceEurCents());
    assertThat(results.get(0).output().priceEurCents()).isEqualTo(4_140_000);
    ReferenceDataMetrics rates = tester.referenceMetrics().get(0);
    assertThat(rates.name()).isEqualTo("eur-rates");
    assertThat(rates.stages()).containsExactly("indexing");
    assertThat(rates.loads()).as("one quote per currency").isEqualTo(2);
    assertThat(rates.hits()).isEqualTo(2);
  }

  @Test
  void theIndexingStageWithoutTheRatesSaysHowToDeclareThem() {
    StageResult<IndexedListing> result =
        StageTester.of(EquipmentPipeline::index).run(validated("a-1", "45,000", "USD"));

    assertThat(result.failure())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("reference data 'eur-rates'")
        .hasMessageContaining("StageTester.withReferenceData(...)");
  }
}
