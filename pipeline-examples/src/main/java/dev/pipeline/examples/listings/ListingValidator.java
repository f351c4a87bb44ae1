package dev.pipeline.examples.listings;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Stage 6, validation: checks a listing against the rules below and scores its completeness.
 *
 * <table>
 *   <caption>Rules</caption>
 *   <tr><th>rule</th><th>severity</th><th>when</th></tr>
 *   <tr><td>title.missing</td><td>ERROR</td><td>no title</td></tr>
 *   <tr><td>price.garbled</td><td>ERROR</td><td>a price is written but cannot be read ("12.5OO €")</td></tr>
 *   <tr><td>currency.missing</td><td>ERROR</td><td>an amount without any currency</td></tr>
 *   <tr><td>currency.unknown</td><td>ERROR</td><td>a currency other than EUR, USD, GBP, CHF</td></tr>
 *   <tr><td>price.range</td><td>ERROR</td><td>the euro equivalent lies outside the category's range</td></tr>
 *   <tr><td>year.future</td><td>ERROR</td><td>year of manufacture after {@value #REFERENCE_YEAR}</td></tr>
 *   <tr><td>hours.impossible</td><td>ERROR</td><td>more operating hours than hours since manufacture</td></tr>
 *   <tr><td>price.missing</td><td>FILTER</td><td>no price at all</td></tr>
 *   <tr><td>price.on-request</td><td>FILTER</td><td>"POA", "auf Anfrage", "sur demande"...</td></tr>
 *   <tr><td>year.missing, year.old, hours.high, manufacturer.unknown, category.unknown,
 *       description.missing, language.unknown, language.unsupported, title.shouting,
 *       description.contact, text.markup, extraction.note</td>
 *       <td>WARNING</td><td>incomplete or unusual, but publishable</td></tr>
 * </table>
 *
 * <p>Listings without a price are filtered rather than rejected: nothing is wrong with them, but a
 * price search index has no use for them. Broken data is rejected so that someone can look at it in
 * the dead-letter sink.
 *
 * <p>Thread-safe: a pure function. The reference year is a constant rather than the clock, so a
 * listing gets the same verdict whenever it is validated.
 */
public final class ListingValidator {

  /** The latest plausible year of manufacture, and "now" for hour-meter plausibility. */
  public static final int REFERENCE_YEAR = 2026;

  /** Older machines are kept, with a warning: they are more likely typos than vintage. */
  public static final int OLDEST_USUAL_YEAR = 1970;

  /** A machine run around the clock on two shifts; more than this per year is suspicious. */
  static final int HIGH_HOURS_PER_YEAR = 6_000;

  /** Hours in a year; more per year is impossible. */
  static final int HOURS_PER_YEAR = 8_784;

  private ListingValidator() {}

  /**
   * Validates one listing.
   *
   * @throws NullPointerException if {@code listing} is null
   */
  public static ValidatedListing validate(TranslatedListing listing) {
    Objects.requireNonNull(listing, "translated listing");
    AnalyzedListing analyzed = listing.analyzed();
    ExtractedListing extracted = analyzed.extracted();
    CleanListing clean = extracted.listing();
    List<Violation> violations = new ArrayList<>(4);

    if (clean.title().isEmpty()) {
      violations.add(Violation.error("title", "title.missing", "title is missing"));
    }
    checkPrice(clean, extracted, violations);
    checkYearAndHours(extracted, violations);
    checkText(clean, violations);
    if (extracted.manufacturer().isEmpty()) {
      violations.add(
          Violation.warning(
              "manufacturer",
              "manufacturer.unknown",
              "no known manufacturer in \"" + clean.title() + "\""));
    }
    if (extracted.category() == Category.OTHER) {
      violations.add(
          Violation.warning(
              "category",
              "category.unknown",
              "no known kind of equipment in \"" + clean.title() + "\""));
    }
    if (clean.description().isEmpty()) {
      violations.add(
          Violation.warning("description", "description.missing", "description is missing"));
    }
    String language = analyzed.language();
    if (language.equals("und")) {
      violations.add(
          Violation.warning(
              "language", "language.unknown", "language not declared and not detectable"));
    } else if (!language.equals("en") && Translator.dictionarySize(language) == 0) {
      violations.add(
          Violation.warning(
              "language",
              "language.unsupported",
              "no dictionary for language \"" + language + "\"; left untranslated"));
    }
    for (String note : extracted.notes()) {
      violations.add(Violation.warning("extraction", "extraction.note", note));
    }
    // Stable sort: gravest first, and within a severity in the order the rules were checked.
    violations.sort(Comparator.comparing(Violation::severity).reversed());
    return new ValidatedListing(listing, violations, quality(analyzed));
  }

  private static void checkPrice(
      CleanListing clean, ExtractedListing extracted, List<Violation> violations) {
    PriceInfo price = extracted.price();
    switch (price.status()) {
      case MISSING -> violations.add(Violation.filter("price", "price.missing", "no asking price"));
      case ON_REQUEST ->
          violations.add(
              Violation.filter(
                  "price", "price.on-request", "price on request (\"" + clean.price() + "\")"));
      case GARBLED ->
          violations.add(
              Violation.error("price", "price.garbled", "unreadable price: " + price.detail()));
      case PRESENT -> {
        if (price.currency().isEmpty()) {
          violations.add(
              Violation.error(
                  "currency",
                  "currency.missing",
                  "price "
                      + price.amountText()
                      + " (\""
                      + clean.price()
                      + "\") names no currency"));
          return;
        }
        Optional<Currency> currency = Currency.fromCode(price.currency());
        if (currency.isEmpty()) {
          violations.add(
              Violation.error(
                  "currency",
                  "currency.unknown",
                  "currency \"" + price.currency() + "\" is not one of EUR, USD, GBP, CHF"));
          return;
        }
        long eurCents = currency.get().toEurCents(price.cents());
        Category category = extracted.category();
        if (!category.isPlausible(eurCents)) {
          violations.add(
              Violation.error(
                  "price",
                  "price.range",
                  "price "
                      + price.amountText()
                      + " "
                      + price.currency()
                      + " ("
                      + PriceInfo.formatCents(eurCents)
                      + " EUR) is outside "
                      + category.minEur()
                      + ".."
                      + category.maxEur()
                      + " EUR for "
                      + category.label()));
        }
      }
    }
  }

  private static void checkYearAndHours(ExtractedListing extracted, List<Violation> violations) {
    if (extracted.year().isEmpty()) {
      violations.add(Violation.warning("year", "year.missing", "year of manufacture not found"));
      return;
    }
    int year = extracted.year().getAsInt();
    if (year > REFERENCE_YEAR) {
      violations.add(
          Violation.error(
              "year",
              "year.future",
              "year of manufacture " + year + " is after " + REFERENCE_YEAR));
      return;
    }
    if (year < OLDEST_USUAL_YEAR) {
      violations.add(
          Violation.warning(
              "year",
              "year.old",
              "year of manufacture " + year + " is before " + OLDEST_USUAL_YEAR));
    }
    if (extracted.hours().isPresent()) {
      long hours = extracted.hours().getAsInt();
      long years = REFERENCE_YEAR - year + 1L;
      if (hours > years * HOURS_PER_YEAR) {
        violations.add(
            Violation.error(
                "hours",
                "hours.impossible",
                hours
                    + " operating hours exceed the "
                    + years * HOURS_PER_YEAR
                    + " hours since "
                    + year));
      } else if (hours > years * HIGH_HOURS_PER_YEAR) {
        violations.add(
            Violation.warning(
                "hours",
                "hours.high",
                hours
                    + " operating hours in "
                    + years
                    + " years is more than "
                    + HIGH_HOURS_PER_YEAR
                    + " a year"));
      }
    }
  }

  /** Text rules: what a marketplace moderator would flag by reading the listing. */
  private static void checkText(CleanListing clean, List<Violation> violations) {
    if (isShouting(clean.title())) {
      violations.add(
          Violation.warning(
              "title",
              "title.shouting",
              "title is written in capitals: \"" + clean.title() + "\""));
    }
    String contact = contactDetails(clean.description());
    if (contact != null) {
      violations.add(
          Violation.warning(
              "description",
              "description.contact",
              "description contains contact details \"" + contact + "\""));
    }
    String residue = markupResidue(clean.title());
    if (residue == null) {
      residue = markupResidue(clean.description());
    }
    if (residue != null) {
      violations.add(
          Violation.warning(
              "text", "text.markup", "markup left over after cleaning: \"" + residue + "\""));
    }
  }

  /** At least ten letters, and four out of five of them capitals. */
  static boolean isShouting(String text) {
    int letters = 0;
    int capitals = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isLetter(c)) {
        letters++;
        if (Character.isUpperCase(c)) {
          capitals++;
        }
      }
    }
    return letters >= 10 && capitals * 5 >= letters * 4;
  }

  /**
   * The first e-mail address or telephone number in a text, or null. A telephone number starts with
   * "+" or "0" and has at least nine digits, separated by nothing but spaces, "/", "-" and
   * parentheses, which tells it apart from years ("06/2015"), hour readings and prices.
   */
  static String contactDetails(String text) {
    int n = text.length();
    for (int i = 0; i < n; i++) {
      char c = text.charAt(i);
      if (c == '@') {
        String email = emailAround(text, i);
        if (email != null) {
          return email;
        }
      } else if ((c == '+' || c == '0')
          && (i == 0 || !Character.isLetterOrDigit(text.charAt(i - 1)))) {
        int digits = 0;
        int end = i + 1;
        int lastDigit = c == '0' ? i : -1;
        if (c == '0') {
          digits = 1;
        }
        while (end < n) {
          char d = text.charAt(end);
          if (d >= '0' && d <= '9') {
            digits++;
            lastDigit = end;
          } else if (d != ' ' && d != '/' && d != '-' && d != '(' && d != ')') {
            break;
          }
          end++;
        }
        if (digits >= 9) {
          return text.substring(i, lastDigit + 1);
        }
        i = Math.max(i, lastDigit);
      }
    }
    return null;
  }

  private static String emailAround(String text, int at) {
    int start = at;
    while (start > 0 && isEmailChar(text.charAt(start - 1))) {
      start--;
    }
    int end = at + 1;
    boolean dot = false;
    while (end < text.length() && (isEmailChar(text.charAt(end)))) {
      dot |= text.charAt(end) == '.';
      end++;
    }
    // A sentence's full stop right after the address is not part of it.
    while (end > at + 1 && text.charAt(end - 1) == '.') {
      end--;
    }
    boolean valid = start < at && dot && text.lastIndexOf('.', end - 1) > at + 1;
    return valid ? text.substring(start, end) : null;
  }

  private static boolean isEmailChar(char c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || c == '.'
        || c == '-'
        || c == '_'
        || c == '+';
  }

  /**
   * Markup that survived cleaning because it was escaped once too often: a tag opener such as
   * {@code <b} or a character reference such as {@code &eacute;}. Returns the first one found, or
   * null.
   */
  static String markupResidue(String text) {
    int n = text.length();
    for (int i = 0; i + 1 < n; i++) {
      char c = text.charAt(i);
      if (c == '<') {
        char d = text.charAt(i + 1);
        if (Character.isLetter(d)
            || (d == '/' && i + 2 < n && Character.isLetter(text.charAt(i + 2)))) {
          int end = i + 2;
          while (end < n && end - i < 12 && Character.isLetterOrDigit(text.charAt(end))) {
            end++;
          }
          return text.substring(i, end);
        }
      } else if (c == '&') {
        int end = i + 1;
        while (end < n
            && end - i <= 9
            && (Character.isLetterOrDigit(text.charAt(end)) || text.charAt(end) == '#')) {
          end++;
        }
        if (end < n && end > i + 2 && text.charAt(end) == ';') {
          return text.substring(i, end + 1);
        }
      }
    }
    return null;
  }

  /**
   * Weighted completeness; weights in percent, summing to 100, so the score is an exact two-decimal
   * value.
   */
  private static double quality(AnalyzedListing analyzed) {
    ExtractedListing e = analyzed.extracted();
    CleanListing c = e.listing();
    int points = 0;
    points += c.title().isEmpty() ? 0 : 20;
    points += e.price().isPresent() ? 20 : 0;
    points += Currency.fromCode(e.price().currency()).isPresent() ? 5 : 0;
    points += e.manufacturer().isEmpty() ? 0 : 10;
    points += e.model().isEmpty() ? 0 : 10;
    points += e.category() == Category.OTHER ? 0 : 10;
    points += e.year().isPresent() ? 10 : 0;
    points += e.hours().isPresent() ? 5 : 0;
    points += c.description().isEmpty() ? 0 : 5;
    points += analyzed.language().equals("und") ? 0 : 5;
    return points / 100.0;
  }
}
