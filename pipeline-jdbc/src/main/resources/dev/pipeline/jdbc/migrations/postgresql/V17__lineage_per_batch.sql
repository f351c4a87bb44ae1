-- Data Pipeline Manager, pipeline-jdbc schema version 17 (PostgreSQL 12+): record lineage kept per
-- batch.
--
-- Run after the previous version's script; the store runs it itself when it opens an older schema.
-- By hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the search_path's schema
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- 13, continued. A row of record_traces costs its append a heap tuple and an index entry whatever
-- it holds: with lineage ALL, about as much database CPU as the batch ledger spends on the record
-- itself. Since this version the events of the records that one batch of the batch ledger handed
-- to the sink (or ended, in a pipeline without a sink) and that passed (most records) are appended
-- together, in a row of packing 3 (see LineageTrace) with that batch's id in batch_id and no
-- record_id, source_id or parent_id; other records (filtered, dead-lettered, parked, split
-- children, merged records, records written as full rows) keep rows of their own. A record's batch is found through its id row in pipeline_batch_records, written by
-- the batch ledger anyway, and the batch's rows through the index below (an entry per batch row,
-- none for a record's own row). A batch's row goes once its last event is past retainCompleted
-- and none of its batch's records is in flight; its records all passed, and go at that age too.
ALTER TABLE ${schema}.${prefix}record_traces ALTER COLUMN record_id DROP NOT NULL;
ALTER TABLE ${schema}.${prefix}record_traces ADD COLUMN IF NOT EXISTS batch_id BIGINT;
CREATE INDEX IF NOT EXISTS ${prefix}record_traces_batch_ix ON ${schema}.${prefix}record_traces
  (batch_id) WHERE batch_id IS NOT NULL;

-- A batch's row holds tens of kilobytes of events, which PostgreSQL would compress (pglz) before
-- moving them out of line: measured, the compression cost the database more than the rows it saved
-- (docs/benchmarks.md, sixteenth session). Kept out of line uncompressed, a batch's row costs
-- about half as much a record as the record's own row did, and its bytes are fewer than the own
-- rows' were.
ALTER TABLE ${schema}.${prefix}record_traces ALTER COLUMN events SET STORAGE EXTERNAL;

-- One row per event, for SQL, of every packing: text fields are shown as packed (escaped), a batch
-- row's ids as its records' own rows would hold them.
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
                  WHERE t.packing = 2) s) p
UNION ALL
SELECT t.pipeline, m.record_id, t.trace_id, x.event_no, x.f[1] AS stage_name,
       CASE x.f[2] WHEN 'P' THEN 'PASSED' WHEN 'F' THEN 'FILTERED' WHEN 'D' THEN 'DEAD_LETTER'
         WHEN 'S' THEN 'SPLIT' WHEN 'M' THEN 'MERGED' WHEN 'R' THEN 'RETRY_SCHEDULED'
         WHEN 'G' THEN 'DEGRADED' END AS outcome,
       t.first_at + CAST(x.f[3] AS BIGINT) * INTERVAL '1 microsecond' AS entered_at,
       t.first_at + CAST(x.f[4] AS BIGINT) * INTERVAL '1 microsecond' AS left_at,
       COALESCE(CAST(NULLIF(x.f[5], '') AS INTEGER), 1) AS attempts,
       CAST(CAST('x' || lpad(COALESCE(NULLIF(x.f[6], ''), x.previous_output), 16, '0') AS BIT(64))
         AS BIGINT) AS input_hash,
       CAST(CAST('x' || lpad(NULLIF(x.f[7], ''), 16, '0') AS BIT(64)) AS BIGINT) AS output_hash,
       x.source_id, x.parent_id,
       COALESCE(CAST(NULLIF(x.f[8], '') AS INTEGER), 0) AS children,
       CASE x.f[9] WHEN '' THEN NULL WHEN '\e' THEN '' ELSE x.f[9] END AS branch,
       CASE x.f[10] WHEN '' THEN NULL WHEN '\e' THEN '' ELSE x.f[10] END AS verdicts,
       CASE x.f[11] WHEN '' THEN NULL WHEN '\e' THEN '' ELSE x.f[11] END AS detail,
       CASE x.f[12] WHEN '' THEN NULL WHEN '\e' THEN '' ELSE x.f[12] END AS position
  FROM ${schema}.${prefix}record_traces t
  CROSS JOIN LATERAL (
    -- the row's lines, each with the number of its record's line (k) and that line's fields; a
    -- backslash is chr(92) here, since the store runs this script through Jdbi, whose parser
    -- takes two backslashes for one
    SELECT s.ids[1] AS record_id, s.ids[2] AS source_id, s.ids[3] AS parent_id,
           s.n - s.k AS event_no, s.f, lag(s.f[7]) OVER (PARTITION BY s.k ORDER BY s.n) AS previous_output
      FROM (SELECT l.n, l.k, l.line,
                   string_to_array(l.line, '|') || ARRAY['', '', '', '', '', '', '', ''] AS f,
                   first_value(l.ids) OVER (PARTITION BY l.k ORDER BY l.n) AS ids
              FROM (SELECT e.n, e.line,
                           max(CASE WHEN left(e.line, 1) = '=' THEN e.n END) OVER (ORDER BY e.n) AS k,
                           CASE WHEN left(e.line, 1) = '=' THEN ARRAY[
                             CASE split_part(substr(e.line, 2), '|', 1) WHEN '' THEN NULL WHEN '\e' THEN '' ELSE
                 (SELECT string_agg(replace(replace(replace(replace(
                           u.p, '\p', '|'), '\t', E'\t'), '\n', E'\n'), '\r', E'\r'),
                         chr(92) ORDER BY u.i)
                    FROM unnest(string_to_array(split_part(substr(e.line, 2), '|', 1), chr(92) || chr(92))) WITH ORDINALITY AS u(p, i))
               END,
                             CASE split_part(substr(e.line, 2), '|', 2) WHEN '' THEN NULL WHEN '\e' THEN '' ELSE
                 (SELECT string_agg(replace(replace(replace(replace(
                           u.p, '\p', '|'), '\t', E'\t'), '\n', E'\n'), '\r', E'\r'),
                         chr(92) ORDER BY u.i)
                    FROM unnest(string_to_array(split_part(substr(e.line, 2), '|', 2), chr(92) || chr(92))) WITH ORDINALITY AS u(p, i))
               END,
                             CASE split_part(substr(e.line, 2), '|', 3) WHEN '' THEN NULL WHEN '\e' THEN '' ELSE
                 (SELECT string_agg(replace(replace(replace(replace(
                           u.p, '\p', '|'), '\t', E'\t'), '\n', E'\n'), '\r', E'\r'),
                         chr(92) ORDER BY u.i)
                    FROM unnest(string_to_array(split_part(substr(e.line, 2), '|', 3), chr(92) || chr(92))) WITH ORDINALITY AS u(p, i))
               END] END AS ids
                      FROM unnest(string_to_array(t.events, E'\n')) WITH ORDINALITY AS e(line, n)) l) s
     WHERE left(s.line, 1) <> '=') x
  -- a record of the row is shown under its id row's id, which the index on it finds (and with it
  -- the batch's rows, through the index on batch_id)
  JOIN ${schema}.${prefix}pipeline_batch_records m
    ON m.pipeline = t.pipeline AND m.batch_id = t.batch_id AND m.record_id = x.record_id
  WHERE t.packing = 3;

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (17, 'lineage per batch', 'V17__lineage_per_batch.sql', <checksum>, 'dba', 0);
