package dev.pipeline.store;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What happened to one record at one stage (or at the sink, stage {@code "sink"}), as kept by a
 * pipeline's lineage (see {@code PipelineBuilder.lineage}). Text from records (ids, metadata, error
 * messages) is escaped and cut to the bounds below before it is kept.
 *
 * <p>The hashes are 64-bit FNV-1a hashes of the payload's content, taken without making it into
 * text: a text payload's hash is that of its UTF-16 characters (each character's low byte, then its
 * high byte), a text inside another value by its length and characters; numbers, booleans, enum
 * constants (by name) and instants count by their value; records by their type's name and their
 * components in order (a record inside another value by its own hash); lists and arrays by their
 * elements in order; sets and maps by their elements whatever their order; anything else by the
 * text of {@code String.valueOf(payload)}. Equal hashes of an input and an output mean the stage
 * most likely left the payload as it was, and equal hashes in two runs mean the same content. They
 * are fingerprints, not proofs.
 *
 * @param recordId the record's id
 * @param stage the stage's name, or {@code "sink"}
 * @param outcome how the record left the stage
 * @param enteredAt when the worker took the batch holding the record
 * @param leftAt when the worker handed the batch on
 * @param attempts the attempts made at the stage (1 unless it was retried)
 * @param inputHash the hash of the payload that entered the stage
 * @param outputHash the hash of the payload that left it (null if none did)
 * @param sourceId the id of the source the record came from, if tagged
 * @param parentId the id of the record it was split from, if any (of a merged record: the record
 *     whose children it joins)
 * @param children the number of records it was split into here (0 unless {@code SPLIT})
 * @param branch the branch or implementation it took here ({@code key=value} of its {@code
 *     branch.*} and {@code implementation.<stage>} metadata, comma-separated), if any
 * @param verdicts the rule verdicts given to it here (its {@code quality.violations} metadata, when
 *     the stage changed it), if any
 * @param detail the filter reason, or the last error ({@code Type: message}), if any
 * @param position where the record stood in its source ({@code SeekableSource.position()} after it
 *     was read), on the record's first event only, if its source is seekable and the store durable
 */
public record LineageEvent(
    String recordId,
    String stage,
    LineageOutcome outcome,
    Instant enteredAt,
    Instant leftAt,
    int attempts,
    long inputHash,
    @Nullable Long outputHash,
    @Nullable String sourceId,
    @Nullable String parentId,
    int children,
    @Nullable String branch,
    @Nullable String verdicts,
    @Nullable String detail,
    @Nullable String position) {

  /** The longest id (record, source or parent) kept, in characters. */
  public static final int MAX_ID = StorableText.MAX_ID_LENGTH;

  /** The longest branch, verdicts or detail text kept, in characters. */
  public static final int MAX_TEXT = 2_000;

  /** The longest source position kept, in characters. */
  public static final int MAX_POSITION = 1_000;

  /**
   * Checks and bounds the event's values.
   *
   * @throws NullPointerException if a value that cannot be null is
   * @throws IllegalArgumentException if attempts is below 1 or children below 0
   */
  public LineageEvent {
    recordId = StorableText.escape(Objects.requireNonNull(recordId, "recordId"), MAX_ID);
    Objects.requireNonNull(stage, "stage");
    Objects.requireNonNull(outcome, "outcome");
    Objects.requireNonNull(enteredAt, "enteredAt");
    Objects.requireNonNull(leftAt, "leftAt");
    if (attempts < 1 || children < 0) {
      throw new IllegalArgumentException(
          "attempts must be at least 1 and children at least 0, were "
              + attempts
              + " and "
              + children);
    }
    sourceId = bound(sourceId, MAX_ID);
    parentId = bound(parentId, MAX_ID);
    branch = bound(branch, MAX_TEXT);
    verdicts = bound(verdicts, MAX_TEXT);
    detail = bound(detail, MAX_TEXT);
    position = bound(position, MAX_POSITION);
  }

  /** An event without a source position (every event but a record's first). */
  public LineageEvent(
      String recordId,
      String stage,
      LineageOutcome outcome,
      Instant enteredAt,
      Instant leftAt,
      int attempts,
      long inputHash,
      @Nullable Long outputHash,
      @Nullable String sourceId,
      @Nullable String parentId,
      int children,
      @Nullable String branch,
      @Nullable String verdicts,
      @Nullable String detail) {
    this(
        recordId,
        stage,
        outcome,
        enteredAt,
        leftAt,
        attempts,
        inputHash,
        outputHash,
        sourceId,
        parentId,
        children,
        branch,
        verdicts,
        detail,
        null);
  }

  private static @Nullable String bound(@Nullable String text, int max) {
    return text == null ? null : StorableText.escape(text, max);
  }
}
