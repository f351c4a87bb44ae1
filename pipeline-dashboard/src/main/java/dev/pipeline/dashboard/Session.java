package dev.pipeline.dashboard;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * A browser's session: its CSRF token, which every POST must carry, and a message for the next page
 * (what an action did). Thread-safe.
 */
final class Session {
  private final String id;
  private final String csrf;
  private final AtomicReference<@Nullable String> flash = new AtomicReference<>();
  private volatile Instant lastSeen;

  Session(String id, String csrf, Instant now) {
    this.id = id;
    this.csrf = csrf;
    this.lastSeen = now;
  }

  String id() {
    return id;
  }

  String csrf() {
    return csrf;
  }

  Instant lastSeen() {
    return lastSeen;
  }

  void seen(Instant now) {
    lastSeen = now;
  }

  /** Whether {@code token} is this session's CSRF token, compared in constant time. */
  boolean csrfMatches(@Nullable String token) {
    if (token == null) {
      return false;
    }
    return MessageDigest.isEqual(
        csrf.getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8));
  }

  void flash(String message) {
    flash.set(message);
  }

  @Nullable String takeFlash() {
    return flash.getAndSet(null);
  }
}
