package dev.pipeline.jdbc;

/**
 * The SQL of the batch ledger ({@link BatchLedger}), made once from the table names and dialect.
 * Only validated identifiers are put into the text; every value is bound.
 */
final class BatchStatements {
  final String batches;
  final String members;
  final String events;
  final String rows;
  final String expiry;
  final String insertMembersPg;
  // the id rows of an ingest: appended on H2; on PostgreSQL, the varying columns unnested into
  // insertMembersPg, which skips ids already stored (COPY cannot skip them)
  final BulkAppend memberRows;
  final BulkAppend memberIds;
  final String storedIds;
  final String keepSpanEnd;
  final String insertBatch;
  final String insertEvent;
  final String eventExists;
  final String write;
  final String eventsOfCall;
  final String renewHeld;

  /**
   * The heartbeat's renewal of the batches it holds, on PostgreSQL (with plain JDBC parameters: the
   * lease in milliseconds, the ids, the tokens, the worker): skips the rows another transaction
   * holds.
   */
  final String heartbeatRenew;

  final String claimPg;
  final String claimPick;
  final String claimTake;
  final String claimRead;
  final String eventsOf;
  final String close;
  final String releaseOne;
  final String takeOver;
  final String renewExpiredHeld;
  final String leasesElsewhere;
  final String hasUnfinished;
  final String hasUnfinishedToTake;
  final String waitingForSources;
  final String counts;
  final String find;
  final String unfinishedOf;
  final String endedHere;
  final String moveRow;
  final String finalRow;
  final BulkAppend finalRows;
  final String purgeDone;
  final String holders;
  final String membersOf;
  final String purgedRecords;
  final String purgeEvents;
  final String purgeMembers;
  final String purgeBatch;
  final String keptGroups;
  final String keepMerged;

  BatchStatements(Dialect dialect, Names names, boolean keepPayloads) {
    this.batches = names.batches();
    this.members = names.batchRecords();
    this.events = names.batchEvents();
    this.rows = names.status();
    this.expiry = dialect.plusMillis(":lease_ms");
    this.memberRows =
        BulkAppend.into(dialect, members)
            .column("pipeline", BulkAppend.Type.TEXT)
            .column("record_id", BulkAppend.Type.TEXT)
            .column("batch_id", BulkAppend.Type.BIGINT)
            .column("seq", BulkAppend.Type.INT)
            .build();
    this.memberIds =
        BulkAppend.into(dialect, members)
            .column("record_id", BulkAppend.Type.TEXT)
            .column("seq", BulkAppend.Type.INT)
            .build();
    String fenced = " WHERE batch_id = :batch AND lease_owner = :owner AND lease_token = :token";
    // an id row's record has no full row: a scalar subquery, which stays a probe of the primary key
    // per id, where NOT EXISTS, an anti-join, was seen planned as a hash of every row of the
    // pipeline
    String noRow =
        "(SELECT 1 FROM "
            + rows
            + " t WHERE t.pipeline = m.pipeline AND t.record_id = m.record_id)"
            + " IS NULL";
    String notHeldHere =
        "NOT (lease_owner IS NOT NULL AND lease_owner = :owner"
            + " AND lease_token = ANY(CAST(:held AS BIGINT ARRAY)))";

    // a scalar subquery, not NOT EXISTS: the planner keeps it a probe of the primary key per id,
    // where an anti-join was seen planned as a hash of every row of the pipeline, on each ingest.
    // One statement, so that no transaction stays open between the two inserts (a worker paused
    // there would hold up every other worker's ingest of the same ids); the packed payloads hold
    // every record offered, and a claim unpacks only those whose id row names the batch
    insertMembersPg =
        """
        WITH ins AS (
          INSERT INTO %1$s (pipeline, record_id, batch_id, seq)
          SELECT :pipeline, v.id, :batch, v.seq
          FROM %5$s AS v(id, seq)
          WHERE (SELECT 1 FROM %2$s t WHERE t.pipeline = :pipeline AND t.record_id = v.id) IS NULL
          ON CONFLICT DO NOTHING RETURNING record_id
        ), b AS (
          INSERT INTO %3$s (batch_id, pipeline, stage, state, size, payloads, payload_format,
            lease_owner, lease_token, lease_expires_at, worker_id, created_at, updated_at,
            source_id, source_position, source_count, source_end, record_ids)
          SELECT :batch, :pipeline, :stage, 'OPEN', c.n, :payloads, :format, :owner, :token, %4$s,
            :owner, :at, :at, :source_id, :source_position, :source_count, :source_end, c.ids
          FROM (SELECT COUNT(*) AS n, ARRAY_AGG(record_id) AS ids FROM ins) c WHERE c.n > 0
          ON CONFLICT DO NOTHING
        ), p AS (
          INSERT INTO %6$s (pipeline, source_id, position, worker_id, updated_at)
          SELECT :pipeline, CAST(:source_id AS VARCHAR), :source_end, :owner, :at
          WHERE CAST(:source_id AS VARCHAR) IS NOT NULL
          ON CONFLICT (pipeline, source_id) DO UPDATE SET position = EXCLUDED.position,
            worker_id = EXCLUDED.worker_id, updated_at = EXCLUDED.updated_at
        )
        SELECT record_id FROM ins
        """
            .formatted(
                members, rows, batches, expiry, memberIds.unnest("ids"), names.sourcePositions());
    // a span's end is where its source's reader stands once the batch is stored: kept with it
    keepSpanEnd =
        "MERGE INTO "
            + names.sourcePositions()
            + " (pipeline, source_id, position, worker_id, updated_at) KEY (pipeline, source_id)"
            + " VALUES (:pipeline, :source_id, :source_end, :owner, :at)";
    storedIds =
        "SELECT t.record_id FROM "
            + dialect.byIds(rows, "t")
            + " UNION ALL SELECT m.record_id FROM "
            + dialect.byIds(members, "m");
    insertBatch =
        "INSERT INTO "
            + batches
            + " (batch_id, pipeline, stage, state, size, payloads, payload_format, lease_owner,"
            + " lease_token, lease_expires_at, worker_id, created_at, updated_at, source_id,"
            + " source_position, source_count, source_end, record_ids) VALUES (:batch, :pipeline,"
            + " :stage,"
            + " 'OPEN', :size,"
            + " :payloads, :format, :owner, :token, "
            + expiry
            + ", :owner, :at, :at, :source_id, :source_position, :source_count, :source_end,"
            + " :record_ids)";
    insertEvent =
        "INSERT INTO "
            + events
            + " (batch_id, event_token, kind, seqs, occurred_at, worker_id) VALUES (:batch, :event,"
            + " :kind, :seqs, :at, :owner)";
    eventExists =
        "SELECT COUNT(*) FROM "
            + events
            + " WHERE batch_id = :batch AND event_token = :event AND kind = :kind";
    // the batches of a worker's records it can no longer vouch for, renewed in one statement that
    // returns those still held: each under the very token the worker holds it by (a batch claimed
    // again since, even by this worker, is not the copy it has). Each id is probed by the primary
    // key: on H2 a join on UNNEST, which it plans as a probe per id where it scans for "= ANY"; on
    // PostgreSQL a lateral probe (joined, the batches never analyzed were read whole) that locks
    // the batch only if this worker holds it under that token, in the order of the ids bound
    // (batch id order, as every writer of batches locks them). The rows locked are then updated
    // through the key, "= ANY" of an array on PostgreSQL: as "IN", a young table's plan hashed the
    // subquery and scanned the table
    String held =
        "SELECT b.batch_id FROM UNNEST(CAST(%s AS BIGINT ARRAY), CAST(%s AS BIGINT ARRAY))"
            + " AS v(id, token)"
            + dialect.joinByKey(
                batches,
                "b",
                "batch_id",
                "v.id",
                r -> r + ".lease_token = v.token AND " + r + ".lease_owner = %s");
    String among =
        dialect.locksInSubqueries() ? " WHERE batch_id = ANY(ARRAY(" : " WHERE batch_id IN (";
    String end = dialect.locksInSubqueries() ? "))" : ")";
    renewHeld =
        dialect.returning(
            "UPDATE "
                + batches
                + " SET lease_expires_at = "
                + expiry
                + among
                + held.formatted(":ids", ":tokens", ":owner")
                + (dialect.locksInSubqueries() ? " ORDER BY b.batch_id FOR UPDATE OF b" : "")
                + end,
            "batch_id");
    // the state tested after the probe: in it, the partial index of open batches looked cheaper
    // on a young table than the key, and was read whole per id
    heartbeatRenew =
        "UPDATE "
            + batches
            + " SET lease_expires_at = "
            + dialect.plusMillis("?")
            + among
            + held.formatted("?", "?", "?")
            + " WHERE b.state = 'OPEN' ORDER BY b.batch_id FOR UPDATE OF b SKIP LOCKED"
            + end;
    // closed by the write that ends its last record, decided on the row as locked: two writes may
    // be made in one order and committed in the other. It leaves the lease to the heartbeat: a
    // write that changes no indexed column (lease_expires_at is one) is a HOT update, which adds
    // no index entries, and a batch gets one write per batch of its records handed to the sink
    write =
        "UPDATE "
            + batches
            + " SET ended = ended + :n, published = published + :published,"
            + " deliveries = deliveries + :d, updated_at = :at"
            + ", state = CASE WHEN ended + :n >= size THEN 'DONE' ELSE state END,"
            + " completed_at = CASE WHEN ended + :n >= size THEN CURRENT_TIMESTAMP"
            + " ELSE completed_at END"
            + (keepPayloads
                ? ""
                : ", payloads = CASE WHEN ended + :n >= size THEN NULL ELSE payloads END")
            + fenced;
    // by the batches the call touched, each by its key: the event token alone has no index
    eventsOfCall =
        "SELECT DISTINCT e.batch_id FROM UNNEST(CAST(:batches AS BIGINT ARRAY)) u(x)"
            + dialect.joinByKey(events, "e", "batch_id", "u.x")
            + " WHERE e.event_token = :event";
    // a batch kept as a source span is claimed only by a worker that can read its source again
    String claimable =
        "pipeline = :pipeline AND state = 'OPEN' AND lease_expires_at < CURRENT_TIMESTAMP AND "
            + notHeldHere
            + " AND (source_id IS NULL OR source_id = ANY(CAST(:sources AS VARCHAR ARRAY)))";
    String claimSet =
        "lease_owner = :owner, lease_token = :token, lease_expires_at = "
            + expiry
            + ", claim_count = claim_count + 1, worker_id = :owner";
    String claimColumns =
        "batch_id, stage, payloads, payload_format, claim_count, size, source_id, source_position,"
            + " source_count, source_end, record_ids";
    claimPg =
        "UPDATE "
            + batches
            + " SET "
            + claimSet
            + " WHERE batch_id = (SELECT batch_id FROM "
            + batches
            + " WHERE "
            + claimable
            + " ORDER BY lease_expires_at LIMIT 1 FOR UPDATE SKIP LOCKED) AND "
            + claimable
            + " RETURNING "
            + claimColumns;
    claimPick =
        "SELECT batch_id FROM "
            + batches
            + " WHERE "
            + claimable
            + " "
            + dialect.limit("1")
            + " FOR UPDATE SKIP LOCKED";
    claimTake =
        "UPDATE " + batches + " SET " + claimSet + " WHERE batch_id = :batch AND " + claimable;
    claimRead = "SELECT " + claimColumns + " FROM " + batches + " WHERE batch_id = :batch";
    eventsOf = "SELECT kind, seqs FROM " + events + " WHERE batch_id = :batch";
    close =
        "UPDATE "
            + batches
            + " SET state = 'DONE', completed_at = CURRENT_TIMESTAMP, updated_at = CURRENT_TIMESTAMP"
            + (keepPayloads ? "" : ", payloads = NULL")
            + fenced;
    releaseOne =
        "UPDATE "
            + batches
            + " SET lease_owner = NULL, lease_expires_at = :past"
            + fenced
            + " AND state = 'OPEN'";
    takeOver =
        "UPDATE "
            + batches
            + " SET lease_owner = NULL, lease_expires_at = :past"
            + " WHERE pipeline = :pipeline AND lease_owner = :dead AND state = 'OPEN'";
    renewExpiredHeld =
        "UPDATE "
            + batches
            + " SET lease_expires_at = "
            + expiry
            + " WHERE pipeline = :pipeline AND state = 'OPEN' AND lease_owner = :owner"
            + " AND lease_expires_at < CURRENT_TIMESTAMP"
            + " AND lease_token = ANY(CAST(:held AS BIGINT ARRAY))";
    leasesElsewhere =
        "SELECT lease_owner, SUM(size - ended) AS records, MAX(lease_expires_at) AS expires,"
            + " CURRENT_TIMESTAMP AS now FROM "
            + batches
            + " WHERE pipeline = :pipeline AND state = 'OPEN' AND lease_owner <> :owner"
            + " GROUP BY lease_owner";
    // one statement, so one snapshot: asked as two, a batch whose records moved to rows (parked
    // in the retry queue) between the two reads was seen in neither, and a run ended with them
    // still waiting
    hasUnfinished =
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM "
            + rows
            + " WHERE pipeline = :pipeline AND status = 'READY') OR EXISTS (SELECT 1 FROM "
            + rows
            + " WHERE pipeline = :pipeline AND status = 'IN_PROGRESS') OR EXISTS (SELECT 1 FROM "
            + rows
            + " WHERE pipeline = :pipeline AND status = 'RETRY_WAIT') OR EXISTS (SELECT 1 FROM "
            + batches
            + " WHERE pipeline = :pipeline AND state = 'OPEN') THEN 1 ELSE 0 END";
    // as hasUnfinished, less the open batches kept as spans of sources this worker cannot read
    // again: no claim of its can take them, so a run that has read its sources does not wait for
    // them (waitingForSources says which)
    String readable = "source_id IS NULL OR source_id = ANY(CAST(:sources AS VARCHAR ARRAY))";
    hasUnfinishedToTake =
        hasUnfinished.replace(
            "state = 'OPEN') THEN", "state = 'OPEN' AND (" + readable + ")) THEN");
    waitingForSources =
        "SELECT source_id, SUM(size - ended) FROM "
            + batches
            + " WHERE pipeline = :pipeline AND state = 'OPEN' AND NOT ("
            + readable
            + ") GROUP BY source_id ORDER BY source_id";
    counts =
        "SELECT COALESCE(SUM(published), 0),"
            + " COALESCE(SUM(CASE WHEN lease_owner IS NULL THEN 0 ELSE size - ended END), 0),"
            + " COALESCE(SUM(CASE WHEN lease_owner IS NULL THEN size - ended ELSE 0 END), 0)"
            + " FROM "
            + batches
            + " WHERE pipeline = :pipeline";
    find =
        "SELECT b.batch_id, b.stage, b.state, b.lease_owner, b.created_at, b.updated_at, m.seq"
            + " FROM "
            + members
            + " m JOIN "
            + batches
            + " b ON b.batch_id = m.batch_id WHERE m.pipeline = :pipeline AND m.record_id = :id";
    unfinishedOf =
        "SELECT m.record_id FROM "
            + dialect.byIds(members, "m")
            + dialect.joinByKey(batches, "b", "batch_id", "m.batch_id")
            + " WHERE b.state = 'OPEN'"
            + " AND (b.lease_owner IS NULL OR b.lease_owner <> :owner OR b.claim_count > 0)"
            + " AND "
            + noRow;
    endedHere =
        "SELECT m.record_id, m.seq, b.batch_id, b.state FROM "
            + dialect.byIds(members, "m")
            + dialect.joinByKey(batches, "b", "batch_id", "m.batch_id")
            + " WHERE b.worker_id = :owner";
    moveRow =
        "INSERT INTO "
            + rows
            + " (pipeline, record_id, current_stage, status, started_at, updated_at, payload,"
            + " payload_format, payload_checksum, metadata, lease_owner, lease_token,"
            + " lease_expires_at, claim_count, deliveries, worker_id) VALUES (:pipeline, :id,"
            + " :stage, 'IN_PROGRESS', :at, :at, :payload, :format, :checksum, :metadata, :owner,"
            + " :token, "
            + expiry
            + ", :claims, :deliveries, :owner)";
    // the full rows of one write in one statement, one array per column: a JDBC batch of one-row
    // inserts was the most expensive statement of a full-ledger run on PostgreSQL. A record handed
    // to the sink keeps the number of its hand-overs, its batch's D events that name it (those of
    // this very write included), as the view counts them
    finalRows =
        BulkAppend.into(dialect, rows)
            .column("record_id", BulkAppend.Type.TEXT)
            .column("current_stage", BulkAppend.Type.TEXT)
            .column("status", BulkAppend.Type.TEXT)
            .column("at", BulkAppend.Type.TIME)
            .column("attempt_count", BulkAppend.Type.INT)
            .column("last_error", BulkAppend.Type.TEXT)
            .column("error_type", BulkAppend.Type.TEXT)
            .column("failed_stage", BulkAppend.Type.TEXT)
            .column("reason", BulkAppend.Type.TEXT)
            .column("payload", BulkAppend.Type.BYTES)
            .column("payload_format", BulkAppend.Type.TEXT)
            .column("payload_checksum", BulkAppend.Type.BIGINT)
            .column("metadata", BulkAppend.Type.TEXT)
            .column("lease_token", BulkAppend.Type.BIGINT)
            .column("claim_count", BulkAppend.Type.INT)
            .column("noted", BulkAppend.Type.INT)
            .column("batch_id", BulkAppend.Type.BIGINT)
            .column("seq", BulkAppend.Type.INT)
            .build();
    finalRow =
        """
        INSERT INTO %1$s (pipeline, record_id, current_stage, status, started_at, updated_at,
          attempt_count, last_error, error_type, failed_stage, reason, payload, payload_format,
          payload_checksum, metadata, lease_token, claim_count, deliveries, worker_id,
          dead_lettered_at, completed_at)
        SELECT :pipeline, f.id, f.stage, f.status, CAST(f.at AS TIMESTAMP WITH TIME ZONE),
          CAST(f.at AS TIMESTAMP WITH TIME ZONE), f.attempts, f.last_error, f.error_type,
          f.failed_stage, f.reason, f.payload, f.format, f.checksum, f.metadata, f.token, f.claims,
          CASE WHEN f.noted = 1 THEN (SELECT COUNT(*) FROM %2$s e
            WHERE e.batch_id = f.batch AND e.kind = 'D' AND f.seq = ANY(e.seqs)) ELSE 0 END,
          :owner,
          CASE WHEN f.status = 'DEAD_LETTER' THEN CAST(f.at AS TIMESTAMP WITH TIME ZONE) END,
          CURRENT_TIMESTAMP
        FROM %3$s AS f(id, stage, status, at, attempts, last_error, error_type, failed_stage,
          reason, payload, format, checksum, metadata, token, claims, noted, batch, seq)
        """
            .formatted(rows, events, finalRows.unnest("f"));
    purgeDone =
        "SELECT batch_id, pipeline, record_ids FROM "
            + batches
            + " WHERE state = 'DONE' AND completed_at < "
            + dialect.minusMillis(":age_ms")
            + " "
            + dialect.limit(":batch");
    purgeEvents = "DELETE FROM " + events + " WHERE batch_id = :batch";
    // a batch's id rows, found by their primary key from the ids the batch lists (the list may
    // name an id whose row belongs to another batch: only rows naming this batch are its own)
    String ofBatch = dialect.byIds(members, "m") + " WHERE m.batch_id = :batch";
    membersOf = "SELECT m.seq, m.record_id FROM " + ofBatch;
    // the records a purge of the batch deletes: those without a row of their own, which stays
    purgedRecords = "SELECT COUNT(*) FROM " + ofBatch + " AND " + noRow;
    holders =
        "SELECT m.record_id, b.state, b.lease_owner, b.worker_id FROM "
            + dialect.byIds(members, "m")
            + dialect.joinByKey(batches, "b", "batch_id", "m.batch_id");
    purgeMembers =
        "DELETE FROM "
            + members
            + " WHERE pipeline = :pipeline AND record_id = :id AND batch_id = :batch";
    purgeBatch = "DELETE FROM " + batches + " WHERE batch_id = :batch AND state = 'DONE'";
    // the merge groups still kept among the parents of a purge's merged records, by primary key
    keptGroups =
        "SELECT g.parent_id FROM " + dialect.byKeys(names.mergeGroups(), "g", "parent_id", null);
    // a merged record whose group is kept leaves its batch for a full row of the same state (as the
    // status view shows it) before the batch goes; the row is purged once the group is gone
    keepMerged =
        "INSERT INTO "
            + rows
            + " (pipeline, record_id, current_stage, status, started_at, updated_at, deliveries,"
            + " worker_id, completed_at) SELECT m.pipeline, m.record_id, b.stage, 'PUBLISHED',"
            + " b.created_at, b.updated_at, (SELECT COUNT(*) FROM "
            + events
            + " e WHERE e.batch_id = b.batch_id AND e.kind = 'D' AND m.seq = ANY(e.seqs)),"
            + " b.worker_id, b.completed_at FROM "
            + members
            + " m JOIN "
            + batches
            + " b ON b.batch_id = m.batch_id WHERE m.pipeline = :pipeline AND m.record_id = :id"
            + " AND m.batch_id = :batch AND NOT EXISTS (SELECT 1 FROM "
            + rows
            + " t WHERE t.pipeline = m.pipeline AND t.record_id = m.record_id)";
  }
}
