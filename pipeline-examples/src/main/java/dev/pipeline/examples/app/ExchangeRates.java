package dev.pipeline.examples.app;

import dev.pipeline.ReferenceData;
import dev.pipeline.examples.listings.Currency;
import java.time.Duration;

/**
 * Euro exchange rates as the indexing stage looks them up: from a rate service, through the
 * pipeline's cache of {@link #EUR_RATES}, so that the service is asked once per currency and not
 * once per listing.
 *
 * <p>The service only pretends to be remote: it answers with the frozen rates of {@link Currency},
 * because a pipeline whose verdicts moved with the exchange market would not be reproducible. A
 * real one would make an HTTP call in {@link #quote}, and might fail there; the lookup would then
 * fail the record, which the stage's retry policy retries.
 *
 * <p>Thread-safe: stateless.
 */
public final class ExchangeRates {

  /**
   * Euros per unit of a currency, in units of 1/10,000 (9,200 for a US dollar worth 0.92 €): kept a
   * day, refreshed in the background an hour after each load.
   */
  public static final ReferenceData<Currency, Long> EUR_RATES =
      ReferenceData.named("eur-rates")
          .maximumSize(64)
          .expireAfterWrite(Duration.ofHours(24))
          .refreshAfterWrite(Duration.ofHours(1))
          .build(ExchangeRates::quote);

  private ExchangeRates() {}

  /** What the rate service answers for one currency. */
  static Long quote(Currency currency) {
    return currency.eurPerUnitE4();
  }
}
