package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.checkPipeline;

import dev.pipeline.internal.TimeRange;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.metrics.WindowScores;
import dev.pipeline.store.AuditEntry;
import dev.pipeline.store.AuditQuery;
import dev.pipeline.store.Page;
import dev.pipeline.store.PipelineStore;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.Query;
import org.jspecify.annotations.Nullable;
import org.slf4j.event.Level;

/**
 * The audit trail ({@code processing_logs}) and the metrics history ({@code pipeline_metrics}):
 * appended through {@link BulkAppend} (one COPY on PostgreSQL, one JDBC batch on H2, per call) from
 * the engine's background writer; read a page (or a time range) at a time with every value bound.
 */
final class History extends StoreContext {
  // the event column's width
  private static final int MAX_EVENT = 40;

  private final BulkAppend logs;
  private final BulkAppend metrics;
  private final String readMetrics;

  History(StoreContext shared) {
    super(shared);
    this.logs =
        BulkAppend.into(db.dialect, names.logs())
            .column("pipeline", BulkAppend.Type.TEXT)
            .column("record_id", BulkAppend.Type.TEXT)
            .column("stage_name", BulkAppend.Type.TEXT)
            .column("log_level", BulkAppend.Type.TEXT)
            .column("event", BulkAppend.Type.TEXT)
            .column("message", BulkAppend.Type.TEXT)
            .column("metadata", BulkAppend.Type.TEXT)
            .column("worker_id", BulkAppend.Type.TEXT)
            .column("created_at", BulkAppend.Type.TIME)
            .lazyCommit()
            .build();
    this.metrics =
        BulkAppend.into(db.dialect, names.metrics())
            .column("pipeline", BulkAppend.Type.TEXT)
            .column("stage_name", BulkAppend.Type.TEXT)
            .column("worker_id", BulkAppend.Type.TEXT)
            .column("window_start", BulkAppend.Type.TIME)
            .column("window_end", BulkAppend.Type.TIME)
            .column("processing_time_ms", BulkAppend.Type.DOUBLE)
            .column("p50_ms", BulkAppend.Type.DOUBLE)
            .column("p95_ms", BulkAppend.Type.DOUBLE)
            .column("p99_ms", BulkAppend.Type.DOUBLE)
            .column("records_in", BulkAppend.Type.BIGINT)
            .column("records_processed", BulkAppend.Type.BIGINT)
            .column("records_failed", BulkAppend.Type.BIGINT)
            .column("records_filtered", BulkAppend.Type.BIGINT)
            .column("retries", BulkAppend.Type.BIGINT)
            .column("throughput_per_second", BulkAppend.Type.DOUBLE)
            .column("bytes_per_second", BulkAppend.Type.DOUBLE)
            .column("queue_depth", BulkAppend.Type.INT)
            .column("utilization", BulkAppend.Type.DOUBLE)
            .column("circuit_state", BulkAppend.Type.TEXT)
            .column("cpu_usage", BulkAppend.Type.DOUBLE)
            .column("memory_usage", BulkAppend.Type.BIGINT)
            .column("completeness_score", BulkAppend.Type.DOUBLE)
            .column("validity_score", BulkAppend.Type.DOUBLE)
            .column("consistency_score", BulkAppend.Type.DOUBLE)
            .column("uniqueness_score", BulkAppend.Type.DOUBLE)
            .column("timeliness_score", BulkAppend.Type.DOUBLE)
            .column("quality_score", BulkAppend.Type.DOUBLE)
            .lazyCommit()
            .build();
    this.readMetrics =
        "SELECT stage_name, window_start, window_end, processing_time_ms, p50_ms, p95_ms, p99_ms,"
            + " records_in, records_processed, records_failed, records_filtered, retries,"
            + " throughput_per_second, bytes_per_second, queue_depth, utilization, circuit_state,"
            + " cpu_usage, memory_usage, completeness_score, validity_score, consistency_score,"
            + " uniqueness_score, timeliness_score FROM "
            + names.metrics()
            + " WHERE pipeline = :pipeline AND stage_name = :stage AND window_end >= :from AND"
            + " window_end < :to ORDER BY window_end, metric_id LIMIT "
            + PipelineStore.MAX_HISTORY_WINDOWS;
  }

  void appendAudit(List<AuditEntry> entries) {
    checkOpen();
    if (entries.isEmpty()) {
      return;
    }
    for (AuditEntry e : entries) {
      checkPipeline(e.pipeline());
    }
    db.call(
        "appendAudit",
        entries.get(0).pipeline(),
        h ->
            logs.append(
                h,
                entries,
                (e, row) ->
                    row.text(e.pipeline())
                        .text(e.recordId())
                        .text(bounded(e.stage(), Checks.MAX_NAME))
                        .text(e.level().name())
                        .text(bounded(e.event(), MAX_EVENT))
                        .text(e.message())
                        .text(MetadataText.encode(e.metadata()))
                        .text(workerId)
                        .time(e.at())));
  }

  void appendMetrics(List<StageWindow> windows) {
    checkOpen();
    if (windows.isEmpty()) {
      return;
    }
    for (StageWindow w : windows) {
      checkPipeline(w.pipeline());
    }
    db.call(
        "appendMetrics",
        windows.get(0).pipeline(),
        h ->
            metrics.append(
                h,
                windows,
                (w, row) ->
                    row.text(w.pipeline())
                        .text(bounded(w.stage(), Checks.MAX_NAME))
                        .text(workerId)
                        .time(w.start())
                        .time(w.end())
                        .float64(millis(w.busy()))
                        .float64(millis(w.p50()))
                        .float64(millis(w.p95()))
                        .float64(millis(w.p99()))
                        .int64(w.recordsIn())
                        .int64(w.passed())
                        .int64(w.failed())
                        .int64(w.filtered())
                        .int64(w.retries())
                        .float64(finite(w.recordsPerSecond()))
                        .float64(finite(w.bytesPerSecond()))
                        .int32(w.queueDepth())
                        .float64(finite(w.utilization()))
                        .text(w.circuit())
                        .float64(w.cpuUsage() < 0 ? null : w.cpuUsage())
                        .int64(w.allocatedBytes() < 0 ? null : w.allocatedBytes())
                        .float64(score(scores(w).completeness()))
                        .float64(score(scores(w).validity()))
                        .float64(score(scores(w).consistency()))
                        .float64(score(scores(w).uniqueness()))
                        .float64(score(scores(w).timeliness()))
                        .float64(score(scores(w).overall()))));
  }

  private static WindowScores scores(StageWindow w) {
    WindowScores scores = w.scores();
    return scores == null ? WindowScores.NONE : scores;
  }

  Page<AuditEntry> auditTrail(String pipeline, AuditQuery query) {
    checkPipeline(pipeline);
    Objects.requireNonNull(query, "query cannot be null");
    checkOpen();
    StringBuilder sql =
        new StringBuilder(
            "SELECT log_id, created_at, stage_name, record_id, log_level, event, message,"
                + " metadata FROM ");
    sql.append(names.logs()).append(" WHERE pipeline = :pipeline AND log_id > :after");
    if (query.recordId() != null) {
      sql.append(" AND record_id = :record");
    }
    if (query.stage() != null) {
      sql.append(" AND stage_name = :stage");
    }
    List<String> levels = levelsFrom(query.atLeast());
    if (levels.size() < Level.values().length) {
      sql.append(" AND log_level IN (");
      for (int i = 0; i < levels.size(); i++) {
        sql.append(i == 0 ? ":level" : ", :level").append(i);
      }
      sql.append(')');
    }
    if (query.from() != null) {
      sql.append(" AND created_at >= :from");
    }
    if (query.to() != null) {
      sql.append(" AND created_at < :to");
    }
    if (query.text() != null) {
      sql.append(" AND LOWER(message) LIKE :text ESCAPE '!'");
    }
    sql.append(" ORDER BY log_id LIMIT ").append(query.limit() + 1);
    List<AuditEntry> rows =
        db.planned(
            "auditTrail",
            pipeline,
            h -> {
              Query q = h.createQuery(sql.toString());
              q.bind("pipeline", pipeline).bind("after", query.afterId());
              if (query.recordId() != null) {
                q.bind("record", query.recordId());
              }
              if (query.stage() != null) {
                q.bind("stage", query.stage());
              }
              if (levels.size() < Level.values().length) {
                for (int i = 0; i < levels.size(); i++) {
                  q.bind("level" + i, levels.get(i));
                }
              }
              if (query.from() != null) {
                q.bind("from", Args.time(query.from()));
              }
              if (query.to() != null) {
                q.bind("to", Args.time(query.to()));
              }
              if (query.text() != null) {
                q.bind("text", "%" + likeEscaped(query.text().toLowerCase(Locale.ROOT)) + "%");
              }
              return q.map((rs, ctx) -> entry(pipeline, rs)).list();
            });
    if (rows.size() <= query.limit()) {
      return new Page<>(rows, null);
    }
    List<AuditEntry> page = rows.subList(0, query.limit());
    return new Page<>(page, Long.toString(page.get(page.size() - 1).id()));
  }

  List<StageWindow> metricsHistory(String pipeline, String stage, Instant from, Instant to) {
    TimeRange.check(pipeline, stage, from, to);
    checkPipeline(pipeline);
    checkOpen();
    return db.call(
        "metricsHistory",
        pipeline,
        (Handle h) ->
            h.createQuery(readMetrics)
                .bind("pipeline", pipeline)
                .bind("stage", stage)
                .bind("from", Args.time(from))
                .bind("to", Args.time(to))
                .map((rs, ctx) -> window(pipeline, rs))
                .list());
  }

  private static AuditEntry entry(String pipeline, ResultSet rs) throws SQLException {
    Level level;
    try {
      level = Level.valueOf(rs.getString("log_level"));
    } catch (IllegalArgumentException e) {
      level = Level.INFO; // a row written by hand with a level SLF4J does not know
    }
    Instant at = Args.instant(rs, "created_at");
    String event = rs.getString("event");
    String message = rs.getString("message");
    java.util.Map<String, String> metadata;
    try {
      metadata = MetadataText.decode(rs.getString("metadata"));
    } catch (IllegalArgumentException e) {
      metadata = java.util.Map.of("unreadableMetadata", "true");
    }
    return new AuditEntry(
        rs.getLong("log_id"),
        at == null ? Instant.EPOCH : at,
        pipeline,
        rs.getString("stage_name"),
        rs.getString("record_id"),
        level,
        event == null ? AuditEntry.STAGE_LOG : event,
        message == null ? "" : message,
        metadata);
  }

  private static StageWindow window(String pipeline, ResultSet rs) throws SQLException {
    Instant end = Objects.requireNonNull(Args.instant(rs, "window_end"));
    Instant start = Args.instant(rs, "window_start");
    if (start == null || start.isAfter(end)) {
      start = end;
    }
    double cpu = rs.getDouble("cpu_usage");
    boolean cpuKnown = !rs.wasNull();
    long memory = rs.getLong("memory_usage");
    boolean memoryKnown = !rs.wasNull();
    Duration length = Duration.between(start, end);
    return new StageWindow(
        pipeline,
        rs.getString("stage_name"),
        start,
        end,
        rs.getLong("records_in"),
        rs.getLong("records_processed"),
        rs.getLong("records_filtered"),
        rs.getLong("records_failed"),
        rs.getLong("retries"),
        ofMillis(rs.getDouble("p50_ms")),
        ofMillis(rs.getDouble("p95_ms")),
        ofMillis(rs.getDouble("p99_ms")),
        rs.getDouble("throughput_per_second"),
        rs.getDouble("bytes_per_second"),
        rs.getInt("queue_depth"),
        rs.getDouble("utilization"),
        ofMillis(rs.getDouble("processing_time_ms")),
        rs.getString("circuit_state"),
        cpuKnown ? Duration.ofNanos((long) (cpu * length.toNanos())) : null,
        memoryKnown ? memory : -1,
        scores(rs));
  }

  /** A score as stored: null when not measured. */
  private static @Nullable Double score(double value) {
    return Double.isNaN(value) ? null : value;
  }

  /**
   * A row's quality scores: null when none was measured; a score edited out of [0, 100] by hand is
   * read as not measured.
   */
  private static @Nullable WindowScores scores(ResultSet rs) throws SQLException {
    double[] s = new double[5];
    String[] columns = {
      "completeness_score",
      "validity_score",
      "consistency_score",
      "uniqueness_score",
      "timeliness_score"
    };
    boolean any = false;
    for (int i = 0; i < s.length; i++) {
      double v = rs.getDouble(columns[i]);
      s[i] = rs.wasNull() || !(v >= 0 && v <= 100) ? Double.NaN : v;
      any |= !Double.isNaN(s[i]);
    }
    return any ? new WindowScores(s[0], s[1], s[2], s[3], s[4]) : null;
  }

  /** The levels at or above the least one, as stored. */
  private static List<String> levelsFrom(Level least) {
    List<String> levels = new ArrayList<>();
    for (Level l : Level.values()) {
      if (l.toInt() >= least.toInt()) {
        levels.add(l.name());
      }
    }
    return levels;
  }

  /** Text searched for as itself: LIKE's wildcards and the escape character escaped. */
  static String likeEscaped(String text) {
    StringBuilder out = new StringBuilder(text.length() + 8);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '%' || c == '_' || c == '!') {
        out.append('!');
      }
      out.append(c);
    }
    return out.toString();
  }

  private static @Nullable String bounded(@Nullable String name, int max) {
    return name == null || name.length() <= max ? name : name.substring(0, max);
  }

  private static double millis(Duration d) {
    return d.toNanos() / 1e6;
  }

  private static Duration ofMillis(double ms) {
    return Double.isFinite(ms) && ms > 0 ? Duration.ofNanos((long) (ms * 1e6)) : Duration.ZERO;
  }

  private static double finite(double value) {
    return Double.isFinite(value) ? value : 0;
  }
}
