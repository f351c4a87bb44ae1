package dev.pipeline.examples.listings;

import java.util.Objects;

/**
 * Stage 1, ingestion: reads one scraped line into a {@link RawListing}.
 *
 * <h2>Line format</h2>
 *
 * Six fields separated by {@code |}, in this order:
 *
 * <pre>id|title|price|currency|description|lang</pre>
 *
 * <ul>
 *   <li>{@code \|} stands for a literal bar, {@code \\} for a backslash, {@code \n} for a line
 *       break and {@code \t} for a tab; any other backslash sequence is malformed.
 *   <li>{@code id} is mandatory: 1 to 64 characters out of letters, digits and {@code . _ : -},
 *       surrounding blanks ignored. All other fields may be empty.
 *   <li>Control characters (other than tab), C1 controls, U+FFFD (the trace of a failed decode) and
 *       unpaired surrogates are malformed: they mean the scraper captured binary garbage.
 *   <li>A single trailing carriage return is ignored, so CRLF files read the same as LF files.
 * </ul>
 *
 * <p>Thread-safe: a pure function of its arguments.
 */
public final class ListingParser {

  /** Number of {@code |}-separated fields on a line. */
  public static final int FIELD_COUNT = 6;

  /** Longest accepted line; anything longer is a runaway scrape, not a listing. */
  public static final int MAX_LINE_LENGTH = 16_384;

  /** Longest accepted id. */
  public static final int MAX_ID_LENGTH = 64;

  private ListingParser() {}

  /**
   * Parses one line.
   *
   * @param sourceId where the line came from, used in error messages
   * @param lineNo 1-based line number, used in error messages
   * @param line the line without its terminating line feed
   * @return the fields of the line
   * @throws MalformedListingException if the line breaks the format described on this class
   */
  public static RawListing parse(String sourceId, long lineNo, String line) {
    Objects.requireNonNull(sourceId, "sourceId");
    if (line == null) {
      throw new MalformedListingException(sourceId, lineNo, "line is null", null);
    }
    int n = line.length();
    if (n > 0 && line.charAt(n - 1) == '\r') {
      n--;
    }
    if (n > MAX_LINE_LENGTH) {
      throw new MalformedListingException(
          sourceId,
          lineNo,
          "line has " + n + " characters, more than the limit of " + MAX_LINE_LENGTH,
          line);
    }
    if (line.isBlank()) {
      throw new MalformedListingException(sourceId, lineNo, "blank line", line);
    }
    String[] fields = new String[FIELD_COUNT];
    int count = 0;
    StringBuilder field = new StringBuilder(Math.min(n, 256));
    for (int i = 0; i < n; i++) {
      char c = line.charAt(i);
      if (c == '\\') {
        if (i + 1 == n) {
          throw new MalformedListingException(
              sourceId, lineNo, "line ends with a lone '\\' (escape without a character)", line);
        }
        char e = line.charAt(++i);
        switch (e) {
          case '|' -> field.append('|');
          case '\\' -> field.append('\\');
          case 'n' -> field.append('\n');
          case 't' -> field.append('\t');
          default ->
              throw new MalformedListingException(
                  sourceId,
                  lineNo,
                  "unknown escape '\\"
                      + printable(e)
                      + "' at column "
                      + i
                      + " (allowed: \\| \\\\ \\n \\t)",
                  line);
        }
      } else if (c == '|') {
        if (count < FIELD_COUNT) {
          fields[count] = field.toString();
        }
        count++;
        field.setLength(0);
      } else if (Character.isSurrogate(c)) {
        boolean paired =
            Character.isHighSurrogate(c)
                && i + 1 < n
                && Character.isLowSurrogate(line.charAt(i + 1));
        if (!paired) {
          throw new MalformedListingException(
              sourceId,
              lineNo,
              "unpaired surrogate U+" + MalformedListingException.hex4(c) + " at column " + (i + 1),
              line);
        }
        field.append(c).append(line.charAt(++i));
      } else if (isGarbage(c)) {
        throw new MalformedListingException(
            sourceId,
            lineNo,
            (c == '\uFFFD'
                    ? "replacement character U+FFFD (undecodable bytes)"
                    : "control character U+" + MalformedListingException.hex4(c))
                + " at column "
                + (i + 1),
            line);
      } else {
        field.append(c);
      }
    }
    if (count < FIELD_COUNT) {
      fields[count] = field.toString();
    }
    count++;
    if (count != FIELD_COUNT) {
      throw new MalformedListingException(
          sourceId,
          lineNo,
          "expected "
              + FIELD_COUNT
              + " '|'-separated fields (id|title|price|currency|description|lang), found "
              + count,
          line);
    }
    String id = checkId(sourceId, lineNo, fields[0], line);
    return new RawListing(
        sourceId, lineNo, id, fields[1], fields[2], fields[3], fields[4], fields[5]);
  }

  private static String checkId(String sourceId, long lineNo, String rawId, String line) {
    String id = rawId.strip();
    if (id.isEmpty()) {
      throw new MalformedListingException(sourceId, lineNo, "field 'id' is blank", line);
    }
    if (id.length() > MAX_ID_LENGTH) {
      throw new MalformedListingException(
          sourceId,
          lineNo,
          "field 'id' has " + id.length() + " characters, more than " + MAX_ID_LENGTH,
          line);
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '.'
              || c == '_'
              || c == ':'
              || c == '-';
      if (!ok) {
        throw new MalformedListingException(
            sourceId,
            lineNo,
            "field 'id' \""
                + id
                + "\" contains '"
                + printable(c)
                + "' at position "
                + (i + 1)
                + "; allowed are letters, digits and . _ : -",
            line);
      }
    }
    return id;
  }

  private static boolean isGarbage(char c) {
    return (c < 0x20 && c != '\t')
        || (c >= 0x7F && c <= 0x9F)
        || c == '\uFFFD'
        || c == '\uFFFE'
        || c == '\uFFFF';
  }

  private static String printable(char c) {
    return c < 0x20 || (c >= 0x7F && c <= 0x9F)
        ? "\\u" + MalformedListingException.hex4(c)
        : String.valueOf(c);
  }
}
