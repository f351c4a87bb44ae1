-- Data Pipeline Manager, pipeline-jdbc schema version 16 (PostgreSQL 12+): record lineage without
-- a primary key.
--
-- Run after the previous version's script; the store runs it itself when it opens an older schema.
-- By hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the search_path's schema
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- 13, continued. A row of record_traces costs its append a tuple and an entry in each index; the
-- primary key on trace_id (and the sequence behind it) served nothing a read needs. Since this
-- version the writer sets trace_id: the microseconds since 1970 at UTC of the append times 1,024,
-- plus a count that keeps one JVM's values distinct and increasing (never below the last it gave,
-- even when the clock steps back). It is no longer unique across JVMs, but a record's rows still
-- follow each other in trace_id order: a record's appends come from one worker at a time, after
-- another's have ended (a crash, a lease taken over), and a value of the wall clock (about 1.8e18
-- in 2026) is above every identity value written before this version, which keep their order.
-- A record's trace is its rows in trace_id order through the index on (pipeline, record_id,
-- trace_id), unchanged; retention deletes rows by their ctid, found through the BRIN on last_at.
ALTER TABLE ${schema}.${prefix}record_traces ALTER COLUMN trace_id DROP IDENTITY IF EXISTS;
ALTER TABLE ${schema}.${prefix}record_traces DROP CONSTRAINT IF EXISTS ${prefix}record_traces_pkey;
ALTER TABLE ${schema}.${prefix}record_traces ALTER COLUMN trace_id SET NOT NULL;

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (16, 'lineage without key', 'V16__lineage_without_key.sql', <checksum>, 'dba', 0);
