package dev.pipeline.jdbc;

import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.MergedGroup;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The SQL of a store, made once from its table names and dialect. Only validated identifiers are
 * put into the text; every value is bound.
 */
final class Statements {
  /** Columns the ingest insert writes, in the order of each row's tuple. */
  private static final String INGEST_COLUMNS =
      "pipeline, record_id, current_stage, status, started_at, updated_at, payload,"
          + " payload_format, payload_checksum, metadata, lease_owner, lease_token,"
          + " lease_expires_at, worker_id";

  /** The columns a claim returns, and a dead letter reads. */
  static final String PAYLOAD_COLUMNS =
      "record_id, current_stage, attempt_count, payload, payload_format, payload_checksum, metadata";

  /**
   * An expired lease that is not one this worker still holds in memory (the tokens in :held): a
   * worker must not take back records it is still processing, whose lease ran out while the
   * database was unreachable; it renews them instead (or finds them taken by another worker).
   */
  private static final String EXPIRED_NOT_HELD_HERE =
      "lease_expires_at < CURRENT_TIMESTAMP AND NOT (lease_owner = :owner"
          + " AND lease_token = ANY(CAST(:held AS BIGINT ARRAY)))";

  private static final String CLAIMABLE =
      "(status = 'READY' OR (status = 'IN_PROGRESS' AND " + EXPIRED_NOT_HELD_HERE + "))";

  /**
   * Ready or expired, whoever held it: what PostgreSQL's claim looks up on its index. With the test
   * of {@link #EXPIRED_NOT_HELD_HERE} in it, the planner estimated more matches and scanned the
   * table instead; the test is made on the locked rows instead (an expired row of this worker's
   * then takes a place in that claim's limit, until {@code maintainLeases} renews it).
   */
  private static final String READY_OR_EXPIRED =
      "(status = 'READY' OR (status = 'IN_PROGRESS' AND lease_expires_at < CURRENT_TIMESTAMP))";

  /** The terminal statuses whose records retention purges (dead letters are kept). */
  static final String FINISHED = "('PUBLISHED', 'FILTERED', 'DISCARDED', 'SPLIT', 'MERGED')";

  /** The columns of a retry queue row, in the order of {@link #enqueueRetry}'s values. */
  private static final String RETRY_COLUMNS =
      "pipeline, record_id, stage_id, stage_name, retry_count, max_retries, next_retry_at,"
          + " backoff_multiplier, last_error, lease_owner, lease_expires_at, created_at";

  /** The columns of a stage row, in the order of {@link #register}'s values. */
  private static final String STAGE_COLUMNS =
      "pipeline, stage_name, stage_order, input_format, output_format, processing_function,"
          + " timeout_seconds, retry_policy, max_retries, is_checkpoint, registered_at";

  /**
   * The row of a record this worker holds under the token. Only IN_PROGRESS rows have a lease owner
   * (every statement that moves a row out of IN_PROGRESS clears it), so the status needs no test
   * here; testing it would let PostgreSQL pick the partial claim index, whose rows it then filters
   * one by one for the record id, over the primary key (a generic plan made while the table was
   * small keeps that choice, and each write costs a scan of every record in flight).
   */
  private static final String OWNED =
      " WHERE pipeline = :pipeline AND record_id = :id AND lease_owner = :owner"
          + " AND lease_token = :token";

  // for an UPDATE ... FROM UNNEST(...) AS v(id, token, ...): the rows this worker still holds under
  // each row's token, returning those it updated
  private static final String OWNED_ROWS =
      " WHERE t.pipeline = :pipeline AND t.record_id = v.id AND t.lease_owner = :owner"
          + " AND t.lease_token = v.token RETURNING t.record_id";

  private static final String FREE_LEASE =
      ", completed_at = CURRENT_TIMESTAMP, lease_owner = NULL, lease_expires_at = NULL,"
          + " worker_id = :owner";

  private final Dialect dialect;
  private final Names names;
  private final String status;
  private final String expiry;

  final String ingestOne;
  final String stored;
  final String ingestMine;
  final String checkpoint;
  final @Nullable String checkpointAll;
  final String completeDone;
  final @Nullable String completeDoneAll;
  final String completeDeadWithPayload;
  final String completeDeadKeepingPayload;
  final @Nullable String completeDeadWithPayloadAll;
  final @Nullable String completeDeadKeepingPayloadAll;
  final String lookupLeases;
  final String insertError;
  final String claim;
  final String claimDue;
  final String dequeue;
  final String claimReady;
  final String claimExpired;
  final String claimTake;
  final String park;
  final String enqueueRetry;
  final String reprocess;
  final String editedDeadLetter;
  final String replacePayload;
  final String discard;
  final String markDamaged;
  final String heartbeat;
  final @Nullable String heartbeatLock;
  final String release;
  final String beginDelivery;
  final String renewHeld;
  final String renewExpiredHeld;
  final String unfinishedOf;
  final String leasesElsewhere;
  final String takeOver;
  final String hasUnfinished;
  final String counts;

  /**
   * Per status, its records up to :limit: an index-only scan for the statuses of partial indexes.
   * The status is written into the text (it is an enum constant's name), so that a generic plan
   * still matches the partial index of its status.
   */
  private final Map<RecordStatus, String> countUpTo = new EnumMap<>(RecordStatus.class);

  final String find;
  final String lastStage;
  final String errorsOf;

  /** The records (of :ids) with more error rows than a bounded history keeps. */
  final String errorsOverflowing;

  /** Deletes one error row, by its id (dropped from a record's bounded history). */
  final String deleteError;

  /** Turns one error row into the row that counts the errors dropped from a record's history. */
  final String markErrorsDropped;

  final String register;
  final String registerDelete;
  final String registerIds;
  final String purgePayloads;
  final String purgeCompletedKeys;
  final String purgeErrorsOf;
  final String purgeStatusOf;
  final String purgeLogs;
  final String purgeMetrics;
  final String purgeLineage;
  final String purgeTraces;
  final String purgeSeenKeys;

  Statements(Dialect dialect, Names names, boolean retainPayloads) {
    this.dialect = dialect;
    this.names = names;
    this.status = names.status();
    this.expiry = dialect.plusMillis(":lease_ms");

    ingestOne =
        "INSERT INTO "
            + status
            + " ("
            + INGEST_COLUMNS
            + ") VALUES (:pipeline, :id, :stage, 'IN_PROGRESS', :at, :at, :payload, :format,"
            + " :checksum, :metadata, :owner, :token, "
            + expiry
            + ", :owner)";

    stored = "SELECT t.record_id FROM " + dialect.byIds(status, "t");

    ingestMine =
        "SELECT t.record_id FROM "
            + dialect.byIds(status, "t")
            + " WHERE t.lease_owner = :owner AND t.lease_token = :token";

    checkpoint =
        "UPDATE "
            + status
            + " SET current_stage = :stage, payload = :payload, payload_format = :format,"
            + " payload_checksum = :checksum, metadata = :metadata, attempt_count = 0,"
            + " lease_expires_at = "
            + expiry
            + ", updated_at = :at"
            + OWNED;

    // PostgreSQL: a batch's checkpoints in one statement, as completeDoneAll below
    checkpointAll =
        dialect == Dialect.POSTGRESQL
            ? "UPDATE "
                + status
                + " t SET current_stage = :stage, payload = v.payload, payload_format = :format,"
                + " payload_checksum = v.checksum, metadata = v.metadata, attempt_count = 0,"
                + " lease_expires_at = "
                + expiry
                + ", updated_at = :at"
                + " FROM UNNEST(CAST(:ids AS VARCHAR[]), CAST(:tokens AS BIGINT[]),"
                + " CAST(:payloads AS BYTEA[]), CAST(:checksums AS BIGINT[]),"
                + " CAST(:metadatas AS VARCHAR[])) AS v(id, token, payload, checksum, metadata)"
                + OWNED_ROWS
            : null;

    completeDone =
        "UPDATE "
            + status
            + " SET status = :status, current_stage = :stage, reason = :reason,"
            + " attempt_count = :attempts, last_error = :last_error, error_type = :error_type,"
            + " updated_at = :at"
            + (retainPayloads
                ? ""
                : ", payload = NULL, payload_format = NULL, payload_checksum = NULL")
            + FREE_LEASE
            + OWNED;

    // PostgreSQL: a batch's published and filtered records in one statement, each column's
    // values in an array; run as a JDBC batch, each row's UPDATE was planned and executed on its
    // own, which made these updates most of the sink's time
    completeDoneAll =
        dialect == Dialect.POSTGRESQL
            ? "UPDATE "
                + status
                + " t SET status = v.status, current_stage = v.stage, reason = v.reason,"
                + " attempt_count = v.attempts, last_error = v.last_error,"
                + " error_type = v.error_type, updated_at = CAST(v.at AS TIMESTAMPTZ)"
                + (retainPayloads
                    ? ""
                    : ", payload = NULL, payload_format = NULL, payload_checksum = NULL")
                + FREE_LEASE
                + " FROM UNNEST(CAST(:ids AS VARCHAR[]), CAST(:tokens AS BIGINT[]),"
                + " CAST(:statuses AS VARCHAR[]), CAST(:stages AS VARCHAR[]),"
                + " CAST(:reasons AS VARCHAR[]), CAST(:attempts AS INTEGER[]),"
                + " CAST(:last_errors AS VARCHAR[]), CAST(:error_types AS VARCHAR[]),"
                + " CAST(:ats AS VARCHAR[]))"
                + " AS v(id, token, status, stage, reason, attempts, last_error, error_type, at)"
                + OWNED_ROWS
            : null;

    completeDeadWithPayload =
        "UPDATE "
            + status
            + " SET status = 'DEAD_LETTER', current_stage = :stage, failed_stage = :stage,"
            + " payload = :payload, payload_format = :format, payload_checksum = :checksum,"
            + " metadata = :metadata, attempt_count = :attempts, last_error = :last_error,"
            + " error_type = :error_type, dead_lettered_at = :at, updated_at = :at"
            + FREE_LEASE
            + OWNED;

    // the failing stage has no codec: keep the last checkpoint, which resumes at current_stage
    completeDeadKeepingPayload =
        "UPDATE "
            + status
            + " SET status = 'DEAD_LETTER', failed_stage = :stage, attempt_count = :attempts,"
            + " last_error = :last_error, error_type = :error_type, dead_lettered_at = :at,"
            + " updated_at = :at"
            + FREE_LEASE
            + OWNED;

    // PostgreSQL: a batch's dead letters in one statement each way, as completeDoneAll above
    String deadSet =
        " t SET status = 'DEAD_LETTER', failed_stage = v.stage, attempt_count = v.attempts,"
            + " last_error = v.last_error, error_type = v.error_type,"
            + " dead_lettered_at = CAST(v.at AS TIMESTAMPTZ), updated_at = CAST(v.at AS TIMESTAMPTZ)";
    String deadArrays =
        " FROM UNNEST(CAST(:ids AS VARCHAR[]), CAST(:tokens AS BIGINT[]),"
            + " CAST(:stages AS VARCHAR[]), CAST(:attempts AS INTEGER[]),"
            + " CAST(:last_errors AS VARCHAR[]), CAST(:error_types AS VARCHAR[]),"
            + " CAST(:ats AS VARCHAR[])";
    completeDeadWithPayloadAll =
        dialect == Dialect.POSTGRESQL
            ? "UPDATE "
                + status
                + deadSet
                + ", current_stage = v.stage, payload = v.payload, payload_format = v.format,"
                + " payload_checksum = v.checksum, metadata = v.metadata"
                + FREE_LEASE
                + deadArrays
                + ", CAST(:payloads AS BYTEA[]), CAST(:formats AS VARCHAR[]),"
                + " CAST(:checksums AS BIGINT[]), CAST(:metadatas AS VARCHAR[]))"
                + " AS v(id, token, stage, attempts, last_error, error_type, at, payload, format,"
                + " checksum, metadata)"
                + OWNED_ROWS
            : null;
    completeDeadKeepingPayloadAll =
        dialect == Dialect.POSTGRESQL
            ? "UPDATE "
                + status
                + deadSet
                + FREE_LEASE
                + deadArrays
                + ") AS v(id, token, stage, attempts, last_error, error_type, at)"
                + OWNED_ROWS
            : null;

    lookupLeases =
        "SELECT t.record_id, t.status, t.lease_token, t.worker_id FROM "
            + dialect.byIds(status, "t");

    insertError =
        "INSERT INTO "
            + names.errors()
            + " (pipeline, record_id, stage_id, stage_name, error_type, exception_class,"
            + " error_message, stack_trace, attempt, occurred_at, worker_id) VALUES (:pipeline,"
            + " :id, :stage_id, :stage, :error_type, :exception_class, :message, :stack_trace,"
            + " :attempt, :at, :owner)";

    String claimSet =
        "status = 'IN_PROGRESS', lease_owner = :owner, lease_token = :token,"
            + " lease_expires_at = "
            + expiry
            + ", claim_count = claim_count + 1, worker_id = :owner";
    String queue = names.retryQueue();
    String fresh =
        "UPDATE "
            + status
            + " SET "
            + claimSet
            + " WHERE (pipeline, record_id) IN (SELECT pipeline, record_id FROM "
            + status
            + " WHERE pipeline = :pipeline AND "
            + READY_OR_EXPIRED
            + " %s FOR UPDATE SKIP LOCKED)"
            // checked again on the locked row, should a claim commit in between
            + " AND "
            + CLAIMABLE;
    // due retries (oldest first, their queue rows locked and deleted), then ready records and
    // expired leases up to max. PostgreSQL does it in one statement; H2 in steps.
    claimDue =
        "SELECT record_id FROM "
            + queue
            + " WHERE pipeline = :pipeline AND next_retry_at <= CURRENT_TIMESTAMP"
            + " ORDER BY next_retry_at "
            + dialect.limit(":max")
            + " FOR UPDATE SKIP LOCKED";
    if (dialect.locksInSubqueries()) {
      claim =
          "WITH due AS ("
              + claimDue.replace("SELECT record_id", "SELECT pipeline, record_id")
              + "), dequeued AS (DELETE FROM "
              + queue
              + " q USING due d WHERE q.pipeline = d.pipeline AND q.record_id = d.record_id"
              + " RETURNING q.record_id AS x), retried AS (UPDATE "
              + status
              + " t SET "
              + claimSet
              + " FROM dequeued d WHERE t.pipeline = :pipeline AND t.record_id = d.x"
              + " AND t.status = 'RETRY_WAIT' RETURNING "
              + PAYLOAD_COLUMNS
              + "), fresh AS ("
              + String.format(fresh, dialect.limit("(SELECT :max - COUNT(*) FROM retried)"))
              + " RETURNING "
              + PAYLOAD_COLUMNS
              + ") SELECT "
              + PAYLOAD_COLUMNS
              + " FROM retried UNION ALL SELECT "
              + PAYLOAD_COLUMNS
              + " FROM fresh";
      dequeue = "";
    } else {
      claim = dialect.returning(String.format(fresh, dialect.limit(":max")), PAYLOAD_COLUMNS);
      dequeue =
          "MERGE INTO "
              + queue
              + " t USING (SELECT x FROM UNNEST(CAST(:ids AS VARCHAR ARRAY)) u(x)) s"
              + " ON t.pipeline = :pipeline AND t.record_id = s.x WHEN MATCHED THEN DELETE";
    }
    claimReady =
        "SELECT record_id FROM "
            + status
            + " WHERE pipeline = :pipeline AND status = 'READY' "
            + dialect.limit(":max")
            + " FOR UPDATE SKIP LOCKED";
    claimExpired =
        "SELECT record_id FROM "
            + status
            + " WHERE pipeline = :pipeline AND status = 'IN_PROGRESS' AND "
            + EXPIRED_NOT_HELD_HERE
            + " "
            + dialect.limit(":max")
            + " FOR UPDATE SKIP LOCKED";
    // the ids come from the steps above: due retries' queue rows this transaction deleted
    claimTake =
        dialect.updateByIds(
            status, claimSet, "(" + CLAIMABLE + " OR status = 'RETRY_WAIT')", PAYLOAD_COLUMNS);

    // the lease token stays, so that a retry after a lost reply recognizes its own work
    park =
        "UPDATE "
            + status
            + " SET status = 'RETRY_WAIT', current_stage = :stage, payload = :payload,"
            + " payload_format = :format, payload_checksum = :checksum, metadata = :metadata,"
            + " attempt_count = :attempts, last_error = :last_error, error_type = :error_type,"
            + " updated_at = :at, lease_owner = NULL, lease_expires_at = NULL, worker_id = :owner"
            + OWNED;
    enqueueRetry =
        dialect.upsert(
            queue,
            RETRY_COLUMNS,
            ":pipeline, :id, :stage_id, :stage, :attempts, :max_retries, "
                + dialect.plusMillis(":delay_ms")
                + ", :multiplier, :last_error, NULL, NULL, CURRENT_TIMESTAMP",
            "pipeline, record_id");

    // a dead letter's payload replaced before it is sent back; conditional on the status, so a
    // record another operator sent back or discarded meanwhile is left alone
    editedDeadLetter =
        "SELECT current_stage, metadata FROM "
            + status
            + " WHERE pipeline = :pipeline AND record_id = :id AND status = 'DEAD_LETTER'";
    replacePayload =
        "UPDATE "
            + status
            + " SET payload = :payload, payload_format = :format, payload_checksum = :checksum"
            + " WHERE pipeline = :pipeline AND record_id = :id AND status = 'DEAD_LETTER'";
    // conditional on the status, so that of two concurrent calls one moves each record; rows
    // this call's token moved already count too, should the statement run again after a lost reply
    reprocess =
        dialect.updateByIds(
            status,
            "status = 'READY', attempt_count = 0, failed_stage = NULL, dead_lettered_at = NULL,"
                + " completed_at = NULL, lease_owner = NULL, lease_expires_at = NULL,"
                + " lease_token = :token, updated_at = :at",
            "(status = 'DEAD_LETTER' OR (status = 'READY' AND lease_token = :token))",
            "record_id");
    discard =
        dialect.updateByIds(
            status,
            "status = 'DISCARDED', reason = :reason, payload = NULL, payload_format = NULL,"
                + " payload_checksum = NULL, lease_token = :token, updated_at = :at,"
                + " completed_at = CURRENT_TIMESTAMP",
            "(status = 'DEAD_LETTER' OR (status = 'DISCARDED' AND lease_token = :token))",
            "record_id");

    markDamaged =
        "UPDATE "
            + status
            + " SET status = 'DEAD_LETTER', failed_stage = current_stage, last_error = :last_error,"
            + " error_type = :error_type, dead_lettered_at = CURRENT_TIMESTAMP,"
            + " updated_at = CURRENT_TIMESTAMP"
            + FREE_LEASE
            + OWNED;

    // positional: run on the heartbeat's own connection with plain JDBC, on a chunk of the ids
    // (looked up by the primary key). SKIP LOCKED: a row that another transaction holds (a
    // checkpoint, a completion) is renewed on the next beat, not waited for, so the heartbeat
    // never stalls behind, or deadlocks with, the pipeline's writes
    String renewable =
        " FROM "
            + status
            + " WHERE pipeline = ? AND record_id = ANY(CAST(? AS VARCHAR ARRAY))"
            + " AND status = 'IN_PROGRESS' AND lease_owner = ?"
            + " AND lease_token = ANY(CAST(? AS BIGINT ARRAY)) FOR UPDATE SKIP LOCKED";
    String renew = "lease_expires_at = " + dialect.plusMillis("?");
    if (dialect.locksInSubqueries()) {
      // (lease ms, pipeline, ids, owner, tokens)
      heartbeatLock = null;
      heartbeat =
          "UPDATE "
              + status
              + " SET "
              + renew
              + " WHERE (pipeline, record_id) IN (SELECT pipeline, record_id"
              + renewable
              + ")";
    } else {
      // (pipeline, ids, owner, tokens), then (the ids it locked, pipeline, lease ms); H2 runs
      // "record_id IN (SELECT ... UNNEST(?))" once per row, so the ids are joined instead
      heartbeatLock = "SELECT record_id" + renewable;
      heartbeat =
          "MERGE INTO "
              + status
              + " t USING (SELECT x FROM UNNEST(CAST(? AS VARCHAR ARRAY)) u(x)) s"
              + " ON t.pipeline = ? AND t.record_id = s.x WHEN MATCHED THEN UPDATE SET "
              + renew;
    }

    release =
        "UPDATE "
            + status
            + " SET status = 'READY', lease_owner = NULL, lease_expires_at = NULL"
            + " WHERE pipeline = :pipeline AND lease_owner = :owner AND lease_token = :token"
            + " AND status = 'IN_PROGRESS'";

    // fenced: only rows this worker still holds under each row's token are noted, and their
    // leases renewed, so that a worker paused past its lease cannot hand over records another
    // worker took; the claim count is the records' fencing token
    beginDelivery =
        ownedByIds(
            "deliveries = CASE WHEN delivery_token = :delivery THEN deliveries"
                + " ELSE deliveries + 1 END, delivery_token = :delivery, lease_expires_at = "
                + expiry,
            "record_id, deliveries, claim_count");
    renewHeld = ownedByIds("lease_expires_at = " + expiry, "record_id");
    renewExpiredHeld =
        "UPDATE "
            + status
            + " SET lease_expires_at = "
            + expiry
            + " WHERE pipeline = :pipeline AND status = 'IN_PROGRESS' AND lease_owner = :owner"
            + " AND lease_expires_at < CURRENT_TIMESTAMP"
            + " AND lease_token = ANY(CAST(:held AS BIGINT ARRAY))";
    unfinishedOf =
        "SELECT t.record_id FROM "
            + dialect.byIds(status, "t")
            + " WHERE t.status IN ('READY', 'IN_PROGRESS', 'RETRY_WAIT')"
            // held by this worker: in flight since its ingest (a repeated id), or resumed by its
            // claim (claim_count > 0), which is no duplicate either
            + " AND (t.lease_owner IS NULL OR t.lease_owner <> :owner OR t.claim_count > 0)";
    leasesElsewhere =
        "SELECT lease_owner, COUNT(*) AS records, MAX(lease_expires_at) AS expires,"
            + " CURRENT_TIMESTAMP AS now FROM "
            + status
            + " WHERE pipeline = :pipeline AND status = 'IN_PROGRESS' AND lease_owner <> :owner"
            + " GROUP BY lease_owner";
    takeOver =
        "UPDATE "
            + status
            + " SET status = 'READY', lease_owner = NULL, lease_expires_at = NULL"
            + " WHERE pipeline = :pipeline AND lease_owner = :dead AND status = 'IN_PROGRESS'";

    // one probe per status, so that each uses the claim index
    hasUnfinished =
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM "
            + status
            + " WHERE pipeline = :pipeline AND status = 'READY') OR EXISTS (SELECT 1 FROM "
            + status
            + " WHERE pipeline = :pipeline AND status = 'IN_PROGRESS') OR EXISTS (SELECT 1 FROM "
            + status
            + " WHERE pipeline = :pipeline AND status = 'RETRY_WAIT') THEN 1 ELSE 0 END";

    counts =
        "SELECT status, COUNT(*) FROM " + status + " WHERE pipeline = :pipeline GROUP BY status";

    for (RecordStatus each : RecordStatus.values()) {
      countUpTo.put(
          each,
          "SELECT COUNT(*) FROM (SELECT 1 FROM "
              + status
              + " WHERE pipeline = :pipeline AND status = '"
              + each.name()
              + "' LIMIT :limit) t");
    }

    find =
        "SELECT record_id, status, current_stage, failed_stage, attempt_count, reason,"
            + " deliveries, started_at, updated_at FROM "
            + status
            + " WHERE pipeline = :pipeline AND record_id = :id";

    errorsOf =
        "SELECT t.record_id, t.error_id, t.stage_name, t.error_type, t.exception_class,"
            + " t.error_message, t.stack_trace, t.attempt, t.occurred_at FROM "
            + dialect.byIds(names.errors(), "t", "error_id")
            + " ORDER BY t.error_id";
    errorsOverflowing =
        "SELECT t.record_id FROM "
            + dialect.byIds(names.errors(), "t", "error_id")
            + " GROUP BY t.record_id HAVING COUNT(*) > "
            + (ErrorText.KEPT_LAST_ERRORS + 2);
    deleteError = "DELETE FROM " + names.errors() + " WHERE error_id = :error_id";
    markErrorsDropped =
        "UPDATE "
            + names.errors()
            + " SET stage_id = :stage_id, stage_name = :stage, error_type = :error_type,"
            + " exception_class = :exception_class, error_message = :message, stack_trace ="
            + " :stack_trace, attempt = :attempt, occurred_at = :at WHERE error_id = :error_id";

    String stages = names.stages();
    register =
        dialect.upsert(
            stages,
            STAGE_COLUMNS,
            ":pipeline, :name, :order, :input, :output, :function, :timeout, :retry,"
                + " :max_retries, :checkpoint, CURRENT_TIMESTAMP",
            "pipeline, stage_name");
    registerDelete =
        "DELETE FROM " + stages + " WHERE pipeline = :pipeline AND NOT (stage_name = ANY(:names))";
    registerIds = "SELECT stage_name, stage_id FROM " + stages + " WHERE pipeline = :pipeline";
    lastStage =
        "SELECT stage_name FROM "
            + stages
            + " WHERE pipeline = :pipeline AND stage_name <> '"
            + PipelineDef.SINK
            + "' AND stage_name NOT LIKE '%/%' ORDER BY stage_order DESC "
            + dialect.limit("1");

    purgePayloads =
        "UPDATE "
            + status
            + " SET payload = NULL, payload_format = NULL, payload_checksum = NULL"
            + " WHERE (pipeline, record_id) IN (SELECT pipeline, record_id FROM "
            + status
            + " WHERE status IN ('PUBLISHED', 'FILTERED', 'SPLIT', 'MERGED') AND payload IS NOT NULL"
            + " AND completed_at < "
            + dialect.minusMillis(":age_ms")
            + " "
            + dialect.limit(":batch")
            + ")";
    // a merged record stays as long as its merge group (one primary-key lookup of the group, only
    // for a merged record's id): a part sent back late merges the group again, and the merged
    // record's ingest must find it stored rather than publish it a second time
    purgeCompletedKeys =
        "SELECT r.pipeline, r.record_id FROM "
            + status
            + " r WHERE r.status IN "
            + FINISHED
            + " AND r.completed_at < "
            + dialect.minusMillis(":age_ms")
            + " AND NOT EXISTS (SELECT 1 FROM "
            + names.mergeGroups()
            + " g WHERE g.pipeline = r.pipeline AND r.record_id LIKE '%"
            + MergedGroup.MERGED_SUFFIX
            // (the length is never negative: the database may cut an id before it tests the LIKE)
            + "' AND g.parent_id = SUBSTRING(r.record_id FROM 1 FOR GREATEST(0,"
            + " CHAR_LENGTH(r.record_id) - "
            + MergedGroup.MERGED_SUFFIX.length()
            + "))) "
            + dialect.limit(":batch");
    purgeErrorsOf =
        "DELETE FROM " + names.errors() + " WHERE pipeline = :pipeline AND record_id = :id";
    purgeStatusOf =
        "DELETE FROM "
            + status
            + " WHERE pipeline = :pipeline AND record_id = :id"
            + " AND status IN "
            + FINISHED;
    purgeLogs = purgeOlder(names.logs(), "log_id", "created_at");
    purgeMetrics = purgeOlder(names.metrics(), "metric_id", "window_end");
    // lineage goes with its record: once the record's row is gone (purged, or never kept, as in
    // the batch ledger) and its last event is older than the records' retention; a dead letter's
    // or a record in flight's lineage stays as long as the record does
    purgeLineage = purgeLineage(names.lineage(), "event_id", "left_at");
    // record_traces has no key since version 16: its rows are deleted by their addresses. A
    // batch's row (version 17) holds records handed to the sink from its batch: it goes once its
    // last event is as old and none of the batch's records is in flight any more
    purgeTraces =
        dialect.deleteSome(
            names.traces(),
            "l",
            // the time first and on its own, so that the index on last_at finds the old rows
            "l.last_at < "
                + dialect.minusMillis(":age_ms")
                + " AND (l.batch_id IS NOT NULL OR NOT EXISTS (SELECT 1 FROM "
                + names.status()
                + " s WHERE s.pipeline = l.pipeline AND s.record_id = l.record_id))"
                + " AND NOT EXISTS (SELECT 1 FROM "
                + names.batches()
                + " b WHERE b.batch_id = l.batch_id AND b.ended < b.size)",
            ":batch");
    String keys = "pipeline, stage_name, rule_name, key_hash";
    purgeSeenKeys =
        "DELETE FROM "
            + names.seenKeys()
            + " WHERE ("
            + keys
            + ") IN (SELECT "
            + keys
            + " FROM "
            + names.seenKeys()
            + " WHERE first_seen_at < "
            + dialect.minusMillis(":age_ms")
            + " "
            + dialect.limit(":batch")
            + ")";
  }

  private String purgeLineage(String table, String key, String time) {
    return "DELETE FROM "
        + table
        + " WHERE "
        + key
        + " IN (SELECT l."
        + key
        + " FROM "
        + table
        + " l WHERE "
        + lineagePurgeable(time)
        + " "
        + dialect.limit(":batch")
        + ")";
  }

  /** Whether lineage row {@code l} is past retention: its record gone, its last event old. */
  private String lineagePurgeable(String time) {
    return "l."
        + time
        + " < "
        + dialect.minusMillis(":age_ms")
        + " AND NOT EXISTS (SELECT 1 FROM "
        + names.status()
        + " s WHERE s.pipeline = l.pipeline AND s.record_id = l.record_id)";
  }

  private String purgeOlder(String table, String key, String time) {
    return "DELETE FROM "
        + table
        + " WHERE "
        + key
        + " IN (SELECT "
        + key
        + " FROM "
        + table
        + " WHERE "
        + time
        + " < "
        + dialect.minusMillis(":age_ms")
        + " "
        + dialect.limit(":batch")
        + ")";
  }

  /** The count of {@code status}'s records up to :limit, for :pipeline. */
  String countUpTo(RecordStatus status) {
    return countUpTo.get(status);
  }

  /** The insert of {@code rows} new records, returning the ids it inserted. */
  String ingest(int rows) {
    List<String> tuples = new ArrayList<>(rows);
    for (int i = 0; i < rows; i++) {
      tuples.add(
          "(:pipeline, :id"
              + i
              + ", :stage, 'IN_PROGRESS', :at, :at, :payload"
              + i
              + ", :format, :checksum"
              + i
              + ", :metadata"
              + i
              + ", :owner, :token, "
              + expiry
              + ", :owner)");
    }
    return dialect.insertIfAbsent(status, INGEST_COLUMNS, tuples, "record_id");
  }

  /** One page of dead letters; the filters present decide the text. */
  String deadLetters(boolean stage, boolean errorType, boolean since, boolean after) {
    StringBuilder sql =
        new StringBuilder("SELECT ")
            .append(PAYLOAD_COLUMNS)
            .append(", failed_stage, dead_lettered_at FROM ")
            .append(status)
            .append(" WHERE pipeline = :pipeline AND status = 'DEAD_LETTER'");
    if (stage) {
      sql.append(" AND failed_stage = :stage");
    }
    if (errorType) {
      sql.append(" AND error_type = :error_type");
    }
    if (since) {
      sql.append(" AND dead_lettered_at >= :since");
    }
    if (after) {
      sql.append(
          " AND (dead_lettered_at > :after_at OR (dead_lettered_at = :after_at"
              + " AND record_id > :after_id))");
    }
    return sql.append(" ORDER BY dead_lettered_at, record_id ")
        .append(dialect.limit(":limit"))
        .toString();
  }

  Names names() {
    return names;
  }

  /**
   * Updates the rows of the ids in :ids that this worker (:owner) holds under the matching token in
   * :tokens, returning the columns given of those it updated.
   */
  private String ownedByIds(String set, String returning) {
    if (dialect == Dialect.POSTGRESQL) {
      return "UPDATE "
          + status
          + " t SET "
          + set
          + " FROM UNNEST(CAST(:ids AS VARCHAR[]), CAST(:tokens AS BIGINT[])) AS v(id, token)"
          + " WHERE t.pipeline = :pipeline AND t.record_id = v.id AND t.lease_owner = :owner"
          + " AND t.lease_token = v.token RETURNING "
          + returning;
    }
    // H2 uses the primary key for a join on UNNEST, not for "= ANY(array)"
    return "SELECT "
        + returning
        + " FROM FINAL TABLE (MERGE INTO "
        + status
        + " t USING (SELECT x, k FROM UNNEST(CAST(:ids AS VARCHAR ARRAY),"
        + " CAST(:tokens AS BIGINT ARRAY)) u(x, k)) s ON t.pipeline = :pipeline"
        + " AND t.record_id = s.x WHEN MATCHED AND t.lease_owner = :owner AND t.lease_token = s.k"
        + " THEN UPDATE SET "
        + set
        + ")";
  }
}
