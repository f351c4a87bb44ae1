-- Data Pipeline Manager, pipeline-jdbc schema version 7 (PostgreSQL 12+): the audit trail and the metrics history.
--
-- Run after the earlier scripts; the store runs it itself when it opens an older schema. By hand,
-- replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the search_path's schema
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- 7. The audit trail: what kind of line each is (a stage's own line, or the engine's decision:
-- retry-scheduled, parked, dead-lettered, circuit-open, reprocessed, discarded, ...). Its metadata
-- column holds a flat JSON object of strings. Read a page at a time by pipeline and log_id, with
-- or without a stage or a record.
ALTER TABLE ${schema}.${prefix}processing_logs ADD COLUMN IF NOT EXISTS event VARCHAR(40);
CREATE INDEX IF NOT EXISTS ${prefix}processing_logs_page_ix ON ${schema}.${prefix}processing_logs
  (pipeline, log_id);
CREATE INDEX IF NOT EXISTS ${prefix}processing_logs_stage_ix ON ${schema}.${prefix}processing_logs
  (pipeline, stage_name, log_id);

-- 4. The metrics history, one row per stage (the sink and the store included) per window: besides
-- V1's columns, the records that entered, the queue in front at the window's end, the share of the
-- workers' time in calls, and the circuit's state. cpu_usage is in cores (CPU seconds per second of
-- the window), memory_usage in bytes allocated in the window; both are null when not sampled.
ALTER TABLE ${schema}.${prefix}pipeline_metrics ADD COLUMN IF NOT EXISTS records_in BIGINT;
ALTER TABLE ${schema}.${prefix}pipeline_metrics ADD COLUMN IF NOT EXISTS queue_depth INTEGER;
ALTER TABLE ${schema}.${prefix}pipeline_metrics ADD COLUMN IF NOT EXISTS utilization DOUBLE PRECISION;
ALTER TABLE ${schema}.${prefix}pipeline_metrics ADD COLUMN IF NOT EXISTS circuit_state VARCHAR(20);

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (7, 'audit trail and metrics history', 'V7__audit_trail_and_metrics_history.sql', <checksum>, 'dba', 0);
