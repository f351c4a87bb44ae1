package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.checkPipeline;

import dev.pipeline.store.LineageEvent;
import dev.pipeline.store.LineageOutcome;
import dev.pipeline.store.PipelineStore;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.result.ResultIterator;
import org.jspecify.annotations.Nullable;

/**
 * Record lineage for a {@link JdbcPipelineStore}: each append (the events of many batches, from the
 * run's telemetry writer) writes one row of {@code record_traces} per record it holds events of,
 * with those events packed ({@link LineageTrace}, packing 2 since schema version 14), through
 * {@link BulkAppend} (one COPY on PostgreSQL, one JDBC batch on H2). A record's trace is read
 * through the index on {@code (pipeline, record_id, trace_id)}: the events written before schema
 * version 12 (one row each in {@code record_lineage}), then its packed rows in {@code trace_id}
 * order. Since schema version 16 the table has no key and this writer sets {@code trace_id} ({@link
 * TraceIds}): a value of the wall clock, so that a record's rows keep their order across the JVMs
 * that append them, one after another.
 *
 * <p>Since schema version 17 the records handed to the sink from one batch of the batch ledger that
 * passed it (most records) share rows: one row of the batch per append (packing 3, {@code batch_id}
 * set, no {@code record_id}), found through the record's id row in {@code pipeline_batch_records}
 * and the index on {@code batch_id}. A row costs the database a heap tuple and an index entry
 * whatever it holds; the record's own rows were most of what lineage {@code ALL} cost it.
 */
final class LineageLog extends StoreContext {
  /**
   * The most characters of packed events in one row, counted as if every text were escaped; a
   * record's further events start a row.
   */
  static final int MAX_PACKED = 200_000;

  /** The characters of a row besides its packed events, about: ids, times, count. */
  private static final int ROW_CHARS = 180;

  /** The {@code trace_id} values of this JVM's stores. */
  private static final TraceIds TRACE_IDS = new TraceIds();

  private final BulkAppend rows;
  private final String findOld;
  private final String find;

  LineageLog(StoreContext shared) {
    super(shared);
    String table = names.traces();
    this.rows =
        BulkAppend.into(db.dialect, table)
            .column("trace_id", BulkAppend.Type.BIGINT)
            .column("pipeline", BulkAppend.Type.TEXT)
            .column("record_id", BulkAppend.Type.TEXT)
            .column("source_id", BulkAppend.Type.TEXT)
            .column("parent_id", BulkAppend.Type.TEXT)
            .column("first_at", BulkAppend.Type.TIME)
            .column("last_at", BulkAppend.Type.TIME)
            .column("event_count", BulkAppend.Type.INT)
            .column("packing", BulkAppend.Type.INT)
            .column("batch_id", BulkAppend.Type.BIGINT)
            .column("events", BulkAppend.Type.TEXT)
            .lazyCommit()
            .build();
    this.findOld =
        "SELECT record_id, stage_name, outcome, entered_at, left_at, attempts, input_hash,"
            + " output_hash, source_id, parent_id, children, branch, verdicts, detail FROM "
            + names.lineage()
            + " WHERE pipeline = :pipeline AND record_id = :record ORDER BY event_id LIMIT "
            + PipelineStore.MAX_LINEAGE_EVENTS;
    // a record's own rows, then the rows of the batch it passed the sink from (packing 3), if any:
    // the subquery finds the batch by the id row the batch ledger writes of every record it takes
    String columns = "SELECT trace_id, source_id, parent_id, first_at, packing, events FROM ";
    this.find =
        columns
            + table
            + " WHERE pipeline = :pipeline AND record_id = :record UNION ALL "
            + columns
            + table
            + " WHERE batch_id = (SELECT m.batch_id FROM "
            + names.batchRecords()
            + " m WHERE m.pipeline = :pipeline AND m.record_id = :record)"
            + " AND pipeline = :pipeline AND packing = "
            + LineageTrace.BATCH_PACKING
            + " ORDER BY trace_id";
  }

  /**
   * A record's events of one append, to be packed into its row as the row is written (straight into
   * COPY's data on PostgreSQL: no text of them is made before).
   */
  private static final class Trace {
    final LineageEvent first;
    final List<LineageEvent> events = new ArrayList<>(12); // the example's records have nine
    int maxChars; // what the packed events take at most (LineageTrace.maxChars)
    @Nullable String sourceId;
    @Nullable String parentId;
    Instant firstAt;
    Instant lastAt;
    int count;
    boolean cut; // the record's events of the append are in more than one trace

    Trace(LineageEvent first) {
      this.first = first;
      this.firstAt = first.enteredAt();
      this.lastAt = first.leftAt();
    }

    void add(LineageEvent e) {
      events.add(e);
      maxChars += LineageTrace.maxChars(e);
      count++;
      if (sourceId == null) {
        sourceId = e.sourceId();
      }
      if (parentId == null) {
        parentId = e.parentId();
      }
      if (e.enteredAt().isBefore(firstAt)) {
        firstAt = e.enteredAt();
      }
      if (e.leftAt().isAfter(lastAt)) {
        lastAt = e.leftAt();
      }
    }
  }

  /**
   * A row to append: one record's events (packing 2), or the events of records handed to the sink
   * from one batch that passed it (packing 3, its {@code batch_id} set).
   */
  private static final class Row {
    final List<Trace> traces = new ArrayList<>(1);
    final @Nullable Long batchId; // null for a record's own row
    long traceId;
    Instant firstAt;
    Instant lastAt;
    int count;
    int maxChars;

    Row(Trace first, @Nullable Long batchId) {
      this.batchId = batchId;
      this.firstAt = first.firstAt;
      this.lastAt = first.lastAt;
      add(first);
    }

    void add(Trace t) {
      if (t.firstAt.isBefore(firstAt)) {
        firstAt = t.firstAt;
      }
      if (t.lastAt.isAfter(lastAt)) {
        lastAt = t.lastAt;
      }
      traces.add(t);
      count += t.count;
      maxChars += t.maxChars + (batchId == null ? 0 : LineageTrace.headerChars(t.first));
    }

    /** The row's first time, to the microsecond (as the row's {@code first_at} keeps it). */
    Instant firstAt() {
      return Instant.ofEpochSecond(firstAt.getEpochSecond(), firstAt.getNano() / 1_000 * 1_000L);
    }

    long firstMicros() {
      return firstAt.getEpochSecond() * 1_000_000L + firstAt.getNano() / 1_000;
    }

    void pack(BulkAppend.TextOut out) {
      long first = firstMicros();
      if (batchId == null) {
        LineageTrace.pack(out, traces.get(0).events, first);
        return;
      }
      for (int i = 0; i < traces.size(); i++) {
        Trace t = traces.get(i);
        if (i > 0) {
          out.append('\n');
        }
        LineageTrace.header(out, t.first.recordId(), t.sourceId, t.parentId);
        out.append('\n');
        LineageTrace.pack(out, t.events, first);
      }
    }
  }

  void append(String pipeline, List<LineageEvent> events) {
    checkPipeline(pipeline);
    Objects.requireNonNull(events, "events cannot be null");
    if (ledger != null) {
      ledger.delivered().track(pipeline); // a run with lineage appends no events as it starts
    }
    if (events.isEmpty()) {
      return;
    }
    List<Row> appended = rows(pipeline, pack(events));
    long id = TRACE_IDS.next(appended.size(), Instant.now());
    long chars = 0;
    for (Row r : appended) {
      r.traceId = id++;
      chars += r.maxChars + ROW_CHARS; // about, since COPY escapes a line's tabs and newline
    }
    int expectedChars = (int) Math.min(chars, 1 << 26);
    db.call(
        "appendLineage",
        pipeline,
        h ->
            rows.append(
                h,
                appended,
                expectedChars,
                (r, row) -> {
                  Trace one = r.batchId == null ? r.traces.get(0) : null;
                  row.int64(r.traceId)
                      .text(pipeline)
                      .text(one == null ? null : one.first.recordId())
                      .text(one == null ? null : one.sourceId)
                      .text(one == null ? null : one.parentId)
                      .time(r.firstAt())
                      .time(r.lastAt)
                      .int32(r.count)
                      .int32(one == null ? LineageTrace.BATCH_PACKING : LineageTrace.PACKING)
                      .int64(r.batchId)
                      .text(r::pack);
                }));
  }

  /**
   * The rows of an append's traces: the traces of records handed to the sink from a batch of the
   * batch ledger ({@link DeliveredFromBatches}) that passed it, together in a row of the batch
   * (several if they would outgrow {@link #MAX_PACKED}); each other trace in a row of its own. A
   * row costs the database a heap tuple and an index entry whatever it holds, most of what lineage
   * costs it; a batch's row has no index entry per record, whose batch is found through the id row
   * the batch ledger writes of each record anyway.
   */
  private List<Row> rows(String pipeline, List<Trace> traces) {
    List<Row> out = new ArrayList<>(traces.size());
    DeliveredFromBatches handed = ledger == null ? null : ledger.delivered();
    Map<Long, Row> open = new HashMap<>();
    for (Trace t : traces) {
      Long batch = handed == null ? null : handed.take(pipeline, t.first.recordId());
      if (batch == null || t.cut || t.events.getLast().outcome() != LineageOutcome.PASSED) {
        out.add(new Row(t, null));
        continue;
      }
      Row r = open.get(batch);
      if (r == null || r.maxChars + t.maxChars >= MAX_PACKED) {
        r = new Row(t, batch);
        open.put(batch, r);
        out.add(r);
      } else {
        r.add(t);
      }
    }
    return out;
  }

  /** The events grouped by record, in the order each record first appears, each group in order. */
  private static List<Trace> pack(List<LineageEvent> events) {
    Map<String, Trace> open = new HashMap<>(events.size());
    List<Trace> traces = new ArrayList<>();
    Trace last = null;
    for (LineageEvent e : events) {
      // the telemetry writer gives a record's events together: most are the last one's
      Trace t =
          last != null && last.first.recordId().equals(e.recordId())
              ? last
              : open.get(e.recordId());
      if (t == null || t.maxChars >= MAX_PACKED) {
        Trace full = t;
        t = new Trace(e);
        if (full != null) {
          full.cut = true;
          t.cut = true;
        }
        open.put(e.recordId(), t);
        traces.add(t);
      }
      t.add(e);
      last = t;
    }
    return traces;
  }

  List<LineageEvent> find(String pipeline, String recordId) {
    checkPipeline(pipeline);
    Objects.requireNonNull(recordId, "recordId cannot be null");
    return db.call(
        "lineage",
        pipeline,
        h -> {
          List<LineageEvent> events =
              new ArrayList<>(
                  h.createQuery(findOld)
                      .bind("pipeline", pipeline)
                      .bind("record", recordId)
                      .map((rs, ctx) -> read(rs))
                      .list());
          try (ResultIterator<List<LineageEvent>> packed =
              h.createQuery(find)
                  .bind("pipeline", pipeline)
                  .bind("record", recordId)
                  .map(
                      (rs, ctx) -> {
                        int packing = rs.getInt("packing");
                        Instant firstAt = Objects.requireNonNull(Args.instant(rs, "first_at"));
                        return packing == LineageTrace.BATCH_PACKING
                            ? LineageTrace.unpackOf(recordId, firstAt, rs.getString("events"))
                            : LineageTrace.unpack(
                                packing,
                                recordId,
                                rs.getString("source_id"),
                                rs.getString("parent_id"),
                                firstAt,
                                rs.getString("events"));
                      })
                  .iterator()) {
            while (packed.hasNext()) {
              events.addAll(packed.next());
              if (events.size() >= PipelineStore.MAX_LINEAGE_EVENTS) {
                return List.copyOf(events.subList(0, PipelineStore.MAX_LINEAGE_EVENTS));
              }
            }
          }
          return events;
        });
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

  /**
   * The {@code trace_id} values of lineage rows: the microseconds since 1970 of the append times
   * 1,024, or the value after the last given if that is higher (several appends in a microsecond,
   * or the clock stepped back). Another JVM's values may be the same; a record's rows are appended
   * by one worker at a time, and the wall clock orders one worker's rows after another's
   * (milliseconds of clock skew against the seconds a record's lease takes to pass on).
   */
  static final class TraceIds {
    private final AtomicLong last = new AtomicLong();

    /** The first of {@code rows} consecutive values for an append at {@code now}. */
    long next(int rows, Instant now) {
      long clock = (now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000) << 10;
      while (true) {
        long previous = last.get();
        long first = Math.max(clock, previous + 1);
        if (last.compareAndSet(previous, first + rows - 1)) {
          return first;
        }
      }
    }
  }
}
