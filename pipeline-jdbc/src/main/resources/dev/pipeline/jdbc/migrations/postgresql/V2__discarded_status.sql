-- Data Pipeline Manager, pipeline-jdbc schema version 2 (PostgreSQL 12+): discarded dead letters.
--
-- Run after V1__create_tables.sql; the store runs it itself when it opens a version 1 schema (one
-- short transaction: the status table is locked while its CHECK constraint is checked again and
-- the retention index rebuilt). By hand, replace the placeholders as for V1, run it, then insert
-- the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the search_path's schema
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- A dead letter given up on by a person becomes DISCARDED, terminal, with the reason in "reason".
ALTER TABLE ${schema}.${prefix}pipeline_status DROP CONSTRAINT IF EXISTS ${prefix}pipeline_status_status_ck;
ALTER TABLE ${schema}.${prefix}pipeline_status ADD CONSTRAINT ${prefix}pipeline_status_status_ck CHECK (status IN
  ('READY', 'IN_PROGRESS', 'RETRY_WAIT', 'PUBLISHED', 'FILTERED', 'DEAD_LETTER', 'DISCARDED'));

-- retention: discarded records are purged by age like published and filtered ones.
DROP INDEX IF EXISTS ${schema}.${prefix}pipeline_status_done_ix;
CREATE INDEX IF NOT EXISTS ${prefix}pipeline_status_done_ix ON ${schema}.${prefix}pipeline_status
  (completed_at) WHERE status IN ('PUBLISHED', 'FILTERED', 'DISCARDED');

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (2, 'discarded status', 'V2__discarded_status.sql', <checksum>, 'dba', 0);
