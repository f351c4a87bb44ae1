package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.checkPipeline;

import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.LineageOutcome;
import dev.pipeline.store.PipelineStore;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Record lineage for a {@link JdbcPipelineStore}: rows of {@code record_lineage}, appended in bulk
 * through {@link BulkAppend} (one COPY on PostgreSQL, one JDBC batch on H2, per call, with the
 * events of many batches) and read by record through the index on {@code (pipeline, record_id,
 * event_id)}.
 */
final class LineageLog extends StoreContext {
  private final BulkAppend rows;
  private final String find;

  LineageLog(StoreContext shared) {
    super(shared);
    String table = names.lineage();
    this.rows =
        BulkAppend.into(db.dialect, table)
            .column("pipeline", BulkAppend.Type.TEXT)
            .column("record_id", BulkAppend.Type.TEXT)
            .column("stage_name", BulkAppend.Type.TEXT)
            .column("outcome", BulkAppend.Type.TEXT)
            .column("entered_at", BulkAppend.Type.TIME)
            .column("left_at", BulkAppend.Type.TIME)
            .column("attempts", BulkAppend.Type.INT)
            .column("input_hash", BulkAppend.Type.BIGINT)
            .column("output_hash", BulkAppend.Type.BIGINT)
            .column("source_id", BulkAppend.Type.TEXT)
            .column("parent_id", BulkAppend.Type.TEXT)
            .column("children", BulkAppend.Type.INT)
            .column("branch", BulkAppend.Type.TEXT)
            .column("verdicts", BulkAppend.Type.TEXT)
            .column("detail", BulkAppend.Type.TEXT)
            .lazyCommit()
            .build();
    this.find =
        "SELECT record_id, stage_name, outcome, entered_at, left_at, attempts, input_hash,"
            + " output_hash, source_id, parent_id, children, branch, verdicts, detail FROM "
            + table
            + " WHERE pipeline = :pipeline AND record_id = :record ORDER BY event_id LIMIT "
            + PipelineStore.MAX_LINEAGE_EVENTS;
  }

  void append(String pipeline, List<LineageEvent> events) {
    checkPipeline(pipeline);
    Objects.requireNonNull(events, "events cannot be null");
    if (events.isEmpty()) {
      return;
    }
    db.call(
        "appendLineage",
        pipeline,
        h ->
            rows.append(
                h,
                events,
                (e, row) ->
                    row.text(pipeline)
                        .text(e.recordId())
                        .text(e.stage())
                        .text(e.outcome().name())
                        .time(e.enteredAt())
                        .time(e.leftAt())
                        .int32(e.attempts())
                        .int64(e.inputHash())
                        .int64(e.outputHash())
                        .text(e.sourceId())
                        .text(e.parentId())
                        .int32(e.children())
                        .text(e.branch())
                        .text(e.verdicts())
                        .text(e.detail())));
  }

  List<LineageEvent> find(String pipeline, String recordId) {
    checkPipeline(pipeline);
    Objects.requireNonNull(recordId, "recordId cannot be null");
    return db.call(
        "lineage",
        pipeline,
        h ->
            h.createQuery(find)
                .bind("pipeline", pipeline)
                .bind("record", recordId)
                .map((rs, ctx) -> read(rs))
                .list());
  }

  private static LineageEvent read(ResultSet rs) throws SQLException {
    long out = rs.getLong("output_hash");
    @Nullable Long outputHash = rs.wasNull() ? null : out;
    return new LineageEvent(
        rs.getString("record_id"),
        rs.getString("stage_name"),
        LineageOutcome.valueOf(rs.getString("outcome")),
        Objects.requireNonNull(Args.instant(rs, "entered_at")),
        Objects.requireNonNull(Args.instant(rs, "left_at")),
        rs.getInt("attempts"),
        rs.getLong("input_hash"),
        outputHash,
        rs.getString("source_id"),
        rs.getString("parent_id"),
        rs.getInt("children"),
        rs.getString("branch"),
        rs.getString("verdicts"),
        rs.getString("detail"));
  }
}
