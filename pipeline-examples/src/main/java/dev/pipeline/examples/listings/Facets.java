package dev.pipeline.examples.listings;

import java.util.List;
import java.util.Objects;

/**
 * The fields a search front end offers as filters, as lower-case slugs ({@code "john-deere"},
 * {@code "wheel-loader"}, {@code "10k-25k"}, {@code "2010s"}); {@value #UNKNOWN} where the listing
 * does not say. Immutable.
 *
 * @param manufacturer manufacturer slug
 * @param category category slug
 * @param currency currency code in lower case
 * @param priceBucket euro-equivalent price band, e.g. {@code "under-5k"}, {@code "25k-50k"}, {@code
 *     "250k-plus"}
 * @param decade decade of manufacture, e.g. {@code "1990s"}
 * @param language language code
 */
public record Facets(
    String manufacturer,
    String category,
    String currency,
    String priceBucket,
    String decade,
    String language) {

  /** Slug for a value the listing does not provide. */
  public static final String UNKNOWN = "unknown";

  public Facets {
    Objects.requireNonNull(manufacturer, "manufacturer");
    Objects.requireNonNull(category, "category");
    Objects.requireNonNull(currency, "currency");
    Objects.requireNonNull(priceBucket, "priceBucket");
    Objects.requireNonNull(decade, "decade");
    Objects.requireNonNull(language, "language");
  }

  /**
   * The facets as searchable {@code field:value} terms, e.g. {@code "manufacturer:caterpillar"}.
   */
  public List<String> asTerms() {
    return List.of(
        "manufacturer:" + manufacturer,
        "category:" + category,
        "currency:" + currency,
        "price:" + priceBucket,
        "decade:" + decade,
        "language:" + language);
  }

  /**
   * Lower-cases a display value and joins its words with hyphens: "John Deere" becomes
   * "john-deere".
   */
  static String slug(String value) {
    if (value.isEmpty()) {
      return UNKNOWN;
    }
    StringBuilder sb = new StringBuilder(value.length());
    boolean gap = false;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (Character.isLetterOrDigit(c)) {
        if (gap && !sb.isEmpty()) {
          sb.append('-');
        }
        gap = false;
        sb.append(Character.toLowerCase(c));
      } else {
        gap = true;
      }
    }
    return sb.isEmpty() ? UNKNOWN : sb.toString();
  }
}
