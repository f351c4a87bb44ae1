package dev.pipeline.jdbc;

import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.statement.PreparedBatch;

/**
 * Deletes finished merge groups with their parts, for {@link Purger}: a group completed longer ago
 * than the records' retention none of whose children is still stored unfinished (in flight, waiting
 * for a retry, or a dead letter that may be sent back to the merge stage, which needs the group's
 * parts) and in which no group of a nested pair is still kept. The merged record does not need its
 * group once stored. One short transaction per batch of groups.
 *
 * <p>Nested groups go from the inside out. A dead letter inside an inner pair is a part of the
 * inner group only: the outer group holds the inner parent (absent) or the inner merged record.
 * Sent back, it is merged again and that record comes to the outer merge stage, which must find the
 * outer group complete (the record is late) rather than start a group that never completes. So an
 * outer group waits for the groups nested in it: the group of its part of index {@code i} is keyed
 * {@code parentId/i} (the inner split's parent, whose id the part's is, less any {@code /merged}),
 * one primary-key lookup per part. A purge deletes one level per call; the next call the next.
 */
final class PurgeGroups {
  private final Database db;
  private final String keys;
  private final String parts;
  private final String groups;

  PurgeGroups(Database db, Names names) {
    this.db = db;
    Dialect dialect = db.dialect;
    this.keys =
        "SELECT g.pipeline, g.parent_id FROM "
            + names.mergeGroups()
            + " g WHERE g.completed_at < "
            + dialect.minusMillis(":age_ms")
            + " AND NOT EXISTS (SELECT 1 FROM "
            + names.status()
            + " s WHERE s.pipeline = g.pipeline AND s.status NOT IN "
            + Statements.FINISHED
            + " AND s.record_id IN (SELECT p.record_id FROM "
            + names.mergeParts()
            + " p WHERE p.pipeline = g.pipeline AND p.parent_id = g.parent_id))"
            // a group nested in this one: the group of the part of index i is keyed parent/i
            + " AND NOT EXISTS (SELECT 1 FROM "
            + names.mergeParts()
            + " p JOIN "
            + names.mergeGroups()
            + " i ON i.pipeline = p.pipeline AND i.parent_id = g.parent_id || '/' ||"
            + " CAST(p.part_index AS VARCHAR(11)) WHERE p.pipeline = g.pipeline AND p.parent_id ="
            + " g.parent_id) "
            + dialect.limit(":batch");
    this.parts =
        "DELETE FROM " + names.mergeParts() + " WHERE pipeline = :pipeline AND parent_id = :parent";
    this.groups =
        "DELETE FROM "
            + names.mergeGroups()
            + " WHERE pipeline = :pipeline AND parent_id = :parent";
  }

  /** Deletes up to {@code batch} finished groups older than {@code ageMillis}; returns how many. */
  int purge(long ageMillis, int batch) {
    return db.planned(
        "purge",
        null,
        h -> {
          List<Map.Entry<String, String>> found =
              h.createQuery(keys)
                  .bind("age_ms", ageMillis)
                  .bind("batch", batch)
                  .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getString(2)))
                  .list();
          if (found.isEmpty()) {
            return 0;
          }
          PreparedBatch partRows = h.prepareBatch(parts);
          PreparedBatch groupRows = h.prepareBatch(groups);
          for (Map.Entry<String, String> k : found) {
            partRows.bind("pipeline", k.getKey()).bind("parent", k.getValue()).add();
            groupRows.bind("pipeline", k.getKey()).bind("parent", k.getValue()).add();
          }
          partRows.execute();
          int deleted = 0;
          for (int n : groupRows.execute()) {
            deleted += Math.max(0, n);
          }
          return deleted;
        });
  }
}
