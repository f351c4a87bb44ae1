-- Data Pipeline Manager, pipeline-jdbc schema version 5 (H2 2.2+): split records.
--
-- Run after V4__source_positions.sql; the store runs it itself when it opens a version 4 schema. By
-- hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the connection's schema (PUBLIC)
--   ${prefix}   your table prefix (e.g. "app_"), or nothing
-- (H2 commits each statement of a script by itself; this one can be run again if it stops halfway.)

-- A record a split stage split into records of its own (its children, stored as records under the
-- ids "<its id>/<index>") becomes SPLIT, terminal, with "split into N records" in "reason". It is
-- finished like a published one: retention purges it by age. (The retention index of H2 covers
-- every status already.)
ALTER TABLE ${schema}.${prefix}pipeline_records DROP CONSTRAINT IF EXISTS ${prefix}pipeline_status_status_ck;
ALTER TABLE ${schema}.${prefix}pipeline_records ADD CONSTRAINT ${prefix}pipeline_status_status_ck CHECK (status IN
  ('READY', 'IN_PROGRESS', 'RETRY_WAIT', 'PUBLISHED', 'FILTERED', 'DEAD_LETTER', 'DISCARDED', 'SPLIT'));

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (5, 'split records', 'V5__split_records.sql', <checksum>, 'dba', 0);
