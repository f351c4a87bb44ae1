package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.SafeText;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.Page;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * A search of a pipeline's dead letters by stage, error type, time and text. Stage, error type and
 * the start of the time range go to the store's query; the end of the range and the text (found in
 * the record id, the payload's first {@value #MAX_PAYLOAD_SEARCHED} characters or any error's type
 * or message, ignoring case) are matched here, over at most {@link #MAX_SCANNED} dead letters per
 * request, and the result says when it stopped there.
 *
 * @param stage the failing stage, or null for any
 * @param errorType the last error's type, or null for any
 * @param since the earliest time, or null
 * @param until the latest time, or null
 * @param text text to find, or null
 * @param limit the most results per page
 * @param after the store's cursor to start after, or null
 * @param masked whether the text is looked for in the payload with its secrets masked, as a viewer
 *     sees it (so that a viewer cannot guess a secret by searching for it)
 */
record DeadLetterSearch(
    @Nullable String stage,
    @Nullable String errorType,
    @Nullable Instant since,
    @Nullable Instant until,
    @Nullable String text,
    int limit,
    @Nullable String after,
    boolean masked) {

  /** The most dead letters read from the store for one page of results. */
  static final int MAX_SCANNED = 10_000;

  /** The most dead letters one bulk action changes. */
  static final int MAX_ACTION = 100_000;

  /** The characters of a payload (as text) that a search reads. */
  static final int MAX_PAYLOAD_SEARCHED = 16_384;

  /** The longest search text. */
  static final int MAX_TEXT = 200;

  /**
   * @param masked whether the payload is searched with its secrets masked (for a viewer)
   */
  static DeadLetterSearch of(Params params, boolean masked) {
    String text = params.get("text");
    if (text != null && text.length() > MAX_TEXT) {
      throw new BadRequestException("the search text is longer than " + MAX_TEXT + " characters");
    }
    String stage = params.get("stage");
    if (stage != null && stage.length() > 63) {
      throw new BadRequestException("no stage has a name that long");
    }
    String type = params.get("type");
    if (type != null && type.length() > 200) {
      throw new BadRequestException("no error type has a name that long");
    }
    return new DeadLetterSearch(
        stage,
        type,
        params.instant("since"),
        params.instant("until"),
        text,
        params.integer("limit", 1, 500, 50),
        params.get("after"),
        masked);
  }

  /** Whether only the store's own query is needed (no text, no end of range). */
  boolean storeOnly() {
    return text == null && until == null;
  }

  DeadLetterQuery query(int pageSize) {
    DeadLetterQuery query = DeadLetterQuery.all().limit(pageSize);
    if (stage != null) {
      query = query.andStage(stage);
    }
    if (errorType != null) {
      query = query.errorType(errorType);
    }
    if (since != null) {
      query = query.since(since);
    }
    return query;
  }

  /** One page of results and where the next starts. */
  record Result(List<DeadLetter> items, @Nullable String next, int scanned, boolean cut) {}

  Result find(Pipeline<?, ?> pipeline) {
    return scan(pipeline, limit, MAX_SCANNED, after);
  }

  /** The ids of every match, at most {@code max}, for a bulk action. */
  Result ids(Pipeline<?, ?> pipeline, int max) {
    return scan(pipeline, max, MAX_ACTION * 4, null);
  }

  /**
   * Reads the store's pages until {@code want} matches are found, a page always read whole (the
   * store's cursors are opaque, so a page can only be left at its end): a page of results may hold
   * a little more than {@code want}.
   */
  private Result scan(Pipeline<?, ?> pipeline, int want, int maxScanned, @Nullable String start) {
    int pageSize = storeOnly() ? Math.min(want, 10_000) : 500;
    DeadLetterQuery query = query(pageSize);
    if (start != null) {
      query = query.after(start);
    }
    List<DeadLetter> found = new ArrayList<>();
    int scanned = 0;
    while (true) {
      Page<DeadLetter> page;
      try {
        page = pipeline.deadLetters().find(query);
      } catch (IllegalArgumentException e) {
        // the only outside input the store parses is the cursor
        throw new BadRequestException("'after' is not a cursor of this list: start again");
      }
      for (DeadLetter letter : page.items()) {
        scanned++;
        if (until != null && letter.deadLetteredAt().isAfter(until)) {
          return new Result(found, null, scanned, false); // oldest first: none later matches
        }
        if (matches(letter)) {
          found.add(letter);
        }
      }
      String cursor = page.nextCursor();
      if (cursor == null) {
        return new Result(found, null, scanned, false);
      }
      if (found.size() >= want) {
        return new Result(found, cursor, scanned, false);
      }
      if (scanned >= maxScanned) {
        return new Result(found, cursor, scanned, true);
      }
      query = query.after(cursor);
    }
  }

  boolean matches(DeadLetter letter) {
    if (text == null) {
      return true;
    }
    String needle = text.toLowerCase(Locale.ROOT);
    if (letter.recordId().toLowerCase(Locale.ROOT).contains(needle)) {
      return true;
    }
    String payload = RecordPage.payload(letter.record().payload());
    if (payload.length() > MAX_PAYLOAD_SEARCHED) {
      payload = payload.substring(0, MAX_PAYLOAD_SEARCHED);
    }
    boolean found = payload.toLowerCase(Locale.ROOT).contains(needle);
    if (masked && (found || needle.contains(SafeText.MASK))) {
      // masked only where it may decide (masking costs about 4 ns a character)
      found = SafeText.masked(payload).toLowerCase(Locale.ROOT).contains(needle);
    }
    if (found) {
      return true;
    }
    for (ErrorInfo error : letter.errors()) {
      if (error.errorType().toLowerCase(Locale.ROOT).contains(needle)
          || error.message().toLowerCase(Locale.ROOT).contains(needle)) {
        return true;
      }
    }
    return false;
  }
}
