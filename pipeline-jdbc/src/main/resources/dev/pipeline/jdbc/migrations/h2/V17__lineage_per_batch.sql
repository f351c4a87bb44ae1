-- Data Pipeline Manager, pipeline-jdbc schema version 17 (H2 2.x): record lineage kept per batch.
--
-- Run after the previous version's script; the store runs it itself when it opens an older schema.
-- By hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the connection's schema (PUBLIC)
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- 13, continued. As on PostgreSQL (see its version 17): the events of the records that one batch
-- of the batch ledger handed to the sink (or ended) and that passed are appended together, in a
-- row of packing 3 with that batch's id in batch_id and no record_id, source_id or parent_id; a
-- record's batch is found through its id row in pipeline_batch_records, the batch's rows through
-- the index below.
ALTER TABLE ${schema}.${prefix}record_traces ALTER COLUMN record_id DROP NOT NULL;
ALTER TABLE ${schema}.${prefix}record_traces ADD COLUMN IF NOT EXISTS batch_id BIGINT;
CREATE INDEX IF NOT EXISTS ${prefix}record_traces_batch_ix ON ${schema}.${prefix}record_traces
  (batch_id);

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (17, 'lineage per batch', 'V17__lineage_per_batch.sql', <checksum>, 'dba', 0);
