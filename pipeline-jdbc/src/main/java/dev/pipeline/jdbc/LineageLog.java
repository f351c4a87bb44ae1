package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.checkPipeline;

import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.LineageOutcome;
import dev.pipeline.store.PipelineStore;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Objects;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jspecify.annotations.Nullable;

/**
 * Record lineage for a {@link JdbcPipelineStore}: rows of {@code record_lineage}, appended in bulk
 * (one batched insert in one transaction per call, with the events of many batches) and read by
 * record through the index on {@code (pipeline, record_id, event_id)}.
 */
final class LineageLog extends StoreContext {
  private final String insert;
  private final String find;

  LineageLog(StoreContext shared) {
    super(shared);
    String table = names.lineage();
    this.insert =
        "INSERT INTO "
            + table
            + " (pipeline, record_id, stage_name, outcome, entered_at, left_at, attempts,"
            + " input_hash, output_hash, source_id, parent_id, children, branch, verdicts, detail)"
            + " VALUES (:pipeline, :record, :stage, :outcome, :entered, :left, :attempts, :in,"
            + " :out, :source, :parent, :children, :branch, :verdicts, :detail)";
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
    db.transaction(
        "appendLineage",
        pipeline,
        h -> {
          PreparedBatch batch = h.prepareBatch(insert);
          for (LineageEvent e : events) {
            batch
                .bind("pipeline", pipeline)
                .bind("record", e.recordId())
                .bind("stage", e.stage())
                .bind("outcome", e.outcome().name())
                .bind("entered", Args.time(e.enteredAt()))
                .bind("left", Args.time(e.leftAt()))
                .bind("attempts", e.attempts())
                .bind("in", e.inputHash())
                .bind("out", Args.int64(e.outputHash()))
                .bind("source", Args.text(e.sourceId()))
                .bind("parent", Args.text(e.parentId()))
                .bind("children", e.children())
                .bind("branch", Args.text(e.branch()))
                .bind("verdicts", Args.text(e.verdicts()))
                .bind("detail", Args.text(e.detail()))
                .add();
          }
          batch.execute();
          return null;
        });
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
