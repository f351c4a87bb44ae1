package dev.pipeline.examples.listings;

import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Stage 2, cleaning: turns the scraped fields of a {@link RawListing} into plain text.
 *
 * <p>For every text field, in a single pass: HTML tags and comments are removed (block-level tags
 * such as {@code <br>} and {@code <p>} leave a space behind, inline tags such as {@code <b>} do
 * not; {@code <script>} and {@code <style>} lose their content), character references are decoded
 * (common named ones, decimal and hex, C1 values read as Windows-1252), typographic quotes and
 * dashes become ASCII, invisible characters are dropped, and whitespace runs, non-breaking spaces
 * included, collapse to one space. Tags are removed before references are decoded, so an escaped
 * {@code &lt;b&gt;} survives as the literal text {@code <b>}, as a browser shows it.
 *
 * <p>Placeholders such as "N/A", "n.a.", "--" or "k.A." count as missing and become the empty
 * string. The language field is reduced to a lower-case ISO 639-1 code, or empty when unrecognised.
 *
 * <p>Thread-safe: a pure function; all tables are immutable.
 */
public final class Cleaner {

  private static final int LONGEST_MARKER = 16;

  private static final Set<String> MISSING_MARKERS =
      Set.of(
          "n/a",
          "n.a.",
          "n.a",
          "na",
          "n/d",
          "nd",
          "-",
          "--",
          "---",
          "?",
          "??",
          "null",
          "none",
          "nil",
          "unknown",
          "k.a.",
          "k.a",
          "k. a.",
          "keine angabe",
          "nc",
          "n.c.",
          "non communiqué",
          "non renseigné",
          "s/d",
          "sin datos",
          "no disponible");

  // Tags after which a browser starts a new line or block, so the words on either side never touch.
  private static final Set<String> BLOCK_TAGS =
      Set.of(
          "br",
          "p",
          "div",
          "li",
          "ul",
          "ol",
          "tr",
          "td",
          "th",
          "table",
          "tbody",
          "thead",
          "h1",
          "h2",
          "h3",
          "h4",
          "h5",
          "h6",
          "hr",
          "dl",
          "dt",
          "dd",
          "blockquote",
          "pre",
          "section",
          "article",
          "header",
          "footer",
          "img");

  private Cleaner() {}

  /**
   * Cleans every field of a raw listing.
   *
   * @throws NullPointerException if {@code raw} is null
   */
  public static CleanListing clean(RawListing raw) {
    Objects.requireNonNull(raw, "raw listing");
    return new CleanListing(
        raw.sourceId(),
        raw.lineNo(),
        raw.id(),
        field(raw.title()),
        field(raw.price()),
        field(raw.currency()),
        field(raw.description()),
        language(raw.lang()));
  }

  /**
   * Cleans one text value as described on this class, without the missing-value rule.
   *
   * @param text scraped text, possibly with markup and character references
   * @return plain single-spaced text, trimmed
   */
  public static String cleanText(String text) {
    Objects.requireNonNull(text, "text");
    if (text.isEmpty()) {
      return "";
    }
    return new Pass(text).run();
  }

  /** Whether a cleaned value is a placeholder meaning "no value". */
  public static boolean isMissingMarker(String cleaned) {
    return cleaned.length() <= LONGEST_MARKER
        && MISSING_MARKERS.contains(cleaned.toLowerCase(Locale.ROOT));
  }

  /**
   * Reduces a language field to an ISO 639-1 code: {@code "DE"}, {@code "de-DE"} and {@code
   * "fr_FR"} become {@code "de"} and {@code "fr"}; a few spelled-out names are understood; anything
   * else becomes empty.
   */
  public static String language(String raw) {
    String s = raw.strip().toLowerCase(Locale.ROOT);
    if (s.length() >= 2
        && isAsciiLetter(s.charAt(0))
        && isAsciiLetter(s.charAt(1))
        && (s.length() == 2 || s.charAt(2) == '-' || s.charAt(2) == '_')) {
      return s.substring(0, 2);
    }
    return switch (s) {
      case "english", "eng" -> "en";
      case "deutsch", "german", "ger", "deu" -> "de";
      case "français", "francais", "french", "fra", "fre" -> "fr";
      case "español", "espanol", "spanish", "spa" -> "es";
      default -> "";
    };
  }

  private static String field(String raw) {
    String cleaned = cleanText(raw);
    return isMissingMarker(cleaned) ? "" : cleaned;
  }

  private static boolean isAsciiLetter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }

  private static boolean isAsciiLetterOrDigit(char c) {
    return isAsciiLetter(c) || (c >= '0' && c <= '9');
  }

  /** State of cleaning one value; confined to the calling thread. */
  private static final class Pass {
    private final String text;
    private final int n;
    private final StringBuilder out;
    private boolean pendingSpace;
    // Once a search for a closing '>' or '-->' has failed, no later '<' can close either;
    // remembering that keeps
    // text full of stray '<' linear instead of quadratic.
    private boolean noTagEnd;
    private boolean noCommentEnd;

    Pass(String text) {
      this.text = text;
      this.n = text.length();
      this.out = new StringBuilder(n);
    }

    String run() {
      int i = 0;
      while (i < n) {
        char c = text.charAt(i);
        if (c == '<') {
          int next = markup(i);
          if (next >= 0) {
            i = next;
            continue;
          }
        } else if (c == '&') {
          int next = reference(i);
          if (next >= 0) {
            i = next;
            continue;
          }
        }
        if (c > ' ' && c < 0x7F) {
          emit(c);
          i++;
        } else {
          int cp = text.codePointAt(i);
          put(cp);
          i += Character.charCount(cp);
        }
      }
      return out.toString();
    }

    /**
     * Skips a tag or comment starting at {@code i}; returns the index after it, or -1 if it is
     * plain text.
     */
    private int markup(int i) {
      if (i + 1 >= n || noTagEnd) {
        return -1;
      }
      char d = text.charAt(i + 1);
      if (d == '!' && text.startsWith("<!--", i)) {
        if (noCommentEnd) {
          return -1;
        }
        int end = text.indexOf("-->", i + 4);
        if (end < 0) {
          noCommentEnd = true;
          return -1;
        }
        return end + 3;
      }
      boolean closing = d == '/';
      int nameStart = closing ? i + 2 : i + 1;
      boolean declaration = d == '!' || d == '?';
      if (!declaration && (nameStart >= n || !isAsciiLetter(text.charAt(nameStart)))) {
        return -1;
      }
      int end = text.indexOf('>', i + 1);
      if (end < 0) {
        noTagEnd = true;
        return -1;
      }
      if (declaration) {
        return end + 1;
      }
      int nameEnd = nameStart;
      while (nameEnd < end && isAsciiLetterOrDigit(text.charAt(nameEnd))) {
        nameEnd++;
      }
      String name = Words.lowerCase(text, nameStart, nameEnd);
      if (BLOCK_TAGS.contains(name)) {
        pendingSpace = true;
      }
      boolean rawText = name.equals("script") || name.equals("style");
      if (rawText && !closing && text.charAt(end - 1) != '/') {
        pendingSpace = true;
        return skipRawText(name, end + 1);
      }
      return end + 1;
    }

    /** Script and style content is never text; an unclosed one runs to the end, as in a browser. */
    private int skipRawText(String name, int from) {
      int k = from;
      while ((k = text.indexOf("</", k)) >= 0) {
        if (text.regionMatches(true, k + 2, name, 0, name.length())) {
          int gt = text.indexOf('>', k);
          return gt < 0 ? n : gt + 1;
        }
        k += 2;
      }
      return n;
    }

    /**
     * Decodes a character reference at {@code i}; returns the index after it, or -1 if it is a
     * plain {@code &}.
     */
    private int reference(int i) {
      int j = i + 1;
      if (j >= n) {
        return -1;
      }
      if (text.charAt(j) == '#') {
        j++;
        int radix = 10;
        if (j < n && (text.charAt(j) == 'x' || text.charAt(j) == 'X')) {
          radix = 16;
          j++;
        }
        int digitsStart = j;
        long value = 0;
        // Eight digits exceed any code point in either radix, and keep the arithmetic far from
        // overflow.
        while (j < n && j - digitsStart < 8) {
          int digit = digitValue(text.charAt(j), radix);
          if (digit < 0) {
            break;
          }
          value = value * radix + digit;
          j++;
        }
        if (j == digitsStart || j >= n || text.charAt(j) != ';') {
          return -1;
        }
        put(HtmlEntities.numeric(value));
        return j + 1;
      }
      int nameStart = j;
      while (j < n
          && j - nameStart <= HtmlEntities.MAX_NAME_LENGTH
          && isAsciiLetterOrDigit(text.charAt(j))) {
        j++;
      }
      if (j == nameStart || j >= n || text.charAt(j) != ';') {
        return -1;
      }
      int cp = HtmlEntities.named(text.substring(nameStart, j));
      if (cp < 0) {
        return -1;
      }
      put(cp);
      return j + 1;
    }

    private static int digitValue(char c, int radix) {
      if (c >= '0' && c <= '9') {
        return c - '0';
      }
      if (radix == 16) {
        if (c >= 'a' && c <= 'f') {
          return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
          return c - 'A' + 10;
        }
      }
      return -1;
    }

    /** Normalises one decoded character and appends it. */
    private void put(int cp) {
      if (cp < 0x80) {
        if (cp > ' ' && cp < 0x7F) {
          emit(cp);
        } else if (cp == ' ' || (cp >= '\t' && cp <= '\r')) {
          pendingSpace = true;
        }
        // Other C0 controls and DEL carry no text: dropped.
        return;
      }
      switch (cp) {
        case 0xA0, 0x2007, 0x202F -> pendingSpace = true;
        case 0xAD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF -> {
          // Soft hyphens and zero-width characters would split words invisibly: dropped.
        }
        case 0x2018, 0x2019, 0x201A, 0x201B, 0x2032, 0xB4 -> emit('\'');
        case 0x201C, 0x201D, 0x201E, 0x201F, 0x2033, 0xAB, 0xBB -> emit('"');
        case 0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212 -> emit('-');
        case 0x2026 -> {
          emit('.');
          out.append("..");
        }
        default -> {
          if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
            pendingSpace = true;
          } else {
            int type = Character.getType(cp);
            if (type != Character.CONTROL && type != Character.FORMAT) {
              emit(cp);
            }
          }
        }
      }
    }

    private void emit(int cp) {
      if (pendingSpace) {
        if (!out.isEmpty()) {
          out.append(' ');
        }
        pendingSpace = false;
      }
      out.appendCodePoint(cp);
    }
  }
}
