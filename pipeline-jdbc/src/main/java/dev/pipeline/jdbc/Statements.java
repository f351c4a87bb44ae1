package dev.pipeline.jdbc;

import java.util.ArrayList;
import java.util.List;
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

  private static final String CLAIMABLE =
      "(status = 'READY' OR (status = 'IN_PROGRESS' AND lease_expires_at < CURRENT_TIMESTAMP))";

  /**
   * Rows of table alias t whose ids are in the array :ids; a join, so both databases use the key.
   */
  private static final String BY_IDS =
      "JOIN UNNEST(CAST(:ids AS VARCHAR ARRAY)) u(x) ON t.pipeline = :pipeline AND t.record_id = u.x";

  private static final String OWNED =
      " WHERE pipeline = :pipeline AND record_id = :id AND lease_owner = :owner"
          + " AND lease_token = :token AND status = 'IN_PROGRESS'";

  private static final String FREE_LEASE =
      ", completed_at = CURRENT_TIMESTAMP, lease_owner = NULL, lease_expires_at = NULL,"
          + " worker_id = :owner";

  private final Dialect dialect;
  private final Names names;
  private final String status;
  private final String expiry;

  final String ingestMine;
  final String checkpoint;
  final String completeDone;
  final String completeDeadWithPayload;
  final String completeDeadKeepingPayload;
  final String lookupLeases;
  final String insertError;
  final String claim;
  final String claimReady;
  final String claimExpired;
  final String claimTake;
  final String markDamaged;
  final String heartbeat;
  final @Nullable String heartbeatLock;
  final String release;
  final String beginDelivery;
  final String hasUnfinished;
  final String counts;
  final String find;
  final String errorsOf;
  final String registerUpdate;
  final String registerInsert;
  final String registerDelete;
  final String registerIds;
  final String purgePayloads;
  final String purgeCompletedKeys;
  final String purgeErrorsOf;
  final String purgeStatusOf;
  final String purgeLogs;
  final String purgeMetrics;

  Statements(Dialect dialect, Names names, boolean retainPayloads) {
    this.dialect = dialect;
    this.names = names;
    this.status = names.status();
    this.expiry = dialect.plusMillis(":lease_ms");

    ingestMine =
        "SELECT t.record_id FROM "
            + status
            + " t "
            + BY_IDS
            + " WHERE t.lease_owner = :owner AND t.lease_token = :token";

    checkpoint =
        "UPDATE "
            + status
            + " SET current_stage = :stage, payload = :payload, payload_format = :format,"
            + " payload_checksum = :checksum, metadata = :metadata, attempt_count = 0,"
            + " updated_at = :at"
            + OWNED;

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

    lookupLeases =
        "SELECT t.record_id, t.status, t.lease_token, t.worker_id FROM " + status + " t " + BY_IDS;

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
    claim =
        dialect.returning(
            "UPDATE "
                + status
                + " SET "
                + claimSet
                + " WHERE (pipeline, record_id) IN (SELECT pipeline, record_id FROM "
                + status
                + " WHERE pipeline = :pipeline AND "
                + CLAIMABLE
                + " "
                + dialect.limit(":max")
                + " FOR UPDATE SKIP LOCKED)"
                // checked again on the locked row, should a claim commit in between
                + " AND "
                + CLAIMABLE,
            PAYLOAD_COLUMNS);
    claimReady =
        "SELECT record_id FROM "
            + status
            + " WHERE pipeline = :pipeline AND status = 'READY' "
            + dialect.limit(":max")
            + " FOR UPDATE SKIP LOCKED";
    claimExpired =
        "SELECT record_id FROM "
            + status
            + " WHERE pipeline = :pipeline AND status = 'IN_PROGRESS'"
            + " AND lease_expires_at < CURRENT_TIMESTAMP "
            + dialect.limit(":max")
            + " FOR UPDATE SKIP LOCKED";
    claimTake = dialect.updateByIds(status, claimSet, CLAIMABLE, PAYLOAD_COLUMNS);

    markDamaged =
        "UPDATE "
            + status
            + " SET status = 'DEAD_LETTER', failed_stage = current_stage, last_error = :last_error,"
            + " error_type = :error_type, dead_lettered_at = CURRENT_TIMESTAMP,"
            + " updated_at = CURRENT_TIMESTAMP"
            + FREE_LEASE
            + OWNED;

    // positional: run on the heartbeat's own connection with plain JDBC. SKIP LOCKED: a row that
    // another transaction holds (a checkpoint, a completion) is renewed on the next beat, not
    // waited for, so the heartbeat never stalls behind, or deadlocks with, the pipeline's writes
    String renewable =
        " FROM "
            + status
            + " WHERE pipeline = ? AND status = 'IN_PROGRESS' AND lease_owner = ?"
            + " AND lease_token = ANY(CAST(? AS BIGINT ARRAY)) FOR UPDATE SKIP LOCKED";
    String renew = "lease_expires_at = " + dialect.plusMillis("?");
    if (dialect.locksInSubqueries()) {
      // (lease ms, pipeline, owner, tokens)
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
      // (pipeline, owner, tokens), then (the ids it locked, pipeline, lease ms); H2 runs
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

    beginDelivery =
        dialect.updateByIds(
            status,
            "deliveries = CASE WHEN delivery_token = :delivery THEN deliveries"
                + " ELSE deliveries + 1 END, delivery_token = :delivery",
            null,
            "record_id, deliveries");

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

    find =
        "SELECT record_id, status, current_stage, failed_stage, attempt_count, reason,"
            + " deliveries, started_at, updated_at FROM "
            + status
            + " WHERE pipeline = :pipeline AND record_id = :id";

    errorsOf =
        "SELECT t.record_id, t.stage_name, t.error_type, t.exception_class, t.error_message,"
            + " t.stack_trace, t.attempt, t.occurred_at FROM "
            + names.errors()
            + " t "
            + BY_IDS
            + " ORDER BY t.error_id";

    String stages = names.stages();
    registerUpdate =
        "UPDATE "
            + stages
            + " SET stage_order = :order, input_format = :input, output_format = :output,"
            + " processing_function = :function, timeout_seconds = :timeout,"
            + " retry_policy = :retry, max_retries = :max_retries, is_checkpoint = :checkpoint,"
            + " registered_at = CURRENT_TIMESTAMP WHERE pipeline = :pipeline AND stage_name = :name";
    registerInsert =
        "INSERT INTO "
            + stages
            + " (pipeline, stage_name, stage_order, input_format, output_format,"
            + " processing_function, timeout_seconds, retry_policy, max_retries, is_checkpoint)"
            + " VALUES (:pipeline, :name, :order, :input, :output, :function, :timeout, :retry,"
            + " :max_retries, :checkpoint)";
    registerDelete =
        "DELETE FROM " + stages + " WHERE pipeline = :pipeline AND NOT (stage_name = ANY(:names))";
    registerIds = "SELECT stage_name, stage_id FROM " + stages + " WHERE pipeline = :pipeline";

    purgePayloads =
        "UPDATE "
            + status
            + " SET payload = NULL, payload_format = NULL, payload_checksum = NULL"
            + " WHERE (pipeline, record_id) IN (SELECT pipeline, record_id FROM "
            + status
            + " WHERE status IN ('PUBLISHED', 'FILTERED') AND payload IS NOT NULL"
            + " AND completed_at < "
            + dialect.minusMillis(":age_ms")
            + " "
            + dialect.limit(":batch")
            + ")";
    purgeCompletedKeys =
        "SELECT pipeline, record_id FROM "
            + status
            + " WHERE status IN ('PUBLISHED', 'FILTERED') AND completed_at < "
            + dialect.minusMillis(":age_ms")
            + " "
            + dialect.limit(":batch");
    purgeErrorsOf =
        "DELETE FROM " + names.errors() + " WHERE pipeline = :pipeline AND record_id = :id";
    purgeStatusOf =
        "DELETE FROM "
            + status
            + " WHERE pipeline = :pipeline AND record_id = :id"
            + " AND status IN ('PUBLISHED', 'FILTERED')";
    purgeLogs = purgeOlder(names.logs(), "log_id", "created_at");
    purgeMetrics = purgeOlder(names.metrics(), "metric_id", "window_end");
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
}
