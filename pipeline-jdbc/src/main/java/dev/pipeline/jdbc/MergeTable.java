package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.checkPipeline;

import dev.pipeline.Envelope;
import dev.pipeline.PipelineException;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.spi.MergeOutcome;
import dev.pipeline.store.spi.MergePart;
import dev.pipeline.store.spi.MergedGroup;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.Query;
import org.jspecify.annotations.Nullable;

/**
 * Merge groups for a {@link JdbcPipelineStore}: the rows of {@code pipeline_merge_groups} (a
 * group's size and the parts counted) and {@code pipeline_merge_parts} (one per part: an arrived
 * child's payload or an absent mark). One call is one transaction of a few statements whatever the
 * number of parts: lock the groups' rows (in parent id order) and insert those missing, read their
 * parts, insert the new parts, count, and read back the payloads of the groups found complete. The
 * row lock serializes two workers giving the last two parts of a group at once: the second reads
 * the first's part once the first commits. Two workers inserting the same new group at once: the
 * second fails on the key and the transaction is run again, finding the row.
 */
final class MergeTable extends StoreContext {
  // parents per statement of an IN list
  private static final int CHUNK = 500;
  // H2 serves one JVM: merges on a database with no URL to key a lock on take turns here
  private static final ReentrantLock H2_MERGES = new ReentrantLock();

  private final String groups;
  private final String parts;

  MergeTable(StoreContext shared) {
    super(shared);
    this.groups = names.mergeGroups();
    this.parts = names.mergeParts();
  }

  private record Group(int size, int arrived) {}

  MergeOutcome merge(String pipeline, String stage, List<MergePart> given, Instant at) {
    checkPipeline(pipeline);
    Objects.requireNonNull(stage, "stage cannot be null");
    Objects.requireNonNull(given, "parts cannot be null");
    Objects.requireNonNull(at, "at cannot be null");
    checkOpen();
    if (given.isEmpty()) {
      return MergeOutcome.NONE;
    }
    PayloadCodec<?> codec = def(pipeline).codec(stage);
    // each part once (the first given wins), grouped by parent in id order: the lock order
    Map<String, Map<Integer, MergePart>> byParent = new TreeMap<>();
    Map<String, Payloads.Stored> encoded = new HashMap<>();
    for (MergePart part : given) {
      MergePart first =
          byParent
              .computeIfAbsent(part.parentId(), k -> new TreeMap<>())
              .putIfAbsent(part.index(), part);
      Envelope<?> record = part.record();
      if (first == null && record != null) {
        if (codec == null) {
          throw new PipelineException(
              "merge stage '"
                  + stage
                  + "' of pipeline '"
                  + pipeline
                  + "' has no input codec, so the parts it merges cannot be stored; add"
                  + " s.codec(...) to the options of the stage before it");
        }
        encoded.put(part.recordId(), Payloads.encode(pipeline, stage, codec, record, "merge"));
      }
    }
    ReentrantLock lock = db.dialect == Dialect.H2 ? (h2Lock != null ? h2Lock : H2_MERGES) : null;
    if (lock != null) {
      lock.lock();
    }
    try {
      return db.run(
          "merge",
          pipeline,
          true,
          true,
          h -> inTransaction(h, pipeline, byParent, encoded, codec, at));
    } finally {
      if (lock != null) {
        lock.unlock();
      }
    }
  }

  private MergeOutcome inTransaction(
      Handle h,
      String pipeline,
      Map<String, Map<Integer, MergePart>> byParent,
      Map<String, Payloads.Stored> encoded,
      @Nullable PayloadCodec<?> codec,
      Instant at)
      throws java.sql.SQLException {
    List<String> parents = new ArrayList<>(byParent.keySet());
    Map<String, Group> found = lockGroups(h, pipeline, parents);
    PreparedBatch newGroups =
        h.prepareBatch(
            "INSERT INTO "
                + groups
                + " (pipeline, parent_id, group_size, arrived, created_at) VALUES (:pipeline,"
                + " :parent, :size, 0, :at)");
    for (String parent : parents) {
      if (!found.containsKey(parent)) {
        int size = byParent.get(parent).values().iterator().next().size();
        newGroups.bind("pipeline", pipeline).bind("parent", parent).bind("size", size);
        newGroups.bind("at", Args.time(at)).add();
        found.put(parent, new Group(size, 0));
      }
    }
    if (newGroups.size() > 0) {
      newGroups.execute();
    }
    Map<String, Map<Integer, Boolean>> kept = readParts(h, pipeline, parents);
    PreparedBatch inserts =
        h.prepareBatch(
            "INSERT INTO "
                + parts
                + " (pipeline, parent_id, part_index, record_id, absent, payload, payload_format,"
                + " payload_checksum, created_at) VALUES (:pipeline, :parent, :index, :record,"
                + " :absent, :payload, :format, :checksum, :at)");
    PreparedBatch upgrades =
        h.prepareBatch(
            "UPDATE "
                + parts
                + " SET absent = FALSE, record_id = :record, payload = :payload, payload_format ="
                + " :format, payload_checksum = :checksum WHERE pipeline = :pipeline AND"
                + " parent_id = :parent AND part_index = :index AND absent = TRUE");
    PreparedBatch counts =
        h.prepareBatch(
            "UPDATE "
                + groups
                + " SET arrived = :arrived, completed_at = :completed WHERE pipeline = :pipeline"
                + " AND parent_id = :parent");
    Set<String> late = new HashSet<>();
    Map<String, String> refused = new HashMap<>(0);
    List<String> complete = new ArrayList<>();
    for (String parent : parents) {
      Group group = found.get(parent);
      Map<Integer, Boolean> stored = kept.getOrDefault(parent, Map.of());
      int arrived = group.arrived();
      for (MergePart part : byParent.get(parent).values()) {
        String misfit = MergeOutcome.misfit(part, group.size());
        if (misfit != null) {
          refused.put(part.recordId(), misfit);
          continue;
        }
        Boolean absent = stored.get(part.index());
        Payloads.Stored payload = encoded.get(part.recordId());
        if (absent == null) {
          bindPart(inserts, pipeline, parent, part, payload).bind("absent", payload == null);
          inserts.bind("at", Args.time(at)).add();
          arrived++;
        } else if (absent && payload != null) {
          if (group.arrived() == group.size()) {
            late.add(part.recordId());
          } else {
            bindPart(upgrades, pipeline, parent, part, payload).add();
          }
        }
      }
      if (arrived != group.arrived()) {
        counts.bind("pipeline", pipeline).bind("parent", parent).bind("arrived", arrived);
        counts.bind("completed", Args.time(arrived == group.size() ? at : null)).add();
      }
      if (arrived == group.size()) {
        complete.add(parent);
      }
    }
    for (PreparedBatch batch : List.of(inserts, upgrades, counts)) {
      if (batch.size() > 0) {
        batch.execute();
      }
    }
    List<MergedGroup> merged = new ArrayList<>(complete.size());
    if (!complete.isEmpty()) {
      Map<String, List<Object>> payloads = readPayloads(h, pipeline, complete, codec);
      for (String parent : complete) {
        merged.add(
            new MergedGroup(
                parent, found.get(parent).size(), payloads.getOrDefault(parent, List.of())));
      }
    }
    return new MergeOutcome(merged, late, refused);
  }

  private static PreparedBatch bindPart(
      PreparedBatch batch,
      String pipeline,
      String parent,
      MergePart part,
      Payloads.@Nullable Stored payload) {
    return batch
        .bind("pipeline", pipeline)
        .bind("parent", parent)
        .bind("index", part.index())
        .bind("record", part.recordId())
        .bind("payload", Args.bytes(payload == null ? null : payload.payload()))
        .bind("format", Args.text(payload == null ? null : payload.format()))
        .bind(
            "checksum",
            Args.int64(payload == null ? null : Checksums.payload(payload.payload(), new byte[0])));
  }

  /** Locks the rows of the groups that exist, in parent id order, and reads them. */
  private Map<String, Group> lockGroups(Handle h, String pipeline, List<String> parents) {
    Map<String, Group> found = new HashMap<>();
    byParents(
        h,
        pipeline,
        parents,
        "SELECT parent_id, group_size, arrived FROM " + groups + " WHERE",
        " ORDER BY parent_id FOR UPDATE",
        (rs, ctx) ->
            found.put(
                rs.getString("parent_id"),
                new Group(rs.getInt("group_size"), rs.getInt("arrived"))));
    return found;
  }

  /** The parts stored of these groups: by parent, each index and whether it is absent. */
  private Map<String, Map<Integer, Boolean>> readParts(
      Handle h, String pipeline, List<String> parents) {
    Map<String, Map<Integer, Boolean>> kept = new HashMap<>();
    byParents(
        h,
        pipeline,
        parents,
        "SELECT parent_id, part_index, absent FROM " + parts + " WHERE",
        "",
        (rs, ctx) ->
            kept.computeIfAbsent(rs.getString("parent_id"), k -> new HashMap<>())
                .put(rs.getInt("part_index"), rs.getBoolean("absent")));
    return kept;
  }

  /** The payloads of the parts that arrived in complete groups, decoded, in index order. */
  private Map<String, List<Object>> readPayloads(
      Handle h, String pipeline, List<String> parents, @Nullable PayloadCodec<?> codec) {
    Map<String, List<Object>> payloads = new LinkedHashMap<>();
    byParents(
        h,
        pipeline,
        parents,
        "SELECT parent_id, part_index, record_id, payload, payload_checksum FROM "
            + parts
            + " WHERE absent = FALSE AND",
        " ORDER BY parent_id, part_index",
        (rs, ctx) -> {
          String id = rs.getString("record_id");
          byte[] bytes = rs.getBytes("payload");
          long sum = rs.getLong("payload_checksum");
          if (bytes == null || codec == null || Checksums.payload(bytes, new byte[0]) != sum) {
            throw new PayloadIntegrityException(
                id,
                "merge",
                "the stored part of record '"
                    + id
                    + "' in merge group '"
                    + rs.getString("parent_id")
                    + "' is missing or damaged (checksum mismatch); the row was changed outside"
                    + " the store");
          }
          return payloads
              .computeIfAbsent(rs.getString("parent_id"), k -> new ArrayList<>())
              .add(codec.decode(bytes));
        });
    return payloads;
  }

  /**
   * Runs a query over the rows of these groups, {@value #CHUNK} parents per statement: {@code
   * select} ends with WHERE (or AND), the pipeline and parent conditions follow, then {@code
   * after}.
   */
  private static void byParents(
      Handle h,
      String pipeline,
      List<String> parents,
      String select,
      String after,
      RowMapper<?> rows) {
    for (int from = 0; from < parents.size(); from += CHUNK) {
      List<String> chunk = parents.subList(from, Math.min(parents.size(), from + CHUNK));
      Query q =
          h.createQuery(
              select
                  + " pipeline = :pipeline AND parent_id IN ("
                  + placeholders(chunk.size())
                  + ")"
                  + after);
      q.bind("pipeline", pipeline);
      for (int i = 0; i < chunk.size(); i++) {
        q.bind("p" + i, chunk.get(i));
      }
      q.map(rows).list();
    }
  }

  private static String placeholders(int n) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < n; i++) {
      out.append(i == 0 ? ":p" : ", :p").append(i);
    }
    return out.toString();
  }
}
