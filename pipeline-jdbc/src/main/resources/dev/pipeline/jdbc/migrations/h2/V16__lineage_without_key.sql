-- Data Pipeline Manager, pipeline-jdbc schema version 16 (H2 2.x): record lineage without a
-- primary key.
--
-- Run after the previous version's script; the store runs it itself when it opens an older schema.
-- By hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the connection's schema (PUBLIC)
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- 13, continued. Since this version the writer sets trace_id, as on PostgreSQL (see its version
-- 16): the microseconds since 1970 at UTC of the append times 1,024, plus a count that keeps one
-- JVM's values distinct and increasing. Not unique across JVMs, so no longer the primary key; a
-- record's rows still follow each other in trace_id order, the rows written before this version
-- (identity values) first. No identity sequence reserves values any more; rows are keyed by H2's
-- own row id, and retention deletes through the index on last_at.
ALTER TABLE ${schema}.${prefix}record_traces ALTER COLUMN trace_id DROP IDENTITY;
ALTER TABLE ${schema}.${prefix}record_traces DROP PRIMARY KEY;

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (16, 'lineage without key', 'V16__lineage_without_key.sql', <checksum>, 'dba', 0);
