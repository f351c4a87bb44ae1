package dev.pipeline.jdbc;

import dev.pipeline.store.spi.MergedGroup;
import java.sql.Array;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jspecify.annotations.Nullable;

/**
 * What is asked of the batch ledger's tables, by {@link BatchLedger#queries()}: whether a pipeline
 * has unfinished records, its counts, where a record of a batch stands, which ids are unfinished or
 * were ended here, who holds batches, and what retention deletes. It holds no state of its own.
 * Thread-safe.
 */
final class BatchQueries {
  private final BatchStatements sql;
  private final String workerId;

  BatchQueries(BatchStatements sql, String workerId) {
    this.sql = sql;
    this.workerId = workerId;
  }

  /**
   * Whether the pipeline has a record not ended: in a row (ready, in progress, waiting to be
   * retried) or in an open batch, read in one statement.
   */
  boolean hasUnfinished(Handle h, String pipeline) {
    return h.createQuery(sql.hasUnfinished).bind("pipeline", pipeline).mapTo(Integer.class).one()
        == 1;
  }

  /**
   * As {@link #hasUnfinished}, less the open batches kept as spans of sources other than {@code
   * sources} (those this worker can read again).
   */
  boolean hasUnfinishedToTake(Handle h, String pipeline, List<String> sources) {
    return h.createQuery(sql.hasUnfinishedToTake)
            .bind("pipeline", pipeline)
            .bind("sources", Args.texts(sources))
            .mapTo(Integer.class)
            .one()
        == 1;
  }

  /**
   * The records not ended of open batches kept as spans of sources other than {@code sources}, by
   * source id.
   */
  Map<String, Long> waitingForSources(Handle h, String pipeline, List<String> sources) {
    Map<String, Long> waiting = new LinkedHashMap<>();
    h.createQuery(sql.waitingForSources)
        .bind("pipeline", pipeline)
        .bind("sources", Args.texts(sources))
        .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
        .forEach(e -> waiting.put(e.getKey(), e.getValue()));
    return waiting;
  }

  /**
   * Records of batches: published, in flight (leased), and ready (given back: in an open batch
   * without a lease owner).
   */
  long[] counts(Handle h, String pipeline) {
    return h.createQuery(sql.counts)
        .bind("pipeline", pipeline)
        .map((rs, ctx) -> new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)})
        .one();
  }

  /** Where a record of a batch stands: published, or in progress. */
  record Found(
      String stage,
      boolean published,
      boolean ready,
      int deliveries,
      Instant startedAt,
      Instant at) {}

  @Nullable Found find(Handle h, String pipeline, String id) throws SQLException {
    Map<String, Object> row =
        h.createQuery(sql.find)
            .bind("pipeline", pipeline)
            .bind("id", id)
            .map(
                (rs, ctx) -> {
                  Map<String, Object> m = new HashMap<>();
                  m.put("batch_id", rs.getLong("batch_id"));
                  m.put("stage", rs.getString("stage"));
                  m.put("state", rs.getString("state"));
                  m.put("ready", rs.getString("lease_owner") == null);
                  m.put("created_at", Args.instant(rs, "created_at"));
                  m.put("updated_at", Args.instant(rs, "updated_at"));
                  m.put("seq", rs.getInt("seq"));
                  return m;
                })
            .findFirst()
            .orElse(null);
    if (row == null) {
      return null;
    }
    int seq = (Integer) row.get("seq");
    boolean[] ended = {"DONE".equals(row.get("state"))};
    int[] deliveries = {0};
    h.createQuery(sql.eventsOf)
        .bind("batch", (Long) row.get("batch_id"))
        .map(
            (rs, ctx) -> {
              boolean e = "E".equals(rs.getString(1));
              for (Object o : (Object[]) rs.getArray(2).getArray()) {
                if (((Number) o).intValue() == seq) {
                  if (e) {
                    ended[0] = true;
                  } else {
                    deliveries[0]++;
                  }
                }
              }
              return 1;
            })
        .forEach(x -> {});
    return new Found(
        (String) row.get("stage"),
        ended[0],
        (Boolean) row.get("ready"),
        deliveries[0],
        (Instant) row.get("created_at"),
        (Instant) row.get("updated_at"));
  }

  /**
   * The query of ids found stored, those in open batches not held by this worker since its ingest
   * (parameters {@code :pipeline}, {@code :owner}, {@code :ids}; one column, the record id).
   */
  String unfinishedOf() {
    return sql.unfinishedOf;
  }

  /**
   * Of ids without a row, those of batches this worker ended: a second completion of a record it
   * published already, which is ignored rather than refused.
   */
  Set<String> endedHere(Handle h, String pipeline, Collection<String> ids) throws SQLException {
    if (ids.isEmpty()) {
      return Set.of();
    }
    Set<String> out = new HashSet<>();
    Map<Long, Map<Integer, String>> open = new HashMap<>();
    h.createQuery(sql.endedHere)
        .bind("pipeline", pipeline)
        .bind("owner", workerId)
        .bind("ids", Args.texts(ids))
        .map(
            (rs, ctx) -> {
              if ("DONE".equals(rs.getString("state"))) {
                out.add(rs.getString("record_id"));
              } else {
                open.computeIfAbsent(rs.getLong("batch_id"), k -> new HashMap<>())
                    .put(rs.getInt("seq"), rs.getString("record_id"));
              }
              return 1;
            })
        .forEach(x -> {});
    for (Map.Entry<Long, Map<Integer, String>> e : open.entrySet()) {
      h.createQuery(sql.eventsOf)
          .bind("batch", e.getKey())
          .map(
              (rs, ctx) -> {
                if ("E".equals(rs.getString(1))) {
                  for (Object o : (Object[]) rs.getArray(2).getArray()) {
                    String id = e.getValue().get(((Number) o).intValue());
                    if (id != null) {
                      out.add(id);
                    }
                  }
                }
                return 1;
              })
          .forEach(x -> {});
    }
    return out;
  }

  /**
   * Who holds records of batches now, for a message: by id, the batch's state, lease owner (null if
   * given back) and last claimer.
   */
  Map<String, String[]> holders(Handle h, String pipeline, Collection<String> ids) {
    Map<String, String[]> out = new HashMap<>();
    h.createQuery(sql.holders)
        .bind("pipeline", pipeline)
        .bind("ids", Args.texts(ids))
        .map(
            (rs, ctx) ->
                out.put(
                    rs.getString(1),
                    new String[] {rs.getString(2), rs.getString(3), rs.getString(4)}))
        .forEach(x -> {});
    return out;
  }

  /** Leases other workers hold on open batches: owner, records, latest expiry, now. */
  List<Object[]> leasesElsewhere(Handle h, String pipeline) {
    return h.createQuery(sql.leasesElsewhere)
        .bind("pipeline", pipeline)
        .bind("owner", workerId)
        .map(
            (rs, ctx) ->
                new Object[] {
                  rs.getString("lease_owner"),
                  rs.getLong("records"),
                  Args.instant(rs, "expires"),
                  Args.instant(rs, "now")
                })
        .list();
  }

  // ------------------------------------------------------------------ retention

  /** A batch done long enough ago to be purged: its id, pipeline and records' ids. */
  private record Done(long id, String pipeline, List<String> ids) {}

  /**
   * Deletes up to {@code max} batches done longer ago than the age, with their records' ids;
   * returns the batches deleted and the records deleted with them (those that left the batch keep
   * their rows, and are not counted). A merged record whose merge group is still kept leaves its
   * batch for a full row first: a part sent back late merges the group again, and the merged
   * record's ingest must find it stored ({@code Statements.purgeCompletedKeys} keeps that row while
   * the group is kept). The batch itself goes, so no purge finds it again.
   */
  int[] purge(Handle h, long ageMillis, int max) {
    List<Done> done =
        h.createQuery(sql.purgeDone)
            .bind("age_ms", ageMillis)
            .bind("batch", max)
            .map((rs, ctx) -> new Done(rs.getLong(1), rs.getString(2), texts(rs.getArray(3))))
            .list();
    if (done.isEmpty()) {
      return new int[] {0, 0};
    }
    Map<String, Set<String>> kept = keptGroups(h, done);
    PreparedBatch keep = h.prepareBatch(sql.keepMerged);
    PreparedBatch e = h.prepareBatch(sql.purgeEvents);
    PreparedBatch m = h.prepareBatch(sql.purgeMembers);
    PreparedBatch b = h.prepareBatch(sql.purgeBatch);
    int records = 0;
    for (Done d : done) {
      Set<String> groups = kept.getOrDefault(d.pipeline(), Set.of());
      for (String id : d.ids()) {
        String parent = MergedGroup.parentOfMerged(id);
        if (parent != null && groups.contains(parent)) {
          keep.bind("pipeline", d.pipeline()).bind("id", id).bind("batch", d.id()).add();
        }
      }
    }
    if (keep.size() > 0) {
      keep.execute();
    }
    for (Done d : done) {
      e.bind("batch", d.id()).add();
      for (String id : d.ids()) {
        m.bind("batch", d.id()).bind("pipeline", d.pipeline()).bind("id", id).add();
      }
      b.bind("batch", d.id()).add();
      records +=
          h.createQuery(sql.purgedRecords)
              .bind("batch", d.id())
              .bind("pipeline", d.pipeline())
              .bind("ids", Args.texts(d.ids()))
              .mapTo(Integer.class)
              .one();
    }
    e.execute();
    if (m.size() > 0) {
      m.execute();
    }
    b.execute();
    return new int[] {done.size(), records};
  }

  /**
   * The merge groups still kept, per pipeline, among the parents of the merged records of the
   * batches a purge would delete (see {@link MergedGroup#parentOfMerged(String)}): one lookup per
   * pipeline, only when there are merged records.
   */
  private Map<String, Set<String>> keptGroups(Handle h, List<Done> batches) {
    Map<String, List<String>> parents = new HashMap<>();
    for (Done batch : batches) {
      for (String id : batch.ids()) {
        String parent = MergedGroup.parentOfMerged(id);
        if (parent != null) {
          parents.computeIfAbsent(batch.pipeline(), p -> new ArrayList<>()).add(parent);
        }
      }
    }
    Map<String, Set<String>> kept = new HashMap<>();
    for (Map.Entry<String, List<String>> p : parents.entrySet()) {
      kept.put(
          p.getKey(),
          new HashSet<>(
              h.createQuery(sql.keptGroups)
                  .bind("pipeline", p.getKey())
                  .bind("ids", Args.texts(p.getValue()))
                  .mapTo(String.class)
                  .list()));
    }
    return kept;
  }

  /** The elements of a text array column; none for NULL. */
  static List<String> texts(@Nullable Array array) throws SQLException {
    if (array == null) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (Object o : (Object[]) array.getArray()) {
      out.add((String) o);
    }
    return out;
  }
}
