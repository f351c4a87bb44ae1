package dev.pipeline.store;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.event.Level;

/**
 * One line of a pipeline's audit trail: what a stage logged through {@code StageContext.logger()},
 * or what the engine decided about a record (a retry scheduled, a record parked, a circuit opened,
 * a record dead-lettered, reprocessed or discarded).
 *
 * <p>The texts come from stages and from records: they are cut to {@link #MAX_MESSAGE_CHARS} (the
 * metadata's keys and values to {@link #MAX_METADATA_CHARS}, NUL and lone surrogates written as
 * {@code \}{@code uXXXX}) and never interpreted; a page that shows them must escape them.
 *
 * @param id the store's sequence number of the entry, increasing in the order entries were written;
 *     0 for an entry not stored yet
 * @param at when it happened, on the pipeline's clock
 * @param pipeline the pipeline's name
 * @param stage the stage, {@code "sink"} for the sink, or null for the pipeline as a whole
 * @param recordId the record it is about, or null (a circuit's transition, a batch call's line)
 * @param level its level
 * @param event what kind of line it is: {@link #STAGE_LOG} for a stage's own line, else the
 *     engine's decision (e.g. {@code "retry-scheduled"}, {@code "dead-lettered"})
 * @param message the line, bounded
 * @param metadata facts as key-value pairs (the error type, the attempt, who discarded and why),
 *     stored as a JSON object
 */
public record AuditEntry(
    long id,
    Instant at,
    String pipeline,
    @Nullable String stage,
    @Nullable String recordId,
    Level level,
    String event,
    String message,
    Map<String, String> metadata) {

  /** The event of a line a stage logged itself. */
  public static final String STAGE_LOG = "stage-log";

  /** The longest message kept, in characters; a longer one is cut with the cut said. */
  public static final int MAX_MESSAGE_CHARS = 2_000;

  /** The longest metadata key or value kept, in characters. */
  public static final int MAX_METADATA_CHARS = 500;

  /** The most metadata entries kept. */
  public static final int MAX_METADATA_ENTRIES = 16;

  /**
   * Checks the components and bounds the texts.
   *
   * @throws NullPointerException if a component other than the stage and record id is null
   */
  public AuditEntry {
    Objects.requireNonNull(at, "at cannot be null");
    Objects.requireNonNull(pipeline, "pipeline cannot be null");
    Objects.requireNonNull(level, "level cannot be null");
    Objects.requireNonNull(event, "event cannot be null");
    Objects.requireNonNull(message, "message cannot be null");
    Objects.requireNonNull(metadata, "metadata cannot be null");
    message = storable(message, MAX_MESSAGE_CHARS);
    metadata = bounded(metadata);
    recordId = recordId == null ? null : StorableText.storableId(recordId);
  }

  /**
   * Text cut to {@code max} characters (never inside a surrogate pair) with NUL and unpaired
   * surrogates written as {@code \}{@code uXXXX}: storable in every database, and the same when
   * made again from what was stored (it is for people to read, not to be read back exactly).
   */
  static String storable(String text, int max) {
    int n = text.length();
    boolean clean = n <= max;
    for (int i = 0; clean && i < n; i++) {
      char c = text.charAt(i);
      clean = c != 0 && !Character.isSurrogate(c);
    }
    if (clean) {
      return text;
    }
    StringBuilder out = new StringBuilder(Math.min(n, max) + 16);
    for (int i = 0; i < n; i++) {
      char c = text.charAt(i);
      String unit;
      if (Character.isHighSurrogate(c)
          && i + 1 < n
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        unit = text.substring(i, i + 2);
      } else if (c == 0 || Character.isSurrogate(c)) {
        unit = String.format(java.util.Locale.ROOT, "\\u%04x", (int) c);
      } else {
        unit = String.valueOf(c);
      }
      if (out.length() + unit.length() > max) {
        break;
      }
      out.append(unit);
      i += unit.length() == 2 && Character.isHighSurrogate(c) ? 1 : 0;
    }
    return out.toString();
  }

  private static Map<String, String> bounded(Map<String, String> metadata) {
    Map<String, String> kept = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      if (kept.size() == MAX_METADATA_ENTRIES) {
        break;
      }
      kept.put(
          storable(Objects.requireNonNull(e.getKey()), MAX_METADATA_CHARS),
          storable(Objects.requireNonNull(e.getValue()), MAX_METADATA_CHARS));
    }
    return Collections.unmodifiableMap(kept);
  }

  /** The same entry with the store's sequence number. */
  public AuditEntry withId(long id) {
    return new AuditEntry(id, at, pipeline, stage, recordId, level, event, message, metadata);
  }
}
