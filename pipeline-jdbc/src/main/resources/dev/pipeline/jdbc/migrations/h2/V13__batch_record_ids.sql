-- Data Pipeline Manager, pipeline-jdbc schema version 13 (H2 2.x): a batch lists its records' ids.
--
-- Run after the previous version's script; the store runs it itself when it opens an older schema.
-- By hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the connection's schema (PUBLIC)
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- 8, continued. A batch keeps the ids of the records ingested with it, in one value. A claim and a
-- purge find the batch's id rows (pipeline_batch_records) through them, by the id rows' primary
-- key and their batch_id, so the id rows no longer need an index by batch: an ingest writes one
-- index entry fewer per record. The list may name ids whose row belongs to another batch (offered
-- again before the first batch was stored); a reader keeps only the rows naming its batch.
ALTER TABLE ${schema}.${prefix}pipeline_batches ADD COLUMN IF NOT EXISTS record_ids VARCHAR(1000) ARRAY;

-- the batches stored before this version: their ids, from their id rows (found by the index that
-- this script drops next)
UPDATE ${schema}.${prefix}pipeline_batches b SET record_ids = (
  SELECT ARRAY_AGG(m.record_id ORDER BY m.seq) FROM ${schema}.${prefix}pipeline_batch_records m
  WHERE m.batch_id = b.batch_id)
WHERE b.record_ids IS NULL;

DROP INDEX IF EXISTS ${schema}.${prefix}pipeline_batch_records_batch_ix;

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (13, 'batch record ids', 'V13__batch_record_ids.sql', <checksum>, 'dba', 0);
