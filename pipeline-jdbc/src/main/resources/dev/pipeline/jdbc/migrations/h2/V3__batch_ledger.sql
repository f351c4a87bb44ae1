-- Data Pipeline Manager, pipeline-jdbc schema version 3 (H2): the batch ledger.
--
-- Run after V2__discarded_status.sql; the store runs it itself when it opens a version 2 schema. By
-- hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the search_path's schema
--   ${prefix}   your table prefix (e.g. "app_"), or nothing
--
-- A record on the happy path no longer has a row of its own that is written three times. Records
-- are ingested in batches: one pipeline_batches row per batch (its records' payloads packed in one
-- value, its lease, its counters) and one narrow pipeline_batch_records row per record (its id, for
-- duplicates and for SQL). Deliveries and endings are appended per batch to pipeline_batch_events.
-- A record that leaves its batch's happy path (filtered, dead-lettered, parked for a retry,
-- checkpointed) gets its full row in pipeline_records, the table that was pipeline_status, and
-- pipeline_status becomes a view answering for every record.

ALTER TABLE ${schema}.${prefix}pipeline_status RENAME TO ${prefix}pipeline_records;

-- 8. One row per ingested batch: its records' payloads (packed) while any is unfinished, its lease.
CREATE TABLE IF NOT EXISTS ${schema}.${prefix}pipeline_batches (
  batch_id          BIGINT        NOT NULL PRIMARY KEY,
  pipeline          VARCHAR(200)  NOT NULL,
  stage             VARCHAR(200)  NOT NULL,
  state             VARCHAR(8)    NOT NULL,
  size              INTEGER       NOT NULL,
  ended             INTEGER       NOT NULL DEFAULT 0,
  published         INTEGER       NOT NULL DEFAULT 0,
  payloads          VARBINARY,
  payload_format    VARCHAR(300),
  lease_owner       VARCHAR(200),
  lease_token       BIGINT        NOT NULL DEFAULT 0,
  lease_expires_at  TIMESTAMP WITH TIME ZONE,
  claim_count       INTEGER       NOT NULL DEFAULT 0,
  deliveries        INTEGER       NOT NULL DEFAULT 0,
  worker_id         VARCHAR(200),
  created_at        TIMESTAMP WITH TIME ZONE   NOT NULL,
  updated_at        TIMESTAMP WITH TIME ZONE   NOT NULL,
  completed_at      TIMESTAMP WITH TIME ZONE,
  CONSTRAINT ${prefix}pipeline_batches_state_ck CHECK (state IN ('OPEN', 'DONE'))
);
-- claim(): open batches by lease expiry; retention: done batches by age.
CREATE INDEX IF NOT EXISTS ${prefix}pipeline_batches_open_ix ON ${schema}.${prefix}pipeline_batches
  (pipeline, state, lease_expires_at);
CREATE INDEX IF NOT EXISTS ${prefix}pipeline_batches_done_ix ON ${schema}.${prefix}pipeline_batches
  (completed_at);

-- 9. Each record of a batch: written once, at ingest.
CREATE TABLE IF NOT EXISTS ${schema}.${prefix}pipeline_batch_records (
  pipeline   VARCHAR(200)  NOT NULL,
  record_id  VARCHAR(1000) NOT NULL,
  batch_id   BIGINT        NOT NULL,
  seq        INTEGER       NOT NULL,
  CONSTRAINT ${prefix}pipeline_batch_records_pk PRIMARY KEY (pipeline, record_id)
);
CREATE INDEX IF NOT EXISTS ${prefix}pipeline_batch_records_batch_ix ON ${schema}.${prefix}pipeline_batch_records
  (batch_id);

-- 10. Facts about a batch's records, appended: D (handed to the sink), E (ended: published, or moved
-- to its own row in pipeline_records), each with the records' places in the batch and its writer.
CREATE TABLE IF NOT EXISTS ${schema}.${prefix}pipeline_batch_events (
  batch_id     BIGINT        NOT NULL,
  event_token  BIGINT        NOT NULL,
  kind         CHAR(1)       NOT NULL,
  seqs         INTEGER ARRAY NOT NULL,
  worker_id    VARCHAR(200),
  occurred_at  TIMESTAMP WITH TIME ZONE   NOT NULL,
  CONSTRAINT ${prefix}pipeline_batch_events_pk PRIMARY KEY (batch_id, event_token, kind)
);

-- pipeline_status: where every record stands, as version 2 had it in one table.
CREATE VIEW ${schema}.${prefix}pipeline_status AS
SELECT pipeline, record_id, current_stage, status, started_at, updated_at, attempt_count,
  last_error, error_type, failed_stage, reason, payload, payload_format, payload_checksum,
  metadata, lease_owner, lease_token, lease_expires_at, claim_count, deliveries, delivery_token,
  worker_id, dead_lettered_at, completed_at
FROM ${schema}.${prefix}pipeline_records
UNION ALL
SELECT i.pipeline, i.record_id, b.stage,
  CASE WHEN b.state = 'DONE' OR EXISTS (SELECT 1 FROM ${schema}.${prefix}pipeline_batch_events e
    WHERE e.batch_id = i.batch_id AND e.kind = 'E' AND i.seq = ANY(e.seqs))
  THEN 'PUBLISHED' WHEN b.lease_owner IS NULL THEN 'READY' ELSE 'IN_PROGRESS' END,
  b.created_at, b.updated_at, 0, NULL, NULL, NULL, NULL, NULL, b.payload_format, NULL, NULL,
  b.lease_owner, b.lease_token, b.lease_expires_at, b.claim_count,
  (SELECT COUNT(*) FROM ${schema}.${prefix}pipeline_batch_events e
    WHERE e.batch_id = i.batch_id AND e.kind = 'D' AND i.seq = ANY(e.seqs)),
  NULL,
  COALESCE((SELECT MAX(e.worker_id) FROM ${schema}.${prefix}pipeline_batch_events e
    WHERE e.batch_id = i.batch_id AND e.kind = 'E' AND i.seq = ANY(e.seqs)), b.worker_id),
  NULL, b.completed_at
FROM ${schema}.${prefix}pipeline_batch_records i
JOIN ${schema}.${prefix}pipeline_batches b ON b.batch_id = i.batch_id
WHERE NOT EXISTS (SELECT 1 FROM ${schema}.${prefix}pipeline_records r
  WHERE r.pipeline = i.pipeline AND r.record_id = i.record_id);

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (3, 'batch ledger', 'V3__batch_ledger.sql', <checksum>, 'dba', 0);
