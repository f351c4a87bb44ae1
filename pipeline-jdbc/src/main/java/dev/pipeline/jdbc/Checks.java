package dev.pipeline.jdbc;

import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.StorableText;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The checks of names a {@link JdbcPipelineStore} is given, and the form text takes when it is
 * stored and read back.
 */
final class Checks {
  // the longest name stored: pipelines, stages, codecs, error types
  static final int MAX_NAME = 200;

  private Checks() {}

  static void checkPipeline(String pipeline) {
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    checkName("pipeline", pipeline);
  }

  static void checkName(String what, String name) {
    if (name.length() > MAX_NAME) {
      throw new IllegalArgumentException(
          what + " name longer than " + MAX_NAME + " characters: " + Names.quote(name));
    }
    String problem = StorableText.idProblem(name);
    if (problem != null) {
      throw new IllegalArgumentException(
          what + " name " + Names.quote(name) + " cannot be stored: it " + problem);
    }
  }

  /**
   * Text as stored: NUL and unpaired surrogates escaped ({@link StorableText#escape(String, int)}:
   * PostgreSQL refuses the one and UTF-8 has no form for the other; H2 stores the same text, so
   * every database reads back alike), cut to {@code max} characters.
   */
  static String cut(String text, int max) {
    return StorableText.escape(text, max);
  }

  /**
   * Error text as stored: cut to {@code max} characters with the cut said ({@link ErrorText#cut}),
   * then escaped as {@link #cut} escapes it (which may lengthen it, never unboundedly).
   */
  static String storedText(String text, int max) {
    return StorableText.escape(ErrorText.cut(text, max));
  }

  /** Stored text read back: the original of what {@link #cut} escaped. */
  static @Nullable String uncut(@Nullable String text) {
    return text == null ? null : StorableText.unescape(text);
  }

  /**
   * An exception's message for an error text of ours: total (a {@code getMessage()} that throws
   * gives a note, not a second failure), secrets masked, cut to {@code max} characters and escaped
   * for one line. The exception may be a user's mapper's, or carry a driver's text of a row.
   */
  static String causeText(Throwable e, int max) {
    return ErrorText.escape(ErrorText.redacted(ErrorText.defaults().message(e), max));
  }

  static final int MAX_MESSAGE = 100_000;

  static final int MAX_LAST_ERROR = 2_000;
}
