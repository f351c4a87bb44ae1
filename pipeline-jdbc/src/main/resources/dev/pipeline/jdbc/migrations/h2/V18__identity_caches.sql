-- Data Pipeline Manager, pipeline-jdbc schema version 18 (H2 2.x): identity values handed out in
-- larger blocks.
--
-- Run after the previous version's script; the store runs it itself when it opens an older schema.
-- By hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the connection's schema (PUBLIC)
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- H2 keeps an identity column's next value in the database file and hands out a block of values
-- (its cache, 32 by default) at a time; each new block commits and writes every changed page to
-- the file (WRITE_DELAY=0), so a table appended by the row (errors, audit lines, traces, retries,
-- metrics windows) wrote the whole store once per 32 rows. With blocks of 10,000 it does so once
-- per 10,000. Values stay unique and increasing (the cache is the database's, not a session's);
-- values of a block a crash cut short are skipped, as before.
ALTER TABLE ${schema}.${prefix}pipeline_errors ALTER COLUMN error_id SET CACHE 10000;
ALTER TABLE ${schema}.${prefix}processing_logs ALTER COLUMN log_id SET CACHE 10000;
ALTER TABLE ${schema}.${prefix}record_traces ALTER COLUMN trace_id SET CACHE 10000;
ALTER TABLE ${schema}.${prefix}retry_queue ALTER COLUMN queue_id SET CACHE 10000;
ALTER TABLE ${schema}.${prefix}pipeline_metrics ALTER COLUMN metric_id SET CACHE 10000;

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (18, 'identity caches', 'V18__identity_caches.sql', <checksum>, 'dba', 0);
