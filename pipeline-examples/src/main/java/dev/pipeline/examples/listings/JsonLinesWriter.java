package dev.pipeline.examples.listings;

import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * Renders an {@link IndexedListing} as one line of JSON, for a JSON Lines file sink.
 *
 * <p>Strings are escaped by hand: quote, backslash and control characters always, U+2028 and U+2029
 * too (they end a line in JavaScript), and unpaired surrogates become U+FFFD so the output is
 * always valid UTF-8. Other characters, accented letters and euro signs included, are written as
 * they are. Numbers are formatted without locale or exponent. The line never contains a line break.
 *
 * <p>Thread-safe: a pure function.
 */
public final class JsonLinesWriter {

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private JsonLinesWriter() {}

  /**
   * The listing as a JSON object on one line, without the trailing line feed.
   *
   * @throws NullPointerException if {@code listing} is null
   */
  public static String render(IndexedListing listing) {
    Objects.requireNonNull(listing, "indexed listing");
    StringBuilder out = new StringBuilder(1024);
    out.append('{');
    text(out, "id", listing.id());
    text(out, "source", listing.sourceId());
    field(out, "line").append(listing.lineNo());
    text(out, "title", listing.title());
    text(out, "originalTitle", listing.originalTitle());
    text(out, "description", listing.description());
    text(out, "language", listing.language());
    text(out, "category", listing.category().label());
    text(out, "manufacturer", listing.manufacturer());
    text(out, "model", listing.model());
    optionalInt(field(out, "year"), listing.year());
    optionalInt(field(out, "hours"), listing.hours());
    field(out, "price").append('{');
    field(out, "amount").append(PriceInfo.formatCents(listing.price().cents()));
    text(out, "currency", listing.price().currency());
    field(out, "eur").append(PriceInfo.formatCents(listing.priceEurCents())).append('}');
    fixed(field(out, "sentiment"), listing.sentiment(), 3);
    text(out, "sentimentLabel", listing.sentimentLabel().name());
    fixed(field(out, "quality"), listing.quality(), 2);
    array(field(out, "warnings"), listing.warnings());
    Facets f = listing.facets();
    field(out, "facets").append('{');
    text(out, "manufacturer", f.manufacturer());
    text(out, "category", f.category());
    text(out, "currency", f.currency());
    text(out, "priceBucket", f.priceBucket());
    text(out, "decade", f.decade());
    text(out, "language", f.language());
    out.append('}');
    array(field(out, "terms"), listing.terms());
    return out.append('}').toString();
  }

  /** A JSON string literal, quotes included, for any Java string. */
  public static String string(String value) {
    StringBuilder out = new StringBuilder(value.length() + 2);
    appendString(out, value);
    return out.toString();
  }

  static void appendString(StringBuilder out, String value) {
    out.append('"');
    int n = value.length();
    // Most text needs no escaping: copy runs of plain characters in one go, stop only where needed.
    int plainFrom = 0;
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7F) {
        continue;
      }
      if (c > 0x7F && !Character.isSurrogate(c) && c != '\u2028' && c != '\u2029') {
        continue;
      }
      out.append(value, plainFrom, i);
      plainFrom = i + 1;
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (Character.isHighSurrogate(c)
              && i + 1 < n
              && Character.isLowSurrogate(value.charAt(i + 1))) {
            out.append(c).append(value.charAt(++i));
            plainFrom = i + 1;
          } else if (Character.isSurrogate(c)) {
            out.append('\uFFFD');
          } else {
            // Other controls, DEL, and the two separators JavaScript treats as line ends.
            unicodeEscape(out, c);
          }
        }
      }
    }
    out.append(value, plainFrom, n).append('"');
  }

  private static void unicodeEscape(StringBuilder out, char c) {
    out.append("\\u")
        .append(HEX[(c >> 12) & 0xF])
        .append(HEX[(c >> 8) & 0xF])
        .append(HEX[(c >> 4) & 0xF])
        .append(HEX[c & 0xF]);
  }

  /**
   * Starts a member: a comma unless it is the first in its object, then the quoted name and a
   * colon.
   */
  private static StringBuilder field(StringBuilder out, String name) {
    if (out.charAt(out.length() - 1) != '{') {
      out.append(',');
    }
    return out.append('"').append(name).append("\":");
  }

  private static void text(StringBuilder out, String name, String value) {
    appendString(field(out, name), value);
  }

  private static void optionalInt(StringBuilder out, OptionalInt value) {
    if (value.isPresent()) {
      out.append(value.getAsInt());
    } else {
      out.append("null");
    }
  }

  private static void array(StringBuilder out, List<String> values) {
    out.append('[');
    for (int i = 0; i < values.size(); i++) {
      if (i > 0) {
        out.append(',');
      }
      appendString(out, values.get(i));
    }
    out.append(']');
  }

  /**
   * Appends a finite double with exactly {@code decimals} places, e.g. -0.462 or 0.85, never
   * "1.0E-4".
   */
  static void fixed(StringBuilder out, double value, int decimals) {
    if (!Double.isFinite(value)) {
      throw new IllegalArgumentException("cannot render " + value + " as a JSON number");
    }
    long scale = 1;
    for (int d = 0; d < decimals; d++) {
      scale *= 10;
    }
    long scaled = Math.round(Math.abs(value) * scale);
    if (value < 0 && scaled != 0) {
      out.append('-');
    }
    out.append(scaled / scale);
    if (decimals > 0) {
      out.append('.');
      String fraction = Long.toString(scaled % scale);
      for (int pad = fraction.length(); pad < decimals; pad++) {
        out.append('0');
      }
      out.append(fraction);
    }
  }
}
