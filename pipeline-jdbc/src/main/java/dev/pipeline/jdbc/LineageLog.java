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
  private final String unnest;
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
    // PostgreSQL: one statement per append, the events' columns as arrays (a batched insert is a
    // round of the protocol per row, five times slower)
    this.unnest =
        "INSERT INTO "
            + table
            + " (pipeline, record_id, stage_name, outcome, entered_at, left_at, attempts,"
            + " input_hash, output_hash, source_id, parent_id, children, branch, verdicts, detail)"
            + " SELECT :pipeline, r, s, o, CAST(e AS TIMESTAMPTZ), CAST(l AS TIMESTAMPTZ), a, i,"
            + " h, src, par, c, b, v, d FROM UNNEST(:records, :stages, :outcomes, :entered, :left,"
            + " :attempts, :in, :out, :sources, :parents, :children, :branches, :verdicts,"
            + " :details) AS u(r, s, o, e, l, a, i, h, src, par, c, b, v, d)";
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
    if (db.dialect == Dialect.POSTGRESQL) {
      appendUnnested(pipeline, events);
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

  private void appendUnnested(String pipeline, List<LineageEvent> events) {
    int n = events.size();
    String[] records = new String[n];
    String[] stages = new String[n];
    String[] outcomes = new String[n];
    String[] entered = new String[n];
    String[] left = new String[n];
    Integer[] attempts = new Integer[n];
    Long[] in = new Long[n];
    Long[] out = new Long[n];
    String[] sources = new String[n];
    String[] parents = new String[n];
    Integer[] children = new Integer[n];
    String[] branches = new String[n];
    String[] verdicts = new String[n];
    String[] details = new String[n];
    for (int i = 0; i < n; i++) {
      LineageEvent e = events.get(i);
      records[i] = e.recordId();
      stages[i] = e.stage();
      outcomes[i] = e.outcome().name();
      entered[i] = Args.timeText(e.enteredAt());
      left[i] = Args.timeText(e.leftAt());
      attempts[i] = e.attempts();
      in[i] = e.inputHash();
      out[i] = e.outputHash();
      sources[i] = e.sourceId();
      parents[i] = e.parentId();
      children[i] = e.children();
      branches[i] = e.branch();
      verdicts[i] = e.verdicts();
      details[i] = e.detail();
    }
    db.call(
        "appendLineage",
        pipeline,
        h ->
            h.createUpdate(unnest)
                .bind("pipeline", pipeline)
                .bind("records", Args.array("varchar", records))
                .bind("stages", Args.array("varchar", stages))
                .bind("outcomes", Args.array("varchar", outcomes))
                .bind("entered", Args.array("varchar", entered))
                .bind("left", Args.array("varchar", left))
                .bind("attempts", Args.array("int4", attempts))
                .bind("in", Args.array("int8", in))
                .bind("out", Args.array("int8", out))
                .bind("sources", Args.array("varchar", sources))
                .bind("parents", Args.array("varchar", parents))
                .bind("children", Args.array("int4", children))
                .bind("branches", Args.array("varchar", branches))
                .bind("verdicts", Args.array("varchar", verdicts))
                .bind("details", Args.array("varchar", details))
                .execute());
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
