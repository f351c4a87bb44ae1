-- Data Pipeline Manager, pipeline-jdbc schema version 14 (H2 2.x): record lineage packed shorter.
--
-- Run after the previous version's script; the store runs it itself when it opens an older schema.
-- By hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the connection's schema (PUBLIC)
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- 13, continued. The packing of a row's events: 1 for the rows written before this version (twelve
-- tab-separated fields a line, see V12), 2 for those written since, about a third as long: fields
-- separated by '|' (in text written \p), trailing empty fields left out; outcome as one letter (P
-- passed, F filtered, D dead letter, S split, M merged, R retry scheduled, G degraded); entered and
-- left as microseconds after the row's first_at; attempts empty for 1; hashes in hexadecimal (the 64
-- bits unsigned), the input hash empty when it is the previous line's output hash, the output hash
-- empty for none; children empty for 0; branch, verdicts, detail and position empty for none, \e
-- for empty text. PostgreSQL's view record_lineage_events unpacks both.
ALTER TABLE ${schema}.${prefix}record_traces ADD COLUMN IF NOT EXISTS packing SMALLINT DEFAULT 1 NOT NULL;

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (14, 'lineage packing', 'V14__lineage_packing.sql', <checksum>, 'dba', 0);
