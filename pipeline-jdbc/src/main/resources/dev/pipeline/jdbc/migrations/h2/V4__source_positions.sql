-- Data Pipeline Manager, pipeline-jdbc schema version 4 (H2 2.2+): source positions.
--
-- Run after V3__batch_ledger.sql; the store runs it itself when it opens a version 3 schema. By
-- hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the connection's schema (PUBLIC)
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- 11. Where a run stopped reading a seekable source (a file by offset, a table by key), written after
-- the records before it were stored and removed when the source is read to its end: a resumed run
-- reads on from here instead of from the start. The position is the source's own opaque text.
CREATE TABLE IF NOT EXISTS ${schema}.${prefix}pipeline_source_positions (
  pipeline    VARCHAR(200)  NOT NULL,
  source_id   VARCHAR(1000) NOT NULL,
  position    VARCHAR(1000) NOT NULL,
  worker_id   VARCHAR(200),
  updated_at  TIMESTAMP WITH TIME ZONE NOT NULL,
  CONSTRAINT ${prefix}pipeline_source_positions_pk PRIMARY KEY (pipeline, source_id)
);

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (4, 'source positions', 'V4__source_positions.sql', <checksum>, 'dba', 0);
