package dev.pipeline.examples.listings;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Stage 3, extraction: reads price, currency, manufacturer, model, category, year of manufacture
 * and operating hours out of a {@link CleanListing}.
 *
 * <p>Extraction never rejects anything: it records what it found and, in {@link
 * ExtractedListing#notes()}, what it had to ignore. Judging whether the facts are acceptable is the
 * validator's job. Title beats description wherever both could answer, because sellers put the
 * defining facts in the title.
 *
 * <p>Thread-safe: a pure function; all tables are immutable.
 */
public final class Extractor {

  /**
   * Years written after a keyword ("Bj. 1968") are taken within this range, to let the validator
   * judge them.
   */
  static final int KEYWORD_YEAR_MIN = 1900;

  static final int KEYWORD_YEAR_MAX = 2099;

  /** A bare four-digit number only counts as a year within this narrower range. */
  static final int PLAIN_YEAR_MIN = 1960;

  static final int PLAIN_YEAR_MAX = 2030;
  static final int MAX_HOURS = 1_000_000;

  private static final PhraseTable<Category> CATEGORIES =
      PhraseTable.<Category>builder()
          .addAll(
              Category.EXCAVATOR,
              "excavator",
              "crawler excavator",
              "tracked excavator",
              "wheeled excavator",
              "mini excavator",
              "midi excavator",
              "digger",
              "bagger",
              "kettenbagger",
              "raupenbagger",
              "mobilbagger",
              "minibagger",
              "midibagger",
              "pelle",
              "pelleteuse",
              "pelle hydraulique",
              "pelle sur chenilles",
              "pelle sur pneus",
              "mini-pelle",
              "minipelle",
              "excavadora",
              "excavadora de cadenas",
              "excavadora de ruedas",
              "miniexcavadora")
          .addAll(
              Category.WHEEL_LOADER,
              "wheel loader",
              "loader",
              "radlader",
              "chargeuse",
              "chargeuse sur pneus",
              "pala cargadora",
              "cargadora",
              "cargadora de ruedas")
          .addAll(
              Category.BACKHOE_LOADER,
              "backhoe loader",
              "backhoe",
              "baggerlader",
              "tractopelle",
              "retroexcavadora")
          .addAll(
              Category.SKID_STEER_LOADER,
              "skid steer",
              "skid steer loader",
              "skidsteer",
              "compact track loader",
              "kompaktlader",
              "chargeuse compacte",
              "mini-chargeuse",
              "minicargadora")
          .addAll(
              Category.TELEHANDLER,
              "telehandler",
              "telescopic handler",
              "teleskoplader",
              "chariot télescopique",
              "chariot telescopique",
              "manipulador telescópico",
              "manipulador telescopico")
          .addAll(
              Category.FORKLIFT,
              "forklift",
              "forklift truck",
              "fork lift",
              "gabelstapler",
              "stapler",
              "dieselstapler",
              "elektrostapler",
              "frontstapler",
              "chariot élévateur",
              "chariot elevateur",
              "carretilla elevadora",
              "carretilla",
              "montacargas",
              "reach truck")
          .addAll(
              Category.TRACTOR, "tractor", "traktor", "schlepper", "tracteur", "tracteur agricole")
          .addAll(
              Category.GENERATOR,
              "generator",
              "diesel generator",
              "generator set",
              "genset",
              "stromerzeuger",
              "stromaggregat",
              "notstromaggregat",
              "aggregat",
              "groupe électrogène",
              "groupe electrogene",
              "générateur",
              "generateur",
              "grupo electrógeno",
              "grupo electrogeno",
              "generador")
          .addAll(
              Category.COMPRESSOR,
              "compressor",
              "air compressor",
              "kompressor",
              "baukompressor",
              "compresseur",
              "compresor")
          .addAll(
              Category.CRANE,
              "crane",
              "mobile crane",
              "tower crane",
              "kran",
              "mobilkran",
              "autokran",
              "turmdrehkran",
              "grue",
              "grue mobile",
              "grúa",
              "grua",
              "grúa móvil",
              "grua movil")
          .addAll(
              Category.DUMPER,
              "dumper",
              "site dumper",
              "dump truck",
              "articulated dump truck",
              "muldenkipper",
              "tombereau",
              "dúmper",
              "volquete")
          .build();

  // German glues words together ("Raupenbagger", "Schubmaststapler"): a known head noun at the end
  // decides.
  private static final String[] COMPOUND_HEADS = {
    "bagger",
    "stapler",
    "kran",
    "kompressor",
    "aggregat",
    "erzeuger",
    "traktor",
    "schlepper",
    "kipper"
  };
  private static final Category[] COMPOUND_CATEGORIES = {
    Category.EXCAVATOR,
    Category.FORKLIFT,
    Category.CRANE,
    Category.COMPRESSOR,
    Category.GENERATOR,
    Category.GENERATOR,
    Category.TRACTOR,
    Category.TRACTOR,
    Category.DUMPER
  };

  private static final Set<String> YEAR_KEYWORDS =
      Set.of(
          "bj",
          "baujahr",
          "year",
          "yom",
          "built",
          "année",
          "annee",
          "año",
          "ano",
          "modelljahr",
          "ez",
          "erstzulassung",
          "jahrgang",
          "manufacture",
          "manufactured",
          "fabrication",
          "fabricación",
          "fabricacion",
          "modèle",
          "modell");

  /** Units that make a four-digit number a quantity rather than a year. */
  private static final Set<String> UNIT_WORDS =
      Set.of(
          "h", "hrs", "hr", "hours", "std", "stunden", "bh", "heures", "horas", "hs", "kg", "t",
          "to", "tons", "tonnes", "mm", "cm", "m", "km", "kw", "ps", "hp", "cv", "kva", "l", "bar",
          "rpm", "eur", "euro", "usd", "chf", "gbp", "x");

  private static final Set<String> HOUR_UNITS =
      Set.of(
          "h",
          "hrs",
          "hr",
          "hours",
          "std",
          "stunden",
          "bh",
          "betriebsstunden",
          "heures",
          "horas",
          "hs");
  private static final Set<String> HOUR_KEYWORDS =
      Set.of(
          "hours",
          "hrs",
          "stunden",
          "betriebsstunden",
          "std",
          "heures",
          "horas",
          "fonctionnement",
          "trabajo",
          "uso",
          "compteur",
          "horometro",
          "horómetro",
          "hourmeter");

  private Extractor() {}

  /**
   * Extracts the facts of one listing.
   *
   * @throws NullPointerException if {@code listing} is null
   */
  public static ExtractedListing extract(CleanListing listing) {
    Objects.requireNonNull(listing, "clean listing");
    List<String> notes = new ArrayList<>(2);
    PriceInfo price = PriceParser.parse(listing.price(), listing.currency(), notes);

    Words.Tokens title = Words.tokenize(listing.title());
    Make make = findManufacturer(title);
    Category category = findCategory(title);
    if (make == null || category == Category.OTHER) {
      Words.Tokens description = Words.tokenize(listing.description());
      if (make == null) {
        make = findManufacturer(description);
      }
      if (category == Category.OTHER) {
        category = findCategory(description);
      }
    }
    int year = findYear(listing.title(), listing.description());
    int hours = findHours(listing.title());
    if (hours < 0) {
      hours = findHours(listing.description());
    }
    return new ExtractedListing(
        listing,
        price,
        make == null ? "" : make.name(),
        make == null ? "" : make.model(),
        category,
        year == 0 ? OptionalInt.empty() : OptionalInt.of(year),
        hours < 0 ? OptionalInt.empty() : OptionalInt.of(hours),
        notes);
  }

  /** A manufacturer found in a text, with the model written after it (possibly empty). */
  private record Make(String name, String model) {}

  /** The first manufacturer mentioned, or null. */
  private static Make findManufacturer(Words.Tokens tokens) {
    for (int i = 0; i < tokens.count; i++) {
      PhraseTable.Match<Manufacturers.Alias> match = Manufacturers.ALIASES.longestAt(tokens, i);
      if (match == null) {
        continue;
      }
      if (match.value().capitalised()
          && !Character.isUpperCase(tokens.text.charAt(tokens.start[i]))) {
        continue;
      }
      int after = tokens.end[i + match.length() - 1];
      return new Make(match.value().name(), modelAfter(tokens.text, after));
    }
    return null;
  }

  /**
   * The model designation right after a manufacturer name: the next word if it holds a digit
   * ("320D", "PC210LC-8"), or a series followed by a number: a short upper-case code ("R 920", "LTM
   * 1050-3.1") or a capitalised name that is not a kind of equipment ("Arion 650", but not "Bagger
   * 2014").
   */
  static String modelAfter(String text, int from) {
    int start = skipSpaces(text, from);
    int end = modelRunEnd(text, start);
    if (end == start) {
      return "";
    }
    String first = text.substring(start, end);
    if (hasDigit(first)) {
      return isYearLike(first) ? "" : first;
    }
    if (isSeriesPrefix(first) || isSeriesName(first)) {
      int secondStart = skipSpaces(text, end);
      int secondEnd = modelRunEnd(text, secondStart);
      if (secondEnd > secondStart && Character.isDigit(text.charAt(secondStart))) {
        String second = text.substring(secondStart, secondEnd);
        if (!isYearLike(second)) {
          return first + ' ' + second;
        }
      }
    }
    return "";
  }

  private static int modelRunEnd(String text, int start) {
    int i = start;
    while (i < text.length()) {
      char c = text.charAt(i);
      if (Character.isLetterOrDigit(c) || c == '-' || c == '.' || c == '/') {
        i++;
      } else {
        break;
      }
    }
    // Trailing punctuation belongs to the sentence, not the model: "Komatsu PC210." or "JCB 3CX-".
    while (i > start && !Character.isLetterOrDigit(text.charAt(i - 1))) {
      i--;
    }
    return i;
  }

  private static boolean isSeriesPrefix(String word) {
    if (word.length() > 4) {
      return false;
    }
    for (int i = 0; i < word.length(); i++) {
      char c = word.charAt(i);
      if (c < 'A' || c > 'Z') {
        return false;
      }
    }
    return true;
  }

  private static boolean isSeriesName(String word) {
    if (word.length() < 3 || word.length() > 12 || !Character.isUpperCase(word.charAt(0))) {
      return false;
    }
    for (int i = 1; i < word.length(); i++) {
      if (!Character.isLowerCase(word.charAt(i))) {
        return false;
      }
    }
    Words.Tokens tokens = Words.tokenize(word);
    return tokens.count == 1
        && CATEGORIES.longestAt(tokens, 0) == null
        && !YEAR_KEYWORDS.contains(tokens.lower[0])
        && !HOUR_KEYWORDS.contains(tokens.lower[0]);
  }

  private static boolean isYearLike(String word) {
    if (word.length() != 4) {
      return false;
    }
    int value = 0;
    for (int i = 0; i < 4; i++) {
      char c = word.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
      value = value * 10 + (c - '0');
    }
    return value >= PLAIN_YEAR_MIN && value <= PLAIN_YEAR_MAX;
  }

  private static Category findCategory(Words.Tokens tokens) {
    for (int i = 0; i < tokens.count; i++) {
      PhraseTable.Match<Category> match = CATEGORIES.longestAt(tokens, i);
      if (match != null) {
        return match.value();
      }
    }
    for (int i = 0; i < tokens.count; i++) {
      String word = tokens.lower[i];
      for (int h = 0; h < COMPOUND_HEADS.length; h++) {
        if (word.length() > COMPOUND_HEADS[h].length() && word.endsWith(COMPOUND_HEADS[h])) {
          return COMPOUND_CATEGORIES[h];
        }
      }
    }
    return Category.OTHER;
  }

  /**
   * The year of manufacture, or 0. A year after a keyword ("Bj.", "Baujahr", "année", "año",
   * "year") anywhere wins; otherwise the first bare four-digit number in the plausible range, title
   * before description. Numbers followed by a unit ("2000 h", "3000 kg") or part of a larger number
   * are not years; "06/2015" is.
   */
  static int findYear(String title, String description) {
    int[] found = new int[2];
    scanYears(title, found);
    if (found[0] != 0) {
      return found[0];
    }
    int plainInTitle = found[1];
    found[1] = 0;
    scanYears(description, found);
    if (found[0] != 0) {
      return found[0];
    }
    return plainInTitle != 0 ? plainInTitle : found[1];
  }

  /**
   * Stores the first keyword year in {@code found[0]} and the first bare year in {@code found[1]}.
   */
  private static void scanYears(String text, int[] found) {
    int n = text.length();
    int i = 0;
    while (i < n) {
      if (!isDigit(text.charAt(i))) {
        i++;
        continue;
      }
      int start = i;
      while (i < n && isDigit(text.charAt(i))) {
        i++;
      }
      if (i - start != 4
          || (start > 0 && Character.isLetter(text.charAt(start - 1)))
          || (i < n && Character.isLetter(text.charAt(i)))
          || (i + 1 < n
              && (text.charAt(i) == '.' || text.charAt(i) == ',')
              && isDigit(text.charAt(i + 1)))) {
        continue;
      }
      int contextStart = start;
      if (start > 1 && isDigit(text.charAt(start - 2))) {
        char mark = text.charAt(start - 1);
        int digitsStart = start - 2;
        while (digitsStart > 0 && isDigit(text.charAt(digitsStart - 1))) {
          digitsStart--;
        }
        boolean monthYear = (mark == '/' || mark == '.') && start - 1 - digitsStart <= 2;
        if (monthYear) {
          contextStart = digitsStart;
        } else if (mark == '.' || mark == ',' || mark == '\'' || mark == '/') {
          continue;
        }
      }
      if (UNIT_WORDS.contains(nextWord(text, i)) || nextIsCurrencySymbol(text, i)) {
        continue;
      }
      int value = Integer.parseInt(text, start, i, 10);
      if (YEAR_KEYWORDS.contains(previousWord(text, contextStart))) {
        if (found[0] == 0 && value >= KEYWORD_YEAR_MIN && value <= KEYWORD_YEAR_MAX) {
          found[0] = value;
          return;
        }
      } else if (found[1] == 0 && value >= PLAIN_YEAR_MIN && value <= PLAIN_YEAR_MAX) {
        found[1] = value;
      }
    }
  }

  /**
   * Operating hours, or -1: a whole number with a unit after it ("4.200 h", "4200 Std.", "4,200
   * hrs", "4 200 heures") or a keyword before it ("Betriebsstunden: 4.200", "horas de trabajo
   * 4200").
   */
  static int findHours(String text) {
    int n = text.length();
    int i = 0;
    while (i < n) {
      if (!isDigit(text.charAt(i)) || (i > 0 && Character.isLetterOrDigit(text.charAt(i - 1)))) {
        i++;
        continue;
      }
      int start = i;
      long value = 0;
      boolean valid = true;
      while (true) {
        while (i < n && isDigit(text.charAt(i))) {
          if (valid) {
            value = value * 10 + (text.charAt(i) - '0');
            valid = value <= MAX_HOURS;
          }
          i++;
        }
        boolean grouped =
            i + 1 < n && isGroupSeparator(text.charAt(i)) && threeDigitsAt(text, i + 1);
        if (!grouped) {
          break;
        }
        i++;
      }
      if (i + 1 < n
          && (text.charAt(i) == '.' || text.charAt(i) == ',')
          && isDigit(text.charAt(i + 1))) {
        // "1,5 h" or "12.50": a fraction, not an hour meter reading.
        while (i < n
            && (isDigit(text.charAt(i)) || text.charAt(i) == '.' || text.charAt(i) == ',')) {
          i++;
        }
        continue;
      }
      if (!valid
          || (i < n
              && Character.isLetter(text.charAt(i))
              && !HOUR_UNITS.contains(nextWord(text, i)))) {
        continue;
      }
      if (HOUR_UNITS.contains(nextWord(text, i))
          || HOUR_KEYWORDS.contains(previousWord(text, start))) {
        return (int) value;
      }
    }
    return -1;
  }

  private static boolean isGroupSeparator(char c) {
    return c == '.' || c == ',' || c == ' ' || c == '\'';
  }

  private static boolean threeDigitsAt(String text, int k) {
    int n = text.length();
    return k + 3 <= n
        && isDigit(text.charAt(k))
        && isDigit(text.charAt(k + 1))
        && isDigit(text.charAt(k + 2))
        && (k + 3 == n || !isDigit(text.charAt(k + 3)));
  }

  /**
   * The lower-case word ending just before {@code pos}, skipping blanks and {@code : . - =}; may be
   * empty.
   */
  static String previousWord(String text, int pos) {
    int k = pos - 1;
    while (k >= 0) {
      char c = text.charAt(k);
      if (c == ' ' || c == ':' || c == '.' || c == '-' || c == '=') {
        k--;
      } else {
        break;
      }
    }
    int end = k + 1;
    while (k >= 0 && Character.isLetter(text.charAt(k))) {
      k--;
    }
    return end - (k + 1) > 20 ? "" : Words.lowerCase(text, k + 1, end);
  }

  /** The lower-case word starting at or after {@code pos}, skipping spaces only; may be empty. */
  static String nextWord(String text, int pos) {
    int n = text.length();
    int k = skipSpaces(text, pos);
    int start = k;
    while (k < n && Character.isLetter(text.charAt(k))) {
      k++;
    }
    return k - start > 20 ? "" : Words.lowerCase(text, start, k);
  }

  private static boolean nextIsCurrencySymbol(String text, int pos) {
    int k = skipSpaces(text, pos);
    if (k >= text.length()) {
      return false;
    }
    char c = text.charAt(k);
    return c == '€' || c == '$' || c == '£';
  }

  private static int skipSpaces(String text, int pos) {
    int k = pos;
    while (k < text.length() && text.charAt(k) == ' ') {
      k++;
    }
    return k;
  }

  private static boolean hasDigit(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (isDigit(s.charAt(i))) {
        return true;
      }
    }
    return false;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }
}
