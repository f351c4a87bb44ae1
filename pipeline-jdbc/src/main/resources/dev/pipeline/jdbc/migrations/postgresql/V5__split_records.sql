-- Data Pipeline Manager, pipeline-jdbc schema version 5 (PostgreSQL 12+): split records.
--
-- Run after V4__source_positions.sql; the store runs it itself when it opens a version 4 schema (one
-- short transaction: the records table is locked while its CHECK constraint is checked again and
-- the retention indexes rebuilt). By hand, replace the placeholders as for V1, run it, then insert
-- the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the search_path's schema
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- A record a split stage split into records of its own (its children, stored as records under the
-- ids "<its id>/<index>") becomes SPLIT, terminal, with "split into N records" in "reason".
ALTER TABLE ${schema}.${prefix}pipeline_records DROP CONSTRAINT IF EXISTS ${prefix}pipeline_status_status_ck;
ALTER TABLE ${schema}.${prefix}pipeline_records ADD CONSTRAINT ${prefix}pipeline_status_status_ck CHECK (status IN
  ('READY', 'IN_PROGRESS', 'RETRY_WAIT', 'PUBLISHED', 'FILTERED', 'DEAD_LETTER', 'DISCARDED', 'SPLIT'));

-- retention: split records are finished like published ones, purged by age, their payloads first.
DROP INDEX IF EXISTS ${schema}.${prefix}pipeline_status_done_ix;
CREATE INDEX IF NOT EXISTS ${prefix}pipeline_status_done_ix ON ${schema}.${prefix}pipeline_records
  (completed_at) WHERE status IN ('PUBLISHED', 'FILTERED', 'DISCARDED', 'SPLIT');
DROP INDEX IF EXISTS ${schema}.${prefix}pipeline_status_kept_ix;
CREATE INDEX IF NOT EXISTS ${prefix}pipeline_status_kept_ix ON ${schema}.${prefix}pipeline_records
  (completed_at) WHERE status IN ('PUBLISHED', 'FILTERED', 'SPLIT') AND payload IS NOT NULL;

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (5, 'split records', 'V5__split_records.sql', <checksum>, 'dba', 0);
