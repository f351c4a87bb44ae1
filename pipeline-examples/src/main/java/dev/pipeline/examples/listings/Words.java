package dev.pipeline.examples.listings;

/**
 * Splits cleaned text into word tokens, remembering where each token sits and what punctuation
 * separates it from the previous one. Shared by every stage that works on words, so that a
 * dictionary phrase, a sentiment cue and a text fragment in a listing are all cut the same way.
 * Stateless and thread-safe.
 */
final class Words {

  /**
   * No punctuation between this token and the previous one (only spaces, hyphens or apostrophes).
   */
  static final byte JOINED = 0;

  /** A clause break ({@code , ; : ( ) " /} and similar) precedes the token. */
  static final byte CLAUSE = 1;

  /** A sentence break ({@code . ! ?}, a line break or the start of the text) precedes the token. */
  static final byte SENTENCE = 2;

  private Words() {}

  /**
   * The tokens of one text. Arrays are filled up to {@link #count}; the object is built once and
   * never changed, so it may be read from any thread once published.
   */
  static final class Tokens {
    final String text;
    final int count;
    final int[] start;
    final int[] end;
    final String[] lower;
    final byte[] boundaryBefore;

    private Tokens(
        String text, int count, int[] start, int[] end, String[] lower, byte[] boundaryBefore) {
      this.text = text;
      this.count = count;
      this.start = start;
      this.end = end;
      this.lower = lower;
      this.boundaryBefore = boundaryBefore;
    }

    /** Whether tokens {@code i - 1} and {@code i} may belong to the same phrase. */
    boolean joinedToPrevious(int i) {
      return boundaryBefore[i] == JOINED;
    }
  }

  /**
   * Cuts {@code text} into tokens. A token is a run of letters and digits; an apostrophe between
   * letters stays inside the token ("don't"), except after a French elided article or pronoun,
   * where the token ends with the apostrophe ("d'" + "occasion") so that dictionary look-ups see
   * the bare noun.
   */
  static Tokens tokenize(String text) {
    int n = text.length();
    // A token needs at least one character plus one separator, so this bound is never exceeded.
    int capacity = n / 2 + 1;
    int[] start = new int[capacity];
    int[] end = new int[capacity];
    String[] lower = new String[capacity];
    byte[] boundary = new byte[capacity];
    int count = 0;
    byte pending = SENTENCE;
    int i = 0;
    while (i < n) {
      char c = text.charAt(i);
      if (Character.isLetterOrDigit(c)) {
        int s = i++;
        while (i < n) {
          char d = text.charAt(i);
          if (Character.isLetterOrDigit(d)) {
            i++;
          } else if (d == '\''
              && i + 1 < n
              && Character.isLetter(text.charAt(i + 1))
              && Character.isLetter(text.charAt(i - 1))) {
            i++;
            if (isElision(text, s, i - 1)) {
              break;
            }
          } else {
            break;
          }
        }
        start[count] = s;
        end[count] = i;
        lower[count] = lowerCase(text, s, i);
        boundary[count] = pending;
        count++;
        pending = JOINED;
      } else {
        byte b = separatorWeight(text, i, c);
        if (b > pending) {
          pending = b;
        }
        i++;
      }
    }
    return new Tokens(text, count, start, end, lower, boundary);
  }

  /**
   * Lower-cases a slice without the intermediate substring that {@code substring().toLowerCase()}
   * would make.
   */
  static String lowerCase(String text, int from, int to) {
    for (int k = from; k < to; k++) {
      char c = text.charAt(k);
      if (Character.toLowerCase(c) != c) {
        char[] buf = new char[to - from];
        for (int j = from; j < to; j++) {
          buf[j - from] = Character.toLowerCase(text.charAt(j));
        }
        return new String(buf);
      }
    }
    return text.substring(from, to);
  }

  private static byte separatorWeight(String text, int i, char c) {
    switch (c) {
      case '.', ',' -> {
        // "4.200" and "12,5" are one number, not two sentences.
        boolean inNumber =
            i > 0
                && i + 1 < text.length()
                && Character.isDigit(text.charAt(i - 1))
                && Character.isDigit(text.charAt(i + 1));
        if (inNumber) {
          return JOINED;
        }
        return c == '.' ? SENTENCE : CLAUSE;
      }
      case '!', '?', '\n', '\u00A1', '\u00BF' -> {
        return SENTENCE;
      }
      case ';',
          ':',
          '(',
          ')',
          '[',
          ']',
          '{',
          '}',
          '"',
          '/',
          '|',
          '\u00AB',
          '\u00BB',
          '\u2022',
          '*',
          '+' -> {
        return CLAUSE;
      }
      case '-' -> {
        // A dash standing alone (" - ") separates parts of a title; a hyphen inside "mini-pelle"
        // does not.
        return i > 0 && text.charAt(i - 1) == ' ' ? CLAUSE : JOINED;
      }
      default -> {
        return JOINED;
      }
    }
  }

  /** French elisions: l', d', j', m', n', s', t', c', qu', jusqu', lorsqu', puisqu'. */
  private static boolean isElision(String text, int from, int apostrophe) {
    int len = apostrophe - from;
    if (len == 1) {
      char c = Character.toLowerCase(text.charAt(from));
      return c == 'l' || c == 'd' || c == 'j' || c == 'm' || c == 'n' || c == 's' || c == 't'
          || c == 'c';
    }
    if (len == 2 || len == 5 || len == 6) {
      String w = lowerCase(text, from, apostrophe);
      return w.equals("qu") || w.equals("jusqu") || w.equals("lorsqu") || w.equals("puisqu");
    }
    return false;
  }
}
