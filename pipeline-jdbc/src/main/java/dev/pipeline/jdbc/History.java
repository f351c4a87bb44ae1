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
import org.jdbi.v3.core.argument.Argument;
import org.jdbi.v3.core.statement.Query;
import org.jdbi.v3.core.statement.Update;
import org.jspecify.annotations.Nullable;
import org.slf4j.event.Level;

/**
 * The audit trail ({@code processing_logs}) and the metrics history ({@code pipeline_metrics}):
 * appended in multi-row inserts, one statement per {@value #ROWS} rows, from the engine's
 * background writer; read a page (or a time range) at a time with every value bound.
 */
final class History extends StoreContext {
  // the event column's width
  private static final int MAX_EVENT = 40;

  /** Rows per INSERT statement. */
  static final int ROWS = 200;

  private static final String LOG_COLUMNS =
      "(pipeline, record_id, stage_name, log_level, event, message, metadata, worker_id,"
          + " created_at)";
  private static final int LOG_PARAMS = 9;
  private static final String METRIC_COLUMNS =
      "(pipeline, stage_name, worker_id, window_start, window_end, processing_time_ms, p50_ms,"
          + " p95_ms, p99_ms, records_in, records_processed, records_failed, records_filtered,"
          + " retries, throughput_per_second, bytes_per_second, queue_depth, utilization,"
          + " circuit_state, cpu_usage, memory_usage, completeness_score, validity_score,"
          + " consistency_score, uniqueness_score, timeliness_score, quality_score)";
  private static final int METRIC_PARAMS = 27;

  private final String logsFull;
  private final String metricsFull;
  private final String readMetrics;

  History(StoreContext shared) {
    super(shared);
    this.logsFull = insert(names.logs(), LOG_COLUMNS, LOG_PARAMS, ROWS);
    this.metricsFull = insert(names.metrics(), METRIC_COLUMNS, METRIC_PARAMS, ROWS);
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

  private static String insert(String table, String columns, int params, int rows) {
    StringBuilder sql = new StringBuilder("INSERT INTO ").append(table).append(' ');
    sql.append(columns).append(" VALUES ");
    String row = "(" + "?, ".repeat(params - 1) + "?)";
    for (int i = 0; i < rows; i++) {
      sql.append(i == 0 ? "" : ", ").append(row);
    }
    return sql.toString();
  }

  void appendAudit(List<AuditEntry> entries) {
    checkOpen();
    for (int from = 0; from < entries.size(); from += ROWS) {
      List<AuditEntry> chunk = entries.subList(from, Math.min(entries.size(), from + ROWS));
      for (AuditEntry e : chunk) {
        checkPipeline(e.pipeline());
      }
      String sql =
          chunk.size() == ROWS
              ? logsFull
              : insert(names.logs(), LOG_COLUMNS, LOG_PARAMS, chunk.size());
      db.call(
          "appendAudit",
          chunk.get(0).pipeline(),
          h -> {
            Update update = h.createUpdate(sql);
            int p = 0;
            for (AuditEntry e : chunk) {
              update.bind(p++, e.pipeline());
              update.bind(p++, Args.text(e.recordId()));
              update.bind(p++, Args.text(bounded(e.stage(), Checks.MAX_NAME)));
              update.bind(p++, e.level().name());
              update.bind(p++, Args.text(bounded(e.event(), MAX_EVENT)));
              update.bind(p++, e.message());
              update.bind(p++, Args.text(MetadataText.encode(e.metadata())));
              update.bind(p++, workerId);
              update.bind(p++, Args.time(e.at()));
            }
            return update.execute();
          });
    }
  }

  void appendMetrics(List<StageWindow> windows) {
    checkOpen();
    for (int from = 0; from < windows.size(); from += ROWS) {
      List<StageWindow> chunk = windows.subList(from, Math.min(windows.size(), from + ROWS));
      for (StageWindow w : chunk) {
        checkPipeline(w.pipeline());
      }
      String sql =
          chunk.size() == ROWS
              ? metricsFull
              : insert(names.metrics(), METRIC_COLUMNS, METRIC_PARAMS, chunk.size());
      db.call(
          "appendMetrics",
          chunk.get(0).pipeline(),
          h -> {
            Update update = h.createUpdate(sql);
            int p = 0;
            for (StageWindow w : chunk) {
              double cpu = w.cpuUsage();
              update.bind(p++, w.pipeline());
              update.bind(p++, Args.text(bounded(w.stage(), Checks.MAX_NAME)));
              update.bind(p++, workerId);
              update.bind(p++, Args.time(w.start()));
              update.bind(p++, Args.time(w.end()));
              update.bind(p++, millis(w.busy()));
              update.bind(p++, millis(w.p50()));
              update.bind(p++, millis(w.p95()));
              update.bind(p++, millis(w.p99()));
              update.bind(p++, w.recordsIn());
              update.bind(p++, w.passed());
              update.bind(p++, w.failed());
              update.bind(p++, w.filtered());
              update.bind(p++, w.retries());
              update.bind(p++, finite(w.recordsPerSecond()));
              update.bind(p++, finite(w.bytesPerSecond()));
              update.bind(p++, w.queueDepth());
              update.bind(p++, finite(w.utilization()));
              update.bind(p++, Args.text(w.circuit()));
              update.bind(p++, Args.float64(cpu < 0 ? null : cpu));
              update.bind(p++, Args.int64(w.allocatedBytes() < 0 ? null : w.allocatedBytes()));
              WindowScores scores = w.scores() == null ? WindowScores.NONE : w.scores();
              update.bind(p++, score(scores.completeness()));
              update.bind(p++, score(scores.validity()));
              update.bind(p++, score(scores.consistency()));
              update.bind(p++, score(scores.uniqueness()));
              update.bind(p++, score(scores.timeliness()));
              update.bind(p++, score(scores.overall()));
            }
            return update.execute();
          });
    }
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
        db.call(
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
  private static Argument score(double value) {
    return Args.float64(Double.isNaN(value) ? null : value);
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
