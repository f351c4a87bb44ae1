package dev.pipeline.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Text that every store can keep, the same on all of them: the rule for record ids, and a
 * reversible escape for the characters a database refuses in text.
 *
 * <p>PostgreSQL refuses NUL (U+0000) in text, and an unpaired UTF-16 surrogate (a lone {@code
 * \uD800}-{@code \uDFFF}) has no UTF-8 form at all.
 *
 * <ul>
 *   <li><b>Record ids</b> must be non-empty, at most {@value #MAX_ID_LENGTH} characters (the {@code
 *       record_id} columns are {@code VARCHAR(1000)}), without NUL or unpaired surrogates ({@link
 *       #idProblem}). The engine checks every record it ingests: one whose id breaks the rule goes
 *       to the dead letter queue alone, under the id {@link #storableId} derives from it (with its
 *       payload, its original id in the metadata entry {@value #ORIGINAL_ID} and in the error,
 *       escaped), and the rest of its batch goes on. Stores refuse such ids.
 *   <li><b>Text</b> (error messages, stack traces, reasons, metadata) is written by the JDBC store
 *       through {@link #escape}: NUL and unpaired surrogates become {@code \}{@code uXXXX} (four
 *       lower-case hex digits), and a run of backslashes right before a {@code u} or an escaped
 *       character is doubled (as a Windows command line quotes backslashes before a quote), so
 *       {@link #unescape} gives the original back exactly. Text without NUL, unpaired surrogates or
 *       a backslash before a {@code u} is written as it is.
 * </ul>
 *
 * <p>Stateless and thread-safe.
 */
public final class StorableText {
  /** The longest record id a store keeps, in UTF-16 characters. */
  public static final int MAX_ID_LENGTH = 1000;

  /**
   * Metadata key of a dead letter whose own id could not be stored: the record's original id, as
   * the source gave it.
   */
  public static final String ORIGINAL_ID = "pipeline.original-id";

  private static final int HASH_CHARS = 32;

  private StorableText() {}

  /**
   * What makes an id unfit to be a record id in a store, or null if it is fit.
   *
   * @return e.g. "contains NUL (U+0000) at index 3"
   * @throws NullPointerException if the id is null
   */
  public static @Nullable String idProblem(String id) {
    Objects.requireNonNull(id, "id cannot be null");
    if (id.isEmpty()) {
      return "is empty";
    }
    int bad = firstUnstorable(id);
    if (bad >= 0) {
      return "contains " + describe(id.charAt(bad)) + " at index " + bad;
    }
    if (id.length() > MAX_ID_LENGTH) {
      return "is " + id.length() + " characters long, more than " + MAX_ID_LENGTH;
    }
    return null;
  }

  /**
   * Checks that a store can keep an id: what a store's {@code ingest} does with each record's.
   *
   * @throws NullPointerException if the id is null
   * @throws IllegalArgumentException if it cannot ({@link #idProblem})
   */
  public static void checkId(String id) {
    String problem = idProblem(id);
    if (problem != null) {
      String shown = escape(id, 200);
      throw new IllegalArgumentException(
          "record id '"
              + shown
              + (shown.length() < escape(id).length() ? "...(cut)" : "")
              + "' cannot be stored: it "
              + problem
              + "; a record id is at most "
              + MAX_ID_LENGTH
              + " characters without NUL (U+0000) or unpaired surrogates (the engine ingests such"
              + " a record under StorableText.storableId(id), as a dead letter)");
    }
  }

  /**
   * The id itself if a store can keep it; otherwise an id derived from it that a store can keep:
   * its escaped form, cut to fit, then {@code #} and 32 hex digits of its SHA-256 (so two ids that
   * escape alike still differ). The same id always gives the same result, so a record with an unfit
   * id is a duplicate of itself on a rerun.
   *
   * @throws NullPointerException if the id is null
   */
  public static String storableId(String id) {
    if (idProblem(id) == null) {
      return id;
    }
    byte[] digest;
    try {
      digest = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_16BE));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
    String hash = HexFormat.of().formatHex(digest).substring(0, HASH_CHARS);
    return escape(id, MAX_ID_LENGTH - HASH_CHARS - 1) + "#" + hash;
  }

  /**
   * Text with NUL and unpaired surrogates escaped as {@code \}{@code uXXXX} (see above); the text
   * itself when it has nothing to escape.
   *
   * @throws NullPointerException if the text is null
   */
  public static String escape(String text) {
    return escape(text, Integer.MAX_VALUE);
  }

  /**
   * As {@link #escape(String)}, cut to at most {@code maxLength} characters, never inside an escape
   * or a surrogate pair (a cut text does not unescape to a prefix of the original if the cut falls
   * in a run of doubled backslashes).
   *
   * @throws NullPointerException if the text is null
   * @throws IllegalArgumentException if {@code maxLength} is negative
   */
  public static String escape(String text, int maxLength) {
    Objects.requireNonNull(text, "text cannot be null");
    if (maxLength < 0) {
      throw new IllegalArgumentException("maxLength cannot be negative, was " + maxLength);
    }
    if (!needsEscape(text)) {
      return cut(text, maxLength);
    }
    int n = text.length();
    StringBuilder out = new StringBuilder(Math.min(n + 16, maxLength));
    int i = 0;
    while (i < n) {
      char c = text.charAt(i);
      String unit;
      int used = 1;
      if (c == '\\') {
        int end = i;
        while (end < n && text.charAt(end) == '\\') {
          end++;
        }
        used = end - i;
        boolean beforeEscape = end < n && (text.charAt(end) == 'u' || unstorableAt(text, end));
        unit = "\\".repeat(beforeEscape ? 2 * used : used);
      } else if (unstorableAt(text, i)) {
        unit = String.format(java.util.Locale.ROOT, "\\u%04x", (int) c);
      } else if (Character.isHighSurrogate(c)) {
        unit = text.substring(i, i + 2); // a pair, or unstorableAt would have said so
        used = 2;
      } else {
        unit = String.valueOf(c);
      }
      if (out.length() + unit.length() > maxLength) {
        break;
      }
      out.append(unit);
      i += used;
    }
    return out.toString();
  }

  /**
   * The original of text written by {@link #escape(String)}. Text that has no escape is returned as
   * it is.
   *
   * @throws NullPointerException if the text is null
   */
  public static String unescape(String text) {
    Objects.requireNonNull(text, "text cannot be null");
    if (text.indexOf('\\') < 0) {
      return text;
    }
    int n = text.length();
    StringBuilder out = new StringBuilder(n);
    int i = 0;
    while (i < n) {
      char c = text.charAt(i);
      if (c != '\\') {
        out.append(c);
        i++;
        continue;
      }
      int end = i;
      while (end < n && text.charAt(end) == '\\') {
        end++;
      }
      int run = end - i;
      if (end < n && text.charAt(end) == 'u') {
        if (run % 2 == 0) {
          out.repeat('\\', run / 2); // the 'u' follows as itself
          i = end;
          continue;
        }
        int code = hex4(text, end + 1);
        if (code >= 0) {
          out.repeat('\\', run / 2).append((char) code);
          i = end + 5;
          continue;
        }
      }
      out.repeat('\\', run); // not an escape of ours
      i = end;
    }
    return out.toString();
  }

  private static boolean needsEscape(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if ((c == 0 || Character.isSurrogate(c)) && unstorableAt(text, i)) {
        return true;
      }
      if (c == '\\' && i + 1 < text.length() && text.charAt(i + 1) == 'u') {
        return true;
      }
    }
    return false;
  }

  /** The index of the first NUL or unpaired surrogate, or -1. */
  private static int firstUnstorable(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == 0 || Character.isSurrogate(c)) {
        if (unstorableAt(text, i)) {
          return i;
        }
        if (Character.isHighSurrogate(c)) {
          i++; // its pair
        }
      }
    }
    return -1;
  }

  /** Whether the character at {@code i} is NUL or an unpaired surrogate. */
  private static boolean unstorableAt(String text, int i) {
    char c = text.charAt(i);
    if (c == 0) {
      return true;
    }
    if (Character.isHighSurrogate(c)) {
      return i + 1 >= text.length() || !Character.isLowSurrogate(text.charAt(i + 1));
    }
    if (Character.isLowSurrogate(c)) {
      return i == 0 || !Character.isHighSurrogate(text.charAt(i - 1));
    }
    return false;
  }

  private static String describe(char c) {
    return c == 0
        ? "NUL (U+0000)"
        : String.format(java.util.Locale.ROOT, "an unpaired surrogate (U+%04X)", (int) c);
  }

  private static int hex4(String text, int from) {
    if (from + 4 > text.length()) {
      return -1;
    }
    int value = 0;
    for (int i = from; i < from + 4; i++) {
      int digit = Character.digit(text.charAt(i), 16);
      if (digit < 0) {
        return -1;
      }
      value = value * 16 + digit;
    }
    return value;
  }

  private static String cut(String text, int maxLength) {
    if (text.length() <= maxLength) {
      return text;
    }
    int end = maxLength;
    if (end > 0 && Character.isHighSurrogate(text.charAt(end - 1))) {
      end--; // keep the pair whole: half of one would be unstorable
    }
    return text.substring(0, end);
  }
}
