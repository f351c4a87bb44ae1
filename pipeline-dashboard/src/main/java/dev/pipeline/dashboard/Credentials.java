package dev.pipeline.dashboard;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * The users and tokens that may use the dashboard. Only SHA-256 digests of their secrets are kept,
 * and a presented secret is compared with every one of them in constant time ({@link
 * MessageDigest#isEqual}), without stopping at the first match, so the time of a check says nothing
 * of which secret came close.
 */
final class Credentials {
  /**
   * A user (basic auth, {@code name:password}) or a bearer token, its role, and the name the audit
   * trail gives what it does.
   */
  record Entry(String scheme, byte[] digest, Role role, String name) {}

  /** Who a request comes from: the name the audit trail keeps for its actions, and the role. */
  record Caller(String name, Role role) {}

  /** The name of a caller signed in with a bearer token, which carries no name. */
  static final String TOKEN_CALLER = "dashboard token";

  private final List<Entry> entries;

  Credentials(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  static Entry user(String name, String password, Role role) {
    return new Entry("basic", digest(name + ":" + password), role, name);
  }

  static Entry token(String token, Role role) {
    return new Entry("bearer", digest(token), role, TOKEN_CALLER);
  }

  boolean isEmpty() {
    return entries.isEmpty();
  }

  /** The caller an {@code Authorization} header names, or null if none. */
  @Nullable Caller authenticate(@Nullable String header) {
    if (header == null || header.length() > 4_096) {
      return null;
    }
    int space = header.indexOf(' ');
    if (space < 0) {
      return null;
    }
    String scheme = header.substring(0, space).toLowerCase(Locale.ROOT);
    String value = header.substring(space + 1).strip();
    byte[] presented;
    if (scheme.equals("basic")) {
      try {
        presented = digest(new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        return null;
      }
    } else if (scheme.equals("bearer")) {
      presented = digest(value);
    } else {
      return null;
    }
    Caller found = null;
    for (Entry entry : entries) {
      boolean equal = MessageDigest.isEqual(entry.digest(), presented);
      if (equal && entry.scheme().equals(scheme) && found == null) {
        found = new Caller(entry.name(), entry.role());
      }
    }
    return found;
  }

  private static byte[] digest(String secret) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
