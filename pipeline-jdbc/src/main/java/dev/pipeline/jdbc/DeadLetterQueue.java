package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.MAX_MESSAGE;
import static dev.pipeline.jdbc.Checks.MAX_NAME;
import static dev.pipeline.jdbc.Checks.checkPipeline;
import static dev.pipeline.jdbc.Checks.cut;
import static dev.pipeline.jdbc.Checks.storedText;
import static dev.pipeline.jdbc.Completions.reason;
import static dev.pipeline.jdbc.Payloads.decode;
import static dev.pipeline.jdbc.Payloads.envelope;
import static dev.pipeline.jdbc.Payloads.raw;

import dev.pipeline.internal.ErrorText;
import dev.pipeline.jdbc.Payloads.Row;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.Page;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.StorableText;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.jdbi.v3.core.statement.Query;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dead letter queue of a {@link JdbcPipelineStore}: lists dead letters page by page, sends them
 * back to be processed again ({@code READY}) or gives them up ({@code DISCARDED}).
 */
final class DeadLetterQueue extends StoreContext {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcPipelineStore.class);

  private final Queries queries;

  DeadLetterQueue(StoreContext shared, Queries queries) {
    super(shared);
    this.queries = queries;
  }

  private static final int MOVE_CHUNK = 1_000;

  Set<String> reprocess(String pipeline, Collection<String> recordIds, Instant at) {
    checkPipeline(pipeline);
    Objects.requireNonNull(at, "at cannot be null");
    return moveDeadLetters("reprocess", pipeline, recordIds, sql.reprocess, Map.of("at", at));
  }

  /** The stage whose input a dead letter keeps, and its metadata as stored. */
  private record Kept(String stage, @Nullable String metadata) {}

  /**
   * Replaces a dead letter's payload, encoded with the codec of the input it keeps, then sends it
   * back as {@link #reprocess} does; see {@code PipelineStore.reprocessWithPayload}.
   */
  boolean reprocessWithPayload(String pipeline, String recordId, Object payload, Instant at) {
    checkPipeline(pipeline);
    Objects.requireNonNull(recordId, "recordId cannot be null");
    Objects.requireNonNull(payload, "payload cannot be null");
    Objects.requireNonNull(at, "at cannot be null");
    checkOpen();
    if (StorableText.idProblem(recordId) != null) {
      return false; // never stored under such an id
    }
    PipelineDef def = pipelines.get(pipeline);
    if (def == null) {
      throw new IllegalArgumentException(
          "pipeline '"
              + pipeline
              + "' was not built on this store, so its codecs are unknown: replace the payload"
              + " through the pipeline's own store");
    }
    boolean replaced =
        db.transaction(
            "reprocessWithPayload",
            pipeline,
            h -> {
              Kept kept =
                  h.createQuery(sql.editedDeadLetter)
                      .bind("pipeline", pipeline)
                      .bind("id", recordId)
                      .map(
                          (rs, ctx) ->
                              new Kept(
                                  StorableText.unescape(rs.getString("current_stage")),
                                  rs.getString("metadata")))
                      .findOne()
                      .orElse(null);
              if (kept == null) {
                return false;
              }
              byte[] bytes = encoded(pipeline, recordId, def, kept.stage(), payload);
              String metadata = kept.metadata();
              long checksum =
                  Checksums.payload(
                      bytes,
                      metadata == null ? new byte[0] : metadata.getBytes(StandardCharsets.UTF_8));
              return h.createUpdate(sql.replacePayload)
                      .bind("payload", Args.bytes(bytes))
                      .bind(
                          "format",
                          Args.text(
                              cut(Objects.requireNonNull(def.codec(kept.stage())).name(), 300)))
                      .bind("checksum", checksum)
                      .bind("pipeline", pipeline)
                      .bind("id", recordId)
                      .execute()
                  == 1;
            });
    // sent back in a statement of its own: should another operator have sent it back or discarded
    // it in between, the status guard of either statement leaves it as they did
    return replaced && !reprocess(pipeline, List.of(recordId), at).isEmpty();
  }

  @SuppressWarnings("unchecked")
  private static byte[] encoded(
      String pipeline, String recordId, PipelineDef def, String stage, Object payload) {
    PayloadCodec<?> codec = def.codec(stage);
    if (codec == null) {
      throw new IllegalArgumentException(
          "the dead letter '"
              + recordId
              + "' of pipeline '"
              + pipeline
              + "' keeps the input of stage '"
              + stage
              + "', which has no codec: give that input a codec (s.codec(...) on the stage"
              + " before it, or inputCodec(...)) to replace its payload");
    }
    try {
      return ((PayloadCodec<Object>) codec).encode(payload);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "cannot encode the new payload of dead letter '"
              + recordId
              + "' with the codec "
              + codec.name()
              + " of the input of stage '"
              + stage
              + "': "
              + ErrorText.defaults().message(e),
          e);
    }
  }

  Set<String> discard(String pipeline, Collection<String> recordIds, String reason, Instant at) {
    checkPipeline(pipeline);
    Objects.requireNonNull(reason, "reason cannot be null");
    Objects.requireNonNull(at, "at cannot be null");
    return moveDeadLetters(
        "discard",
        pipeline,
        recordIds,
        sql.discard,
        Map.of("at", at, "reason", storedText(reason, MAX_MESSAGE)));
  }

  private Set<String> moveDeadLetters(
      String operation,
      String pipeline,
      Collection<String> recordIds,
      String statement,
      Map<String, Object> values) {
    Objects.requireNonNull(recordIds, "recordIds cannot be null");
    checkOpen();
    List<String> ids = new ArrayList<>(new TreeSet<>(recordIds)); // by id: one lock order
    ids.removeIf(id -> StorableText.idProblem(id) != null); // never stored under such an id
    // rows moved under this token count as moved should a statement run again after a lost reply
    long token = Leases.newToken();
    Set<String> moved = new HashSet<>();
    for (int from = 0; from < ids.size(); from += MOVE_CHUNK) {
      List<String> chunk = ids.subList(from, Math.min(ids.size(), from + MOVE_CHUNK));
      moved.addAll(
          db.call(
              operation,
              pipeline,
              h -> {
                Query q =
                    h.createQuery(statement)
                        .bind("pipeline", pipeline)
                        .bind("ids", Args.texts(chunk))
                        .bind("token", token);
                for (Map.Entry<String, Object> v : values.entrySet()) {
                  q.bind(
                      v.getKey(),
                      v.getValue() instanceof Instant t
                          ? Args.time(t)
                          : Args.text((String) v.getValue()));
                }
                return q.mapTo(String.class).list();
              }));
    }
    if (!moved.isEmpty()) {
      LOG.info(
          "pipeline-jdbc: {} of {} dead letters of pipeline '{}' (first '{}')",
          operation,
          moved.size(),
          pipeline,
          ErrorText.loggable(moved.iterator().next()));
    }
    return moved;
  }

  Page<DeadLetter> deadLetters(String pipeline, DeadLetterQuery query) {
    checkPipeline(pipeline);
    Objects.requireNonNull(query, "query cannot be null");
    checkOpen();
    Cursor after = query.after() == null ? null : Cursor.parse(query.after());
    String statement =
        sql.deadLetters(
            query.stage() != null, query.errorType() != null, query.since() != null, after != null);
    PipelineDef def = pipelines.get(pipeline);
    return db.call(
        "deadLetters",
        pipeline,
        h -> {
          Query q =
              h.createQuery(statement).bind("pipeline", pipeline).bind("limit", query.limit() + 1);
          if (query.stage() != null) {
            q.bind("stage", cut(query.stage(), MAX_NAME));
          }
          if (query.errorType() != null) {
            q.bind("error_type", cut(query.errorType(), MAX_NAME));
          }
          if (query.since() != null) {
            q.bind("since", Args.time(query.since()));
          }
          if (after != null) {
            q.bind("after_at", Args.time(after.at())).bind("after_id", after.id());
          }
          List<Map.Entry<Row, Instant>> rows =
              q.map(
                      (rs, ctx) ->
                          Map.entry(
                              Row.read(rs),
                              Objects.requireNonNull(Args.instant(rs, "dead_lettered_at"))))
                  .list();
          boolean more = rows.size() > query.limit();
          if (more) {
            rows = rows.subList(0, query.limit());
          }
          Map<String, List<ErrorInfo>> errors =
              queries.errorsOf(h, pipeline, rows.stream().map(e -> e.getKey().id()).toList());
          List<DeadLetter> items = new ArrayList<>(rows.size());
          for (Map.Entry<Row, Instant> e : rows) {
            Row row = e.getKey();
            Object payload;
            try {
              payload = def == null ? raw(row) : decode(def, row);
            } catch (PayloadIntegrityException damaged) {
              payload = raw(row);
            }
            List<ErrorInfo> recordErrors = errors.getOrDefault(row.id(), List.of());
            items.add(
                new DeadLetter(
                    envelope(row, payload),
                    row.failedStage() == null ? row.stage() : row.failedStage(),
                    recordErrors,
                    row.attempts(),
                    e.getValue(),
                    row.stage())); // the stage the payload was stored at
          }
          String next = null;
          if (more) {
            Map.Entry<Row, Instant> last = rows.get(rows.size() - 1);
            next = new Cursor(last.getValue(), last.getKey().id()).toString();
          }
          return new Page<>(items, next);
        });
  }

  /** Where a page of dead letters ends: (dead-lettered at, record id), opaque to callers. */
  private record Cursor(Instant at, String id) {
    static Cursor parse(String text) {
      try {
        String decoded = new String(Base64.getUrlDecoder().decode(text), StandardCharsets.UTF_8);
        int bar = decoded.indexOf('|');
        String[] time = decoded.substring(0, bar).split("\\.");
        String id = decoded.substring(bar + 1);
        StorableText.checkId(id); // a stored id, or no cursor of this store
        return new Cursor(
            Instant.ofEpochSecond(Long.parseLong(time[0]), Long.parseLong(time[1])), id);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(
            "not a dead letter cursor of this store: " + Names.quote(text), e);
      }
    }

    @Override
    public String toString() {
      String text = at.getEpochSecond() + "." + at.getNano() + "|" + id;
      return Base64.getUrlEncoder()
          .withoutPadding()
          .encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }
  }
}
