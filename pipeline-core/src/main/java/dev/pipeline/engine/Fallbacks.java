package dev.pipeline.engine;

import dev.pipeline.StageContext;
import dev.pipeline.StageException;
import dev.pipeline.resilience.Fallback;
import org.jspecify.annotations.Nullable;

/** The fallback policy's rules, one place for the engine and the test kit. */
public final class Fallbacks {
  private Fallbacks() {}

  /**
   * What a fallback made of a record the stage gave up on: its output, or the error that sends it
   * to the dead letter queue after all.
   *
   * @param output the output (the input itself for {@link Fallback#skip()})
   * @param error why the fallback made no output: what its function threw, or its null
   * @param thrown whether the function threw (rather than returned null)
   */
  public record Made(@Nullable Object output, @Nullable Throwable error, boolean thrown) {}

  /** Whether the fallback lets records pass the stage (skip or a function), marked degraded. */
  public static boolean degrades(Fallback<?, ?> fallback) {
    return fallback instanceof Fallback.Skip || fallback instanceof Fallback.With<?, ?>;
  }

  /**
   * Applies a skip or function fallback to a record the stage could not process.
   *
   * @param fallback the stage's fallback; {@link #degrades} must hold
   * @param stage the stage's name
   * @param recordId the record
   * @param input its payload as it entered the stage
   * @param cause its last error, or the open circuit's refusal
   * @param context a context for the function, reset to the record
   */
  @SuppressWarnings("unchecked")
  public static Made apply(
      Fallback<?, ?> fallback,
      String stage,
      String recordId,
      Object input,
      Throwable cause,
      StageContext context) {
    if (!(fallback instanceof Fallback.With<?, ?> with)) {
      return new Made(input, null, false);
    }
    Object output;
    try {
      output = ((Fallback.Function<Object, Object>) with.function()).apply(input, cause, context);
    } catch (Throwable thrown) {
      return new Made(null, thrown, true);
    }
    if (output == null) {
      return new Made(
          null,
          new StageException(
              stage,
              recordId,
              "the fallback of stage '"
                  + stage
                  + "' returned null for record '"
                  + recordId
                  + "'; return a value or throw"),
          false);
    }
    return new Made(output, null, false);
  }

  /** How a {@link #degradedMark} too long to name every stage ends. */
  static final String MORE = ",...";

  /**
   * The {@link Fallback#DEGRADED} mark of a record that skipped {@code stage}, after {@code
   * earlier}: within {@link StageContext#MAX_METADATA_VALUE_CHARS}, so a record that degraded at
   * more stages than the mark can name still goes on, its mark ending in {@value #MORE}.
   */
  public static String degradedMark(@Nullable String earlier, String stage) {
    if (earlier == null) {
      return stage;
    }
    if (earlier.endsWith(MORE) && earlier.length() <= StageContext.MAX_METADATA_VALUE_CHARS) {
      return earlier; // full already; one longer came from outside (a row edited by hand): cut
    }
    int room = StageContext.MAX_METADATA_VALUE_CHARS - MORE.length();
    if (earlier.length() + 1 + stage.length() <= room) {
      return earlier + "," + stage;
    }
    int cut = Math.min(earlier.length(), room);
    if (cut < earlier.length() && Character.isHighSurrogate(earlier.charAt(cut - 1))) {
      cut--; // a source's mark may hold any text: never half a character
    }
    return earlier.substring(0, cut) + MORE;
  }
}
