-- Data Pipeline Manager, pipeline-jdbc schema version 14 (PostgreSQL 12+): record lineage packed
-- shorter, its time index a BRIN.
--
-- Run after the previous version's script; the store runs it itself when it opens an older schema.
-- By hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the search_path's schema
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- 13, continued. The packing of a row's events: 1 for the rows written before this version (twelve
-- tab-separated fields a line, see V12), 2 for those written since, about a third as long (COPY
-- parses fewer bytes and the heap keeps fewer): fields separated by '|' (in text written \p),
-- trailing empty fields left out; outcome as one letter (P passed, F filtered, D dead letter, S
-- split, M merged, R retry scheduled, G degraded); entered and left as microseconds after the row's
-- first_at; attempts empty for 1; hashes in hexadecimal (the 64 bits unsigned), the input hash empty
-- when it is the previous line's output hash, the output hash empty for none; children empty for 0;
-- branch, verdicts, detail and position empty for none, \e for empty text.
ALTER TABLE ${schema}.${prefix}record_traces ADD COLUMN IF NOT EXISTS packing SMALLINT NOT NULL DEFAULT 1;

-- Rows are appended in time order, so a BRIN index finds the old ones for retention as well as a
-- b-tree did, at a fraction of its cost per row written.
DROP INDEX IF EXISTS ${schema}.${prefix}record_traces_time_ix;
CREATE INDEX IF NOT EXISTS ${prefix}record_traces_time_brin ON ${schema}.${prefix}record_traces
  USING BRIN (last_at) WITH (autosummarize = on);

-- One row per event, for SQL, of both packings (and of record_lineage, version 8): text fields are
-- shown as packed (escaped).
--   SELECT * FROM record_lineage_events WHERE pipeline = 'orders' AND record_id = 'r-17'
--     ORDER BY trace_id, event_no;
DROP VIEW IF EXISTS ${schema}.${prefix}record_lineage_events;
CREATE VIEW ${schema}.${prefix}record_lineage_events AS
SELECT l.pipeline, l.record_id, -1 AS trace_id, l.event_id AS event_no, l.stage_name,
       CAST(l.outcome AS TEXT) AS outcome, l.entered_at, l.left_at, l.attempts, l.input_hash,
       l.output_hash, l.source_id, l.parent_id, l.children, l.branch, l.verdicts, l.detail,
       CAST(NULL AS TEXT) AS position
  FROM ${schema}.${prefix}record_lineage l
UNION ALL
SELECT t.pipeline, t.record_id, t.trace_id, e.n AS event_no,
       split_part(e.line, E'\t', 1) AS stage_name,
       split_part(e.line, E'\t', 2) AS outcome,
       to_timestamp(CAST(split_part(e.line, E'\t', 3) AS BIGINT) / 1000000.0) AS entered_at,
       to_timestamp(CAST(split_part(e.line, E'\t', 4) AS BIGINT) / 1000000.0) AS left_at,
       CAST(split_part(e.line, E'\t', 5) AS INTEGER) AS attempts,
       CAST(split_part(e.line, E'\t', 6) AS BIGINT) AS input_hash,
       CAST(NULLIF(split_part(e.line, E'\t', 7), '\N') AS BIGINT) AS output_hash,
       t.source_id, t.parent_id,
       CAST(split_part(e.line, E'\t', 8) AS INTEGER) AS children,
       NULLIF(split_part(e.line, E'\t', 9), '\N') AS branch,
       NULLIF(split_part(e.line, E'\t', 10), '\N') AS verdicts,
       NULLIF(split_part(e.line, E'\t', 11), '\N') AS detail,
       NULLIF(split_part(e.line, E'\t', 12), '\N') AS position
  FROM ${schema}.${prefix}record_traces t
  CROSS JOIN LATERAL unnest(string_to_array(t.events, E'\n')) WITH ORDINALITY AS e(line, n)
  WHERE t.packing = 1
UNION ALL
SELECT p.pipeline, p.record_id, p.trace_id, p.n AS event_no, p.f[1] AS stage_name,
       CASE p.f[2] WHEN 'P' THEN 'PASSED' WHEN 'F' THEN 'FILTERED' WHEN 'D' THEN 'DEAD_LETTER'
         WHEN 'S' THEN 'SPLIT' WHEN 'M' THEN 'MERGED' WHEN 'R' THEN 'RETRY_SCHEDULED'
         WHEN 'G' THEN 'DEGRADED' END AS outcome,
       p.first_at + CAST(p.f[3] AS BIGINT) * INTERVAL '1 microsecond' AS entered_at,
       p.first_at + CAST(p.f[4] AS BIGINT) * INTERVAL '1 microsecond' AS left_at,
       COALESCE(CAST(NULLIF(p.f[5], '') AS INTEGER), 1) AS attempts,
       CAST(CAST('x' || lpad(COALESCE(NULLIF(p.f[6], ''), p.previous_output), 16, '0') AS BIT(64))
         AS BIGINT) AS input_hash,
       CAST(CAST('x' || lpad(NULLIF(p.f[7], ''), 16, '0') AS BIT(64)) AS BIGINT) AS output_hash,
       p.source_id, p.parent_id,
       COALESCE(CAST(NULLIF(p.f[8], '') AS INTEGER), 0) AS children,
       CASE p.f[9] WHEN '' THEN NULL WHEN '\e' THEN '' ELSE p.f[9] END AS branch,
       CASE p.f[10] WHEN '' THEN NULL WHEN '\e' THEN '' ELSE p.f[10] END AS verdicts,
       CASE p.f[11] WHEN '' THEN NULL WHEN '\e' THEN '' ELSE p.f[11] END AS detail,
       CASE p.f[12] WHEN '' THEN NULL WHEN '\e' THEN '' ELSE p.f[12] END AS position
  FROM (SELECT s.pipeline, s.record_id, s.trace_id, s.source_id, s.parent_id, s.first_at, s.n,
               s.f, lag(s.f[7]) OVER (PARTITION BY s.pipeline, s.record_id, s.trace_id
                                      ORDER BY s.n) AS previous_output
          FROM (SELECT t.pipeline, t.record_id, t.trace_id, t.source_id, t.parent_id, t.first_at,
                       e.n, string_to_array(e.line, '|') || ARRAY['', '', '', '', '', '', '', ''] AS f
                  FROM ${schema}.${prefix}record_traces t
                  CROSS JOIN LATERAL unnest(string_to_array(t.events, E'\n'))
                    WITH ORDINALITY AS e(line, n)
                  WHERE t.packing = 2) s) p;

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (14, 'lineage packing', 'V14__lineage_packing.sql', <checksum>, 'dba', 0);
