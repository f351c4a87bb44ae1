package dev.pipeline.examples.listings;

/**
 * Kind of equipment, with the price range (in euros) a genuine listing of that kind falls in.
 * Prices outside it are typos, placeholders such as "1 €", or a different item altogether.
 * Immutable and thread-safe.
 */
public enum Category {
  EXCAVATOR("excavator", 1_500, 1_500_000),
  WHEEL_LOADER("wheel loader", 3_000, 1_500_000),
  BACKHOE_LOADER("backhoe loader", 3_000, 300_000),
  SKID_STEER_LOADER("skid steer loader", 2_000, 150_000),
  TELEHANDLER("telehandler", 3_000, 400_000),
  FORKLIFT("forklift", 500, 250_000),
  TRACTOR("tractor", 1_000, 800_000),
  GENERATOR("generator", 500, 1_000_000),
  COMPRESSOR("compressor", 500, 400_000),
  CRANE("crane", 5_000, 2_000_000),
  DUMPER("dumper", 1_000, 1_200_000),
  /** Not recognised; the widest range applies. */
  OTHER("other", 500, 2_000_000);

  private final String label;
  private final long minEur;
  private final long maxEur;

  Category(String label, long minEur, long maxEur) {
    this.label = label;
    this.minEur = minEur;
    this.maxEur = maxEur;
  }

  /** English name, lower case, e.g. "wheel loader". */
  public String label() {
    return label;
  }

  /** Lowest plausible price in whole euros. */
  public long minEur() {
    return minEur;
  }

  /** Highest plausible price in whole euros. */
  public long maxEur() {
    return maxEur;
  }

  /** Whether a price in euro cents lies within this category's plausible range, bounds included. */
  public boolean isPlausible(long eurCents) {
    return eurCents >= minEur * 100 && eurCents <= maxEur * 100;
  }
}
