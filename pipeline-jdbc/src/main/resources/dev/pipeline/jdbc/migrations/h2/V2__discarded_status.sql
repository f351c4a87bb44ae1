-- Data Pipeline Manager, pipeline-jdbc schema version 2 (H2 2.2+): discarded dead letters.
--
-- Run after V1__create_tables.sql; the store runs it itself when it opens a version 1 schema. By
-- hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the connection's schema (PUBLIC)
--   ${prefix}   your table prefix (e.g. "app_"), or nothing
-- (H2 commits each statement of a script by itself; this one can be run again if it stops halfway.)

-- A dead letter given up on by a person becomes DISCARDED, terminal, with the reason in "reason".
-- (The retention index of H2 covers every status already.)
ALTER TABLE ${schema}.${prefix}pipeline_status DROP CONSTRAINT IF EXISTS ${prefix}pipeline_status_status_ck;
ALTER TABLE ${schema}.${prefix}pipeline_status ADD CONSTRAINT ${prefix}pipeline_status_status_ck CHECK (status IN
  ('READY', 'IN_PROGRESS', 'RETRY_WAIT', 'PUBLISHED', 'FILTERED', 'DEAD_LETTER', 'DISCARDED'));

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (2, 'discarded status', 'V2__discarded_status.sql', <checksum>, 'dba', 0);
