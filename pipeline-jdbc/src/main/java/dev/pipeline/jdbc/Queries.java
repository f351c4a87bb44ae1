package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.checkPipeline;
import static dev.pipeline.jdbc.Checks.uncut;

import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.StatusCounts;
import dev.pipeline.store.StorableText;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jdbi.v3.core.Handle;

/**
 * Reads a {@link JdbcPipelineStore}'s records for callers: one record's state with its errors, and
 * the counts of a pipeline's records by status.
 */
final class Queries extends StoreContext {
  Queries(StoreContext shared) {
    super(shared);
  }

  /** An error row: its id and what it holds. */
  record StoredError(long id, ErrorInfo info) {}

  /**
   * The pipeline's last stage: as registered here, or, for a pipeline this store did not register
   * (an operator's), as its last registration left it in the stages table.
   */
  private String lastStage(Handle h, String pipeline, String otherwise) {
    PipelineDef def = pipelines.get(pipeline);
    if (def != null) {
      return def.lastStage();
    }
    return h.createQuery(sql.lastStage)
        .bind("pipeline", pipeline)
        .mapTo(String.class)
        .findFirst()
        .orElseGet(() -> StorableText.unescape(otherwise));
  }

  Optional<RecordState> find(String pipeline, String recordId) {
    checkPipeline(pipeline);
    Objects.requireNonNull(recordId, "recordId cannot be null");
    checkOpen();
    if (StorableText.idProblem(recordId) != null) {
      return Optional.empty(); // never stored under that id (the engine uses a derived one)
    }
    return db.call(
        "find", pipeline, h -> stateOf(h, pipeline, recordId).map(s -> withParent(h, pipeline, s)));
  }

  /** A record's state, or empty if the store does not know it. */
  private Optional<RecordState> stateOf(Handle h, String pipeline, String recordId)
      throws SQLException {
    Optional<RecordState> state =
        h.createQuery(sql.find)
            .bind("pipeline", pipeline)
            .bind("id", recordId)
            .map(
                (rs, ctx) -> {
                  RecordStatus status = RecordStatus.valueOf(rs.getString("status"));
                  String failed = rs.getString("failed_stage");
                  return new RecordState(
                      rs.getString("record_id"),
                      status,
                      StorableText.unescape(
                          (status == RecordStatus.DEAD_LETTER || status == RecordStatus.DISCARDED)
                                  && failed != null
                              ? failed
                              : rs.getString("current_stage")),
                      rs.getInt("attempt_count"),
                      uncut(rs.getString("reason")),
                      List.of(),
                      rs.getInt("deliveries"),
                      Objects.requireNonNull(Args.instant(rs, "started_at")),
                      Objects.requireNonNull(Args.instant(rs, "updated_at")));
                })
            .findFirst();
    if (state.isEmpty() && ledger != null) {
      BatchQueries.Found found = ledger.queries().find(h, pipeline, recordId);
      if (found != null) {
        List<ErrorInfo> errors = errorsOf(h, pipeline, List.of(recordId)).get(recordId);
        // a record that ended in its batch was published without an error (any other end
        // gives it a row): it passed every stage, the last at its first attempt
        boolean published = found.published();
        state =
            Optional.of(
                new RecordState(
                    recordId,
                    published
                        ? RecordStatus.PUBLISHED
                        : found.ready() ? RecordStatus.READY : RecordStatus.IN_PROGRESS,
                    published
                        ? lastStage(h, pipeline, found.stage())
                        : StorableText.unescape(found.stage()),
                    published ? 1 : 0,
                    null,
                    errors == null ? List.of() : errors,
                    found.deliveries(),
                    found.startedAt(),
                    found.at()));
      }
      return state;
    }
    if (state.isEmpty()) {
      return state;
    }
    RecordState s = state.get();
    List<ErrorInfo> errors = errorsOf(h, pipeline, List.of(recordId)).get(recordId);
    return Optional.of(
        new RecordState(
            s.recordId(),
            s.status(),
            s.stage(),
            s.attempts(),
            s.reason(),
            errors == null ? List.of() : errors,
            s.deliveries(),
            s.startedAt(),
            s.updatedAt()));
  }

  /**
   * The state with the id of the record it was split from, if any. A split makes the ids {@code
   * parentId/index}, so the parent is the id before the last {@code /}, if it names a SPLIT record
   * (which always has a row of its own); one lookup, on the primary key, for ids of that form only.
   */
  private RecordState withParent(Handle h, String pipeline, RecordState state) {
    String id = state.recordId();
    int slash = id.lastIndexOf('/');
    if (slash <= 0 || slash == id.length() - 1) {
      return state;
    }
    for (int i = slash + 1; i < id.length(); i++) {
      if (id.charAt(i) < '0' || id.charAt(i) > '9') {
        return state;
      }
    }
    String parent = id.substring(0, slash);
    boolean split =
        h.createQuery(sql.find)
            .bind("pipeline", pipeline)
            .bind("id", parent)
            .map((rs, ctx) -> RecordStatus.SPLIT.name().equals(rs.getString("status")))
            .findFirst()
            .orElse(false);
    return !split
        ? state
        : new RecordState(
            state.recordId(),
            state.status(),
            state.stage(),
            state.attempts(),
            state.reason(),
            state.errors(),
            state.deliveries(),
            state.startedAt(),
            state.updatedAt(),
            parent);
  }

  Map<String, List<ErrorInfo>> errorsOf(Handle h, String pipeline, List<String> ids) {
    Map<String, List<ErrorInfo>> errors = new HashMap<>();
    errorRows(h, pipeline, ids)
        .forEach(
            (id, rows) -> {
              List<ErrorInfo> infos = new ArrayList<>(rows.size());
              for (StoredError row : rows) {
                infos.add(row.info());
              }
              errors.put(id, infos);
            });
    return errors;
  }

  /** The error rows of records, oldest first, by record id. */
  Map<String, List<StoredError>> errorRows(Handle h, String pipeline, List<String> ids) {
    Map<String, List<StoredError>> errors = new HashMap<>();
    if (ids.isEmpty()) {
      return errors;
    }
    h.createQuery(sql.errorsOf)
        .bind("pipeline", pipeline)
        .bind("ids", Args.texts(ids))
        .map(
            (rs, ctx) ->
                Map.entry(
                    rs.getString("record_id"),
                    new StoredError(
                        rs.getLong("error_id"),
                        new ErrorInfo(
                            StorableText.unescape(rs.getString("stage_name")),
                            StorableText.unescape(rs.getString("error_type")),
                            StorableText.unescape(rs.getString("exception_class")),
                            StorableText.unescape(rs.getString("error_message")),
                            StorableText.unescape(rs.getString("stack_trace")),
                            rs.getInt("attempt"),
                            Objects.requireNonNull(Args.instant(rs, "occurred_at"))))))
        .forEach(e -> errors.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue()));
    return errors;
  }

  long countUpTo(String pipeline, RecordStatus status, long limit) {
    checkPipeline(pipeline);
    checkOpen();
    return db.call(
        "count",
        pipeline,
        h ->
            h.createQuery(sql.countUpTo(status))
                .bind("pipeline", pipeline)
                .bind("limit", limit)
                .mapTo(Long.class)
                .one());
  }

  StatusCounts counts(String pipeline) {
    checkPipeline(pipeline);
    checkOpen();
    Map<RecordStatus, Long> counts = new EnumMap<>(RecordStatus.class);
    db.call(
            "counts",
            pipeline,
            h ->
                h.createQuery(sql.counts)
                    .bind("pipeline", pipeline)
                    .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
                    .list())
        .forEach(e -> counts.put(RecordStatus.valueOf(e.getKey()), e.getValue()));
    BatchLedger ledger = this.ledger;
    if (ledger != null) {
      long[] batches = db.call("counts", pipeline, h -> ledger.queries().counts(h, pipeline));
      if (batches[0] > 0) {
        counts.merge(RecordStatus.PUBLISHED, batches[0], Long::sum);
      }
      if (batches[1] > 0) {
        counts.merge(RecordStatus.IN_PROGRESS, batches[1], Long::sum);
      }
      if (batches[2] > 0) {
        counts.merge(RecordStatus.READY, batches[2], Long::sum);
      }
    }
    return new StatusCounts(counts);
  }
}
