package dev.pipeline.bench;

import static dev.pipeline.StageName.ANALYSIS;
import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.INDEXING;
import static dev.pipeline.StageName.INGESTION;
import static dev.pipeline.StageName.PUBLISHING;
import static dev.pipeline.StageName.TRANSLATION;
import static dev.pipeline.StageName.VALIDATION;

import dev.pipeline.Envelope;
import dev.pipeline.LineageLevel;
import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.Source;
import dev.pipeline.StageOptions;
import dev.pipeline.examples.app.EquipmentPipeline;
import dev.pipeline.examples.app.ListingLines;
import dev.pipeline.examples.app.ScrapedLine;
import dev.pipeline.examples.listings.Cleaner;
import dev.pipeline.examples.listings.Extractor;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.Indexer;
import dev.pipeline.examples.listings.ListingGenerator;
import dev.pipeline.examples.listings.ListingIndex;
import dev.pipeline.examples.listings.ListingParser;
import dev.pipeline.examples.listings.SentimentAnalyzer;
import dev.pipeline.examples.listings.Translator;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.jdbc.JsonCodec;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.spi.RecordLedger;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * The durable targets' work: the equipment example's eight stages as {@link EquipmentPipeline}
 * wires them (no checkpoint stage, so the store writes each record when it is ingested and when it
 * completes), over lines of {@link ListingGenerator} read through {@link ListingLines}, whose
 * record ids are the listing ids: about 2% of the lines re-post an earlier listing and are
 * duplicates, skipped at ingestion. And the raw JDBC loop that writes the same rows without the
 * pipeline.
 */
final class DurableWork {
  static final String PIPELINE = "equipment";
  static final String SOURCE_ID = "generated";
  static final JsonCodec<ScrapedLine> CODEC = JsonCodec.of(ScrapedLine.class);

  /** The batch size of every stage, the engine's default: the raw loop writes in batches of it. */
  static final int BATCH = StageOptions.defaults().batchSize();

  private DurableWork() {}

  /**
   * The generated lines, as the example reads them, from a source that can seek and be read again
   * as a file can ({@link GeneratedLines}).
   */
  static Source<ScrapedLine> source(int lines) {
    return new GeneratedLines(lines);
  }

  /**
   * One worker's part of {@link #source(int)}, generated before a timed run as a partitioned input
   * holds it: the lines whose number, counted from 0, is {@code shard} modulo {@code shards}, each
   * with its number in the whole input (so the records keep the ids they have in the whole source).
   * Read it with {@link #source(List)}.
   */
  static List<Map.Entry<Long, String>> part(int lines, int shard, int shards) {
    List<Map.Entry<Long, String>> part = new ArrayList<>(lines / shards + 1);
    Iterator<String> all = new ListingGenerator(ListingGenerator.DEFAULT_SEED).lines(lines);
    for (long lineNo = 1; all.hasNext(); lineNo++) {
      String text = all.next();
      if ((lineNo - 1) % shards == shard) {
        part.add(Map.entry(lineNo, text));
      }
    }
    return part;
  }

  /** A source over a worker's {@link #part}. */
  static Source<ScrapedLine> source(List<Map.Entry<Long, String>> part) {
    Iterator<Map.Entry<Long, String>> lines = part.iterator();
    return new Source<>() {
      @Override
      public String id() {
        return SOURCE_ID;
      }

      @Override
      public @Nullable Envelope<ScrapedLine> next() {
        if (!lines.hasNext()) {
          return null;
        }
        Map.Entry<Long, String> line = lines.next();
        return ListingLines.envelope(SOURCE_ID, line.getKey(), line.getValue());
      }
    };
  }

  /**
   * The example's pipeline on a store, publishing into a fresh {@link ListingIndex}; its alerts are
   * counted, not logged (see {@link AlertCount}).
   */
  static Pipeline<ScrapedLine, IndexedListing> pipeline(RecordLedger store) {
    return pipeline(store, new ListingIndex());
  }

  /** As {@link #pipeline(RecordLedger)}, publishing into the given index. */
  static Pipeline<ScrapedLine, IndexedListing> pipeline(RecordLedger store, ListingIndex index) {
    return pipeline(store, index, LineageLevel.NONE);
  }

  /** As {@link #pipeline(RecordLedger, ListingIndex)}, keeping lineage at the given level. */
  static Pipeline<ScrapedLine, IndexedListing> pipeline(
      RecordLedger store, ListingIndex index, LineageLevel lineage) {
    return EquipmentPipeline.stages(
            Pipeline.builder(PIPELINE, ScrapedLine.class).alerts(new AlertCount()), index)
        .store(store)
        .inputCodec(CODEC)
        .lineage(lineage)
        .build();
  }

  /**
   * The same eight stage functions, wired as {@link EquipmentPipeline} wires them but without the
   * validation stage's rules gate and reference data, and publishing into a {@link RollingIndex}:
   * for a million lines, whose single index would fill the heap and make the run's cost grow with
   * its live set (garbage collection), not with the store's work.
   */
  static Pipeline<ScrapedLine, IndexedListing> rollingPipeline(RecordLedger store) {
    RollingIndex index = new RollingIndex();
    return Pipeline.builder(PIPELINE, ScrapedLine.class)
        .alerts(new AlertCount())
        .stage(
            INGESTION,
            (ScrapedLine line) -> ListingParser.parse(line.sourceId(), line.lineNo(), line.text()))
        .stage(CLEANING, Cleaner::clean)
        .stage(EXTRACTION, Extractor::extract)
        .stage(ANALYSIS, SentimentAnalyzer::analyze)
        .stage(TRANSLATION, Translator::translate, s -> s.timeout(Duration.ofSeconds(5)))
        .stage(VALIDATION, ListingWork::gate)
        .stage(INDEXING, Indexer::index)
        .stage(PUBLISHING, ListingWork.publisher(index))
        .store(store)
        .inputCodec(CODEC)
        .build();
  }

  /**
   * How the lines of one run ended; the same lines must end the same way on every store, and on
   * Spring Batch (see {@link SpringBatchWork}).
   *
   * @param duplicates lines whose listing id came before (not stored again)
   * @param checksum what was published (see {@link #checksum}), 0 where nothing is published into a
   *     {@link ListingIndex} (the raw loops, the rolling index)
   */
  record Outcome(long published, long filtered, long deadLettered, long duplicates, long checksum) {
    long unique() {
      return published + filtered + deadLettered;
    }

    @Override
    public String toString() {
      return String.format(
          "%,d unique records (%,d published, %,d filtered, %,d dead-lettered), %,d duplicate"
              + " lines, published checksum %016x",
          unique(), published, filtered, deadLettered, duplicates, checksum);
    }
  }

  /**
   * A checksum of the listings a run of {@link #source(int)} published into {@code index}: the sum
   * of the CRC32C of each one's text form (every field of the record), so it does not depend on the
   * order of publishing. Computed after the run, outside its time, by reading the lines again.
   */
  static long checksum(ListingIndex index, int lines) throws Exception {
    long sum = 0;
    Set<String> seen = new HashSet<>();
    try (Source<ScrapedLine> source = source(lines)) {
      Envelope<ScrapedLine> e;
      while ((e = source.next()) != null) {
        if (seen.add(e.id())) {
          IndexedListing listing = index.get(e.id()).orElse(null);
          if (listing != null) {
            CRC32C crc = new CRC32C();
            crc.update(listing.toString().getBytes(StandardCharsets.UTF_8));
            sum += crc.getValue();
          }
        }
      }
    }
    return sum;
  }

  /**
   * One measured run.
   *
   * @param nanos wall time of the run alone (not the store's build or close)
   * @param roundTrips SQL round trips counted meanwhile, 0 in memory
   * @param cpu cores used meanwhile
   * @param breakdown the round trips by statement, with their time (see {@link
   *     CountingDataSource#breakdown}); empty in memory
   */
  record Measured(
      long nanos, Outcome outcome, long roundTrips, CpuMeter.Usage cpu, List<String> breakdown) {
    double rate(int lines) {
      return lines / (nanos / 1e9);
    }

    double tripsPerRecord() {
      return (double) roundTrips / outcome.unique();
    }

    /**
     * Microseconds of CPU per line: this JVM's and its helpers' (the PostgreSQL backends of its
     * connections), NaN where unknown.
     */
    double cpuMicrosPerLine(int lines) {
      return cpu.ours() * nanos / 1e3 / lines;
    }

    /** The helpers' part of {@link #cpuMicrosPerLine}: the PostgreSQL backends' CPU per line. */
    double helperMicrosPerLine(int lines) {
      return cpu.helped() * nanos / 1e3 / lines;
    }
  }

  /** Runs the pipeline in memory. */
  static Measured inMemory(int lines) throws Exception {
    return inMemory(lines, LineageLevel.NONE);
  }

  /** Runs the pipeline in memory, keeping lineage at the given level. */
  static Measured inMemory(int lines, LineageLevel lineage) throws Exception {
    ListingIndex index = new ListingIndex();
    try (Pipeline<ScrapedLine, IndexedListing> pipeline =
        pipeline(InMemoryPipelineStore.create(), index, lineage)) {
      return withChecksum(timed(pipeline, lines, null, CpuMeter.Helpers.NONE), index, lines);
    }
  }

  /** Runs the pipeline on a fresh database of the given kind, deleted afterwards. */
  static Measured durable(BenchDatabase.Kind kind, int lines) throws Exception {
    return durable(kind, lines, false);
  }

  /** As {@link #durable(BenchDatabase.Kind, int)}, with a rolling index if asked. */
  static Measured durable(BenchDatabase.Kind kind, int lines, boolean rolling) throws Exception {
    return durable(kind, lines, rolling, false);
  }

  /** As {@link #durable(BenchDatabase.Kind, int)}, with the full ledger: a row per ended record. */
  static Measured durableFull(BenchDatabase.Kind kind, int lines) throws Exception {
    return durable(kind, lines, false, true);
  }

  /**
   * As {@link #durable(BenchDatabase.Kind, int)}, with the full ledger and rows from ingest as
   * asked; {@code after} reads the database once the run is over, before it is dropped.
   */
  static Measured durableLedger(
      BenchDatabase.Kind kind,
      int lines,
      boolean fullLedger,
      boolean rowsFromIngest,
      java.util.function.Consumer<BenchDatabase> after)
      throws Exception {
    ListingIndex index = new ListingIndex();
    try (BenchDatabase db = BenchDatabase.create(kind);
        JdbcPipelineStore store = db.store(fullLedger, rowsFromIngest);
        Pipeline<ScrapedLine, IndexedListing> pipeline =
            pipeline(store, index, LineageLevel.NONE)) {
      Measured m = timed(pipeline, lines, db.counter, db.helpers());
      after.accept(db);
      return withChecksum(m, index, lines);
    }
  }

  private static Measured durable(
      BenchDatabase.Kind kind, int lines, boolean rolling, boolean fullLedger) throws Exception {
    return durable(kind, lines, rolling, fullLedger, LineageLevel.NONE);
  }

  /** Runs the pipeline on a fresh database of the given kind, keeping lineage at a level. */
  static Measured durable(BenchDatabase.Kind kind, int lines, LineageLevel lineage)
      throws Exception {
    return durable(kind, lines, false, false, lineage);
  }

  private static Measured durable(
      BenchDatabase.Kind kind, int lines, boolean rolling, boolean fullLedger, LineageLevel lineage)
      throws Exception {
    ListingIndex index = new ListingIndex();
    try (BenchDatabase db = BenchDatabase.create(kind);
        JdbcPipelineStore store = db.store(fullLedger);
        Pipeline<ScrapedLine, IndexedListing> pipeline =
            rolling ? rollingPipeline(store) : pipeline(store, index, lineage)) {
      Measured m = timed(pipeline, lines, db.counter, db.helpers());
      return rolling ? m : withChecksum(m, index, lines);
    }
  }

  private static Measured withChecksum(Measured m, ListingIndex index, int lines) throws Exception {
    Outcome o = m.outcome();
    Outcome checked =
        new Outcome(
            o.published(), o.filtered(), o.deadLettered(), o.duplicates(), checksum(index, lines));
    return new Measured(m.nanos(), checked, m.roundTrips(), m.cpu(), m.breakdown());
  }

  private static Measured timed(
      Pipeline<ScrapedLine, IndexedListing> pipeline,
      int lines,
      @org.jspecify.annotations.Nullable CountingDataSource counter,
      CpuMeter.Helpers helpers) {
    Scenario.settle();
    long trips = counter == null ? 0 : counter.roundTrips();
    if (counter != null) {
      counter.resetBreakdown();
    }
    CpuMeter cpu = CpuMeter.start(helpers);
    long start = System.nanoTime();
    RunResult result = pipeline.run(source(lines));
    long took = System.nanoTime() - start;
    CpuMeter.Usage used = cpu.stop();
    trips = counter == null ? 0 : counter.roundTrips() - trips;
    return new Measured(
        took,
        requireComplete(result, lines),
        trips,
        used,
        counter == null ? List.of() : counter.breakdown());
  }

  /**
   * Checks that every line was read and every unique record ended in a terminal state.
   *
   * @throws IllegalStateException if not: a crash, not a missed target
   */
  static Outcome requireComplete(RunResult result, long lines) {
    Outcome outcome =
        new Outcome(
            result.published(), result.filtered(), result.deadLettered(), result.duplicates(), 0);
    if (result.status() != RunStatus.COMPLETED
        || result.unfinished() != 0
        || outcome.unique() + outcome.duplicates() != lines) {
      throw new IllegalStateException(
          "run of '"
              + result.pipeline()
              + "' did not complete cleanly: expected "
              + lines
              + " lines read and each unique record done\n"
              + result.summary(),
          result.failure());
    }
    return outcome;
  }

  /**
   * The physical limit: the same rows, written by a plain JDBC program into the store's own table
   * (so with the same indexes) on a fresh database, in batches of {@link #BATCH}. Each unique
   * line's payload is encoded with the pipeline's input codec and checksummed (CRC32C, as the store
   * does); each batch is inserted in one JDBC batch and committed.
   *
   * <p>If {@code noted}, as the engine writes: then, in one transaction, the previous batch is set
   * to its terminal state (payload cleared, lease freed) and this batch's delivery is noted (its
   * delivery count raised under a delivery token); a last transaction ends the last batch. The note
   * is a JDBC batch of updates by id on H2 and one update of the batch's ids ({@code = ANY(?)}) on
   * PostgreSQL, which runs a JDBC batch statement by statement. Otherwise (the bare loop) each
   * batch is set to its terminal state right after its insert, and committed: the least any durable
   * store must write. Either loop sets the terminal states as the store does: a JDBC batch of
   * updates by id on H2, one update joined to the batch's ids and tokens on PostgreSQL (where a
   * JDBC batch of updates, each planned and executed on its own, took three times as long).
   *
   * <p>On PostgreSQL the loop analyzes the table each time its rows double from 1,000, as the
   * store's statistics upkeep does (which also counts updates): without statistics the planner
   * keeps the plans it made for an empty table. Both loops leave out what only some records cost
   * the pipeline: the error rows of the retried and dead-lettered records, their dead letter
   * updates, and the heartbeat's lease renewals.
   */
  static Measured raw(BenchDatabase.Kind kind, int lines, boolean noted) throws Exception {
    try (BenchDatabase db = BenchDatabase.create(kind)) {
      db.store().close(); // creates the tables
      String table = db.statusTable();
      Scenario.settle();
      long trips = db.counter.roundTrips();
      db.counter.resetBreakdown();
      CpuMeter cpu = CpuMeter.start(db.helpers());
      long start = System.nanoTime();
      long duplicates = 0;
      long written = 0;
      try (Connection c = db.dataSource().getConnection();
          PreparedStatement insert =
              c.prepareStatement(
                  "INSERT INTO "
                      + table
                      + " (pipeline, record_id, current_stage, status, started_at, updated_at,"
                      + " payload, payload_format, payload_checksum, metadata, lease_owner,"
                      + " lease_token, lease_expires_at, worker_id) VALUES (?, ?, 'ingestion',"
                      + " 'IN_PROGRESS', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, ?, ?, ?, ?, 'raw',"
                      + " ?, CURRENT_TIMESTAMP, 'raw')");
          PreparedStatement complete =
              c.prepareStatement(
                  "UPDATE "
                      + table
                      + " SET status = 'PUBLISHED', current_stage = 'publishing',"
                      + " updated_at = CURRENT_TIMESTAMP, payload = NULL, payload_format = NULL,"
                      + " payload_checksum = NULL, completed_at = CURRENT_TIMESTAMP,"
                      + " lease_owner = NULL, lease_expires_at = NULL"
                      + " WHERE pipeline = ? AND record_id = ? AND lease_owner = 'raw'"
                      + " AND lease_token = ? AND status = 'IN_PROGRESS'");
          PreparedStatement note =
              c.prepareStatement(
                  "UPDATE "
                      + table
                      + " SET deliveries = deliveries + 1, delivery_token = ?"
                      + " WHERE pipeline = ? AND record_id"
                      + (kind == BenchDatabase.Kind.POSTGRES ? " = ANY(?)" : " = ?"))) {
        c.setAutoCommit(false);
        Writes writes =
            new Writes(
                c,
                insert,
                complete,
                noted ? note : null,
                kind == BenchDatabase.Kind.POSTGRES,
                table);
        Source<ScrapedLine> source = source(lines);
        Set<String> seen = new HashSet<>();
        List<String> batch = new ArrayList<>(BATCH);
        Envelope<ScrapedLine> e;
        while ((e = source.next()) != null) {
          if (!seen.add(e.id())) {
            duplicates++;
            continue;
          }
          byte[] payload = CODEC.encode(e.payload());
          byte[] metadata = metadata(e.metadata()).getBytes(StandardCharsets.UTF_8);
          CRC32C crc = new CRC32C();
          crc.update(payload);
          crc.update(0);
          crc.update(metadata);
          insert.setString(1, PIPELINE);
          insert.setString(2, e.id());
          insert.setBytes(3, payload);
          insert.setString(4, CODEC.name());
          insert.setLong(5, crc.getValue());
          insert.setString(6, new String(metadata, StandardCharsets.UTF_8));
          insert.setLong(7, batch.size() + 1L);
          insert.addBatch();
          batch.add(e.id());
          if (batch.size() == BATCH) {
            written += writes.batch(batch);
            batch = new ArrayList<>(BATCH);
          }
        }
        written += writes.batch(batch);
        written += writes.batch(List.of()); // the last batch's terminal states
      }
      return loopMeasured(db, "raw loop", lines, start, cpu, trips, written, duplicates);
    }
  }

  /**
   * Ends the measurement of a plain JDBC loop begun at {@code start} (with {@code trips} counted
   * then) that stored {@code stored} records and skipped {@code duplicates}.
   *
   * @throws IllegalStateException if those are not all the lines: a broken loop
   */
  static Measured loopMeasured(
      BenchDatabase db,
      String loop,
      int lines,
      long start,
      CpuMeter cpu,
      long trips,
      long stored,
      long duplicates) {
    long took = System.nanoTime() - start;
    CpuMeter.Usage used = cpu.stop();
    long made = db.counter.roundTrips() - trips;
    if (stored + duplicates != lines) {
      throw new IllegalStateException(
          loop + " stored " + stored + " records and skipped " + duplicates + " of " + lines);
    }
    return new Measured(
        took, new Outcome(stored, 0, 0, duplicates, 0), made, used, db.counter.breakdown());
  }

  /** The raw loop's writes after each batch read; returns the rows set to a terminal state. */
  private static final class Writes {
    private final Connection c;
    private final PreparedStatement insert;
    private final PreparedStatement complete;
    private final @Nullable PreparedStatement note;
    private final boolean postgres;
    private final String table;
    private final @Nullable PreparedStatement completeAll;
    private long inserted;
    private long analyzeAt = 1_000;
    private List<String> delivered = List.of();
    private long token;

    Writes(
        Connection c,
        PreparedStatement insert,
        PreparedStatement complete,
        @Nullable PreparedStatement note,
        boolean postgres,
        String table)
        throws java.sql.SQLException {
      this.c = c;
      this.insert = insert;
      this.complete = complete;
      this.note = note;
      this.postgres = postgres;
      this.table = table;
      this.completeAll =
          postgres
              ? c.prepareStatement(
                  "UPDATE "
                      + table
                      + " t SET status = 'PUBLISHED', current_stage = 'publishing',"
                      + " updated_at = CURRENT_TIMESTAMP, payload = NULL, payload_format = NULL,"
                      + " payload_checksum = NULL, completed_at = CURRENT_TIMESTAMP,"
                      + " lease_owner = NULL, lease_expires_at = NULL"
                      + " FROM UNNEST(CAST(? AS VARCHAR[]), CAST(? AS BIGINT[])) AS v(id, token)"
                      + " WHERE t.pipeline = ? AND t.record_id = v.id AND t.lease_owner = 'raw'"
                      + " AND t.lease_token = v.token AND t.status = 'IN_PROGRESS'")
              : null;
    }

    int batch(List<String> batch) throws java.sql.SQLException {
      if (!batch.isEmpty()) {
        insert.executeBatch();
        c.commit();
        inserted += batch.size();
        if (postgres && inserted >= analyzeAt) {
          try (java.sql.Statement s = c.createStatement()) {
            s.execute("ANALYZE " + table);
          }
          c.commit();
          analyzeAt *= 2;
        }
      }
      if (note == null) {
        if (batch.isEmpty()) {
          return 0;
        }
        int done = complete(batch);
        c.commit();
        return done;
      }
      // the previous batch's terminal states with this batch's delivery note, as the engine does
      int done = complete(delivered);
      token++;
      if (!batch.isEmpty()) {
        if (postgres) {
          note.setLong(1, token);
          note.setString(2, PIPELINE);
          note.setArray(3, c.createArrayOf("varchar", batch.toArray()));
          note.executeUpdate();
        } else {
          for (String id : batch) {
            note.setLong(1, token);
            note.setString(2, PIPELINE);
            note.setString(3, id);
            note.addBatch();
          }
          note.executeBatch();
        }
      }
      c.commit();
      delivered = batch;
      return done;
    }

    private int complete(List<String> ids) throws java.sql.SQLException {
      if (ids.isEmpty()) {
        return 0;
      }
      if (postgres) {
        // one statement for the batch, as the store completes on PostgreSQL: run as a JDBC batch,
        // each row's UPDATE is planned and executed on its own
        Long[] tokens = new Long[ids.size()];
        for (int i = 0; i < tokens.length; i++) {
          tokens[i] = i + 1L;
        }
        PreparedStatement all = java.util.Objects.requireNonNull(completeAll);
        all.setArray(1, c.createArrayOf("varchar", ids.toArray()));
        all.setArray(2, c.createArrayOf("int8", tokens));
        all.setString(3, PIPELINE);
        return all.executeUpdate();
      }
      for (int i = 0; i < ids.size(); i++) {
        complete.setString(1, PIPELINE);
        complete.setString(2, ids.get(i));
        complete.setLong(3, i + 1L);
        complete.addBatch();
      }
      int done = 0;
      for (int count : complete.executeBatch()) {
        done += count == java.sql.Statement.SUCCESS_NO_INFO ? 1 : count;
      }
      return done;
    }
  }

  private static String metadata(Map<String, String> metadata) {
    StringBuilder out = new StringBuilder("{");
    for (Map.Entry<String, String> m : metadata.entrySet()) {
      out.append(out.length() > 1 ? "," : "")
          .append('"')
          .append(m.getKey())
          .append("\":\"")
          .append(m.getValue())
          .append('"');
    }
    return out.append('}').toString();
  }
}
