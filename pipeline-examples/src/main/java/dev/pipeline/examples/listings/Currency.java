package dev.pipeline.examples.listings;

import java.util.Optional;

/**
 * The currencies the example understands, each with a fixed conversion rate to euros. Rates are
 * frozen on purpose: a pipeline whose validation verdicts moved with the exchange market would not
 * be reproducible. Enum constants are immutable and thread-safe.
 */
public enum Currency {
  EUR(10_000),
  USD(9_200),
  GBP(11_700),
  CHF(10_400);

  // Euros per unit in units of 1/10,000, so that conversion stays in exact integer arithmetic.
  private final long eurPerUnitE4;

  Currency(long eurPerUnitE4) {
    this.eurPerUnitE4 = eurPerUnitE4;
  }

  /** The currency with this ISO 4217 code (upper case), if it is one of ours. */
  public static Optional<Currency> fromCode(String code) {
    return switch (code) {
      case "EUR" -> Optional.of(EUR);
      case "USD" -> Optional.of(USD);
      case "GBP" -> Optional.of(GBP);
      case "CHF" -> Optional.of(CHF);
      default -> Optional.empty();
    };
  }

  /** Converts an amount in cents of this currency to euro cents, rounding half up. */
  public long toEurCents(long cents) {
    return toEurCents(cents, eurPerUnitE4);
  }

  /** Euros per unit of this currency, in units of 1/10,000 (9,200 for 0.92 €): the frozen rate. */
  public long eurPerUnitE4() {
    return eurPerUnitE4;
  }

  /** Converts cents at a rate in euros per unit in units of 1/10,000, rounding half up. */
  static long toEurCents(long cents, long eurPerUnitE4) {
    return (cents * eurPerUnitE4 + 5_000) / 10_000;
  }
}
