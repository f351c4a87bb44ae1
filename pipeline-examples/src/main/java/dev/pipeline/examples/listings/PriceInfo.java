package dev.pipeline.examples.listings;

import java.util.Objects;

/**
 * What a listing says about its price. Always present, even when the listing has no usable price:
 * the {@link Status} tells which case applies, so no caller has to interpret a null. Immutable.
 *
 * @param status which case applies
 * @param cents the amount in cents of {@code currency}; zero unless {@code status} is {@link
 *     Status#PRESENT}
 * @param currency upper-case ISO 4217 code as written ({@code "EUR"}, but also unknown codes such
 *     as {@code "PLN"}), or empty when the listing names none
 * @param detail why the price is {@link Status#GARBLED}; empty otherwise
 */
public record PriceInfo(Status status, long cents, String currency, String detail) {

  /** The cases a scraped price falls into. */
  public enum Status {
    /** An amount was read. */
    PRESENT,
    /** The seller asks to be contacted: "POA", "auf Anfrage", "sur demande", "a consultar". */
    ON_REQUEST,
    /** No price at all, or a placeholder such as "N/A". */
    MISSING,
    /**
     * Something was written but it is not a readable amount, e.g. "12.5OO €"; see {@code detail}.
     */
    GARBLED
  }

  private static final PriceInfo ON_REQUEST = new PriceInfo(Status.ON_REQUEST, 0, "", "");
  private static final PriceInfo MISSING = new PriceInfo(Status.MISSING, 0, "", "");

  public PriceInfo {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(currency, "currency");
    Objects.requireNonNull(detail, "detail");
    if (cents < 0 || (status != Status.PRESENT && cents != 0)) {
      throw new IllegalArgumentException("cents " + cents + " invalid for status " + status);
    }
  }

  public static PriceInfo present(long cents, String currency) {
    return new PriceInfo(Status.PRESENT, cents, currency, "");
  }

  public static PriceInfo onRequest() {
    return ON_REQUEST;
  }

  public static PriceInfo missing() {
    return MISSING;
  }

  public static PriceInfo garbled(String detail) {
    return new PriceInfo(Status.GARBLED, 0, "", detail);
  }

  public boolean isPresent() {
    return status == Status.PRESENT;
  }

  /**
   * The amount as a plain decimal with two places, e.g. {@code "12500.00"}; empty unless present.
   */
  public String amountText() {
    return isPresent() ? formatCents(cents) : "";
  }

  static String formatCents(long cents) {
    long fraction = cents % 100;
    return (cents / 100) + (fraction < 10 ? ".0" : ".") + fraction;
  }
}
