package dev.pipeline.bench;

import dev.pipeline.Envelope;
import dev.pipeline.Source;
import dev.pipeline.engine.run.Run;
import dev.pipeline.examples.app.ScrapedLine;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The least the batch ledger writes for the durable target's lines, with no stage run: what a
 * durable run cannot go below on a database, set against Spring Batch's whole run on the same one.
 *
 * <p>A plain JDBC loop over {@link DurableWork#source(int)} on a fresh database with the store's
 * tables (so with the same keys and indexes), in batches of {@link Run#DURABLE_INGEST_BATCH} lines
 * as the engine ingests them. Per batch, as the store writes on H2 for a source that can be read
 * again (records kept as a source span, no payload stored):
 *
 * <ol>
 *   <li>the ingest, one transaction: the lookup of which ids are already stored (full rows and id
 *       rows, one statement), an id row for each new id (a JDBC batch), and the batch's row with
 *       its span and its ids, leased to the loop; committed, since the records may be worked on
 *       only once their ingest is durable;
 *   <li>the batch's end, one transaction: its row set done under its lease, as the write that ends
 *       a batch's last records does; committed.
 * </ol>
 *
 * <p>With {@code shared}, a batch's end is written in the next batch's ingest transaction instead
 * (the last batch's in a transaction of its own): one commit per batch, what a writer that batched
 * the ingest and the completions of different batches into one transaction could reach.
 *
 * <p>Left out, since only some records or some runs cost them: the full rows and error rows of
 * records that leave their batch (filtered, dead-lettered), the audit trail, the metrics history,
 * lease renewals, claims, the source's position row. Duplicates are found by the lookup, as the
 * store finds them.
 */
final class LedgerFloor {
  private static final String OWNER = "floor";

  private LedgerFloor() {}

  /** Runs the loop on a fresh database of the given kind, deleted afterwards. */
  static DurableWork.Measured run(BenchDatabase.Kind kind, int lines, boolean shared)
      throws Exception {
    try (BenchDatabase db = BenchDatabase.create(kind)) {
      db.store().close(); // creates the tables
      String prefix = db.schema() == null ? "" : db.schema() + ".";
      Scenario.settle();
      long trips = db.counter.roundTrips();
      db.counter.resetBreakdown();
      CpuMeter cpu = CpuMeter.start(db.helpers());
      long start = System.nanoTime();
      long stored;
      long duplicates;
      try (Connection c = db.dataSource().getConnection()) {
        c.setAutoCommit(false);
        Writes writes = new Writes(c, prefix, shared);
        try (Source<ScrapedLine> source = DurableWork.source(lines)) {
          List<String> batch = new ArrayList<>(Run.DURABLE_INGEST_BATCH);
          Envelope<ScrapedLine> e;
          while ((e = source.next()) != null) {
            batch.add(e.id());
            if (batch.size() == Run.DURABLE_INGEST_BATCH) {
              writes.batch(batch);
              batch.clear();
            }
          }
          if (!batch.isEmpty()) {
            writes.batch(batch);
          }
          writes.last();
        } finally {
          writes.close();
        }
        stored = writes.stored;
        duplicates = writes.duplicates;
      }
      return DurableWork.loopMeasured(
          db, "floor loop", lines, start, cpu, trips, stored, duplicates);
    }
  }

  /** The loop's statements and where it stands. */
  private static final class Writes implements AutoCloseable {
    private final Connection c;
    private final boolean shared;
    private final PreparedStatement lookup;
    private final PreparedStatement idRow;
    private final PreparedStatement batchRow;
    private final PreparedStatement end;
    private long batchId;
    private long position;
    private long unended; // the batch whose end waits for the next ingest (shared), 0 if none
    private int unendedSize;
    long stored;
    long duplicates;

    Writes(Connection c, String prefix, boolean shared) throws SQLException {
      this.c = c;
      this.shared = shared;
      // as the store's H2 lookup: a join on UNNEST, which H2 plans as a probe of the key per id
      lookup =
          c.prepareStatement(
              "SELECT t.record_id FROM "
                  + prefix
                  + "pipeline_records t JOIN UNNEST(CAST(? AS VARCHAR ARRAY)) u(x)"
                  + " ON t.pipeline = ? AND t.record_id = u.x UNION ALL SELECT m.record_id FROM "
                  + prefix
                  + "pipeline_batch_records m JOIN UNNEST(CAST(? AS VARCHAR ARRAY)) u(x)"
                  + " ON m.pipeline = ? AND m.record_id = u.x");
      idRow =
          c.prepareStatement(
              "INSERT INTO "
                  + prefix
                  + "pipeline_batch_records (pipeline, record_id, batch_id, seq)"
                  + " VALUES (?, ?, ?, ?)");
      batchRow =
          c.prepareStatement(
              "INSERT INTO "
                  + prefix
                  + "pipeline_batches (batch_id, pipeline, stage, state, size, lease_owner,"
                  + " lease_token, lease_expires_at, worker_id, created_at, updated_at, source_id,"
                  + " source_position, source_count, source_end, record_ids) VALUES (?, ?,"
                  + " 'ingestion', 'OPEN', ?, '"
                  + OWNER
                  + "', 1, CURRENT_TIMESTAMP + INTERVAL '30' SECOND, '"
                  + OWNER
                  + "', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, ?, ?, ?, ?, ?)");
      end =
          c.prepareStatement(
              "UPDATE "
                  + prefix
                  + "pipeline_batches SET ended = ended + ?, published = published + ?,"
                  + " updated_at = CURRENT_TIMESTAMP, state = 'DONE',"
                  + " completed_at = CURRENT_TIMESTAMP WHERE batch_id = ? AND lease_owner = '"
                  + OWNER
                  + "' AND lease_token = 1");
    }

    /** Ingests one batch of ids (and ends it, or the one before it). */
    void batch(List<String> ids) throws SQLException {
      Array offered = c.createArrayOf("VARCHAR", ids.toArray());
      lookup.setArray(1, offered);
      lookup.setString(2, DurableWork.PIPELINE);
      lookup.setArray(3, offered);
      lookup.setString(4, DurableWork.PIPELINE);
      Set<String> present = new HashSet<>();
      try (ResultSet rs = lookup.executeQuery()) {
        while (rs.next()) {
          present.add(rs.getString(1));
        }
      }
      batchId++;
      List<String> kept = new ArrayList<>(ids.size());
      for (String id : ids) {
        if (!present.add(id)) {
          duplicates++;
          continue;
        }
        idRow.setString(1, DurableWork.PIPELINE);
        idRow.setString(2, id);
        idRow.setLong(3, batchId);
        idRow.setInt(4, kept.size());
        idRow.addBatch();
        kept.add(id);
      }
      if (!kept.isEmpty()) {
        idRow.executeBatch();
        batchRow.setLong(1, batchId);
        batchRow.setString(2, DurableWork.PIPELINE);
        batchRow.setInt(3, kept.size());
        batchRow.setString(4, DurableWork.SOURCE_ID);
        batchRow.setLong(5, position);
        batchRow.setInt(6, ids.size());
        batchRow.setLong(7, position + ids.size());
        batchRow.setArray(8, c.createArrayOf("VARCHAR", kept.toArray()));
        batchRow.executeUpdate();
      }
      position += ids.size();
      if (!shared) {
        c.commit();
        if (!kept.isEmpty()) {
          end(batchId, kept.size());
          c.commit();
        }
        return;
      }
      if (unended != 0) {
        end(unended, unendedSize);
      }
      c.commit();
      unended = kept.isEmpty() ? 0 : batchId;
      unendedSize = kept.size();
    }

    /** Ends the batch still waiting, if any. */
    void last() throws SQLException {
      if (unended != 0) {
        end(unended, unendedSize);
        c.commit();
        unended = 0;
      }
    }

    private void end(long batch, int size) throws SQLException {
      end.setInt(1, size);
      end.setInt(2, size);
      end.setLong(3, batch);
      if (end.executeUpdate() != 1) {
        throw new IllegalStateException("floor loop: batch " + batch + " was not ended");
      }
      stored += size;
    }

    @Override
    public void close() throws SQLException {
      lookup.close();
      idRow.close();
      batchRow.close();
      end.close();
    }
  }
}
