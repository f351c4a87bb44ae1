package dev.pipeline.quality;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** A record type for the tests: nested records, a nullable component, a list and a JSON tree. */
record Listing(
    String id,
    String title,
    @Nullable Price price,
    String email,
    String url,
    String posted,
    Instant seen,
    int quantity,
    List<String> tags,
    Map<String, Object> attributes) {

  record Price(double amount, String currency) {}

  static Listing good(String id) {
    return new Listing(
        id,
        "Excavator CAT 320",
        new Price(125_000, "EUR"),
        "seller@example.com",
        "https://example.com/l/" + id,
        "2025-12-31",
        Instant.parse("2026-01-01T00:00:00Z"),
        1,
        List.of("used", "heavy"),
        Map.of("engine", Map.of("hours", 1200), "color", "yellow"));
  }

  Listing withTitle(String t) {
    return new Listing(id, t, price, email, url, posted, seen, quantity, tags, attributes);
  }

  Listing withPrice(@Nullable Price p) {
    return new Listing(id, title, p, email, url, posted, seen, quantity, tags, attributes);
  }

  Listing withEmail(String e) {
    return new Listing(id, title, price, e, url, posted, seen, quantity, tags, attributes);
  }

  Listing withUrl(String u) {
    return new Listing(id, title, price, email, u, posted, seen, quantity, tags, attributes);
  }

  Listing withPosted(String p) {
    return new Listing(id, title, price, email, url, p, seen, quantity, tags, attributes);
  }

  Listing withSeen(Instant s) {
    return new Listing(id, title, price, email, url, posted, s, quantity, tags, attributes);
  }

  Listing withQuantity(int q) {
    return new Listing(id, title, price, email, url, posted, seen, q, tags, attributes);
  }

  Listing withAttributes(Map<String, Object> a) {
    return new Listing(id, title, price, email, url, posted, seen, quantity, tags, a);
  }
}
