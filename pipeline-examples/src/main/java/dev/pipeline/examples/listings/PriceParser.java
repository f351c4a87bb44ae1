package dev.pipeline.examples.listings;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads the amount and currency out of a cleaned price text, in any of the notations sellers use:
 * {@code 12.500,00 €}, {@code $12,500}, {@code EUR 12500}, {@code 12 500 EUR}, {@code CHF 9'800.-},
 * {@code 12.500,- €}, {@code 12.5k €}. Stateless and thread-safe.
 *
 * <p>Separators are resolved the way a reader would: a {@code .} or {@code ,} followed by one or
 * two final digits is the decimal mark; followed by exactly three digits it groups thousands
 * (prices with three decimals do not occur). Thousands groups must all use the same separator and
 * hold exactly three digits, so {@code 1.2.3} is rejected rather than guessed at.
 */
final class PriceParser {

  private static final int MAX_GROUPS = 8;
  private static final int MAX_INTEGER_DIGITS = 12;

  /**
   * Words meaning "ask the seller": they win even over digits, which are then usually a phone
   * number.
   */
  private static final Set<String> ON_REQUEST_WORDS =
      Set.of(
          "poa",
          "call",
          "anfrage",
          "demande",
          "consultar",
          "consulter",
          "request",
          "application",
          "enquire",
          "inquire",
          "ask",
          "contact",
          "kontakt",
          "llamar",
          "appeler",
          "tbc");

  /**
   * Words meaning "negotiable": with an amount they are noise, without one the price is on request.
   */
  private static final Set<String> NEGOTIABLE_WORDS =
      Set.of(
          "vb",
          "verhandlungsbasis",
          "negotiable",
          "negociable",
          "débattre",
          "debattre",
          "offers",
          "ono",
          "obo",
          "ovno");

  /** Words that commonly surround an amount without changing it. */
  private static final Set<String> NOISE_WORDS =
      Set.of(
          "netto",
          "net",
          "brutto",
          "gross",
          "plus",
          "zzgl",
          "inkl",
          "incl",
          "excl",
          "mwst",
          "ust",
          "vat",
          "ht",
          "ttc",
          "tva",
          "iva",
          "mas",
          "más",
          "ca",
          "approx",
          "circa",
          "env",
          "environ",
          "aprox",
          "price",
          "preis",
          "prix",
          "precio",
          "à",
          "a",
          "ab",
          "from",
          "de",
          "desde",
          "only",
          "nur",
          "seulement",
          "solo",
          "or",
          "oder",
          "ou",
          "o");

  private PriceParser() {}

  /**
   * Parses a price.
   *
   * @param text cleaned price text, possibly empty
   * @param currencyField cleaned currency field, possibly empty; used when the text names no
   *     currency
   * @param notes receives remarks worth surfacing as warnings (ignored words, contradicting fields)
   */
  static PriceInfo parse(String text, String currencyField, List<String> notes) {
    String fieldCurrency = currencyField.isEmpty() ? "" : fieldCurrency(currencyField, notes);
    if (text.isEmpty()) {
      return PriceInfo.missing();
    }
    Scan scan = new Scan(text);
    scan.run();
    if (scan.requestWord) {
      return PriceInfo.onRequest();
    }
    if (scan.numbers == 0) {
      return scan.negotiableWord
          ? PriceInfo.onRequest()
          : PriceInfo.garbled("no amount in \"" + text + "\"");
    }
    if (scan.garble != null) {
      return PriceInfo.garbled(scan.garble);
    }
    if (scan.numbers > 1) {
      return PriceInfo.garbled("more than one amount in \"" + text + "\"");
    }
    if (scan.textCurrency != null
        && !fieldCurrency.isEmpty()
        && !fieldCurrency.equals(scan.textCurrency)) {
      notes.add(
          "currency field \""
              + fieldCurrency
              + "\" contradicts price \""
              + text
              + "\"; using "
              + scan.textCurrency);
    }
    if (scan.unknownWord != null) {
      notes.add("ignored \"" + scan.unknownWord + "\" in price \"" + text + "\"");
    }
    return PriceInfo.present(
        scan.cents, scan.textCurrency != null ? scan.textCurrency : fieldCurrency);
  }

  /**
   * The ISO code a currency word or symbol stands for, or null. {@code upper} must be upper case.
   */
  static String currencyOfWord(String upper) {
    return switch (upper) {
      case "EUR", "EURO", "EUROS", "€" -> "EUR";
      case "USD", "US", "DOLLAR", "DOLLARS", "$", "US$" -> "USD";
      case "GBP", "POUND", "POUNDS", "£" -> "GBP";
      case "CHF", "FR", "SFR", "FR.", "SFR." -> "CHF";
      default -> null;
    };
  }

  private static boolean isCurrencyWord(String word) {
    return currencyOfWord(word.toUpperCase(Locale.ROOT)) != null;
  }

  private static String fieldCurrency(String field, List<String> notes) {
    String upper = field.strip().toUpperCase(Locale.ROOT);
    String known = currencyOfWord(upper);
    if (known != null) {
      return known;
    }
    if (isIsoLike(upper)) {
      return upper;
    }
    notes.add("currency field \"" + field + "\" is not a currency code; ignored");
    return "";
  }

  private static boolean isIsoLike(String word) {
    if (word.length() != 3) {
      return false;
    }
    for (int i = 0; i < 3; i++) {
      char c = word.charAt(i);
      if (c < 'A' || c > 'Z') {
        return false;
      }
    }
    return true;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  /** One left-to-right pass over a price text; confined to the calling thread. */
  private static final class Scan {
    private final String text;
    private final int n;
    private final int[] groupLengths = new int[MAX_GROUPS];
    private final char[] separators = new char[MAX_GROUPS];

    int numbers;
    long cents;
    String textCurrency;
    String garble;
    boolean requestWord;
    boolean negotiableWord;
    String unknownWord;

    Scan(String text) {
      this.text = text;
      this.n = text.length();
    }

    void run() {
      int i = 0;
      while (i < n) {
        char c = text.charAt(i);
        if (isDigit(c)) {
          i = number(i);
        } else if (Character.isLetter(c)) {
          int start = i;
          while (i < n && Character.isLetter(text.charAt(i))) {
            i++;
          }
          String word = text.substring(start, i);
          if (i < n && isDigit(text.charAt(i)) && !isCurrencyWord(word)) {
            // "5O0" or "12.O00": a letter typed for a digit, the amount is unreadable.
            lettersInAmount(word, start, i);
          }
          word(word);
        } else {
          switch (c) {
            case '€' -> currency("EUR");
            case '$' -> currency("USD");
            case '£' -> currency("GBP");
            case '¥' -> currency("JPY");
            default -> {
              // Spaces, signs and punctuation between the parts carry no meaning.
            }
          }
          i++;
        }
      }
    }

    private void word(String word) {
      String upper = word.toUpperCase(Locale.ROOT);
      String code = currencyOfWord(upper);
      if (code != null) {
        currency(code);
        return;
      }
      String lower = word.toLowerCase(Locale.ROOT);
      if (ON_REQUEST_WORDS.contains(lower)) {
        requestWord = true;
      } else if (NEGOTIABLE_WORDS.contains(lower)) {
        negotiableWord = true;
      } else if (NOISE_WORDS.contains(lower)) {
        return;
      } else if (isIsoLike(word)) {
        // Written like a currency code, so it is one, even if not one we convert ("PLN").
        currency(word);
      } else if (unknownWord == null) {
        unknownWord = word;
      }
    }

    private void currency(String code) {
      if (textCurrency == null) {
        textCurrency = code;
      } else if (!textCurrency.equals(code) && garble == null) {
        garble = "conflicting currencies " + textCurrency + " and " + code + " in \"" + text + "\"";
      }
    }

    /** Reads one amount starting at a digit; returns the index after it and any suffix. */
    private int number(int start) {
      numbers++;
      int groups = 0;
      int j = start;
      while (true) {
        int groupStart = j;
        while (j < n && isDigit(text.charAt(j))) {
          j++;
        }
        groupLengths[groups++] = j - groupStart;
        if (groups == MAX_GROUPS || j + 1 >= n) {
          break;
        }
        char sep = text.charAt(j);
        boolean separator =
            (sep == '.' || sep == ',' || sep == '\'' || sep == ' ') && isDigit(text.charAt(j + 1));
        // A space groups thousands only before exactly three digits: "12 500" is one amount, "2
        // 15000" is not.
        if (!separator || (sep == ' ' && !threeDigitsAt(j + 1))) {
          break;
        }
        separators[groups - 1] = sep;
        j++;
      }
      long value = interpret(start, j, groups);
      // "12.500,- €" and "9'800.-": the dash says "no cents".
      if (j + 1 < n
          && (text.charAt(j) == ',' || text.charAt(j) == '.')
          && text.charAt(j + 1) == '-') {
        j += 2;
        while (j < n && text.charAt(j) == '-') {
          j++;
        }
      }
      if (j < n && Character.isLetter(text.charAt(j))) {
        int wordEnd = j;
        while (wordEnd < n && Character.isLetter(text.charAt(wordEnd))) {
          wordEnd++;
        }
        String suffix = text.substring(j, wordEnd);
        if (suffix.equals("k") || suffix.equals("K")) {
          value = value < 0 ? value : value * 1000;
          j = wordEnd;
        } else if (!isCurrencyWord(suffix)) {
          lettersInAmount(suffix, j, wordEnd);
        }
      }
      if (value >= 0) {
        cents = value;
      }
      return j;
    }

    private void lettersInAmount(String letters, int from, int to) {
      if (garble != null) {
        return;
      }
      int left = from;
      while (left > 0 && isAmountChar(text.charAt(left - 1))) {
        left--;
      }
      int right = to;
      while (right < n && isAmountChar(text.charAt(right))) {
        right++;
      }
      garble =
          "letters \"" + letters + "\" inside the amount \"" + text.substring(left, right) + "\"";
    }

    private static boolean isAmountChar(char c) {
      return isDigit(c) || c == '.' || c == ',' || c == '\'' || Character.isLetter(c);
    }

    private boolean threeDigitsAt(int k) {
      return k + 3 <= n
          && isDigit(text.charAt(k))
          && isDigit(text.charAt(k + 1))
          && isDigit(text.charAt(k + 2))
          && (k + 3 == n || !isDigit(text.charAt(k + 3)));
    }

    /**
     * Turns the digit groups into cents; records a garble reason and returns -1 when they make no
     * sense.
     */
    private long interpret(int start, int end, int groups) {
      String raw = text.substring(start, end);
      int groupingSeparators = groups - 1;
      int fractionDigits = 0;
      if (groups > 1) {
        char last = separators[groups - 2];
        int lastLength = groupLengths[groups - 1];
        boolean decimalMark = last == '.' || last == ',';
        if (decimalMark && lastLength <= 2) {
          fractionDigits = lastLength;
          groupingSeparators--;
        } else if (decimalMark && lastLength != 3) {
          return fail("digit group of " + lastLength + " after '" + last + "' in \"" + raw + "\"");
        }
        for (int g = 0; g < groupingSeparators; g++) {
          if (separators[g] != separators[0]) {
            return fail("mixed thousands separators in \"" + raw + "\"");
          }
          if (groupLengths[g + 1] != 3 || (g == 0 && groupLengths[0] > 3)) {
            return fail("digit groups of unequal size in \"" + raw + "\"");
          }
        }
        if (fractionDigits > 0
            && groupingSeparators > 0
            && separators[0] == separators[groups - 2]) {
          return fail("same separator used for thousands and decimals in \"" + raw + "\"");
        }
      }
      long integer = 0;
      int integerDigits = 0;
      long fraction = 0;
      int digitsSeen = 0;
      int totalDigits = 0;
      for (int g = 0; g < groups; g++) {
        totalDigits += groupLengths[g];
      }
      for (int k = start; k < end; k++) {
        char c = text.charAt(k);
        if (!isDigit(c)) {
          continue;
        }
        digitsSeen++;
        if (digitsSeen <= totalDigits - fractionDigits) {
          if (++integerDigits > MAX_INTEGER_DIGITS) {
            return fail("amount \"" + raw + "\" is too large");
          }
          integer = integer * 10 + (c - '0');
        } else {
          fraction = fraction * 10 + (c - '0');
        }
      }
      return integer * 100 + (fractionDigits == 1 ? fraction * 10 : fraction);
    }

    private long fail(String reason) {
      if (garble == null) {
        garble = reason;
      }
      return -1;
    }
  }
}
