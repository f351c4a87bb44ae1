package dev.pipeline.examples.listings;

import java.util.Map;

/**
 * Named HTML character references seen on equipment sites, and the Windows-1252 reading of numeric
 * references in the C1 range. Immutable tables; thread-safe.
 */
final class HtmlEntities {

  /** Longest name worth looking up; longer runs before a ';' are not references. */
  static final int MAX_NAME_LENGTH = 8;

  private static final Map<String, Integer> NAMED =
      Map.ofEntries(
          Map.entry("amp", (int) '&'),
          Map.entry("lt", (int) '<'),
          Map.entry("gt", (int) '>'),
          Map.entry("quot", (int) '"'),
          Map.entry("apos", (int) '\''),
          Map.entry("nbsp", 0xA0),
          Map.entry("euro", 0x20AC),
          Map.entry("pound", 0xA3),
          Map.entry("yen", 0xA5),
          Map.entry("cent", 0xA2),
          Map.entry("copy", 0xA9),
          Map.entry("reg", 0xAE),
          Map.entry("trade", 0x2122),
          Map.entry("deg", 0xB0),
          Map.entry("sup2", 0xB2),
          Map.entry("sup3", 0xB3),
          Map.entry("frac12", 0xBD),
          Map.entry("times", 0xD7),
          Map.entry("middot", 0xB7),
          Map.entry("bull", 0x2022),
          Map.entry("shy", 0xAD),
          Map.entry("hellip", 0x2026),
          Map.entry("ndash", 0x2013),
          Map.entry("mdash", 0x2014),
          Map.entry("lsquo", 0x2018),
          Map.entry("rsquo", 0x2019),
          Map.entry("sbquo", 0x201A),
          Map.entry("ldquo", 0x201C),
          Map.entry("rdquo", 0x201D),
          Map.entry("bdquo", 0x201E),
          Map.entry("laquo", 0xAB),
          Map.entry("raquo", 0xBB),
          Map.entry("agrave", 0xE0),
          Map.entry("aacute", 0xE1),
          Map.entry("acirc", 0xE2),
          Map.entry("auml", 0xE4),
          Map.entry("ccedil", 0xE7),
          Map.entry("egrave", 0xE8),
          Map.entry("eacute", 0xE9),
          Map.entry("ecirc", 0xEA),
          Map.entry("euml", 0xEB),
          Map.entry("iacute", 0xED),
          Map.entry("icirc", 0xEE),
          Map.entry("iuml", 0xEF),
          Map.entry("ntilde", 0xF1),
          Map.entry("oacute", 0xF3),
          Map.entry("ocirc", 0xF4),
          Map.entry("ouml", 0xF6),
          Map.entry("uacute", 0xFA),
          Map.entry("ucirc", 0xFB),
          Map.entry("ugrave", 0xF9),
          Map.entry("uuml", 0xFC),
          Map.entry("szlig", 0xDF),
          Map.entry("Agrave", 0xC0),
          Map.entry("Aacute", 0xC1),
          Map.entry("Auml", 0xC4),
          Map.entry("Ccedil", 0xC7),
          Map.entry("Eacute", 0xC9),
          Map.entry("Egrave", 0xC8),
          Map.entry("Ntilde", 0xD1),
          Map.entry("Oacute", 0xD3),
          Map.entry("Ouml", 0xD6),
          Map.entry("Uuml", 0xDC),
          Map.entry("iexcl", 0xA1),
          Map.entry("iquest", 0xBF));

  // Browsers read &#128; to &#159; as Windows-1252, because that is what pages declaring Latin-1
  // really contain.
  private static final int[] WINDOWS_1252_C1 = {
    0x20AC, -1, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
        0x0152, -1,
    0x017D, -1, -1, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161,
        0x203A,
    0x0153, -1, 0x017E, 0x0178
  };

  private HtmlEntities() {}

  /**
   * The code point of a named reference (case-sensitive, as in HTML), or -1 if the name is unknown.
   */
  static int named(String name) {
    Integer cp = NAMED.get(name);
    return cp == null ? -1 : cp;
  }

  /**
   * The character a numeric reference stands for, following HTML: C1 values map through
   * Windows-1252, and zero, surrogates and values beyond Unicode become U+FFFD.
   */
  static int numeric(long value) {
    if (value >= 0x80 && value <= 0x9F) {
      int mapped = WINDOWS_1252_C1[(int) value - 0x80];
      return mapped < 0 ? 0xFFFD : mapped;
    }
    if (value <= 0 || value > Character.MAX_CODE_POINT || (value >= 0xD800 && value <= 0xDFFF)) {
      return 0xFFFD;
    }
    return (int) value;
  }
}
