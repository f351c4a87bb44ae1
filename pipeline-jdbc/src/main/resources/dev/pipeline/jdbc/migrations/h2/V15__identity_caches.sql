-- Data Pipeline Manager, pipeline-jdbc schema version 15 (H2 2.x): identity values reserved in blocks.
--
-- Run after the previous version's script; the store runs it itself when it opens an older schema.
-- By hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the connection's schema (PUBLIC)
--   ${prefix}   your table prefix (e.g. "app_"), or nothing
--
-- The tables a run appends to on its hot path take their ids from identity sequences. H2 reserves a
-- sequence's values 32 at a time, and each reservation is a commit of its own in the middle of the
-- appending transaction: with WRITE_DELAY=0 that writes every changed page of the database, the
-- uncommitted ones too, which the transaction's commit then writes again. A durable run with 8 %
-- of its records dead-lettered or filtered made one such reservation per 32 error or audit rows, as
-- many stores as all its other commits together. Reserved 10,000 at a time, the values stay unique
-- and increasing in this one database (H2 has one sequence object, where each PostgreSQL session
-- caches its own block, so PostgreSQL's version 15 changes nothing); after a crash the values
-- reserved and unused are skipped, never reused.
ALTER TABLE ${schema}.${prefix}pipeline_errors ALTER COLUMN error_id SET CACHE 10000;
ALTER TABLE ${schema}.${prefix}processing_logs ALTER COLUMN log_id SET CACHE 10000;
ALTER TABLE ${schema}.${prefix}retry_queue ALTER COLUMN queue_id SET CACHE 10000;
ALTER TABLE ${schema}.${prefix}pipeline_metrics ALTER COLUMN metric_id SET CACHE 10000;
ALTER TABLE ${schema}.${prefix}record_lineage ALTER COLUMN event_id SET CACHE 10000;
ALTER TABLE ${schema}.${prefix}record_traces ALTER COLUMN trace_id SET CACHE 10000;

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (15, 'identity caches', 'V15__identity_caches.sql', <checksum>, 'dba', 0);
