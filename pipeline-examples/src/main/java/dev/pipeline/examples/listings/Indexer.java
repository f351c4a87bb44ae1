package dev.pipeline.examples.listings;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.ToLongFunction;

/**
 * Stage 7, indexing: turns an accepted listing into an {@link IndexedListing} with searchable terms
 * and facets.
 *
 * <p>Terms come from the English title and description plus manufacturer and model: lower-cased,
 * stopwords and bare numbers dropped (model numbers excepted), and lightly stemmed so that
 * "excavators" finds "excavator" and "serviced" finds "service". The stemmer only strips plural,
 * "-ing", "-ed" and a final "e"; it is meant to conflate the forms listings actually use, not to be
 * linguistically complete. Queries go through the same {@link #analyze(String)}, which is what
 * makes the conflation work.
 *
 * <p>Prices are converted to euros at the frozen rates of {@link Currency}, or at rates given by
 * the caller ({@link #indexAtRates}).
 *
 * <p>Thread-safe: a pure function; the stopword list is immutable.
 */
public final class Indexer {

  private static final Set<String> STOPWORDS =
      Set.of(
          "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "for", "from",
          "has", "have", "he", "her", "his", "i", "if", "in", "into", "is", "it", "its", "me", "my",
          "no", "nor", "not", "of", "on", "or", "our", "she", "so", "such", "than", "that", "the",
          "their", "then", "there", "these", "they", "this", "those", "to", "too", "up", "us",
          "was", "we", "were", "what", "when", "which", "while", "who", "will", "with", "you",
          "your", "all", "also", "any", "per", "very", "does", "do", "did", "only", "just", "more",
          "most", "some", "other", "own", "same", "out", "off", "over", "under", "again");

  private static final Map<Category, String> CATEGORY_SLUGS = categorySlugs();

  private Indexer() {}

  /**
   * Indexes one listing. Only accepted listings can be indexed: filtering and dead-lettering are
   * decided before this stage, and indexing a rejected listing would be a wiring mistake worth
   * failing loudly on.
   *
   * @throws IllegalArgumentException if the listing is filtered or rejected
   * @throws NullPointerException if {@code listing} is null
   */
  public static IndexedListing index(ValidatedListing listing) {
    return indexAtRates(listing, Currency::eurPerUnitE4);
  }

  /**
   * Indexes one listing, converting its price to euros at the rate {@code eurPerUnitE4} gives for
   * its currency (euros per unit in units of 1/10,000, as {@link Currency#eurPerUnitE4()}).
   *
   * @throws IllegalArgumentException if the listing is filtered or rejected
   * @throws NullPointerException if an argument is null
   */
  public static IndexedListing indexAtRates(
      ValidatedListing listing, ToLongFunction<Currency> eurPerUnitE4) {
    Objects.requireNonNull(listing, "validated listing");
    Objects.requireNonNull(eurPerUnitE4, "eurPerUnitE4");
    if (!listing.passes()) {
      throw new IllegalArgumentException(
          "listing "
              + listing.id()
              + " is "
              + listing.outcome()
              + " and cannot be indexed: "
              + listing.reason());
    }
    TranslatedListing translated = listing.listing();
    AnalyzedListing analyzed = translated.analyzed();
    ExtractedListing extracted = analyzed.extracted();
    CleanListing clean = extracted.listing();
    PriceInfo price = extracted.price();
    // passes() guarantees a present price in a known currency.
    Currency currency = Currency.fromCode(price.currency()).orElseThrow();
    long eurCents = Currency.toEurCents(price.cents(), eurPerUnitE4.applyAsLong(currency));

    List<String> terms = new ArrayList<>(48);
    collect(translated.title(), false, terms);
    collect(translated.description(), false, terms);
    collect(extracted.manufacturer(), false, terms);
    collect(extracted.model(), true, terms);
    List<String> distinct = sortedDistinct(terms);

    Facets facets =
        new Facets(
            Facets.slug(extracted.manufacturer()),
            CATEGORY_SLUGS.get(extracted.category()),
            Facets.slug(price.currency()),
            priceBucket(eurCents),
            extracted.year().isPresent()
                ? (extracted.year().getAsInt() / 10 * 10) + "s"
                : Facets.UNKNOWN,
            Facets.slug(analyzed.language()));
    List<String> warnings = new ArrayList<>(listing.violations().size());
    for (Violation v : listing.violations()) {
      if (v.severity() == Severity.WARNING) {
        warnings.add(v.rule() + ": " + v.message());
      }
    }
    return new IndexedListing(
        clean.id(),
        clean.sourceId(),
        clean.lineNo(),
        translated.title(),
        clean.title(),
        translated.description(),
        analyzed.language(),
        extracted.category(),
        extracted.manufacturer(),
        extracted.model(),
        extracted.year(),
        extracted.hours(),
        price,
        eurCents,
        analyzed.sentiment(),
        analyzed.label(),
        listing.quality(),
        warnings,
        distinct,
        facets);
  }

  /**
   * The search terms of an English text, in order of appearance, duplicates kept: lower case, no
   * stopwords, no bare numbers, stemmed.
   */
  public static List<String> analyze(String text) {
    List<String> terms = new ArrayList<>();
    collect(text, false, terms);
    return terms;
  }

  /**
   * Light English stemmer: plural, "-ing", "-ed", then a final "e". Words with digits are left
   * alone.
   */
  static String stem(String word) {
    String w = word;
    if (w.length() <= 3 || hasDigit(w)) {
      return w;
    }
    if (w.endsWith("ies") && w.length() > 4) {
      w = w.substring(0, w.length() - 3) + 'y';
    } else if (w.endsWith("sses")
        || w.endsWith("xes")
        || w.endsWith("ches")
        || w.endsWith("shes")
        || w.endsWith("zes")) {
      w = w.substring(0, w.length() - 2);
    } else if (w.endsWith("s") && !w.endsWith("ss") && !w.endsWith("us") && !w.endsWith("is")) {
      w = w.substring(0, w.length() - 1);
    }
    if (w.endsWith("ing") && w.length() >= 6 && hasVowel(w, w.length() - 3)) {
      w = undouble(w.substring(0, w.length() - 3));
    } else if (w.endsWith("ed") && w.length() >= 5 && hasVowel(w, w.length() - 2)) {
      w = undouble(w.substring(0, w.length() - 2));
    }
    if (w.endsWith("e") && w.length() >= 4) {
      w = w.substring(0, w.length() - 1);
    }
    return w;
  }

  private static void collect(String text, boolean keepNumbers, List<String> terms) {
    if (text.isEmpty()) {
      return;
    }
    Words.Tokens tokens = Words.tokenize(text);
    for (int i = 0; i < tokens.count; i++) {
      String word = tokens.lower[i];
      if (word.indexOf('\'') >= 0) {
        // "don't" is a stopword anyway; a left-over French "d'" or "l'" is not a term.
        continue;
      }
      boolean number = isNumber(word);
      if (number ? !keepNumbers : (word.length() < 2 || STOPWORDS.contains(word))) {
        continue;
      }
      terms.add(number ? word : stem(word));
    }
  }

  private static List<String> sortedDistinct(List<String> terms) {
    Collections.sort(terms);
    List<String> distinct = new ArrayList<>(terms.size());
    String previous = null;
    for (String term : terms) {
      if (!term.equals(previous)) {
        distinct.add(term);
        previous = term;
      }
    }
    return distinct;
  }

  private static Map<Category, String> categorySlugs() {
    Map<Category, String> slugs = new EnumMap<>(Category.class);
    for (Category category : Category.values()) {
      slugs.put(category, Facets.slug(category.label()));
    }
    return slugs;
  }

  static String priceBucket(long eurCents) {
    long eur = eurCents / 100;
    if (eur < 5_000) {
      return "under-5k";
    } else if (eur < 10_000) {
      return "5k-10k";
    } else if (eur < 25_000) {
      return "10k-25k";
    } else if (eur < 50_000) {
      return "25k-50k";
    } else if (eur < 100_000) {
      return "50k-100k";
    } else if (eur < 250_000) {
      return "100k-250k";
    }
    return "250k-plus";
  }

  private static String undouble(String w) {
    int n = w.length();
    if (n >= 2 && w.charAt(n - 1) == w.charAt(n - 2)) {
      char c = w.charAt(n - 1);
      if (c != 'l' && c != 's' && c != 'z' && !isVowel(c)) {
        return w.substring(0, n - 1);
      }
    }
    return w;
  }

  private static boolean hasVowel(String w, int end) {
    for (int i = 0; i < end; i++) {
      if (isVowel(w.charAt(i))) {
        return true;
      }
    }
    return false;
  }

  private static boolean isVowel(char c) {
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
  }

  private static boolean isNumber(String word) {
    for (int i = 0; i < word.length(); i++) {
      char c = word.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  private static boolean hasDigit(String word) {
    for (int i = 0; i < word.length(); i++) {
      char c = word.charAt(i);
      if (c >= '0' && c <= '9') {
        return true;
      }
    }
    return false;
  }
}
