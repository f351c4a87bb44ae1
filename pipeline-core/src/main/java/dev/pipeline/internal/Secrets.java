package dev.pipeline.internal;

import org.jspecify.annotations.Nullable;

/**
 * Masks the secrets that text from outside often carries, before the library keeps or logs it: an
 * exception's message from a stage, a JDBC driver or an HTTP client echoes the URL it was given or
 * the request it sent. {@link ErrorText} calls it where such text enters (an exception's message,
 * text made {@link ErrorText#loggable loggable}), so that dead letters, audit lines, lineage,
 * alerts, the dashboard and traces only ever see the masked text; {@link dev.pipeline.SafeText} is
 * its public face, for the library's other modules and its users. Masked, each as {@value #MASK}:
 *
 * <ul>
 *   <li>the password of a URL's user info: {@code postgresql://app:***@db/orders};
 *   <li>the value after a name that looks secret, written {@code name=value}, {@code name: value}
 *       or {@code "name": "value"}: a name (of at most {@value #MAX_NAME_CHARS} characters, dots,
 *       dashes and underscores included) that contains {@code password}, {@code passwd}, {@code
 *       pwd}, {@code secret}, {@code token}, {@code apikey}, {@code api_key}, {@code api-key},
 *       {@code access_key}, {@code accesskey}, {@code private_key}, {@code credential} or {@code
 *       signature}, or is {@code auth}, {@code pass} or {@code sig} (so JDBC's {@code ?password=},
 *       H2's {@code ;PASSWORD=}, {@code ?api_key=}, {@code ?access_token=}, {@code
 *       X-Amz-Signature=}, {@code client_secret: } and JSON fields);
 *   <li>the credentials of an {@code Authorization}, {@code Proxy-Authorization}, {@code Cookie} or
 *       {@code Set-Cookie} header, to the end of its line (an authorization's scheme, such as
 *       {@code Bearer}, is kept), and the token after a lone {@code Bearer};
 *   <li>AWS access key ids ({@code AKIA} and its kin followed by 16 capitals or digits) and JSON
 *       web tokens ({@code eyJ...} in three dotted parts).
 * </ul>
 *
 * <p>It errs on the side of masking: the value after {@code token=} is masked whether or not it is
 * one. It does not know every secret: a password written in prose, or in a URL form other than user
 * info ({@code jdbc:oracle:thin:user/password@host}), stays as it is.
 *
 * <p>One pass over the text, each character looked at a bounded number of times (no regular
 * expression, so no input can make it backtrack): linear in the text's length. Masking masked text
 * changes nothing. Stateless and thread-safe.
 */
public final class Secrets {
  /** What stands for a masked secret. */
  public static final String MASK = "***";

  /** The longest name read as the name of a setting. */
  static final int MAX_NAME_CHARS = 64;

  // the parts of secret names, by their first letter: most characters start none
  private static final String[] PARTS_P = {"password", "passwd", "pwd", "private_key"};
  private static final String[] PARTS_S = {"secret", "signature"};
  private static final String[] PARTS_T = {"token"};
  private static final String[] PARTS_A = {
    "apikey", "api_key", "api-key", "access_key", "accesskey"
  };
  private static final String[] PARTS_C = {"credential"};

  private static final String[] SECRET_NAMES = {"auth", "pass", "sig"};

  private static final String[] HEADERS = {
    "authorization", "proxy-authorization", "cookie", "set-cookie"
  };

  private static final String[] AWS_KEY_PREFIXES = {
    "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA", "ASCA"
  };

  private static final int MAX_SPACES = 4;

  private Secrets() {}

  /**
   * The text with its secrets masked; the text itself if it has none.
   *
   * @throws NullPointerException if the text is null
   */
  public static String redact(String text) {
    return new Scan(text).run();
  }

  /** One pass over one text: the output is built only once a secret is met. */
  private static final class Scan {
    private final String text;
    private final int n;
    private @Nullable StringBuilder out;
    private int copied;

    Scan(String text) {
      this.text = text;
      this.n = text.length();
    }

    String run() {
      int i = 0;
      while (i < n) {
        if (!isNameChar(text.charAt(i))) {
          i++;
          continue;
        }
        int end = i + 1;
        while (end < n && isNameChar(text.charAt(end))) {
          end++;
        }
        i = word(i, end);
      }
      if (out == null) {
        return text;
      }
      return out.append(text, copied, n).toString();
    }

    /** Reads the word at [start, end) and what follows it; returns where to go on. */
    private int word(int start, int end) {
      if (text.startsWith("://", end)) {
        return userInfo(end + 3);
      }
      int length = end - start;
      if (length == 20 && awsKeyId(start)) {
        mask(start, end);
        return end;
      }
      if (length >= 20 && text.startsWith("eyJ", start) && jwt(start, end)) {
        mask(start, end);
        return end;
      }
      if (length == 6 && text.regionMatches(true, start, "bearer", 0, 6)) {
        return afterScheme(end, 8);
      }
      if (length > MAX_NAME_CHARS) {
        return end;
      }
      String header = oneOf(start, end, HEADERS);
      if (header == null && !secretName(start, end)) {
        return end;
      }
      int separator = separator(end);
      if (separator < 0) {
        return end;
      }
      int value = skipSpaces(separator + 1);
      if (header != null && text.charAt(separator) == ':') {
        return headerValue(value, header.endsWith("authorization"));
      }
      return value(value);
    }

    /** The authority after "scheme://": the password of its user info is masked. */
    private int userInfo(int from) {
      int end = from;
      int at = -1;
      int colon = -1;
      while (end < n && !endsAuthority(text.charAt(end))) {
        char c = text.charAt(end);
        if (c == '@') {
          at = end;
        } else if (c == ':' && colon < 0) {
          colon = end;
        }
        end++;
      }
      if (colon >= 0 && colon + 1 < at) {
        mask(colon + 1, at);
      }
      return end;
    }

    /** The separator after a name, "=" or ":" (but not "://"), past a closing quote; or -1. */
    private int separator(int end) {
      int i = end;
      if (i < n && text.charAt(i) == '\\') {
        i++;
      }
      if (i < n && isQuote(text.charAt(i))) {
        i++;
      }
      i = skipSpaces(i);
      if (i >= n) {
        return -1;
      }
      char c = text.charAt(i);
      if (c == '=' || (c == ':' && !text.startsWith("//", i + 1))) {
        return i;
      }
      return -1;
    }

    /** A value, quoted or up to the next delimiter; a scheme word before a token is kept. */
    private int value(int from) {
      int i = from;
      if (i < n && text.charAt(i) == '\\' && i + 1 < n && isQuote(text.charAt(i + 1))) {
        i++;
      }
      if (i < n && isQuote(text.charAt(i))) {
        char quote = text.charAt(i);
        int start = i + 1;
        int end = start;
        while (end < n && text.charAt(end) != quote && !isLineBreak(text.charAt(end))) {
          end++;
        }
        int masked = end > start && text.charAt(end - 1) == '\\' ? end - 1 : end;
        mask(start, masked);
        return end;
      }
      int end = i;
      while (end < n && !endsValue(text.charAt(end))) {
        end++;
      }
      if (end - i == 6 && text.regionMatches(true, i, "bearer", 0, 6)
          || end - i == 5 && text.regionMatches(true, i, "basic", 0, 5)) {
        return afterScheme(end, 1);
      }
      mask(i, end);
      return end;
    }

    /** A header's value, to the end of its line; an authorization's scheme word is kept. */
    private int headerValue(int from, boolean authorization) {
      int start = from;
      if (authorization) {
        int word = from;
        while (word < n && Character.isLetter(text.charAt(word))) {
          word++;
        }
        if (word > from && word < n && text.charAt(word) == ' ') {
          start = skipSpaces(word);
        }
      }
      int end = start;
      while (end < n && !isLineBreak(text.charAt(end)) && !isQuote(text.charAt(end))) {
        end++;
      }
      mask(start, end);
      return end;
    }

    /** The token after a scheme word ("Bearer abc"), masked if it is at least so long. */
    private int afterScheme(int schemeEnd, int minLength) {
      int start = schemeEnd;
      int spaces = 0;
      while (start < n && text.charAt(start) == ' ' && spaces < MAX_SPACES) {
        start++;
        spaces++;
      }
      if (spaces == 0) {
        return schemeEnd;
      }
      int end = start;
      while (end < n && isTokenChar(text.charAt(end))) {
        end++;
      }
      if (end - start >= minLength) {
        mask(start, end);
        return end;
      }
      return schemeEnd;
    }

    private boolean awsKeyId(int start) {
      boolean prefix = false;
      for (String p : AWS_KEY_PREFIXES) {
        prefix |= text.startsWith(p, start);
      }
      if (!prefix) {
        return false;
      }
      for (int i = start + 4; i < start + 20; i++) {
        char c = text.charAt(i);
        if (!(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')) {
          return false;
        }
      }
      return true;
    }

    private boolean jwt(int start, int end) {
      int dots = 0;
      for (int i = start; i < end; i++) {
        char c = text.charAt(i);
        if (c == '.') {
          dots++;
        } else if (!(Character.isLetterOrDigit(c) || c == '-' || c == '_')) {
          return false;
        }
      }
      return dots == 2;
    }

    private int skipSpaces(int from) {
      int i = from;
      while (i < n && i - from < MAX_SPACES && text.charAt(i) == ' ') {
        i++;
      }
      return i;
    }

    /** Masks [from, to), unless it is empty or already the mask. */
    private void mask(int from, int to) {
      if (to <= from || text.startsWith(MASK, from) && to - from == MASK.length()) {
        return;
      }
      if (out == null) {
        out = new StringBuilder(n);
      }
      out.append(text, copied, from).append(MASK);
      copied = to;
    }

    /** Whether the name at [start, end) contains a secret part or is a secret name. */
    private boolean secretName(int start, int end) {
      for (int i = start; i < end; i++) {
        String[] parts =
            switch (text.charAt(i)) {
              case 'p', 'P' -> PARTS_P;
              case 's', 'S' -> PARTS_S;
              case 't', 'T' -> PARTS_T;
              case 'a', 'A' -> PARTS_A;
              case 'c', 'C' -> PARTS_C;
              default -> null;
            };
        if (parts != null) {
          for (String part : parts) {
            if (i + part.length() <= end && text.regionMatches(true, i, part, 0, part.length())) {
              return true;
            }
          }
        }
      }
      return oneOf(start, end, SECRET_NAMES) != null;
    }

    /** The one of the names that [start, end) is, ignoring case; or null. */
    private @Nullable String oneOf(int start, int end, String[] names) {
      for (String name : names) {
        if (name.length() == end - start && text.regionMatches(true, start, name, 0, end - start)) {
          return name;
        }
      }
      return null;
    }
  }

  private static boolean isNameChar(char c) {
    return c >= 'a' && c <= 'z'
        || c >= 'A' && c <= 'Z'
        || c >= '0' && c <= '9'
        || c == '_'
        || c == '-'
        || c == '.';
  }

  /** The characters of a token68 (RFC 7235): a bearer token, base64. */
  private static boolean isTokenChar(char c) {
    return isNameChar(c) || c == '~' || c == '+' || c == '/' || c == '=';
  }

  private static boolean isQuote(char c) {
    return c == '"' || c == '\'';
  }

  private static boolean isLineBreak(char c) {
    return c == '\n' || c == '\r';
  }

  private static boolean endsAuthority(char c) {
    return c == '/' || c == '?' || c == '#' || endsValue(c);
  }

  private static boolean endsValue(char c) {
    return Character.isWhitespace(c)
        || Character.isISOControl(c)
        || c == '&'
        || c == ';'
        || c == ','
        || isQuote(c)
        || c == '('
        || c == ')'
        || c == '['
        || c == ']'
        || c == '{'
        || c == '}'
        || c == '<'
        || c == '>'
        || c == '|';
  }
}
