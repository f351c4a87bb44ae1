package dev.pipeline.store;

import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.event.Level;

/**
 * Which lines of a pipeline's audit trail to list: by record, stage, least level, time and text, a
 * page at a time, oldest first.
 *
 * <pre>{@code
 * Page<AuditEntry> page = pipeline.auditTrail(AuditQuery.all().recordId("order-17"));
 * }</pre>
 *
 * <p>Immutable and thread-safe; every method returns a new query.
 */
public final class AuditQuery {
  /** Page size unless set. */
  public static final int DEFAULT_LIMIT = 100;

  /** The largest page. */
  public static final int MAX_LIMIT = 10_000;

  /** The longest text searched for, in characters. */
  public static final int MAX_TEXT_CHARS = 200;

  private final @Nullable String recordId;
  private final @Nullable String stage;
  private final Level atLeast;
  private final @Nullable Instant from;
  private final @Nullable Instant to;
  private final @Nullable String text;
  private final int limit;
  private final long after;

  private AuditQuery(
      @Nullable String recordId,
      @Nullable String stage,
      Level atLeast,
      @Nullable Instant from,
      @Nullable Instant to,
      @Nullable String text,
      int limit,
      long after) {
    this.recordId = recordId;
    this.stage = stage;
    this.atLeast = atLeast;
    this.from = from;
    this.to = to;
    this.text = text;
    this.limit = limit;
    this.after = after;
  }

  /** Every line, the first page. */
  public static AuditQuery all() {
    return new AuditQuery(null, null, Level.TRACE, null, null, null, DEFAULT_LIMIT, 0);
  }

  /** Narrows to the lines about one record. */
  public AuditQuery recordId(String recordId) {
    Objects.requireNonNull(recordId, "recordId cannot be null");
    return new AuditQuery(
        StorableText.storableId(recordId), stage, atLeast, from, to, text, limit, after);
  }

  /** Narrows to one stage ({@code "sink"} for the sink). */
  public AuditQuery stage(String stage) {
    Objects.requireNonNull(stage, "stage cannot be null");
    return new AuditQuery(recordId, stage, atLeast, from, to, text, limit, after);
  }

  /** Narrows to lines of this level or a more severe one ({@code WARN} takes WARN and ERROR). */
  public AuditQuery atLeast(Level level) {
    Objects.requireNonNull(level, "level cannot be null");
    return new AuditQuery(recordId, stage, level, from, to, text, limit, after);
  }

  /**
   * Narrows to lines from {@code from} (inclusive) to {@code to} (exclusive).
   *
   * @throws IllegalArgumentException if {@code to} is before {@code from}
   */
  public AuditQuery between(Instant from, Instant to) {
    Objects.requireNonNull(from, "from cannot be null");
    Objects.requireNonNull(to, "to cannot be null");
    if (to.isBefore(from)) {
      throw new IllegalArgumentException(
          "the end of the time range (" + to + ") is before its start (" + from + ")");
    }
    return new AuditQuery(recordId, stage, atLeast, from, to, text, limit, after);
  }

  /**
   * Narrows to lines whose message holds this text, ignoring case (searched as plain text, never as
   * a pattern).
   *
   * @throws IllegalArgumentException if blank or longer than {@value #MAX_TEXT_CHARS} characters
   */
  public AuditQuery containing(String text) {
    Objects.requireNonNull(text, "text cannot be null");
    if (text.isBlank() || text.length() > MAX_TEXT_CHARS) {
      throw new IllegalArgumentException(
          "the text to search for must hold 1 to "
              + MAX_TEXT_CHARS
              + " characters and not be blank, had "
              + text.length());
    }
    return new AuditQuery(recordId, stage, atLeast, from, to, text, limit, after);
  }

  /**
   * Sets the page size.
   *
   * @throws IllegalArgumentException if not between 1 and {@value #MAX_LIMIT}
   */
  public AuditQuery limit(int limit) {
    if (limit < 1 || limit > MAX_LIMIT) {
      throw new IllegalArgumentException(
          "limit must be between 1 and " + MAX_LIMIT + ", was " + limit);
    }
    return new AuditQuery(recordId, stage, atLeast, from, to, text, limit, after);
  }

  /**
   * The next page: lines after the given cursor ({@link Page#nextCursor()}).
   *
   * @throws IllegalArgumentException if the cursor is not one a page of the audit trail gave
   */
  public AuditQuery after(String cursor) {
    Objects.requireNonNull(cursor, "cursor cannot be null");
    long id;
    try {
      id = Long.parseLong(cursor);
    } catch (NumberFormatException e) {
      id = -1;
    }
    if (id < 0) {
      throw new IllegalArgumentException(
          "'"
              + StorableText.escape(cursor, 40)
              + "' is not a cursor of the audit trail; pass the nextCursor() of a page");
    }
    return new AuditQuery(recordId, stage, atLeast, from, to, text, limit, id);
  }

  /** The record id, or null for any. */
  public @Nullable String recordId() {
    return recordId;
  }

  /** The stage, or null for any. */
  public @Nullable String stage() {
    return stage;
  }

  /** The least level; {@code TRACE} for any. */
  public Level atLeast() {
    return atLeast;
  }

  /** The start of the time range (inclusive), or null for no start. */
  public @Nullable Instant from() {
    return from;
  }

  /** The end of the time range (exclusive), or null for no end. */
  public @Nullable Instant to() {
    return to;
  }

  /** The text searched for, or null for any. */
  public @Nullable String text() {
    return text;
  }

  /** The page size. */
  public int limit() {
    return limit;
  }

  /** The sequence number after which the page starts; 0 for the first page. */
  public long afterId() {
    return after;
  }

  /** Whether an entry matches the filters (the cursor included, the page size not). */
  public boolean matches(AuditEntry entry) {
    return entry.id() > after
        && (recordId == null || recordId.equals(entry.recordId()))
        && (stage == null || stage.equals(entry.stage()))
        && entry.level().toInt() >= atLeast.toInt()
        && (from == null || !entry.at().isBefore(from))
        && (to == null || entry.at().isBefore(to))
        && (text == null
            || entry.message().toLowerCase(Locale.ROOT).contains(text.toLowerCase(Locale.ROOT)));
  }

  @Override
  public String toString() {
    return "AuditQuery[recordId="
        + recordId
        + ", stage="
        + stage
        + ", atLeast="
        + atLeast
        + ", from="
        + from
        + ", to="
        + to
        + ", text="
        + text
        + ", limit="
        + limit
        + ", after="
        + after
        + "]";
  }
}
