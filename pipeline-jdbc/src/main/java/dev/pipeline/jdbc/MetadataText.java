package dev.pipeline.jdbc;

import dev.pipeline.internal.JsonText;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A record's metadata as stored: a flat JSON object of strings, written and read here so that the
 * store needs no JSON library ({@code {"source":"scraper-a","parent":"r-17"}}). Strings are written
 * by {@link JsonText}: control characters (NUL among them, which PostgreSQL refuses in text) and
 * unpaired surrogates (which have no UTF-8 form) become JSON {@code \}{@code uXXXX} escapes, so the
 * text is storable and reads back exactly.
 */
final class MetadataText {
  private MetadataText() {}

  /** The text of a metadata map, or null for an empty one. */
  static @Nullable String encode(Map<String, String> metadata) {
    if (metadata.isEmpty()) {
      return null;
    }
    StringBuilder out = new StringBuilder(32 * metadata.size()).append('{');
    boolean first = true;
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      if (!first) {
        out.append(',');
      }
      first = false;
      JsonText.quote(e.getKey(), out);
      out.append(':');
      JsonText.quote(e.getValue(), out);
    }
    return out.append('}').toString();
  }

  /**
   * Reads metadata text back.
   *
   * @throws IllegalArgumentException if the text is not a flat JSON object of strings
   */
  static Map<String, String> decode(@Nullable String text) {
    if (text == null || text.isEmpty()) {
      return Map.of();
    }
    Reader r = new Reader(text);
    Map<String, String> map = new LinkedHashMap<>();
    r.skipSpace();
    r.expect('{');
    r.skipSpace();
    if (r.peek() == '}') {
      r.pos++;
    } else {
      while (true) {
        r.skipSpace();
        String key = r.string();
        r.skipSpace();
        r.expect(':');
        r.skipSpace();
        map.put(key, r.string());
        r.skipSpace();
        char c = r.next();
        if (c == '}') {
          break;
        }
        if (c != ',') {
          throw r.error("expected ',' or '}'");
        }
      }
    }
    r.skipSpace();
    if (r.pos != text.length()) {
      throw r.error("unexpected text after the object");
    }
    return Collections.unmodifiableMap(map);
  }

  private static final class Reader {
    final String text;
    int pos;

    Reader(String text) {
      this.text = text;
    }

    char peek() {
      if (pos >= text.length()) {
        throw error("unexpected end");
      }
      return text.charAt(pos);
    }

    char next() {
      char c = peek();
      pos++;
      return c;
    }

    void expect(char c) {
      if (next() != c) {
        throw error("expected '" + c + "'");
      }
    }

    void skipSpace() {
      while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
        pos++;
      }
    }

    String string() {
      expect('"');
      StringBuilder out = new StringBuilder();
      while (true) {
        char c = next();
        if (c == '"') {
          return out.toString();
        }
        if (c != '\\') {
          out.append(c);
          continue;
        }
        char e = next();
        switch (e) {
          case '"', '\\', '/' -> out.append(e);
          case 'n' -> out.append('\n');
          case 'r' -> out.append('\r');
          case 't' -> out.append('\t');
          case 'b' -> out.append('\b');
          case 'f' -> out.append('\f');
          case 'u' -> {
            if (pos + 4 > text.length()) {
              throw error("short \\u escape");
            }
            try {
              out.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
            } catch (NumberFormatException ex) {
              throw error("bad \\u escape");
            }
            pos += 4;
          }
          default -> throw error("bad escape '\\" + e + "'");
        }
      }
    }

    IllegalArgumentException error(String what) {
      return new IllegalArgumentException(
          "stored metadata is not a JSON object of strings: " + what + " at position " + pos);
    }
  }
}
