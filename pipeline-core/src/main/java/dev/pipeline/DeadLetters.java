package dev.pipeline;

import dev.pipeline.engine.run.Telemetry;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.Page;
import dev.pipeline.store.PipelineStore;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.event.Level;

/**
 * A pipeline's dead letter queue: the records that failed for good, each with its payload as it
 * entered the failing stage (on a durable store without a codec for that input, as it entered an
 * earlier stage: see {@link DeadLetter} for the rule and {@link DeadLetter#payload(Class)}), every
 * error it met and its attempts. Find them, send them back to be processed again once the cause is
 * fixed, or give up on them with a reason.
 *
 * <p>Records sent back are processed by the pipeline's next (or current) run, from the stage that
 * failed them; {@link Pipeline#resume()} runs just them. Sending back is idempotent: a record is
 * sent back once however many calls name it at once, so two operators clicking "reprocess" do not
 * process it twice. On the JDBC store all of this survives restarts.
 *
 * <p>Thread-safe.
 */
public final class DeadLetters {
  /** Records sent back or discarded per call to the store in the bulk operations. */
  static final int CHUNK = 500;

  private final String pipeline;
  private final PipelineStore store;
  private final PipelineClock clock;
  private final Telemetry telemetry;

  /** Who acts when a caller does not say: the application, through this API. */
  public static final String APPLICATION = "application";

  /** The longest name of who acts that the audit trail keeps. */
  public static final int MAX_ACTOR_CHARS = 200;

  DeadLetters(String pipeline, PipelineStore store, PipelineClock clock, Telemetry telemetry) {
    this.pipeline = pipeline;
    this.store = store;
    this.clock = clock;
    this.telemetry = telemetry;
  }

  /**
   * One page of dead letters matching the query, oldest first; pass {@link Page#nextCursor()} to
   * {@link DeadLetterQuery#after(String)} for the next page.
   */
  public Page<DeadLetter> find(DeadLetterQuery query) {
    return store.deadLetters(pipeline, Objects.requireNonNull(query, "query cannot be null"));
  }

  /**
   * Sends dead letters back to be processed again, from the stage that failed them, with a fresh
   * count of attempts. Ids that are not dead letters (unknown, already sent back, discarded) are
   * ignored.
   *
   * @return the ids sent back
   */
  public Set<String> reprocess(Collection<String> recordIds) {
    return reprocess(recordIds, APPLICATION);
  }

  /**
   * As {@link #reprocess(Collection)}, naming who sent them back (an operator's name, a tool's):
   * the audit trail keeps it with each record sent back.
   *
   * @return the ids sent back
   * @throws IllegalArgumentException if {@code by} is blank or longer than {@value
   *     #MAX_ACTOR_CHARS} characters
   */
  public Set<String> reprocess(Collection<String> recordIds, String by) {
    checkActor(by);
    Set<String> sent = store.reprocess(pipeline, checked(recordIds), clock.now());
    audit(sent, Map.of(), "reprocessed", "sent back for reprocessing by " + by, Map.of("by", by));
    return sent;
  }

  /**
   * Sends one dead letter back with a corrected payload, for a record that failed on its data: the
   * payload replaces the one the queue kept, as the input of {@link DeadLetter#payloadStage()} (of
   * that stage's input type), and the record is processed again from that stage. Does nothing if
   * the record is not (or no longer) a dead letter.
   *
   * @return whether it was sent back
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if a durable store has no codec for that stage's input or
   *     cannot encode the payload with it
   * @throws UnsupportedOperationException if the store cannot replace a payload
   */
  public boolean reprocessEdited(String recordId, Object payload) {
    return reprocessEdited(recordId, payload, APPLICATION);
  }

  /**
   * As {@link #reprocessEdited(String, Object)}, naming who edited and sent it back (an operator's
   * name, a tool's): the audit trail keeps it with the record, as an {@code "edited-reprocessed"}
   * line (the payload itself is not written there).
   *
   * @return whether it was sent back
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code by} is blank or longer than {@value
   *     #MAX_ACTOR_CHARS} characters, or a durable store has no codec for that stage's input or
   *     cannot encode the payload with it
   * @throws UnsupportedOperationException if the store cannot replace a payload
   */
  public boolean reprocessEdited(String recordId, Object payload, String by) {
    Objects.requireNonNull(recordId, "recordId cannot be null");
    Objects.requireNonNull(payload, "payload cannot be null");
    checkActor(by);
    boolean sent = store.reprocessWithPayload(pipeline, recordId, payload, clock.now());
    if (sent) {
      audit(
          Set.of(recordId),
          Map.of(),
          "edited-reprocessed",
          "payload edited and sent back for reprocessing by " + by,
          Map.of("by", by));
    }
    return sent;
  }

  /**
   * Sends back every dead letter matching the query (all pages; the query's page size sets how many
   * are read at a time).
   *
   * @return the ids sent back
   */
  public Set<String> reprocessAll(DeadLetterQuery query) {
    Objects.requireNonNull(query, "query cannot be null");
    Set<String> sent = new LinkedHashSet<>();
    // each page sent back leaves the queue, so the first page is always the next one
    DeadLetterQuery first = query.firstPage();
    while (true) {
      Page<DeadLetter> page = store.deadLetters(pipeline, first);
      if (page.items().isEmpty()) {
        return sent;
      }
      List<String> ids = page.items().stream().map(DeadLetter::recordId).toList();
      Set<String> moved = store.reprocess(pipeline, ids, clock.now());
      Map<String, String> stages = new HashMap<>();
      for (DeadLetter d : page.items()) {
        stages.put(d.recordId(), d.stage());
      }
      audit(
          moved,
          stages,
          "reprocessed",
          "sent back for reprocessing by " + APPLICATION,
          Map.of("by", APPLICATION));
      sent.addAll(moved);
      if (moved.isEmpty()) {
        // another caller is sending the same records back; continue after them
        if (page.nextCursor() == null) {
          return sent;
        }
        first = first.after(page.nextCursor());
      }
    }
  }

  /**
   * Gives up on dead letters for good, with a reason kept with each: they leave the queue as
   * discarded. Ids that are not dead letters are ignored. The reason is kept, and audited, with its
   * secrets masked as {@link SafeText#masked(String)} does.
   *
   * @return the ids discarded
   * @throws IllegalArgumentException if the reason is blank
   */
  public Set<String> discard(Collection<String> recordIds, String reason) {
    return discard(recordIds, reason, APPLICATION);
  }

  /**
   * As {@link #discard(Collection, String)}, naming who discarded them (an operator's name, a
   * tool's): the audit trail keeps it, with the reason, for each record discarded.
   *
   * @return the ids discarded
   * @throws IllegalArgumentException if the reason is blank, or {@code by} is blank or longer than
   *     {@value #MAX_ACTOR_CHARS} characters
   */
  public Set<String> discard(Collection<String> recordIds, String reason, String by) {
    Objects.requireNonNull(reason, "reason cannot be null");
    if (reason.isBlank()) {
      throw new IllegalArgumentException(
          "give a reason for discarding dead letters; it is kept with each record");
    }
    checkActor(by);
    // an operator may paste a URL or a driver's error as the reason: kept and shown masked
    String kept = SafeText.masked(reason);
    String who = SafeText.masked(by);
    Set<String> gone = store.discard(pipeline, checked(recordIds), kept, clock.now());
    audit(
        gone,
        Map.of(),
        "discarded",
        "discarded by " + who + ": " + kept,
        Map.of("by", who, "reason", kept));
    return gone;
  }

  private static void checkActor(String by) {
    Objects.requireNonNull(by, "by cannot be null");
    if (by.isBlank() || by.length() > MAX_ACTOR_CHARS) {
      throw new IllegalArgumentException(
          "name who acts in 1 to "
              + MAX_ACTOR_CHARS
              + " characters (an operator's or a tool's name), had "
              + by.length());
    }
  }

  /**
   * One line per record in the audit trail, under the stage it failed at when known (the store is
   * not asked: a bulk operation must not cost a read per record).
   */
  private void audit(
      Set<String> ids,
      Map<String, String> stages,
      String event,
      String message,
      Map<String, String> facts) {
    if (ids.isEmpty() || !telemetry.auditing()) {
      return;
    }
    for (String id : ids) {
      telemetry.decision(stages.get(id), id, Level.INFO, event, message, facts);
    }
  }

  private static List<String> checked(Collection<String> recordIds) {
    Objects.requireNonNull(recordIds, "recordIds cannot be null");
    List<String> ids = List.copyOf(recordIds);
    if (ids.size() > CHUNK * 1000) {
      throw new IllegalArgumentException(
          "too many ids in one call (" + ids.size() + "); use reprocessAll(query) or split them");
    }
    return ids;
  }

  @Override
  public String toString() {
    return "DeadLetters[" + pipeline + "]";
  }
}
