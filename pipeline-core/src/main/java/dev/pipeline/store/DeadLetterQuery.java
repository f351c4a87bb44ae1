package dev.pipeline.store;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Which dead letters to list: by stage, error type and time, a page at a time, oldest first.
 *
 * <p>Immutable and thread-safe; every method returns a new query.
 */
public final class DeadLetterQuery {
  /** Page size unless set. */
  public static final int DEFAULT_LIMIT = 100;

  private final @Nullable String stage;
  private final @Nullable String errorType;
  private final @Nullable Instant since;
  private final int limit;
  private final @Nullable String after;

  private DeadLetterQuery(
      @Nullable String stage,
      @Nullable String errorType,
      @Nullable Instant since,
      int limit,
      @Nullable String after) {
    this.stage = stage;
    this.errorType = errorType;
    this.since = since;
    this.limit = limit;
    this.after = after;
  }

  /** All dead letters, the first page. */
  public static DeadLetterQuery all() {
    return new DeadLetterQuery(null, null, null, DEFAULT_LIMIT, null);
  }

  /** Dead letters of one stage. */
  public static DeadLetterQuery stage(String stage) {
    return all().andStage(stage);
  }

  /** Narrows to one stage. */
  public DeadLetterQuery andStage(String stage) {
    return new DeadLetterQuery(
        Objects.requireNonNull(stage, "stage cannot be null"), errorType, since, limit, after);
  }

  /** Narrows to one error type (the exception's simple class name, e.g. "TimeoutException"). */
  public DeadLetterQuery errorType(String errorType) {
    return new DeadLetterQuery(
        stage, Objects.requireNonNull(errorType, "errorType cannot be null"), since, limit, after);
  }

  /** Narrows to dead letters made at or after this instant. */
  public DeadLetterQuery since(Instant since) {
    return new DeadLetterQuery(
        stage, errorType, Objects.requireNonNull(since, "since cannot be null"), limit, after);
  }

  /**
   * Sets the page size.
   *
   * @throws IllegalArgumentException if not between 1 and 10,000
   */
  public DeadLetterQuery limit(int limit) {
    if (limit < 1 || limit > 10_000) {
      throw new IllegalArgumentException("limit must be between 1 and 10000, was " + limit);
    }
    return new DeadLetterQuery(stage, errorType, since, limit, after);
  }

  /** The same query from its first page. */
  public DeadLetterQuery firstPage() {
    return new DeadLetterQuery(stage, errorType, since, limit, null);
  }

  /** The next page: dead letters after the given cursor ({@link Page#nextCursor()}). */
  public DeadLetterQuery after(String cursor) {
    return new DeadLetterQuery(
        stage, errorType, since, limit, Objects.requireNonNull(cursor, "cursor cannot be null"));
  }

  /** The stage, or null for any. */
  public @Nullable String stage() {
    return stage;
  }

  /** The error type, or null for any. */
  public @Nullable String errorType() {
    return errorType;
  }

  /** The earliest time, or null for any. */
  public @Nullable Instant since() {
    return since;
  }

  /** The page size. */
  public int limit() {
    return limit;
  }

  /** The cursor after which the page starts, or null for the first page. */
  public @Nullable String after() {
    return after;
  }

  /** Whether a dead letter matches the filters (not the paging). */
  public boolean matches(DeadLetter deadLetter) {
    return (stage == null || stage.equals(deadLetter.stage()))
        && (errorType == null || errorType.equals(deadLetter.lastError().errorType()))
        && (since == null || !deadLetter.deadLetteredAt().isBefore(since));
  }

  @Override
  public String toString() {
    return "DeadLetterQuery[stage="
        + stage
        + ", errorType="
        + errorType
        + ", since="
        + since
        + ", limit="
        + limit
        + ", after="
        + after
        + "]";
  }
}
