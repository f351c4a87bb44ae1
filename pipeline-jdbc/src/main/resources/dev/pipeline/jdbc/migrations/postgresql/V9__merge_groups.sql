-- Data Pipeline Manager, pipeline-jdbc schema version 9 (PostgreSQL 12+): merge groups.
--
-- Run after V8__record_lineage.sql; the store runs it itself when it opens a version 8 schema. By
-- hand, replace the placeholders as for V1, run it, then insert the version row at the end.
--   ${schema}.  your schema followed by a dot (e.g. "etl."), or nothing for the search_path's schema
--   ${prefix}   your table prefix (e.g. "app_"), or nothing

-- A child of a split that a merge stage joined with its siblings becomes MERGED, terminal, with
-- "merged into '<parent id>/merged'" in "reason". It is finished like a published one: retention
-- purges it by age, its payload first.
ALTER TABLE ${schema}.${prefix}pipeline_records DROP CONSTRAINT IF EXISTS ${prefix}pipeline_status_status_ck;
ALTER TABLE ${schema}.${prefix}pipeline_records ADD CONSTRAINT ${prefix}pipeline_status_status_ck CHECK (status IN
  ('READY', 'IN_PROGRESS', 'RETRY_WAIT', 'PUBLISHED', 'FILTERED', 'DEAD_LETTER', 'DISCARDED', 'SPLIT',
   'MERGED'));
DROP INDEX IF EXISTS ${schema}.${prefix}pipeline_status_done_ix;
CREATE INDEX IF NOT EXISTS ${prefix}pipeline_status_done_ix ON ${schema}.${prefix}pipeline_records
  (completed_at) WHERE status IN ('PUBLISHED', 'FILTERED', 'DISCARDED', 'SPLIT', 'MERGED');
DROP INDEX IF EXISTS ${schema}.${prefix}pipeline_status_kept_ix;
CREATE INDEX IF NOT EXISTS ${prefix}pipeline_status_kept_ix ON ${schema}.${prefix}pipeline_records
  (completed_at) WHERE status IN ('PUBLISHED', 'FILTERED', 'SPLIT', 'MERGED') AND payload IS NOT NULL;

-- 14. One row per merge group (the children of one split parent that a merge stage joins): how
-- many children the parent was split into and how many parts are counted (arrived or absent). A
-- merge locks its groups' rows, in parent id order, so the last two siblings of a group, given by
-- two workers at once, are counted one after the other: the second sees the first's part.
CREATE TABLE IF NOT EXISTS ${schema}.${prefix}pipeline_merge_groups (
  pipeline      VARCHAR(200)   NOT NULL,
  parent_id     VARCHAR(1000)  NOT NULL,
  group_size    INTEGER        NOT NULL,
  arrived       INTEGER        NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL,
  completed_at  TIMESTAMPTZ,
  CONSTRAINT ${prefix}pipeline_merge_groups_pk PRIMARY KEY (pipeline, parent_id)
);

-- 15. One row per part of a merge group, once per index: the payload of a child that reached the
-- merge stage (encoded with that stage's input codec, checksummed), or a mark without payload for
-- a child that ended on the way ("absent"). Kept while the group's merged record may be made again
-- (a crash, a dead letter sent back); removed by the operator with the group.
CREATE TABLE IF NOT EXISTS ${schema}.${prefix}pipeline_merge_parts (
  pipeline          VARCHAR(200)   NOT NULL,
  parent_id         VARCHAR(1000)  NOT NULL,
  part_index        INTEGER        NOT NULL,
  record_id         VARCHAR(1000)  NOT NULL,
  absent            BOOLEAN        NOT NULL,
  payload           BYTEA,
  payload_format    VARCHAR(300),
  payload_checksum  BIGINT,
  created_at        TIMESTAMPTZ NOT NULL,
  CONSTRAINT ${prefix}pipeline_merge_parts_pk PRIMARY KEY (pipeline, parent_id, part_index)
);

-- By hand only (the store writes this row itself):
-- INSERT INTO ${schema}.${prefix}pipeline_schema_version
--   (version, description, script, checksum, installed_by, execution_ms)
--   VALUES (9, 'merge groups', 'V9__merge_groups.sql', <checksum>, 'dba', 0);
