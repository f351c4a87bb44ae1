package dev.pipeline.examples.listings;

import java.util.Locale;

/**
 * Thrown by {@link ListingParser} when a scraped line cannot be read as a listing at all (wrong
 * number of fields, blank or invalid id, control characters, bad escapes). The message names the
 * source, the line number, the problem and a printable excerpt of the line, so that a dead-letter
 * entry is self-explanatory.
 *
 * <p>Immutable and therefore thread-safe.
 */
public final class MalformedListingException extends IllegalArgumentException {

  private static final long serialVersionUID = 1L;
  private static final int EXCERPT_LIMIT = 80;

  private final String sourceId;
  private final long lineNo;
  private final String problem;

  /**
   * @param sourceId where the line came from, e.g. a file or scraper name
   * @param lineNo 1-based line number within that source
   * @param problem what is wrong, naming the field and the offending value
   * @param line the offending line, quoted in the message as a shortened, printable excerpt
   */
  public MalformedListingException(String sourceId, long lineNo, String problem, String line) {
    super("line " + lineNo + " of " + sourceId + ": " + problem + ": " + excerpt(line));
    this.sourceId = sourceId;
    this.lineNo = lineNo;
    this.problem = problem;
  }

  public String sourceId() {
    return sourceId;
  }

  public long lineNo() {
    return lineNo;
  }

  /** The problem alone, without the location prefix and the excerpt. */
  public String problem() {
    return problem;
  }

  /**
   * Quotes a line for a message: control characters become {@code \\uXXXX} so logs stay readable.
   */
  static String excerpt(String line) {
    if (line == null) {
      return "null";
    }
    StringBuilder out = new StringBuilder(Math.min(line.length(), EXCERPT_LIMIT) + 8).append('"');
    int limit = Math.min(line.length(), EXCERPT_LIMIT);
    for (int i = 0; i < limit; i++) {
      char c = line.charAt(i);
      if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == '"') {
        if (c == '"') {
          out.append("\\\"");
        } else {
          out.append("\\u").append(hex4(c));
        }
      } else {
        out.append(c);
      }
    }
    if (line.length() > limit) {
      out.append("...");
    }
    return out.append('"').toString();
  }

  static String hex4(int c) {
    String hex = Integer.toHexString(c).toUpperCase(Locale.ROOT);
    return "0000".substring(Math.min(4, hex.length())) + hex;
  }
}
