-- Data Pipeline Manager, pipeline-jdbc schema version 11 (PostgreSQL 12+): batches kept as source spans.
--
-- Run after the previous version's script; the store runs it itself when it opens an older schema.
-- By hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the search_path's schema
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- 8, continued. A batch read from a source that can be read again (a file, a directory, a table by
-- key) keeps where it was read instead of its records' payloads: the source's id, its position
-- before the batch's first record, how many records were read from there and its position after
-- the last. Its payloads column stays NULL; its records are read again from the source when the
-- batch is claimed, each checked against its id row (pipeline_batch_records.seq is its place in the
-- source's order) and the end against source_end.
-- Batches written before this version keep their packed payloads and are claimed as before.
ALTER TABLE ${schema}.${prefix}pipeline_batches ADD COLUMN IF NOT EXISTS source_id VARCHAR(1000);
ALTER TABLE ${schema}.${prefix}pipeline_batches ADD COLUMN IF NOT EXISTS source_position VARCHAR(1000);
ALTER TABLE ${schema}.${prefix}pipeline_batches ADD COLUMN IF NOT EXISTS source_count INTEGER;
ALTER TABLE ${schema}.${prefix}pipeline_batches ADD COLUMN IF NOT EXISTS source_end VARCHAR(1000);

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (11, 'batch source spans', 'V11__batch_source_spans.sql', <checksum>, 'dba', 0);
