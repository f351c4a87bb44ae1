package dev.pipeline.dashboard;

import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The sessions of the browsers that use the dashboard, bounded: at most {@link #MAX} (the least
 * recently seen leaves first) and forgotten after {@link #IDLE} without a request. Ids and CSRF
 * tokens are 256 random bits each. Thread-safe.
 */
final class Sessions {
  static final int MAX = 10_000;
  static final Duration IDLE = Duration.ofHours(12);
  static final String COOKIE = "pipeline_dashboard";

  private final SecureRandom random = new SecureRandom();
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();

  /** The session a cookie names, if it is known and not idle too long. */
  @Nullable Session find(@Nullable String cookieHeader, Instant now) {
    String id = cookie(cookieHeader);
    if (id == null) {
      return null;
    }
    Session session = sessions.get(id);
    if (session == null) {
      return null;
    }
    if (session.lastSeen().plus(IDLE).isBefore(now)) {
      sessions.remove(id);
      return null;
    }
    session.seen(now);
    return session;
  }

  /** A new session. */
  Session create(Instant now) {
    if (sessions.size() >= MAX) {
      sessions.values().stream()
          .min(Comparator.comparing(Session::lastSeen))
          .ifPresent(oldest -> sessions.remove(oldest.id()));
    }
    Session session = new Session(token(), token(), now);
    sessions.put(session.id(), session);
    return session;
  }

  /** The Set-Cookie header value for a session. */
  static String setCookie(Session session) {
    return COOKIE + "=" + session.id() + "; Path=/; HttpOnly; SameSite=Strict";
  }

  private String token() {
    byte[] bytes = new byte[32];
    random.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static @Nullable String cookie(@Nullable String header) {
    if (header == null || header.length() > 8_192) {
      return null;
    }
    for (String part : header.split(";")) {
      String p = part.strip();
      if (p.startsWith(COOKIE + "=")) {
        String value = p.substring(COOKIE.length() + 1);
        return value.length() <= 64 ? value : null;
      }
    }
    return null;
  }
}
